"""Skips the planner adds: expectations to addresses outside the pods on a backend that
creates no hosts there (a cluster), and matrix cells of a pair the suite skips (a CNI's
known limitation) - each with its reason, instead of a result that means nothing."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from netprobe.backends.base import Capabilities
from netprobe.model import PodRef, Protocol
from netprobe.run.plan import MATRIX_TAG, plan_step
from netprobe.suite.loader import load_suite
from netprobe.suite.model import step_states

ROOT = Path(__file__).resolve().parents[2]
REASON = "no external hosts here"


def test_externals_are_skipped_with_the_backends_reason() -> None:
    suite = load_suite(ROOT / "suites" / "endport.netprobe.yaml", lambda message: None)
    step = suite.steps[0]
    planned = plan_step(
        step,
        suite.initial_state(),
        backend="kubernetes",
        capabilities=Capabilities(frozenset({Protocol.TCP, Protocol.UDP}), externals=REASON),
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
        capabilities=Capabilities(frozenset({Protocol.TCP, Protocol.UDP})),
    )
    external = [p for p in planned if not isinstance(p.expectation.destination, PodRef)]
    assert external and all(p.check is not None for p in external)


@pytest.mark.parametrize(("cni", "skipped"), [("cilium", True), ("calico", False)])
def test_matrix_cells_of_a_pair_the_suite_skips_are_skipped_too(cni: str, skipped: bool) -> None:
    suite = load_suite(ROOT / "suites" / "conformance" / "conformance.netprobe.yaml", print)
    step, state = next((s, st) for s, st in step_states(suite) if s.name == "ipblock-egress")
    pods = tuple(
        replace(pod, ips=(IPv4Address(f"10.244.0.{n}"),)) for n, pod in enumerate(state.pods, 10)
    )
    planned = plan_step(
        step,
        state.replace(pods=pods),
        backend="kubernetes",
        capabilities=Capabilities(frozenset({Protocol.TCP, Protocol.UDP})),
        matrix=True,
        also=(cni,),
    )
    cells = [
        p
        for p in planned
        if MATRIX_TAG in p.expectation.tags
        and p.expectation.source == PodRef("x", "a") != p.expectation.destination
    ]
    assert len(cells) == 8 * 4 - 8 * 2  # every port of every other pod, less the suite's own
    if skipped:
        assert all(p.check is None and "cilium/cilium#9209" in (p.skip or "") for p in cells)
    else:
        assert all(p.check is not None and p.skip is None for p in cells)
    others = [p for p in planned if MATRIX_TAG in p.expectation.tags and p not in cells]
    assert others and all(p.check is not None for p in others)
