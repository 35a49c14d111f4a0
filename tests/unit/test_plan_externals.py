"""A backend that creates no hosts outside the pods (a cluster) skips expectations to
such addresses, with its reason, instead of reporting whatever the network answered."""

from __future__ import annotations

from pathlib import Path

from netprobe.model import PodRef, Protocol
from netprobe.run.plan import plan_step
from netprobe.suite.loader import load_suite

ROOT = Path(__file__).resolve().parents[2]
REASON = "no external hosts here"


def test_externals_are_skipped_with_the_backends_reason() -> None:
    suite = load_suite(ROOT / "suites" / "endport.netprobe.yaml", lambda message: None)
    step = suite.steps[0]
    planned = plan_step(
        step,
        suite.initial_state(),
        backend="kubernetes",
        protocols=frozenset({Protocol.TCP, Protocol.UDP}),
        externals=REASON,
    )
    external = [p for p in planned if not isinstance(p.expectation.destination, PodRef)]
    assert external
    assert all(p.skip == REASON and p.check is None for p in external)
    to_pods = [p for p in planned if isinstance(p.expectation.destination, PodRef)]
    assert to_pods and all(p.skip != REASON for p in to_pods)


def test_a_backend_with_external_hosts_probes_them() -> None:
    suite = load_suite(ROOT / "suites" / "endport.netprobe.yaml", lambda message: None)
    planned = plan_step(
        suite.steps[0],
        suite.initial_state(),
        backend="local",
        protocols=frozenset({Protocol.TCP, Protocol.UDP}),
    )
    external = [p for p in planned if not isinstance(p.expectation.destination, PodRef)]
    assert external and all(p.check is not None for p in external)
