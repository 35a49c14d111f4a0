"""A probe script too long for the exec URL goes on stdin (netprobe/backends/kubernetes/
execinput.py), through the real ``kubernetes`` client and websocket-client over a real
socket, to an exec endpoint that runs what it received with the real ``sh`` and ``head``
and a stand-in ``nc`` (tests/kube/exec_server.py ``RealExec``, tests/stand_in_nc.py)."""

from __future__ import annotations

import math
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import expect, ns, pod, suite
from exec_server import ExecServer, RealExec, Request, WireGateway, gateway_for
from fake_api import FakeApiServer
from stand_in_nc import NC_BY_PORT, probe_path

from netprobe.backends.base import ExecResult
from netprobe.backends.kubernetes.api import ForbiddenError, InvalidError
from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.execinput import QUERY_LIMIT, bootstrap, exec_input, query_size
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.clock import FakeClock
from netprobe.model import PodRef, Protocol
from netprobe.probes import Outcome, Probe, parse_probe_output, probe_command
from netprobe.results import Status
from netprobe.run.engine import EXEC_PROBES, probe_round
from netprobe.run.runner import RunOptions, run_suite

pytestmark = pytest.mark.skipif(shutil.which("head") is None, reason="needs sh and head")

OUTCOME_BY_PORT = {80: Outcome.CONNECTED, 81: Outcome.REFUSED, 82: Outcome.TIMEOUT}


def probes(count: int) -> list[Probe]:
    return [
        Probe(ip_address(f"10.244.{i // 250}.{i % 250 + 1}"), 80 + i % 3, Protocol.TCP)
        for i in range(count)
    ]


BUSYBOX = shutil.which("busybox")
SHELLS = [
    pytest.param("system", id="sh+head"),
    pytest.param(
        "busybox",
        id="busybox-sh+head",
        marks=pytest.mark.skipif(BUSYBOX is None, reason="no busybox"),
    ),
]
"""The ``sh`` and ``head`` the bootstrap meets: this machine's (Debian: dash, GNU
coreutils), or BusyBox's applets, as in agnhost (Alpine)."""


@pytest.fixture(params=SHELLS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A PATH of ``sh``, ``head`` and the stand-in ``nc``, and nothing else."""
    bin_dir = tmp_path / "bin"
    if request.param == "system":
        return probe_path(bin_dir, NC_BY_PORT, ("sh", "head"))
    found = probe_path(bin_dir, NC_BY_PORT, ())
    assert BUSYBOX is not None
    for applet in ("sh", "head"):
        (bin_dir / applet).symlink_to(BUSYBOX)  # BusyBox runs the applet named by argv[0]
    return found


def exec_on(server: ExecServer, argv: Sequence[str], timeout: float = 20.0) -> ExecResult:
    gateway = gateway_for(server)
    try:
        return gateway.exec("x", "p", "probe", argv, timeout)
    finally:
        gateway.close()


def like_nginx(request: Request) -> bytes | None:
    """A proxy with nginx's default ``large_client_header_buffers 4 8k``: a request line
    longer than one buffer is answered 414."""
    if len(request.line) + 2 <= 8192:
        return None
    body = b"<html><head><title>414 Request-URI Too Large</title></head></html>\r\n"
    head = b"HTTP/1.1 414 Request-URI Too Large\r\nContent-Type: text/html\r\n"
    return head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def command_params(request: Request) -> str:
    """The ``command=`` parameters of the request line, as the client encoded them."""
    query = urlsplit(request.line.split(" ")[1]).query
    return "&".join(p for p in query.split("&") if p.startswith("command="))


# -- the choice -------------------------------------------------------------------------


def test_a_short_script_stays_in_the_url() -> None:
    argv = probe_command(probes(10), 1.0)
    assert exec_input(argv).argv == argv and exec_input(argv).stdin is None


def test_a_script_of_a_thousand_probes_goes_on_stdin_behind_a_short_bootstrap() -> None:
    argv = probe_command(probes(1000), 1.0)
    assert query_size(argv) > 40_000  # what a proxy with 8 KiB request lines answers 414 to
    sent = exec_input(argv)
    assert sent.stdin == argv[2].encode()
    assert sent.argv == bootstrap(len(sent.stdin)) and query_size(sent.argv) < 200


def test_the_byte_count_is_of_bytes_not_characters() -> None:
    sent = exec_input(("sh", "-c", "echo é" * 1000))
    assert sent.stdin is not None and len(sent.stdin) == 7000
    assert sent.argv == bootstrap(7000)


# -- the bootstrap, run by the real shells -----------------------------------------------

SCRIPTS = {
    "exit status": "true; (exit 7)",
    "exit in the middle": "echo before; exit 3; echo after",
    "$0 and no arguments": 'echo "$0 $#"',
    "traps": "trap 'echo bye' EXIT; echo hi",
    "set -e": "set -e; false; echo not reached",
    "set -e in an AND-OR list": "set -e; false || echo went on; echo end",
    "non-ASCII": "printf '%s\\n' 'é ü 名'",
    "stdin is at its end": 'read -r line; echo "read=$? [$line]"',
    "background jobs and wait": '(exit 4) & wait $!; echo "job=$?"; echo x & wait',
    "trailing newlines": "echo x\n\n\n",
}


def run_with_stdin_left_open(argv: Sequence[str], data: bytes, env: dict[str, str]) -> Any:
    """``argv`` with ``data`` on a stdin that is never closed, as v4.channel.k8s.io leaves
    it: a reader waiting for the end of input would never return."""
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(data)
        process.stdin.flush()
        try:
            code = process.wait(timeout=20)
        finally:
            process.kill()
        return code, process.stdout.read(), process.stderr.read() if process.stderr else b""


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_the_bootstrap_runs_a_script_as_sh_c_does(env: dict[str, str], script: str) -> None:
    direct = subprocess.run(
        ["sh", "-c", script], capture_output=True, stdin=subprocess.DEVNULL, env=env, timeout=20
    )
    sent = exec_input(("sh", "-c", script), limit=0)
    assert sent.stdin is not None and sent.argv[0] == "sh"
    code, out, err = run_with_stdin_left_open(sent.argv, sent.stdin, env)
    assert (code, out) == (direct.returncode, direct.stdout)
    assert bool(err) == bool(direct.stderr)


def test_another_long_command_is_execed_from_a_quoted_script(env: dict[str, str]) -> None:
    argv = ("sh", "-c", 'printf "%s|" "$0" "$@"', "it's", "*", "x" * 5000)
    sent = exec_input(argv)
    assert sent.stdin is not None and sent.stdin.startswith(b"exec sh -c ")
    code, out, _ = run_with_stdin_left_open(sent.argv, sent.stdin, env)
    assert (code, out) == (0, b"it's|*|" + b"x" * 5000 + b"|")


# -- through the real client -------------------------------------------------------------


@pytest.mark.parametrize("v5", [False, True], ids=["v4", "v5"])
def test_a_thousand_probes_go_on_stdin_and_run_for_real(
    serve: Callable[..., ExecServer], env: dict[str, str], v5: bool
) -> None:
    many = probes(1000)
    argv = probe_command(many, 1.0)
    real = RealExec(env)
    server = serve(real, v5=v5, refuse=like_nginx)
    done = exec_on(server, argv)
    (request,) = server.requests
    assert request.stdin and request.protocol == ("v5" if v5 else "v4") + ".channel.k8s.io"
    assert len(request.line) < QUERY_LIMIT, len(request.line)
    assert request.argv == list(exec_input(argv).argv)
    (got,) = real.received
    assert bytes(got.stdin) == argv[2].encode()
    assert got.stdin_frames == [(0x2, len(argv[2]))]  # one binary frame
    assert got.closed == ([0] if v5 else [])  # v4 cannot close stdin; v5 does
    assert done.exit_code == 0, done.stderr
    results = parse_probe_output(many, done.stdout, 1.0, stderr=done.stderr)
    assert [r.outcome for r in results] == [OUTCOME_BY_PORT[p.port] for p in many]
    assert Counter(r.outcome for r in results)[Outcome.CONNECTED] == 334


def test_a_short_script_still_goes_in_the_url(
    serve: Callable[..., ExecServer], env: dict[str, str]
) -> None:
    few = probes(3)
    argv = probe_command(few, 1.0)
    real = RealExec(env)
    server = serve(real, v5=True)
    done = exec_on(server, argv)
    (request,) = server.requests
    assert not request.stdin and request.argv == list(argv)
    assert request.query["stdin"] == ["false"]
    (got,) = real.received
    assert not got.stdin and not got.closed and not got.other
    results = parse_probe_output(few, done.stdout, 1.0)
    assert [r.outcome for r in results] == [Outcome.CONNECTED, Outcome.REFUSED, Outcome.TIMEOUT]


def test_the_size_is_reckoned_no_smaller_than_the_client_encodes(
    serve: Callable[..., ExecServer], env: dict[str, str]
) -> None:
    # The longest script that still goes in the URL: its real parameters fit the limit.
    count = max(n for n in range(1, 200) if query_size(probe_command(probes(n), 1.0)) <= 4096)
    argv = probe_command(probes(count), 1.0)
    server = serve(RealExec(env))
    exec_on(server, argv)
    (request,) = server.requests
    assert not request.stdin
    assert len(command_params(request)) <= query_size(argv) <= QUERY_LIMIT


def _refuse_stdin(request: Request) -> bytes | None:
    """A ValidatingAdmissionPolicy on CONNECT pods/exec that denies ``object.stdin``."""
    if not request.stdin:
        return None
    body = (
        b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,'
        b'"message":"pods \\"p\\" is forbidden: ValidatingAdmissionPolicy \'no-stdin\' with '
        b"binding 'no-stdin' denied request: exec with stdin is not allowed\"}"
    )
    head = b"HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json\r\n"
    return head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_a_server_that_refuses_stdin_is_named_as_the_reason(
    serve: Callable[..., ExecServer], env: dict[str, str]
) -> None:
    server = serve(RealExec(env), refuse=_refuse_stdin)
    argv = probe_command(probes(1000), 1.0)
    with pytest.raises(InvalidError) as raised:
        exec_on(server, argv)
    message = str(raised.value)
    assert "denied request: exec with stdin is not allowed" in message
    assert f"sent its {len(argv[2])}-byte script on stdin (stdin=true)" in message
    # The same server runs short scripts, which need no stdin.
    done = exec_on(server, probe_command(probes(1), 1.0))
    assert done.exit_code == 0 and "NETPROBE 0 rc=0" in done.stdout


def test_rbac_refusing_a_long_exec_names_both_rights_and_stdin(
    serve: Callable[..., ExecServer],
) -> None:
    body = (
        b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,'
        b'"message":"pods \\"p\\" is forbidden: cannot create pods/exec"}'
    )
    head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
    answer = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    server = serve(lambda conn, request: None, refuse=lambda request: answer)
    with pytest.raises(ForbiddenError) as raised:
        exec_on(server, probe_command(probes(1000), 1.0))
    assert "exec needs both 'get' and 'create' on pods/exec" in str(raised.value)
    assert "on stdin (stdin=true)" in str(raised.value)


def test_a_server_that_never_reads_stdin_costs_no_more_than_the_deadline(
    serve: Callable[..., ExecServer],
) -> None:
    # 8 MB is more than the loopback socket buffers hold, so the client's send blocks
    # (websocket-client holds its send lock meanwhile, which closing the stream needs too).
    release = threading.Event()
    server = serve(lambda conn, request: release.wait(10))
    began = time.monotonic()
    done = exec_on(server, ("sh", "-c", "#" * 8_000_000), timeout=1.5)
    elapsed = time.monotonic() - began
    release.set()
    assert elapsed < 2.5, elapsed
    assert done.exit_code is None
    assert "while sending the 8000000-byte script on stdin" in done.stderr, done.stderr


# -- through the runner ------------------------------------------------------------------


def test_a_run_with_a_source_of_many_probes_passes_over_stdin(
    api: FakeApiServer, clock: FakeClock, serve: Callable[..., ExecServer], env: dict[str, str]
) -> None:
    targets = [f"x/b{i}" for i in range(250)]  # 250 probes from x/a: 11 KB in a URL
    real = RealExec(env)
    server = serve(real, refuse=like_nginx)
    backend = KubernetesBackend(WireGateway(api, server), KubeOptions(run_id="run1"), clock=clock)
    the_suite = suite(
        (ns("x"),),
        (pod("x/a", app="a"), *(pod(t, app="b") for t in targets)),
        (),
        [((), tuple(expect("x/a", t) for t in targets))],
    )
    result = run_suite(the_suite, backend, options=RunOptions(), clock=clock)
    assert [r.status for r in result.results] == [Status.PASS] * len(targets)
    assert any(r.stdin for r in server.requests)
    assert "x" not in api.namespaces and not api.pods


def test_a_source_of_a_thousand_probes_is_probed_in_bounded_execs(
    api: FakeApiServer, clock: FakeClock, serve: Callable[..., ExecServer], env: dict[str, str]
) -> None:
    real = RealExec(env)
    server = serve(real, refuse=like_nginx)
    backend = KubernetesBackend(WireGateway(api, server), KubeOptions(run_id="run1"), clock=clock)
    source = PodRef("x", "a")
    many = probes(1000)
    counted: list[int] = []
    try:
        backend.deploy((ns("x"),), (pod("x/a", app="a"),), ())
        results = probe_round(backend, {source: many}, 1.0, on_batch=counted.append)
    finally:
        backend.teardown()
    assert len(server.requests) == len(real.received) == math.ceil(1000 / EXEC_PROBES)
    assert all(request.stdin and len(request.line) < QUERY_LIMIT for request in server.requests)
    scripts = [bytes(got.stdin) for got in real.received]
    assert sorted(script.count(b"\nnp ") for script in scripts) == [104] + [EXEC_PROBES] * 7
    assert max(len(script) for script in scripts) < 8192
    assert list(results) == [(source, probe) for probe in many]
    assert [r.outcome for r in results.values()] == [OUTCOME_BY_PORT[p.port] for p in many]
    assert sorted(counted) == [104] + [EXEC_PROBES] * 7
