"""The server of local probe pods (and external hosts): one process serves many of them.

For each ``--serve NETNS NAME TCP UDP`` it enters the network namespace at path ``NETNS``
(``-``: its own) just long enough to open that pod's sockets (a socket stays in the
namespace it was made in), so one process serves hundreds of pods: starting a Python
process per pod took 18 ms of CPU each (9 s for 500 pods) and held three of netprobe's
open files each. It accepts TCP connections (and closes them at once) and answers every
UDP datagram with ``netprobe <NAME>\\n`` on each port given, then prints ``READY`` on
stdout so the backend knows the pods serve. With ``--watch-stdin`` it exits when its stdin
closes, so a backend that dies (even by SIGKILL) takes its servers with it.

Only the standard library, and no netprobe import: the backend starts it as a script
(``python -I -S .../listener.py``) to keep start-up to a few milliseconds; ``python -m
netprobe.backends.local.listener`` works too.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import selectors
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

READY = "READY"
CLONE_NEWNET = 0x40000000  # linux/sched.h
_LIBC = ctypes.CDLL(None, use_errno=True)
HERE = "-"
"""As ``NETNS``: the namespace the server runs in; as ``TCP`` or ``UDP``: no port."""


class Site(NamedTuple):
    """One pod (or external host) to serve."""

    netns: str | None
    name: str
    tcp: list[int]
    udp: list[int]


def _ports(text: str) -> list[int]:
    if text == HERE:
        return []
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


@contextmanager
def _inside(netns: str | None) -> Iterator[None]:
    """The calling thread in the network namespace at path ``netns``, then back."""
    if netns is None:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot enter {netns}: {exc.strerror}") from None
        try:
            if _LIBC.setns(target, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"cannot enter {netns}: {os.strerror(errno)}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            if _LIBC.setns(home, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"cannot leave {netns}: {os.strerror(errno)}")
    finally:
        os.close(home)


def _allow_open_files(count: int) -> None:
    """Raise this process's soft limit on open files to ``count`` (within the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def serve(sites: Sequence[Site], watch_stdin: bool) -> int:
    _allow_open_files(sum(len(site.tcp) + len(site.udp) for site in sites) + 64)
    selector = selectors.DefaultSelector()
    for site in sites:
        try:
            with _inside(site.netns):
                _open(selector, site)
        except OSError as exc:
            raise OSError(exc.errno, f"{site.name}: {exc.strerror}") from exc
    stdin = sys.stdin.fileno()
    if watch_stdin:
        selector.register(stdin, selectors.EVENT_READ)
    print(READY, flush=True)
    while True:
        for key, _ in selector.select():
            if key.fd == stdin:
                if not os.read(stdin, 4096):
                    return 0
                continue
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                if key.data is None:
                    conn, _ = sock.accept()
                    conn.close()
                else:
                    _, peer = sock.recvfrom(65535)
                    sock.sendto(key.data, peer)
            except OSError:
                continue


def _open(selector: selectors.BaseSelector, site: Site) -> None:
    """Listen on the ports of ``site``; a UDP socket's data is its reply, a TCP one's None."""
    reply = f"netprobe {site.name}\n".encode()
    for port in site.tcp:
        selector.register(_bind(socket.SOCK_STREAM, port), selectors.EVENT_READ, None)
    for port in site.udp:
        selector.register(_bind(socket.SOCK_DGRAM, port), selectors.EVENT_READ, reply)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--serve",
        nargs=4,
        action="append",
        default=[],
        metavar=("NETNS", "NAME", "TCP", "UDP"),
        help="serve comma-separated TCP and UDP ports ('-': none) in the network namespace "
        "at path NETNS ('-': this one), echoing NAME in UDP replies; repeatable",
    )
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    args = parser.parse_args(argv)
    try:
        sites = [
            Site(None if netns == HERE else netns, name, _ports(tcp), _ports(udp))
            for netns, name, tcp, udp in args.serve
        ]
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(f"--serve: {exc}")
    try:
        return serve(sites, args.watch_stdin)
    except OSError as exc:
        print(f"netprobe server: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
