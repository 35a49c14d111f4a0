"""The local dataplane at the size of a real suite (every pod reaches every other one), and
run ids that two runs cannot both own.

The kernel's ARP table is shared by every network namespace on the host and holds at most
``net.ipv4.neigh.default.gc_thresh3`` (1024 by default) entries; past that, new neighbours
are refused and first packets are dropped. Pods therefore only ever resolve their gateway,
never each other: the number of entries grows with the pods, not with their pairs.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from netprobe.backends.local import LocalBackend, LocalOptions, cleanup, ownership
from netprobe.backends.local.netns import Commands
from netprobe.backends.local.ownership import NETNS_DIR
from netprobe.errors import BackendError
from netprobe.model import NAMESPACE_NAME_LABEL, ContainerPort, Namespace, Pod, PodRef, Protocol
from netprobe.probes import Outcome, Probe
from netprobe.run.engine import probe_round
from netprobe.selectors import Labels

pytestmark = pytest.mark.root

PODS = 40


def neighbours(netns: str) -> list[str]:
    done = subprocess.run(
        ["ip", "-n", netns, "-4", "neigh", "show"], capture_output=True, text=True, check=True
    )
    return [line for line in done.stdout.splitlines() if "FAILED" not in line]


def test_forty_pods_reach_each_other_and_resolve_only_their_gateway() -> None:
    spaces = [Namespace(f"n{i}", Labels({NAMESPACE_NAME_LABEL: f"n{i}"})) for i in range(4)]
    pods = [
        Pod(PodRef(f"n{i % 4}", f"p{i}"), Labels({"app": f"p{i}"}), (ContainerPort(80),))
        for i in range(PODS)
    ]
    with LocalBackend() as backend:
        state = backend.deploy(spaces, pods, [])
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
            assert [entry.split()[0] for entry in entries] in ([], [gateway])


def test_a_run_id_another_run_claimed_is_refused_and_left_to_it() -> None:
    run_id = "abcdef"
    other = ownership.Claim(run_id)  # another run, about to create its namespaces
    try:
        with (
            pytest.raises(BackendError, match="taken by another netprobe run"),
            LocalBackend(LocalOptions(run_id=run_id)) as backend,
        ):
            backend.deploy(SPACES, [POD], [])
        assert ownership.read(other.path).pid == os.getpid()
    finally:
        other.release()


def test_a_teardown_cut_short_by_a_second_ctrl_c_is_finished_by_the_next_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # deploy() tears down when interrupted, while the runner's handler still turns a second
    # Ctrl-C into KeyboardInterrupt; the runner's own teardown must then finish the job.
    backend = LocalBackend()
    backend.deploy(SPACES, [POD], [])
    real_remove = cleanup.remove_namespaces
    calls = []

    def interrupted_once(*args: object) -> None:
        calls.append(args)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real_remove(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cleanup, "remove_namespaces", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        backend.teardown()
    backend.teardown()
    assert left_of(backend.run_id) == []
    assert not ownership.record_path(backend.run_id).exists()


def test_the_kernel_check_namespace_is_recorded_so_cleanup_can_remove_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = LocalBackend()
    seen: list[list[str]] = []
    real_run = Commands.run

    def run(self: Commands, argv: list[str], stdin: str | None = None, what: str = "") -> str:
        out = real_run(self, argv, stdin, what)
        if "veth" in argv:  # the first step after the namespace was created
            record = ownership.read(ownership.record_path(backend.run_id))
            seen.append([name for name, known in record.namespaces.items() if known])
        return out

    monkeypatch.setattr(Commands, "run", run)
    backend.preflight()
    assert seen == [[f"np-{backend.run_id}-check"]]
    assert not ownership.record_path(backend.run_id).exists()
    assert left_of(backend.run_id) == []


def test_what_teardown_could_not_remove_stays_recorded_for_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = LocalBackend()
    backend.deploy(SPACES, [POD], [])
    real_remove = cleanup.remove_namespaces
    monkeypatch.setattr(cleanup, "remove_namespaces", lambda *args: None)  # 'netns del' failed
    try:
        with pytest.raises(BackendError, match="could not remove the network namespaces np-"):
            backend.teardown()
        assert ownership.record_path(backend.run_id).is_file()
        found = cleanup.find(include_live=True)  # as `netprobe cleanup --all` sees it
        assert {item.run_id for item in found.leftovers} >= {backend.run_id}
    finally:
        real_remove(Commands(), left_of(backend.run_id))
        ownership.record_path(backend.run_id).unlink(missing_ok=True)


def left_of(run_id: str) -> list[str]:
    return sorted(path.name for path in NETNS_DIR.glob(f"np-{run_id}-*"))


SPACES = [Namespace("n", Labels({NAMESPACE_NAME_LABEL: "n"}))]
POD = Pod(PodRef("n", "p"), Labels({"app": "p"}), (ContainerPort(80),))
