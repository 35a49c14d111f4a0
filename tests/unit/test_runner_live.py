"""The pytest plugin's live evaluator: a suite runs once, each item reads its result."""

from __future__ import annotations

from pathlib import Path

from netprobe.backends.fake import FakeBackend
from netprobe.clock import FakeClock
from netprobe.results import Status
from netprobe.run import RunOptions
from netprobe.run.live import LiveEvaluator
from netprobe.suite.loader import load_suite

SUITE = """\
name: live
namespaces: {a: {}, b: {}}
pods:
  a/one: {ports: [80]}
  b/two: {ports: [80]}
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny, namespace: b}
    spec: {podSelector: {}}
expect:
  - allow: b/two -> a/one:80
  - deny: a/one -> b/two:80
steps:
  - name: open
    delete: [b/deny]
    expect:
      - allow: a/one -> b/two:80
"""


def test_each_item_reads_the_result_of_one_run(tmp_path: Path) -> None:
    path = tmp_path / "live.netprobe.yaml"
    path.write_text(SUITE)
    suite = load_suite(path, lambda message: None)
    made: list[FakeBackend] = []

    def factory(name: str, options: object, run_id: str | None, index: int) -> FakeBackend:
        made.append(FakeBackend(name=name, clock=FakeClock()))
        return made[-1]

    live = LiveEvaluator("local", RunOptions(settle_timeout=0, confirm=False), factory)
    live.start(suite)
    results = [
        live.evaluate(suite, step, expectation)
        for step in suite.steps
        for expectation in step.expectations
    ]
    assert [r.status for r in results] == [Status.PASS] * 3
    assert all(r.observation is not None for r in results)
    assert len(made) == 1 and made[0].torn_down == 1
    live.finish(suite)
    assert (
        live.evaluate(suite, suite.steps[0], suite.steps[0].expectations[0]).status is Status.PASS
    )
    assert len(made) == 2  # asked again after finish: runs again
