"""Starting the servers of the local dataplane's pods and waiting until they serve.

A server is :mod:`netprobe.backends.local.listener` run as a script; one process serves
the sockets of many pods (at most :data:`SOCKETS_PER_SERVER`), entering each pod's
namespace to open them. All are started at once; :func:`wait_ready` reads their ``READY``
lines together under one deadline, and says which server failed and what it printed when
one does not come up.
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

from netprobe.backends.local.netns import KILL_GRACE
from netprobe.errors import BackendError

# Not imported: `python -m netprobe.backends.local.listener` must find it unloaded.
SERVER_SCRIPT = Path(__file__).with_name("listener.py")
READY = b"READY"
"""What :mod:`listener` prints once it listens (its ``READY``)."""
HERE = "-"
"""The listener's ``HERE``: no port (and, as a namespace, its own)."""
SOCKETS_PER_SERVER = 512
"""Sockets (one per port and protocol of a pod) one server process opens at most: half the
1,024 open files a process is commonly allowed (``ulimit -n``), so that no limit has to be
raised; 500 pods with two ports each take two processes. A pod with more ports than this
gets a process of its own, which raises its own limit."""
_NAMES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class ServerSpec:
    netns: str
    name: str
    """Who serves (``ns/pod`` or an external address): in messages and UDP replies."""
    tcp: tuple[int, ...] = ()
    udp: tuple[int, ...] = ()

    @property
    def sockets(self) -> int:
        return len(self.tcp) + len(self.udp)

    def serve_arguments(self) -> list[str]:
        """The listener's ``--serve`` for this pod."""
        return ["--serve", self.netns, self.name, _port_list(self.tcp), _port_list(self.udp)]


@dataclass(frozen=True, slots=True)
class Server:
    specs: tuple[ServerSpec, ...]
    """What this process serves."""
    process: subprocess.Popen[bytes]

    @property
    def names(self) -> str:
        return _names([spec.name for spec in self.specs])


def server_argv(specs: Sequence[ServerSpec]) -> list[str]:
    """The command line of one server process serving ``specs``."""
    command = [sys.executable, "-I", "-S", str(SERVER_SCRIPT), "--watch-stdin"]
    for spec in specs:
        command += spec.serve_arguments()
    return command


def groups(specs: Sequence[ServerSpec]) -> list[tuple[ServerSpec, ...]]:
    """``specs`` in order, cut into groups of at most :data:`SOCKETS_PER_SERVER` sockets."""
    found: list[list[ServerSpec]] = []
    sockets = 0
    for spec in specs:
        if not found or sockets + spec.sockets > SOCKETS_PER_SERVER:
            found.append([])
            sockets = 0
        found[-1].append(spec)
        sockets += spec.sockets
    return [tuple(group) for group in found]


def start(specs: Sequence[ServerSpec]) -> list[Server]:
    """Start servers for every spec (not waiting for them); stop those started if one
    cannot be."""
    started: list[Server] = []
    try:
        for group in groups(specs):
            process = subprocess.Popen(
                server_argv(group),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            started.append(Server(group, process))
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
                waiting = [spec.name for k in selector.get_map().values() for spec in k.data.specs]
                raise BackendError(
                    f"probe servers not ready after {timeout:g} s: {_names(waiting)}"
                )
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
    return f"probe server for {item.names} exited (code {code}): {said or 'no message'}"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    more = len(names) - _NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _port_list(ports: Sequence[int]) -> str:
    return ",".join(map(str, ports)) or HERE
