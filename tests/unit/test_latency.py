"""The lines a live report adds under its summary: enforcement latency (which pairs a
change moved, their p50/p95/max settle times) and why expectations were skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netprobe.backends.fake import FakeBackend
from netprobe.clock import FakeClock
from netprobe.errors import Location
from netprobe.latency import LatencySummary, latency_summary, percentile
from netprobe.model import PodRef, Protocol, Verdict
from netprobe.probes import Outcome
from netprobe.report.results import render
from netprobe.results import ExpectationResult, Observation, SuiteResult
from netprobe.run import RunOptions, run_suite
from netprobe.suite.loader import load_suite
from netprobe.suite.model import Expectation


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1.0], 50, 1.0),
        ([1.0], 95, 1.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0], 95, 2.0),
        ([float(i) for i in range(1, 101)], 50, 50.0),
        ([float(i) for i in range(1, 101)], 95, 95.0),
        ([float(i) for i in range(1, 21)], 95, 19.0),
        ([float(i) for i in range(1, 21)], 0, 1.0),
    ],
)
def test_nearest_rank_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


def result(
    settled: float | None,
    *,
    changed: bool = True,
    skip: str | None = None,
    expected: bool = False,
    analyzer: bool = False,
    observed: bool = True,
) -> ExpectationResult:
    expectation = Expectation(
        PodRef("x", "a"), PodRef("x", "b"), 80, Protocol.TCP, expected, Location("s.yaml", 1)
    )
    outcome = Outcome.TIMEOUT if not expected else Outcome.CONNECTED
    return ExpectationResult(
        expectation,
        "step",
        Verdict(analyzer),
        Observation(outcome, settled_after=settled) if observed else None,
        skip=skip,
        changed=changed,
    )


def test_summary_counts_only_probed_changed_pairs_that_mean_latency() -> None:
    results = [
        result(1.0),
        result(3.0),
        result(2.0),
        result(None),  # never settled
        result(9.0, changed=False),  # the change did not move it
        result(9.0, skip="cilium"),  # not probed
        result(9.0, expected=True),  # expectation disagrees with the analyzer
        result(9.0, observed=False),  # static
    ]
    summary = latency_summary(results)
    assert summary == LatencySummary(changed=4, settled=3, p50=2.0, p95=3.0, max=3.0)
    assert summary.unsettled == 1
    assert str(summary) == (
        "enforcement latency (4 changed pairs): p50 2.0s  p95 3.0s  max 3.0s  (1 never settled)"
    )


def test_summary_of_nothing() -> None:
    assert latency_summary([]) == LatencySummary(0, 0)
    assert str(latency_summary([])) == "enforcement latency: no probed pair changed"
    assert latency_summary([result(None)]).as_dict() == {
        "changed": 1,
        "settled": 0,
        "unsettled": 1,
        "p50": None,
        "p95": None,
        "max": None,
    }


SUITE = """\
pods:
  x/a: {labels: {pod: a}, ports: [80]}
  x/b: {labels: {pod: b}, ports: [80]}
  x/c: {labels: {pod: c}, ports: [80]}
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: c-closed, namespace: x}
    spec: {podSelector: {matchLabels: {pod: c}}}
expect:
  - deny: x/a -> x/c:80
  - allow: x/a -> x/b:80
steps:
  - name: close-b
    apply:
      - apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: b-closed, namespace: x}
        spec: {podSelector: {matchLabels: {pod: b}}}
    expect:
      - deny: x/a -> x/b:80
      - deny: x/a -> x/c:80
      - allow: x/b -> x/a:80
"""


def test_a_run_marks_the_pairs_each_change_moved_and_times_them(tmp_path: Path) -> None:
    path = tmp_path / "s.netprobe.yaml"
    path.write_text(SUITE)
    suite = load_suite(path, lambda message: None)
    clock = FakeClock()
    backend = FakeBackend(clock=clock, lag_seconds=2.5)
    run = run_suite(suite, backend, options=RunOptions(), clock=clock)
    moved = {(r.step, r.expectation.id) for r in run.results if r.changed}
    assert moved == {
        ("initial", "deny x/a -> x/c:80/TCP"),  # the suite's policies are the first change
        ("close-b", "deny x/a -> x/b:80/TCP"),
    }
    assert not run.failed
    summary = latency_summary(run.results)
    assert summary.changed == summary.settled == 2
    assert summary.max is not None and summary.max >= 2.5
    document = json.loads(render("json", [run]))
    assert document["latency"] == document["suites"][0]["latency"] == summary.as_dict()
    assert [r["changed"] for r in document["suites"][0]["results"]].count(True) == 2
    assert str(summary) in render("table", [run])


def test_static_reports_have_no_latency() -> None:
    static = SuiteResult("s", Path("s.yaml"), (result(None, observed=False),))
    document = json.loads(render("json", [static]))
    assert document["latency"] is None and document["suites"][0]["latency"] is None
    assert "enforcement latency" not in render("table", [static])


def test_a_live_table_says_why_expectations_were_skipped() -> None:
    results = (
        result(1.0, skip="cilium: no ipBlock on pods"),
        result(1.0, skip="cilium: no ipBlock on pods"),
        result(1.0, skip="no SCTP"),
    )
    text = render("table", [SuiteResult("s", Path("s.yaml"), results, backend="kubernetes")])
    lines = text.splitlines()
    at = lines.index("skipped, and why:")
    assert lines[at + 1 : at + 3] == ["      2  cilium: no ipBlock on pods", "      1  no SCTP"]


def test_the_cni_is_named_in_the_json_and_junit_reports(tmp_path: Path) -> None:
    path = tmp_path / "s.netprobe.yaml"
    path.write_text(SUITE)
    suite = load_suite(path, lambda message: None)
    clock = FakeClock()
    run = run_suite(
        suite,
        FakeBackend(clock=clock),
        options=RunOptions(cni="cilium"),
        clock=clock,
    )
    assert run.cni == "cilium"
    assert json.loads(render("json", [run]))["suites"][0]["cni"] == "cilium"
    from netprobe.report.results import render_junit

    assert '<property name="cni" value="cilium" />' in render_junit([run], False)
