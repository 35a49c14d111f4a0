"""Exec through the real ``kubernetes`` client and websocket-client over a real socket, to
an exec endpoint (tests/kube/exec_server.py) that misbehaves: it drops the connection
mid-stream, resets it, sends a malformed frame, stalls in the middle of a frame, stalls
or refuses the handshake. Whatever it does, ``gateway.exec`` returns an ExecResult (or
raises one of netprobe's BackendErrors, which the runner records as ERROR outcomes) within
its deadline: no websocket-client exception escapes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import expect, ns, pod, suite
from emulator.websocket import channel, close_frame, frame
from exec_server import (
    SUCCESS,
    ExecServer,
    Request,
    WireGateway,
    gateway_for,
    reset,
    result_frames,
    status,
)
from fake_api import FakeApiServer
from kubernetes.client.exceptions import ApiException

from netprobe.backends.kubernetes import gateway as gateway_module
from netprobe.backends.kubernetes.api import ForbiddenError, UnreachableError
from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.clock import FakeClock
from netprobe.results import Status
from netprobe.run.runner import RunOptions, run_suite

MARKER = b"NETPROBE 0 rc=0 reply=0 t0=1.00 t1=1.01 err=\n"


def exec_on(server: ExecServer, timeout: float = 2.0) -> tuple[float, object]:
    gateway = gateway_for(server)
    began = time.monotonic()
    try:
        result = gateway.exec("x", "p", "probe", ["sh", "-c", "true"], timeout)
    finally:
        elapsed = time.monotonic() - began
        gateway.close()
    return elapsed, result


def test_the_server_speaks_the_channel_protocol(serve: Callable[..., ExecServer]) -> None:
    def well(conn: socket.socket, request: Request) -> None:
        conn.sendall(channel(1, MARKER) + channel(2, b"warn\n") + status(SUCCESS) + close_frame())

    server = serve(well)
    _, result = exec_on(server)
    assert (result.exit_code, result.stdout, result.stderr) == (0, MARKER.decode(), "warn\n")
    (request,) = server.requests
    assert request.path == "/api/v1/namespaces/x/pods/p/exec"
    assert request.argv == ["sh", "-c", "true"] and request.query["container"] == ["probe"]


def _fin_after_output(conn: socket.socket, request: Request) -> None:
    conn.sendall(channel(1, MARKER))
    time.sleep(0.1)
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def _rst_after_output(conn: socket.socket, request: Request) -> None:
    conn.sendall(channel(1, MARKER))
    time.sleep(0.1)
    reset(conn)


def _then_stall(conn: socket.socket, data: bytes) -> None:
    conn.sendall(channel(1, MARKER))
    time.sleep(0.1)
    conn.sendall(data)
    until_hung_up(conn)


def until_hung_up(conn: socket.socket, longest: float = 6.0) -> None:
    """Say nothing more; read (and drop) what the client sends until it hangs up."""
    conn.settimeout(longest)
    while conn.recv(65536):
        pass


BROKEN_FRAMES = {
    "rsv bits set": frame(b"\x01x", first=0xF2),
    "unknown opcode": frame(b"\x01x", first=0x83),
    "continuation without a start": frame(b"\x01x", first=0x80),
    "text frame not UTF-8": frame(b"\x01\xff\xfe", opcode=0x1),
    "close frame of one byte": frame(b"\x03", opcode=0x8),
}


@pytest.mark.parametrize(
    ("behave", "said"),
    [
        (_fin_after_output, "WebSocketConnectionClosedException"),
        (_rst_after_output, "ConnectionResetError"),
        *[
            (lambda c, r, data=data: _then_stall(c, data), "WebSocket")
            for data in BROKEN_FRAMES.values()
        ],
    ],
    ids=["connection closed mid-stream", "connection reset mid-stream", *BROKEN_FRAMES],
)
def test_a_stream_broken_mid_exec_is_a_result_with_no_exit_code(
    serve: Callable[..., ExecServer],
    behave: Callable[[socket.socket, Request], None],
    said: str,
) -> None:
    elapsed, result = exec_on(serve(behave), timeout=3.0)
    assert elapsed < 2.0, elapsed  # as soon as the stream broke, not at the deadline
    assert result.exit_code is None and not result.timed_out
    assert result.stdout == MARKER.decode()  # what arrived before is kept for the parser
    assert "netprobe: exec stream to pod x/p (container probe) broke off" in result.stderr
    assert said in result.stderr and "before the exit status arrived" in result.stderr


def test_a_stream_stalled_mid_frame_returns_by_the_deadline(
    serve: Callable[..., ExecServer],
) -> None:
    def stall_mid_frame(conn: socket.socket, request: Request) -> None:
        conn.sendall(channel(1, MARKER))
        time.sleep(0.1)
        conn.sendall(channel(1, b"x" * 50)[:10])  # a header promising 51 bytes, then 8
        until_hung_up(conn)

    elapsed, result = exec_on(serve(stall_mid_frame), timeout=1.0)
    assert elapsed < 1.4, elapsed
    assert result.timed_out and result.exit_code is None


def test_a_stream_that_goes_silent_keeps_its_output_at_the_deadline(
    serve: Callable[..., ExecServer],
) -> None:
    def silent(conn: socket.socket, request: Request) -> None:
        conn.sendall(channel(1, MARKER))
        until_hung_up(conn)

    elapsed, result = exec_on(serve(silent), timeout=1.0)
    assert elapsed < 1.4, elapsed
    assert result.timed_out and result.exit_code is None
    assert result.stdout == MARKER.decode()


def test_a_stalled_handshake_is_abandoned_at_the_deadline(
    serve: Callable[..., ExecServer],
) -> None:
    release = threading.Event()
    server = serve(lambda conn, request: release.wait(6), answer_upgrade=False)
    elapsed, result = exec_on(server, timeout=0.8)
    release.set()
    assert elapsed < 1.2, elapsed
    assert result.timed_out and "abandoned at its 0.8s deadline" in result.stderr


def test_a_handshake_the_server_hangs_up_on_is_an_unreachable_error(
    serve: Callable[..., ExecServer],
) -> None:
    server = serve(lambda conn, request: conn.close(), answer_upgrade=False)
    with pytest.raises(UnreachableError, match=r"exec in pod x/p \(container probe\): cannot"):
        exec_on(server)


def test_a_refused_handshake_is_translated(serve: Callable[..., ExecServer]) -> None:
    body = (
        b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden",'
        b'"message":"pods \\"p\\" is forbidden: cannot create pods/exec","code":403}'
    )

    def forbid(conn: socket.socket, request: Request) -> None:
        head = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
        conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        conn.close()

    server = serve(forbid, answer_upgrade=False)
    with pytest.raises(ForbiddenError, match="exec needs both 'get' and 'create'"):
        exec_on(server)


# -- through the runner ------------------------------------------------------------------


def cluster_exec(api: FakeApiServer, drops: list[int]) -> Callable[[socket.socket, Request], None]:
    """Execs run on ``api``'s dataplane; while ``drops[0] > 0`` an exec's connection is
    dropped (FIN, no close frame) after its first line of output instead."""

    def behave(conn: socket.socket, request: Request) -> None:
        namespace, pod = request.path.split("/")[4:7:2]
        container = request.query["container"][0]
        done = api.exec(namespace, pod, container, request.argv, 10.0)
        if drops[0] > 0:
            drops[0] -= 1
            conn.sendall(channel(1, done.stdout.encode().partition(b"\n")[0][:20]))
            conn.shutdown(socket.SHUT_RDWR)
            conn.close()
            return
        conn.sendall(result_frames(done))
        until_hung_up(conn)

    return behave


def run_over_the_wire(
    api: FakeApiServer,
    clock: FakeClock,
    serve: Callable[..., ExecServer],
    drops: int,
    **options: Any,
) -> tuple[Any, int]:
    left = [drops]
    server = serve(cluster_exec(api, left))
    backend = KubernetesBackend(WireGateway(api, server), KubeOptions(run_id="run1"), clock=clock)
    the_suite = suite(
        (ns("x"),), (pod("x/a", app="a"), pod("x/b", app="b")), (), [((), (expect("x/a", "x/b"),))]
    )
    result = run_suite(the_suite, backend, options=RunOptions(**options), clock=clock)
    return result, len(server.requests)


def test_a_dropped_exec_is_an_error_round_and_is_retried(
    api: FakeApiServer, clock: FakeClock, serve: Callable[..., ExecServer]
) -> None:
    result, execs = run_over_the_wire(api, clock, serve, drops=1)
    (only,) = result.results
    assert only.status is Status.PASS and only.observation is not None
    assert only.observation.attempts >= 2 and execs >= 2
    assert "x" not in api.namespaces and not api.pods and not api.leases


def test_execs_that_keep_dropping_end_in_error_and_cleanup(
    api: FakeApiServer, clock: FakeClock, serve: Callable[..., ExecServer]
) -> None:
    result, execs = run_over_the_wire(api, clock, serve, drops=1000, settle_timeout=3.0)
    (only,) = result.results
    assert only.status is Status.ERROR and only.failed and only.observation is not None
    assert execs == only.observation.attempts >= 2
    assert "broke off" in only.observation.detail, only.observation.detail
    assert "WebSocketConnectionClosedException" in only.observation.detail
    assert "x" not in api.namespaces and not api.pods and not api.leases


# -- kubernetes 36.x ---------------------------------------------------------------------


def test_the_36x_attribute_error_on_a_failed_handshake_is_unwrapped(
    serve: Callable[..., ExecServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # kubernetes 36.0.0 to 36.0.3, client/api_client.py ``__call_api``:
    #     except ApiException as e: e.body = e.body.decode('utf-8') ...
    # on the ApiException(status=0, reason=...) of ws_client.py ``websocket_call``, whose
    # body is None. (The installed client may be another version: its shape is rebuilt.)
    def stream_36(*args: Any, **kwargs: Any) -> Any:
        try:
            raise ApiException(status=0, reason="Connection to remote host was lost.")
        except ApiException as e:
            e.body = e.body.decode("utf-8")  # type: ignore[union-attr]
            raise

    monkeypatch.setattr(gateway_module, "stream", stream_36)
    with pytest.raises(UnreachableError, match=r"cannot reach .*: Connection to remote host"):
        exec_on(serve(lambda conn, request: None))
