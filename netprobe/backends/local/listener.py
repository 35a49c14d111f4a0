"""The server every local probe pod (and external host) runs in its network namespace.

It accepts TCP connections (and closes them at once) and answers every UDP datagram with
``netprobe <name>\\n`` on each port it is given, then prints ``READY`` on stdout so the
backend knows the pod serves. With ``--watch-stdin`` it exits when its stdin closes, so a
backend that dies (even by SIGKILL) takes its servers with it.

Only the standard library, and no netprobe import: the backend starts it as a script
(``python -I -S .../listener.py``) to keep start-up to a few milliseconds; ``python -m
netprobe.backends.local.listener`` works too.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
from collections.abc import Sequence

READY = "READY"


def _ports(text: str) -> list[int]:
    ports = sorted({int(part) for part in text.split(",") if part})
    for port in ports:
        if not 1 <= port <= 65535:
            raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return ports


def _bind(kind: socket.SocketKind, port: int) -> socket.socket:
    """A socket on ``port`` for IPv4 and, where the namespace has IPv6, IPv6 too."""
    try:
        return _bind_any(kind, port)
    except OSError as exc:
        protocol = "TCP" if kind == socket.SOCK_STREAM else "UDP"
        raise OSError(exc.errno, f"cannot listen on {port}/{protocol}: {exc.strerror}") from exc


def _bind_any(kind: socket.SocketKind, port: int) -> socket.socket:
    try:
        sock = socket.socket(socket.AF_INET6, kind)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        address: tuple[str, int] = ("::", port)
    except OSError:
        sock = socket.socket(socket.AF_INET, kind)
        address = ("0.0.0.0", port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        if sock.family != socket.AF_INET6:
            raise
        sock.close()
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        sock.listen(128)
    sock.setblocking(False)
    return sock


def serve(name: str, tcp: Sequence[int], udp: Sequence[int], watch_stdin: bool) -> int:
    reply = f"netprobe {name}\n".encode()
    selector = selectors.DefaultSelector()
    for port in tcp:
        selector.register(_bind(socket.SOCK_STREAM, port), selectors.EVENT_READ, "tcp")
    for port in udp:
        selector.register(_bind(socket.SOCK_DGRAM, port), selectors.EVENT_READ, "udp")
    if watch_stdin:
        selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    print(READY, flush=True)
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    return 0
                continue
            assert isinstance(sock, socket.socket)
            try:
                if key.data == "tcp":
                    conn, _ = sock.accept()
                    conn.close()
                else:
                    _, peer = sock.recvfrom(65535)
                    sock.sendto(reply, peer)
            except OSError:
                continue


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", default="server", help="echoed in UDP replies")
    parser.add_argument("--tcp", type=_ports, default=[], help="comma-separated TCP ports")
    parser.add_argument("--udp", type=_ports, default=[], help="comma-separated UDP ports")
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    args = parser.parse_args(argv)
    try:
        return serve(args.name, args.tcp, args.udp, args.watch_stdin)
    except OSError as exc:
        print(f"netprobe server {args.name}: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
