"""An API server that takes connections and never answers (or answers garbage), reached
by the real client over real sockets on 127.0.0.1: the run fails within one request
timeout, sends nothing more at teardown (nothing was created), and says what it waited for.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import LoopbackServer

import netprobe.backends.kubernetes.gateway  # noqa: F401  (its import is not what is timed)
from netprobe.cli import main

TIMEOUT = 1.0


class Server(LoopbackServer):
    """Accepts every connection on 127.0.0.1; answers ``reply`` once (nothing if None) and
    then keeps the connection open without a word, until the test ends."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.connections = 0
        super().__init__()

    def accepted(self, conn: socket.socket) -> None:
        self.connections += 1
        if self.reply is not None:
            conn.recv(65536)
            conn.sendall(self.reply)


@pytest.fixture
def serve() -> Iterator[type[Server]]:
    servers: list[Server] = []

    def start(reply: bytes | None = None) -> Server:
        server = Server(reply)
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


def kubeconfig(home: Path, url: str) -> Path:
    path = home / "config"
    path.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters:
- name: k
  cluster: {{server: "{url}", insecure-skip-tls-verify: true}}
users:
- name: me
  user: {{token: abc}}
contexts:
- name: c
  context: {{cluster: k, user: me}}
current-context: c
"""
    )
    return path


def argv(command: str, home: Path, config: Path) -> list[str]:
    flags = ["--backend", "kubernetes", "--kubeconfig", str(config)]
    flags += ["--request-timeout", f"{TIMEOUT:g}"]
    if command == "run":
        return ["run", str(home / "tiny.netprobe.yaml"), *flags]
    return ["cleanup", *flags]


@pytest.mark.parametrize("command", ["run", "cleanup"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_silent_api_server_fails_within_one_request_timeout(
    scheme: str,
    command: str,
    serve: type[Server],
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve()
    url = f"{scheme}://127.0.0.1:{server.port}"
    config = kubeconfig(home, url)
    started = time.monotonic()
    code = main(argv(command, home, config))
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 3, err
    assert elapsed < 2 * TIMEOUT, f"{elapsed:.1f}s: {err}"
    # One request, not retried, and no teardown calls: the run had created nothing.
    assert server.connections == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    # The wait is measured, not configured: a loaded machine may say 1.1 s.
    assert url in lines[0] and re.search(r"did not answer within 1(\.\d)? s", lines[0])


def test_an_api_server_answering_garbage_is_one_request_and_one_line(
    serve: type[Server], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(b"this is not HTTP\r\n\r\n")
    config = kubeconfig(home, f"http://127.0.0.1:{server.port}")
    started = time.monotonic()
    assert main(argv("run", home, config)) == 3
    assert time.monotonic() - started < 2 * TIMEOUT
    err = capsys.readouterr().err
    assert server.connections == 1, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_the_request_timeout_must_be_a_positive_number(value: str, home: Path) -> None:
    config = kubeconfig(home, "http://127.0.0.1:1")
    flags = ["--kubeconfig", str(config), "--request-timeout", value]
    assert main(["cleanup", "--backend", "kubernetes", *flags]) == 2


def test_the_cli_process_prints_one_line_and_no_log_records(
    serve: type[Server], home: Path
) -> None:
    server = serve()
    config = kubeconfig(home, f"https://127.0.0.1:{server.port}")
    done = subprocess.run(
        [sys.executable, "-m", "netprobe", *argv("run", home, config)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and server.connections == 1
