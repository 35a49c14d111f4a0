"""The probe engine on the fake backend: a source's probes in bounded execs, spread over
the sources, every result in order, every probe counted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address

from netprobe.backends.base import ExecResult
from netprobe.backends.fake import FakeBackend, table_truth
from netprobe.model import Namespace, Pod, PodRef, Protocol
from netprobe.probes import Outcome, Probe, exec_timeout
from netprobe.run.engine import EXEC_PROBES, probe_round
from netprobe.selectors import Labels

A, B = PodRef("x", "a"), PodRef("x", "b")


@dataclass
class Recording(FakeBackend):
    """The fake dataplane, keeping each exec's script and deadline."""

    scripts: list[tuple[PodRef, str, float]] = field(default_factory=list)

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        with self._lock:
            self.scripts.append((pod, argv[2], timeout))
        return super().exec(pod, argv, timeout)


def targets(count: int, first: int = 0) -> list[Probe]:
    return [
        Probe(IPv4Address(int(ip_address("10.50.0.1")) + first + i), 80 + i % 2, Protocol.TCP)
        for i in range(count)
    ]


def deployed(backend: FakeBackend) -> None:
    pods = [Pod(ref, Labels()) for ref in (A, B)]
    backend.deploy([Namespace("x", Labels())], pods, [])


def test_a_thousand_probes_of_one_source_go_in_bounded_execs_and_all_come_back() -> None:
    probes = targets(1000)
    # Every third probe connects: an answer that depends on the probe, so a result put
    # against the wrong probe shows.
    allowed = [(A, p.target, p.port, p.protocol) for p in probes[::3]]
    backend = Recording(truth=table_truth(allowed))
    deployed(backend)
    counted: list[int] = []
    results = probe_round(backend, {A: probes}, 1.0, workers=4, on_batch=counted.append)

    execs = math.ceil(1000 / EXEC_PROBES)
    assert len(backend.scripts) == execs == 8
    sizes = sorted(script.count("\nnp ") for _, script, _ in backend.scripts)
    assert sizes == [1000 - 7 * EXEC_PROBES] + [EXEC_PROBES] * 7
    # Each exec is one wave, with a one-wave deadline, whatever the batch.
    assert all(script.splitlines().count("wait") == 1 for _, script, _ in backend.scripts)
    for _, script, deadline in backend.scripts:
        assert deadline == exec_timeout(1.0, script.count("\nnp ")) < exec_timeout(1.0, 129)
    assert list(results) == [(A, probe) for probe in probes]
    wanted = [Outcome.CONNECTED if i % 3 == 0 else Outcome.TIMEOUT for i in range(1000)]
    assert [result.outcome for result in results.values()] == wanted
    assert sorted(counted) == sorted(sizes) and sum(counted) == 1000


def test_the_execs_of_many_sources_take_turns() -> None:
    backend = Recording()
    deployed(backend)
    batches = {A: targets(3 * EXEC_PROBES), B: targets(EXEC_PROBES + 1, first=5000)}
    results = probe_round(backend, batches, 1.0, workers=1)
    assert [pod for pod, _, _ in backend.scripts] == [A, B, A, B, A]
    assert list(results) == [(s, p) for s, probes in batches.items() for p in probes]


def test_duplicates_are_probed_once_and_empty_batches_not_at_all() -> None:
    backend = Recording()
    deployed(backend)
    probes = targets(3)
    results = probe_round(backend, {A: probes + probes[:2], B: []}, 1.0)
    assert list(results) == [(A, probe) for probe in probes]
    assert [(pod, script.count("\nnp ")) for pod, script, _ in backend.scripts] == [(A, 3)]
    assert probe_round(backend, {B: []}, 1.0) == {}
