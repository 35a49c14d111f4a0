"""RFC 6455 framing, server side, and the Kubernetes exec channel protocol on top.

kube-apiserver streams exec over WebSocket with a subprotocol naming the channel format
(k8s.io/apimachinery pkg/util/remotecommand/constants.go: ``v4.channel.k8s.io``, and
``v5.channel.k8s.io``, which adds channel 255 to close a stream): every message's first
byte is its channel (0 stdin, 1 stdout, 2 stderr, 3 the error channel with the final
``metav1.Status``, 4 resize), the rest its data. Client frames are masked (RFC 6455 5.3).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
from dataclasses import dataclass
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
"""What the emulator speaks, preferred first."""
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def choose_protocol(offered: str, spoken: tuple[str, ...] = PROTOCOLS) -> str | None:
    """The first of ``spoken`` the client offers (kube-apiserver before 1.30 speaks no v5:
    ``spoken`` without it emulates one)."""
    wanted = [p.strip() for p in offered.split(",") if p.strip()]
    return next((p for p in spoken if p in wanted), None)


def frame(payload: bytes, opcode: int = OP_BINARY, first: int | None = None) -> bytes:
    """An unmasked server frame, final; ``first`` overrides the first byte (FIN, RSV,
    opcode), to make a malformed one."""
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


def status_frame(status: dict[str, Any]) -> bytes:
    return channel(ERROR, json.dumps(status).encode())


def close_frame(code: int = 1000) -> bytes:
    return frame(struct.pack("!H", code), OP_CLOSE)


@dataclass(frozen=True)
class Message:
    opcode: int
    payload: bytes


def read_message(conn: socket.socket) -> Message | None:
    """One client frame (unmasked for the caller); None at EOF."""
    head = _exactly(conn, 2)
    if head is None:
        return None
    opcode, size = head[0] & 0x0F, head[1] & 0x7F
    masked = head[1] & 0x80
    if size == 126:
        raw = _exactly(conn, 2)
        if raw is None:
            return None
        (size,) = struct.unpack("!H", raw)
    elif size == 127:
        raw = _exactly(conn, 8)
        if raw is None:
            return None
        (size,) = struct.unpack("!Q", raw)
    mask = _exactly(conn, 4) if masked else b"\0\0\0\0"
    data = _exactly(conn, size) if size else b""
    if mask is None or data is None:
        return None
    return Message(opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def _exactly(conn: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
