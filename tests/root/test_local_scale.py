"""The local dataplane at the size of a real suite (every pod reaches every other one), and
run ids that two runs cannot both own.

The kernel's ARP table is shared by every network namespace on the host and holds at most
``net.ipv4.neigh.default.gc_thresh3`` (1024 by default) learned entries; past that, new
neighbours are refused and first packets are dropped (600 pods lost a quarter of their
probes so). Pods therefore never resolve each other, and nothing is resolved at all: a pod
knows its gateway, and the node every pod, by permanent entries, which are not counted.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from netprobe.backends.local import LocalBackend, LocalOptions, cleanup, ownership
from netprobe.backends.local.naming import STATE_DIR
from netprobe.backends.local.netns import Commands
from netprobe.errors import BackendError
from netprobe.model import NAMESPACE_NAME_LABEL, ContainerPort, Namespace, Pod, PodRef, Protocol
from netprobe.probes import Outcome, Probe
from netprobe.run.engine import probe_round
from netprobe.selectors import Labels

pytestmark = pytest.mark.root

PODS = 40


def neighbours(netns: str) -> list[str]:
    done = subprocess.run(
        ["nsenter", f"--net={netns}", "ip", "-4", "neigh", "show"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "FAILED" not in line]


def received(netns: str) -> int:
    """The packets the pod's ``eth0`` has received."""
    done = subprocess.run(
        ["nsenter", f"--net={netns}", "ip", "-s", "link", "show", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("RX:"))
    return int(lines[header + 1].split()[1])


def test_forty_pods_reach_each_other_and_resolve_no_neighbour() -> None:
    spaces = [Namespace(f"n{i}", Labels({NAMESPACE_NAME_LABEL: f"n{i}"})) for i in range(4)]
    pods = [
        Pod(PodRef(f"n{i % 4}", f"p{i}"), Labels({"app": f"p{i}"}), (ContainerPort(80),))
        for i in range(PODS)
    ]
    with LocalBackend() as backend:
        state = backend.deploy(spaces, pods, [])
        time.sleep(1)  # for the pods' link-local IPv6 multicast to go out
        # Nothing of other pods' reached a pod: their multicast (router solicitations, MLD
        # reports) went to every port, over 100 packets a pod here, and at 1,023 pods it
        # overran the kernel's per-CPU backlog, dropping probes' packets with it.
        assert max(received(backend.names.pod(index)) for index in range(PODS)) < PODS
        targets = [Probe(pod.ip, 80, Protocol.TCP) for pod in state.pods if pod.ip is not None]
        batches = {pod.ref: targets for pod in state.pods}
        results = probe_round(backend, batches, 1.0)
        failed = sorted(
            f"{source} -> {probe}: {result.outcome} {result.detail}"
            for (source, probe), result in results.items()
            if result.outcome is not Outcome.CONNECTED
        )
        assert failed == []
        gateway = str(backend._topology.gateways[0]) if backend._topology else ""
        for index in range(PODS):
            entries = neighbours(backend.names.pod(index))
            assert [entry.split()[::5] for entry in entries] == [[gateway, "PERMANENT"]]
        entries = neighbours(backend.names.node)
        assert sorted(entry.split()[::5] for entry in entries) == sorted(
            [str(pod.ip), "PERMANENT"] for pod in state.pods
        )


@contextmanager
def open_files_allowed(more: int) -> Iterator[None]:
    """This process may open only ``more`` files beyond those it has open now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + more, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_pods_a_run_can_have_do_not_depend_on_the_open_files_it_may_have() -> None:
    # A server process per pod held three of netprobe's files each, and `ip -batch` two a
    # pod: 400 pods stopped mid-deploy, 'Too many open files', under the common `ulimit -n`
    # of 1,024; 150 need 450 then, and get 160 here.
    count = 150
    spaces = [Namespace("n", Labels({NAMESPACE_NAME_LABEL: "n"}))]
    pods = [
        Pod(PodRef("n", f"p{i}"), Labels(), (ContainerPort(80), ContainerPort(80, Protocol.UDP)))
        for i in range(count)
    ]
    with open_files_allowed(160), LocalBackend() as backend:
        state = backend.deploy(spaces, pods, [])
        placed = [pod.ip for pod in state.pods if pod.ip is not None]
        batches = {
            pod.ref: [Probe(placed[(i + 1) % count], 80, p) for p in (Protocol.TCP, Protocol.UDP)]
            for i, pod in enumerate(state.pods)
        }
        results = probe_round(backend, batches, 1.0)
    assert len(results) == 2 * count
    assert {result.outcome for result in results.values()} == {Outcome.CONNECTED}


def test_a_run_id_another_run_claimed_is_refused_and_left_to_it() -> None:
    run_id = "abcdef"
    other = ownership.Claim(run_id)  # another run, about to create its namespaces
    try:
        with (
            pytest.raises(BackendError, match="taken by another netprobe run"),
            LocalBackend(LocalOptions(run_id=run_id)) as backend,
        ):
            backend.deploy(SPACES, [POD], [])
        assert other.run.is_live()
    finally:
        other.release()


def test_a_teardown_cut_short_by_a_second_ctrl_c_is_finished_by_the_next_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # deploy() tears down when interrupted, while the runner's handler still turns a second
    # Ctrl-C into KeyboardInterrupt; the runner's own teardown must then finish the job.
    backend = LocalBackend()
    backend.deploy(SPACES, [POD], [])
    real_remove = ownership.RunDir.remove
    calls = []

    def interrupted_once(
        self: ownership.RunDir, run_fd: int, only: Sequence[str] | None = None
    ) -> list[str]:
        calls.append(self)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real_remove(self, run_fd, only)

    monkeypatch.setattr(ownership.RunDir, "remove", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        backend.teardown()
    backend.teardown()
    assert not (STATE_DIR / backend.run_id).exists()


def test_the_kernel_check_namespace_is_in_the_runs_directory_and_goes_with_it() -> None:
    backend = LocalBackend()
    seen: list[list[str]] = []
    real_run = Commands.run

    def run(self: Commands, argv: list[str], stdin: str | None = None, what: str = "") -> str:
        if "veth" in argv:  # the first step after the namespace was created
            seen.append([path.name for path in (STATE_DIR / backend.run_id / "ns").iterdir()])
        return real_run(self, argv, stdin, what)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Commands, "run", run)
        backend.preflight()
    assert seen == [["check"]]
    assert not (STATE_DIR / backend.run_id).exists()


def test_what_teardown_could_not_remove_stays_for_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = LocalBackend()
    backend.deploy(SPACES, [POD], [])
    with monkeypatch.context() as patch:  # as if the namespaces could not be unmounted
        patch.setattr(ownership.RunDir, "remove", lambda self, fd, only=None: ["ns/node (busy)"])
        with pytest.raises(BackendError, match=r"could not remove ns/node \(busy\)"):
            backend.teardown()
    assert (STATE_DIR / backend.run_id).is_dir()
    found = cleanup.find()  # as `netprobe cleanup` sees it, once this run let go
    assert [item.run.run_id for item in found] == [backend.run_id]
    cleanup.remove(found)
    assert not (STATE_DIR / backend.run_id).exists()


SPACES = [Namespace("n", Labels({NAMESPACE_NAME_LABEL: "n"}))]
POD = Pod(PodRef("n", "p"), Labels({"app": "p"}), (ContainerPort(80),))
