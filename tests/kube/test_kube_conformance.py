"""The conformance suites end to end on the Kubernetes backend, against the in-memory API
server: every inline policy goes through the backend's manifests and back, pods and
namespaces are relabelled in the "cluster", and the per-CNI skips of
fixtures/cni-limitations.yaml apply by --cni, as `make e2e` runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_api import FakeApiServer

from netprobe.clock import FakeClock
from netprobe.results import Status
from netprobe.run.runner import RunOptions, run_suite
from netprobe.suite.loader import load_suite

FOLDER = Path(__file__).resolve().parents[2] / "suites" / "conformance"


@pytest.mark.parametrize(("cni", "skipped"), [("calico", 0), ("cilium", 16)])
def test_the_conformance_suite_passes_on_the_kubernetes_backend(
    api: FakeApiServer, clock: FakeClock, make_backend, cni: str, skipped: int
) -> None:  # type: ignore[no-untyped-def]
    suite = load_suite(FOLDER / "conformance.netprobe.yaml", lambda message: None)
    result = run_suite(suite, make_backend(), options=RunOptions(cni=cni), clock=clock)
    failed = [(r.step, r.expectation.id, r.status) for r in result.results if r.failed]
    assert not failed
    skips = [r for r in result.results if r.status is Status.SKIPPED]
    assert len(skips) == skipped
    assert all("cilium/cilium#9209" in (r.skip or "") for r in skips)
    passed = [r for r in result.results if r.status is Status.PASS and r.observation]
    assert len(passed) == len(suite.expectations) - skipped
    assert not api.pods and not api.policies


def test_the_sctp_suite_skips_sctp_with_a_reason(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:  # type: ignore[no-untyped-def]
    suite = load_suite(FOLDER / "sctp.netprobe.yaml", lambda message: None)
    result = run_suite(suite, make_backend(), clock=clock)
    assert not result.failed
    reasons = {r.skip for r in result.results if r.expectation.protocol.value == "SCTP"}
    assert len(reasons) == 1 and "SCTP" in str(reasons.pop())
