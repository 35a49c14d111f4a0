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

from netprobe.backends.local import LocalBackend, LocalOptions, cleanup
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
    cleanup.claim(run_id)  # another run, about to create its namespaces
    try:
        spaces = [Namespace("n", Labels({NAMESPACE_NAME_LABEL: "n"}))]
        pod = Pod(PodRef("n", "p"), Labels({"app": "p"}), (ContainerPort(80),))
        with (
            pytest.raises(BackendError, match="taken by another netprobe run"),
            LocalBackend(LocalOptions(run_id=run_id)) as backend,
        ):
            backend.deploy(spaces, [pod], [])
        assert cleanup.owner_file(run_id).read_text().strip() == str(os.getpid())
    finally:
        cleanup.release(run_id)


def test_a_teardown_cut_short_by_a_second_ctrl_c_is_finished_by_the_next_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # deploy() tears down when interrupted, while the runner's handler still turns a second
    # Ctrl-C into KeyboardInterrupt; the runner's own teardown must then finish the job.
    backend = LocalBackend()
    spaces = [Namespace("n", Labels({NAMESPACE_NAME_LABEL: "n"}))]
    backend.deploy(spaces, [Pod(PodRef("n", "p"), Labels(), (ContainerPort(80),))], [])
    real_remove = cleanup.remove
    calls = []

    def interrupted_once(*args: object) -> None:
        calls.append(args)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real_remove(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cleanup, "remove", interrupted_once)
    try:
        with pytest.raises(KeyboardInterrupt):
            backend.teardown()
        backend.teardown()
        assert cleanup.find(cleanup.Commands(), run_id=backend.run_id) == []
    finally:
        real_remove(cleanup.Commands(), cleanup.find(cleanup.Commands(), run_id=backend.run_id))


def test_the_kernel_check_namespace_is_claimed_so_cleanup_can_remove_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netprobe.backends.local import preflight

    backend = LocalBackend()
    seen: list[bool] = []

    def check(names: object, commands: object) -> None:
        seen.append(cleanup.owner_file(backend.run_id).is_file())

    monkeypatch.setattr(preflight, "check_kernel", check)
    backend.preflight()
    assert seen == [True]
    assert not cleanup.owner_file(backend.run_id).exists()


def test_what_teardown_could_not_remove_stays_claimed_for_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = LocalBackend()
    spaces = [Namespace("n", Labels({NAMESPACE_NAME_LABEL: "n"}))]
    backend.deploy(spaces, [Pod(PodRef("n", "p"), Labels(), (ContainerPort(80),))], [])
    real_remove = cleanup.remove
    monkeypatch.setattr(cleanup, "remove", lambda commands, items: None)  # 'netns del' failed
    try:
        with pytest.raises(BackendError, match="could not remove netns np-"):
            backend.teardown()
        assert cleanup.owner_file(backend.run_id).is_file()
        monkeypatch.setattr(cleanup, "is_live", lambda run, state_dir: False)  # netprobe exited
        found = cleanup.find(cleanup.Commands())
        assert {item.run_id for item in found} >= {backend.run_id}
    finally:
        real_remove(cleanup.Commands(), cleanup.find(cleanup.Commands(), run_id=backend.run_id))
