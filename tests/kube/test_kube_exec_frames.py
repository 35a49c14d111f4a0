"""Exec through the real client's WebSocket code, with scripted frames instead of a socket.

Like the client's own ws_client tests, ``create_websocket`` is replaced by a fake that
hands out frames (channel byte + payload): 1 stdout, 2 stderr, 3 the error channel's
Status. Everything above it (``kubernetes.stream``, WSClient, our gateway) is real.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from ipaddress import ip_address
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client
from kubernetes.stream import ws_client
from websocket import ABNF, WebSocketBadStatusException

from netprobe.backends.kubernetes.api import ForbiddenError, NotFoundError
from netprobe.backends.kubernetes.execpool import ExecWorkers, Handle
from netprobe.backends.kubernetes.gateway import ClientGateway
from netprobe.model import Protocol
from netprobe.probes import Outcome, Probe, parse_probe_output

SUCCESS = {"metadata": {}, "status": "Success"}


def nonzero(code: str) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[sh -c ...], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code}]},
    }


NOT_FOUND = {
    "metadata": {},
    "status": "Failure",
    "message": 'exec: "nc": executable file not found in $PATH: unknown',
    "reason": "InternalError",
    "details": {"causes": [{"message": 'exec: "nc": executable file not found'}]},
}


class FakeWebSocket:
    """What ``create_websocket`` returns: frames readable through a real socket pair, so
    the client's poll() sees them; closed at the end unless ``stay_open``."""

    def __init__(self, frames: Sequence[tuple[int, bytes]], stay_open: bool = False) -> None:
        self._reader, self._writer = socket.socketpair()
        self.sock = self._reader
        self.connected = True
        self.subprotocol = "v4.channel.k8s.io"
        self.closed = False
        self._frames = deque((ABNF.OPCODE_BINARY, bytes([c]) + data) for c, data in frames)
        if not stay_open:
            self._frames.append((ABNF.OPCODE_CLOSE, b""))
        self._writer.send(b"x" * len(self._frames))

    def recv_data_frame(self, control_frame: bool = True) -> tuple[int, Any]:
        self._reader.recv(1)
        opcode, data = self._frames.popleft()
        return opcode, SimpleNamespace(data=data)

    def getheaders(self) -> dict[str, str]:
        return {}

    def close(self, **kwargs: Any) -> None:
        self.closed = True
        self.connected = False
        self._reader.close()
        self._writer.close()


@pytest.fixture
def gateway() -> Iterator[ClientGateway]:
    configuration = client.Configuration()
    configuration.host = "https://apiserver.test:6443"
    gw = ClientGateway(configuration, "https://apiserver.test:6443 (test)", 5.0, 3)
    yield gw
    gw.close()


class Sockets(list[Any]):
    """FakeWebSockets (or exceptions, or callables) for the next execs, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> Sockets:
    queue = Sockets()

    def create(configuration: Any, url: str, headers: Any = None) -> Any:
        queue.urls.append(url)
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item() if callable(item) else item

    monkeypatch.setattr(ws_client, "create_websocket", create)
    return queue


def status(obj: dict[str, Any]) -> tuple[int, bytes]:
    return 3, json.dumps(obj).encode()


def test_stdout_and_stderr_stay_apart_and_success_is_exit_0(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    sockets.append(
        FakeWebSocket([(1, b"out 1\n"), (2, b"err 1\n"), (1, b"out 2\n"), status(SUCCESS)])
    )
    result = gateway.exec("x", "a", "probe", ["sh", "-c", "echo hi"], 2.0)
    assert (result.stdout, result.stderr, result.exit_code, result.timed_out) == (
        "out 1\nout 2\n",
        "err 1\n",
        0,
        False,
    )
    url = sockets.urls[0]
    assert url.startswith("wss://apiserver.test:6443/api/v1/namespaces/x/pods/a/exec?")
    assert "command=sh&command=-c&command=echo%20hi" in url and "container=probe" in url
    assert "tty=false" in url.lower() and "stdin=false" in url.lower()


def test_non_zero_exit_code_comes_from_the_status_causes(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    sockets.append(FakeWebSocket([(2, b"boom\n"), status(nonzero("3"))]))
    result = gateway.exec("x", "a", "probe", ["false"], 2.0)
    assert (result.exit_code, result.stderr) == (3, "boom\n")


def test_a_failure_that_is_not_an_exit_code_is_shown_not_raised(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    sockets.append(FakeWebSocket([status(NOT_FOUND)]))
    result = gateway.exec("x", "a", "probe", ["nc"], 2.0)
    assert result.exit_code is None and not result.timed_out
    assert 'netprobe: exec failed: exec: "nc": executable file not found' in result.stderr


def test_an_empty_error_channel_means_unknown_exit_code(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    sockets.append(FakeWebSocket([(1, b"NETPROBE_DONE\n")]))
    result = gateway.exec("x", "a", "probe", ["true"], 2.0)
    assert (result.exit_code, result.stdout, result.timed_out) == (None, "NETPROBE_DONE\n", False)


def test_a_stream_still_open_at_the_deadline_is_a_timeout_and_is_closed(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    ws = FakeWebSocket([(1, b"NETPROBE 0 rc=0 reply=0 t0=1 t1=1 err=\n")], stay_open=True)
    sockets.append(ws)
    began = time.monotonic()
    result = gateway.exec("x", "a", "probe", ["sleep", "100"], 0.4)
    assert time.monotonic() - began < 1.5
    assert result.timed_out and result.exit_code is None
    assert result.stdout.startswith("NETPROBE 0")  # what arrived is kept for the parser
    assert ws.closed


def test_markers_decide_even_when_the_status_says_success(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    # kubernetes-client/python#2328: `false` sometimes reports Success on channel 3.
    marker = (
        "NETPROBE 0 rc=1 reply=0 t0=1.00 t1=2.00 err=nc: connect to 10.0.0.2 port 80 (tcp) "
        "timed out: Operation now in progress\nNETPROBE_DONE\n"
    )
    sockets.append(FakeWebSocket([(1, marker.encode()), status(SUCCESS)]))
    result = gateway.exec("x", "a", "probe", ["sh", "-c", "..."], 3.0)
    assert result.exit_code == 0
    probe = Probe(ip_address("10.0.0.2"), 80, Protocol.TCP)
    (parsed,) = parse_probe_output(
        [probe], result.stdout, 1.0, stderr=result.stderr, exit_code=result.exit_code
    )
    assert parsed.outcome is Outcome.TIMEOUT


@pytest.mark.parametrize(
    ("status_code", "error", "text"),
    [
        (403, ForbiddenError, "exec needs both 'get' and 'create' on pods/exec"),
        (404, NotFoundError, "exec in pod x/a (container probe): not found"),
    ],
)
def test_handshake_failures_are_translated(
    gateway: ClientGateway, sockets: Sockets, status_code: int, error: type, text: str
) -> None:
    sockets.append(WebSocketBadStatusException(f"Handshake status {status_code} Nope", status_code))
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        gateway.exec("x", "a", "probe", ["true"], 2.0)


def test_a_hung_handshake_is_abandoned_at_the_hard_deadline(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    release = threading.Event()

    def hang() -> FakeWebSocket:
        release.wait(10)
        return FakeWebSocket([status(SUCCESS)])

    sockets.append(hang)
    began = time.monotonic()
    result = gateway.exec("x", "a", "probe", ["true"], 0.3)
    assert time.monotonic() - began < 1.0
    assert result.timed_out and "abandoned at its 0.3s deadline" in result.stderr
    release.set()
    # The REST client was never touched by the exec (stream() patches the client it is given).
    assert "call_api" not in vars(gateway._rest) and "request" not in vars(gateway._rest)


def test_each_exec_worker_owns_its_client_and_replaces_it_after_an_abandoned_call() -> None:
    made: list[object] = []
    lock = threading.Lock()

    def make_api() -> object:
        with lock:
            made.append(object())
            return made[-1]

    workers = ExecWorkers(make_api, 2)
    seen: list[tuple[int, int]] = []
    barrier = threading.Barrier(2)

    def job(api: object, handle: Handle) -> Any:
        barrier.wait(5)
        seen.append((threading.get_ident(), id(api)))
        return None

    jobs = [workers.submit(job) for _ in range(4)]
    for j in jobs:
        j.future.result(5)
    by_thread: dict[int, set[int]] = {}
    for thread, api in seen:
        by_thread.setdefault(thread, set()).add(api)
    assert len(by_thread) == 2 and all(len(apis) == 1 for apis in by_thread.values())
    assert len(made) == 2

    def abandoned(api: object, handle: Handle) -> Any:
        handle.abandon()
        return None

    workers.submit(abandoned).future.result(5)
    barrier.reset()
    followups = [workers.submit(job) for _ in range(2)]
    for j in followups:
        j.future.result(5)
    assert len(made) == 3  # the abandoned worker started afresh, the other kept its client
    workers.close()


def test_workers_stuck_in_abandoned_handshakes_are_replaced(
    gateway: ClientGateway, sockets: Sockets
) -> None:
    # A WebSocket handshake has no timeout of its own: a worker abandoned in one may never
    # come back. With every worker (3 here) stuck so, later execs must still run.
    release = threading.Event()

    def hang() -> FakeWebSocket:
        release.wait(10)
        return FakeWebSocket([status(SUCCESS)])

    sockets.extend([hang, hang, hang])
    for _ in range(3):
        assert gateway.exec("x", "a", "probe", ["true"], 0.2).timed_out
    sockets.append(FakeWebSocket([(1, b"NETPROBE_DONE\n"), status(SUCCESS)]))
    result = gateway.exec("x", "a", "probe", ["true"], 2.0)
    release.set()
    assert not result.timed_out and result.stdout == "NETPROBE_DONE\n"
