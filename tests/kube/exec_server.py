"""A tiny exec endpoint of an API server, on 127.0.0.1 over a real socket (standard library
only), for the real ``kubernetes`` client and websocket-client to talk to.

It answers the WebSocket upgrade of ``GET /api/v1/namespaces/NS/pods/POD/exec`` with
subprotocol ``v4.channel.k8s.io``, or ``v5.channel.k8s.io`` when asked to and the client
offers it (RFC 6455 handshake; each binary frame's first byte is the channel: 0 stdin,
1 stdout, 2 stderr, 3 the error channel's ``metav1.Status`` JSON; on v5, ``[255, N]``
closes channel N), and then does what the test's ``behave(conn, request)`` says: send
frames well, or misbehave (close the TCP connection mid-stream, reset it, send a malformed
frame, stall). :class:`RealExec` runs the command for real, stdin included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

from emulator.websocket import accept_key, channel, close_frame, status_frame
from fake_api import FakeApiServer
from kubernetes import client
from loopback import LoopbackServer

from netprobe.backends.base import ExecResult
from netprobe.backends.kubernetes.gateway import ClientGateway

SUCCESS: dict[str, Any] = {"metadata": {}, "status": "Success"}


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    line: str = ""
    """The request line as it came, ``GET /api/...?... HTTP/1.1``."""
    protocol: str = ""
    """The subprotocol the server chose in the handshake."""

    @property
    def argv(self) -> list[str]:
        return self.query.get("command", [])

    @property
    def stdin(self) -> bool:
        return self.query.get("stdin") == ["true"]


Behave = Callable[[socket.socket, Request], None]


def status(obj: dict[str, Any]) -> bytes:
    return status_frame(obj)


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


def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(conn: socket.socket) -> tuple[int, bytes] | None:
    """The client's next frame as (opcode, payload), unmasked; None when it hung up.

    Clients mask every frame with the 4-byte key after the length (RFC 6455 section 5.3);
    websocket-client sends each message as one frame, so a fragment is a test failure."""
    head = _recv_exactly(conn, 2)
    if head is None:
        return None
    assert head[0] & 0x80, "a fragmented message"
    assert head[1] & 0x80, "an unmasked client frame (RFC 6455 section 5.1)"
    size = head[1] & 0x7F
    extended = {126: "!H", 127: "!Q"}.get(size)
    if extended is not None:
        raw = _recv_exactly(conn, struct.calcsize(extended))
        if raw is None:
            return None
        (size,) = struct.unpack(extended, raw)
    key = _recv_exactly(conn, 4)
    payload = _recv_exactly(conn, size) if size else b""
    if key is None or payload is None:
        return None
    mask = int.from_bytes((key * (size // 4 + 1))[:size], "big")
    unmasked = (int.from_bytes(payload, "big") ^ mask).to_bytes(size, "big")
    return head[0] & 0x0F, unmasked


@dataclass
class FromClient:
    """What a client sent after the handshake."""

    stdin: bytearray = field(default_factory=bytearray)
    stdin_frames: list[tuple[int, int]] = field(default_factory=list)
    """(opcode, length of the data) of each channel-0 frame."""
    closed: list[int] = field(default_factory=list)
    """The channels it closed with v5's ``[255, channel]``, in order."""
    other: list[tuple[int, bytes]] = field(default_factory=list)


def receive(
    conn: socket.socket,
    got: FromClient,
    to_stdin: IO[bytes] | None = None,
    protocol: str = "v4.channel.k8s.io",
) -> None:
    """Read the client's frames until it closes or hangs up, into ``got``; stdin goes on to
    ``to_stdin`` as it arrives (closed on v5's close of channel 0)."""
    while (received := read_frame(conn)) is not None:
        opcode, payload = received
        if opcode == 0x8:
            return
        if opcode in (0x1, 0x2) and payload[:1] == b"\x00":
            got.stdin += payload[1:]
            got.stdin_frames.append((opcode, len(payload) - 1))
            if to_stdin is not None:
                with contextlib.suppress(OSError, ValueError):  # the process exited
                    to_stdin.write(payload[1:])
                    to_stdin.flush()
        elif opcode == 0x2 and payload[:1] == b"\xff" and protocol == "v5.channel.k8s.io":
            got.closed.append(payload[1])
            if payload[1:] == b"\x00" and to_stdin is not None:
                with contextlib.suppress(OSError):
                    to_stdin.close()
        else:
            got.other.append((opcode, payload))


class RealExec:
    """``behave`` that runs the requested command for real in ``env``, then sends its
    stdout, stderr and exit status. Channel 0 goes into its stdin as it arrives; only v5's
    close of channel 0 closes it (on v4 it stays open until the process exits, as
    containerd leaves it). What each client sent is kept in :attr:`received`."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.received: list[FromClient] = []

    def __call__(self, conn: socket.socket, request: Request) -> None:
        got = FromClient()
        self.received.append(got)
        with subprocess.Popen(
            request.argv,
            stdin=subprocess.PIPE if request.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        ) as process:
            pump = threading.Thread(
                target=receive, args=(conn, got, process.stdin, request.protocol), daemon=True
            )
            pump.start()
            out, err = _drain(process)
            code = process.wait(30)
            conn.sendall(result_frames(ExecResult(code, out.decode(), err.decode())))
            pump.join(6)


def _drain(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Both output pipes read to their end at once (one after the other could deadlock)."""
    read: dict[str, bytes] = {}
    threads = [
        threading.Thread(target=lambda k=k, f=f: read.__setitem__(k, f.read()), daemon=True)
        for k, f in (("out", process.stdout), ("err", process.stderr))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return read.get("out", b""), read.get("err", b"")


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class ExecServer(LoopbackServer):
    """Accepts connections until closed; each one is read up to the end of its request
    headers, then handed to ``behave`` on its own thread. ``answer_upgrade=False`` leaves
    the handshake to ``behave`` (to stall it or refuse it)."""

    def __init__(
        self,
        behave: Behave,
        answer_upgrade: bool = True,
        v5: bool = False,
        refuse: Callable[[Request], bytes | None] | None = None,
    ) -> None:
        self.behave = behave
        self.answer_upgrade = answer_upgrade
        self.v5 = v5
        """Choose v5.channel.k8s.io when the client offers it."""
        self.refuse = refuse
        """The HTTP answer to send instead of the upgrade, when it gives one."""
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
            request = Request(parts.path, parse_qs(parts.query), headers, lines[0])
            refusal = self.refuse(request) if self.refuse is not None else None
            protocol = None
            if refusal is None and self.answer_upgrade:
                protocol = self._upgrade(conn, request)
            if protocol is not None:
                request = dataclasses.replace(request, protocol=protocol)
            self.requests.append(request)
            if refusal is not None:
                conn.sendall(refusal)
                conn.close()
                return
            if self.answer_upgrade and protocol is None:
                return
            self.behave(conn, request)
        except OSError:
            pass  # the client went away: that is what some tests are about
        except BaseException as exc:  # surfaced by the tests
            self.errors.append(exc)

    def _upgrade(self, conn: socket.socket, request: Request) -> str | None:
        """The handshake; the subprotocol chosen, None when refused."""
        parts = request.path.split("/")
        # /api/v1/namespaces/NS/pods/POD/exec
        shaped = len(parts) == 8 and parts[1:4] == ["api", "v1", "namespaces"]
        if not (shaped and parts[5] == "pods" and parts[7] == "exec"):
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return None
        offered = [p.strip() for p in request.headers.get("sec-websocket-protocol", "").split(",")]
        assert "v4.channel.k8s.io" in offered, offered
        v5 = "v5.channel.k8s.io"
        protocol = v5 if self.v5 and v5 in offered else "v4.channel.k8s.io"
        key = request.headers["sec-websocket-key"]
        accept = accept_key(key)
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n"
                f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n"
            ).encode()
        )
        return protocol

    def close(self) -> None:
        super().close()
        for thread in self._threads:
            thread.join(5)


def gateway_for(server: ExecServer) -> ClientGateway:
    """The real gateway (and client) execing against ``server``."""
    configuration = client.Configuration()
    configuration.host = server.host
    return ClientGateway(configuration, f"{server.host} (test)", 5.0, 2)


class WireGateway:
    """The in-memory API server for everything but exec, which goes through the real
    client over a real socket to ``server``."""

    def __init__(self, api: FakeApiServer, server: ExecServer) -> None:
        self._api = api
        self._wire = gateway_for(server)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        return self._wire.exec(namespace, pod, container, argv, timeout)

    def close(self) -> None:
        self._wire.close()
        self._api.close()
