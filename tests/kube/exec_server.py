"""A tiny exec endpoint of an API server, on 127.0.0.1 over a real socket (standard library
only), for the real ``kubernetes`` client and websocket-client to talk to.

It answers the WebSocket upgrade of ``GET /api/v1/namespaces/NS/pods/POD/exec`` with
subprotocol ``v4.channel.k8s.io`` (RFC 6455 handshake; each binary frame's first byte is
the channel: 1 stdout, 2 stderr, 3 the error channel's ``metav1.Status`` JSON) and then
does what the test's ``behave(conn, request)`` says: send frames well, or misbehave
(close the TCP connection mid-stream, reset it, send a malformed frame, stall).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopback import LoopbackServer

from netprobe.backends.base import ExecResult

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
SUCCESS: dict[str, Any] = {"metadata": {}, "status": "Success"}


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def argv(self) -> list[str]:
        return self.query.get("command", [])


Behave = Callable[[socket.socket, Request], None]


def frame(payload: bytes, opcode: int = 0x2, first: int | None = None) -> bytes:
    """An unmasked server frame; ``first`` overrides the first byte (FIN, RSV, opcode)."""
    head = bytes([0x80 | opcode if first is None else first])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


def channel(number: int, data: bytes) -> bytes:
    return frame(bytes([number]) + data)


def status(obj: dict[str, Any]) -> bytes:
    return channel(3, json.dumps(obj).encode())


def close_frame(code: int = 1000) -> bytes:
    return frame(struct.pack("!H", code), opcode=0x8)


def result_frames(result: ExecResult) -> bytes:
    """What kube-apiserver sends for a finished command: output, then the status."""
    out = b""
    if result.stdout:
        out += channel(1, result.stdout.encode())
    if result.stderr:
        out += channel(2, result.stderr.encode())
    if result.exit_code == 0:
        out += status(SUCCESS)
    elif result.exit_code is not None:
        code = str(result.exit_code)
        out += status(
            {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: exit code {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code}]},
            }
        )
    return out + close_frame()


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class ExecServer(LoopbackServer):
    """Accepts connections until closed; each one is read up to the end of its request
    headers, then handed to ``behave`` on its own thread. ``answer_upgrade=False`` leaves
    the handshake to ``behave`` (to stall it or refuse it)."""

    def __init__(self, behave: Behave, answer_upgrade: bool = True) -> None:
        self.behave = behave
        self.answer_upgrade = answer_upgrade
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        super().__init__()
        self.host = f"http://127.0.0.1:{self.port}"

    def accepted(self, conn: socket.socket) -> None:
        thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            parts = urlsplit(target)
            request = Request(parts.path, parse_qs(parts.query), headers)
            self.requests.append(request)
            if self.answer_upgrade and not self._upgrade(conn, request):
                return
            self.behave(conn, request)
        except OSError:
            pass  # the client went away: that is what some tests are about
        except BaseException as exc:  # surfaced by the tests
            self.errors.append(exc)

    def _upgrade(self, conn: socket.socket, request: Request) -> bool:
        parts = request.path.split("/")
        # /api/v1/namespaces/NS/pods/POD/exec
        shaped = len(parts) == 8 and parts[1:4] == ["api", "v1", "namespaces"]
        if not (shaped and parts[5] == "pods" and parts[7] == "exec"):
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return False
        offered = [p.strip() for p in request.headers.get("sec-websocket-protocol", "").split(",")]
        assert "v4.channel.k8s.io" in offered, offered
        key = request.headers["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n"
                "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n"
            ).encode()
        )
        return True

    def close(self) -> None:
        super().close()
        for thread in self._threads:
            thread.join(5)
