"""Starting the per-namespace servers of the local dataplane and waiting until they serve.

Each server is :mod:`netprobe.backends.local.listener` run as a script inside its namespace.
All are started at once; :func:`wait_ready` reads their ``READY`` lines together under one
deadline, and says which server failed and what it printed when one does not come up.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netprobe.backends.local.netns import KILL_GRACE, in_netns
from netprobe.errors import BackendError

# Not imported: `python -m netprobe.backends.local.listener` must find it unloaded.
SERVER_SCRIPT = Path(__file__).with_name("listener.py")
READY = b"READY"
"""What :mod:`listener` prints once it listens (its ``READY``)."""


@dataclass(frozen=True, slots=True)
class ServerSpec:
    netns: str
    name: str
    """Who serves (``ns/pod`` or an external address): in messages and UDP replies."""
    tcp: tuple[int, ...] = ()
    udp: tuple[int, ...] = ()

    def argv(self) -> list[str]:
        command = [sys.executable, "-I", "-S", str(SERVER_SCRIPT), "--watch-stdin"]
        command += ["--name", self.name]
        if self.tcp:
            command += ["--tcp", ",".join(map(str, self.tcp))]
        if self.udp:
            command += ["--udp", ",".join(map(str, self.udp))]
        return in_netns(self.netns, command)


@dataclass(frozen=True, slots=True)
class Server:
    spec: ServerSpec
    process: subprocess.Popen[bytes]


def start(specs: Sequence[ServerSpec]) -> list[Server]:
    """Start every server (not waiting for them); stop those started if one cannot be."""
    started: list[Server] = []
    try:
        for spec in specs:
            process = subprocess.Popen(
                spec.argv(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            started.append(Server(spec, process))
    except OSError as exc:
        stop(started)
        raise BackendError(f"could not start a probe server: {exc}") from exc
    return started


def wait_ready(servers: Sequence[Server], timeout: float) -> None:
    """Return when every server printed READY; BackendError when one exits or the
    deadline passes first."""
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    seen: dict[int, bytes] = {}
    for item in servers:
        assert item.process.stdout is not None
        fd = item.process.stdout.fileno()
        seen[fd] = b""
        selector.register(fd, selectors.EVENT_READ, item)
    try:
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                waiting = ", ".join(key.data.spec.name for key in selector.get_map().values())
                raise BackendError(f"probe servers not ready after {timeout:g} s: {waiting}")
            for key, _ in selector.select(left):
                item = key.data
                chunk = os.read(key.fd, 256)
                seen[key.fd] += chunk
                if READY in seen[key.fd]:
                    selector.unregister(key.fd)
                elif not chunk:
                    raise BackendError(_failure(item))
    finally:
        selector.close()


def stop(servers: Sequence[Server]) -> None:
    """Kill the servers and reap them (closing stdin alone would let them exit, later)."""
    for item in servers:
        if item.process.poll() is None:
            item.process.kill()
    for item in servers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            item.process.wait(timeout=KILL_GRACE)
        for stream in (item.process.stdin, item.process.stdout, item.process.stderr):
            if stream is not None:
                stream.close()


def _failure(item: Server) -> str:
    item.process.wait(timeout=5)
    assert item.process.stderr is not None
    said = item.process.stderr.read().decode("utf-8", errors="replace").strip()
    code = item.process.returncode
    return f"probe server for {item.spec.name} exited (code {code}): {said or 'no message'}"
