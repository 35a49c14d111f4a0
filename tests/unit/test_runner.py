"""The runner on the fake backend: retries, settling, flapping, errors, skips, matrix."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path

import pytest

from netprobe.backends.base import Capabilities, ExecResult
from netprobe.backends.fake import FakeBackend, table_truth
from netprobe.clock import FakeClock
from netprobe.diagnostics import Diagnostics, Involved, bounded
from netprobe.errors import BackendError, Location
from netprobe.model import (
    ContainerPort,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    PolicyType,
    Port,
    Protocol,
)
from netprobe.probes import Outcome, Probe
from netprobe.results import Status
from netprobe.run import MATRIX_TAG, Progress, RunOptions, run_suite
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite.model import ApplyPolicy, DeletePolicy, Expectation, Settings, Step, Suite

A, B = PodRef("x", "a"), PodRef("y", "b")
HERE = Location("suite.yaml", 1)
PORTS = (ContainerPort(80), ContainerPort(80, Protocol.UDP), ContainerPort(9, Protocol.SCTP))


def deny_all(namespace: str) -> NetworkPolicy:
    return NetworkPolicy(PolicyRef(namespace, "deny-all"), LabelSelector(), (PolicyType.INGRESS,))


def expect(allowed: bool, port: int = 80, protocol: Protocol = Protocol.TCP) -> Expectation:
    return Expectation(A, B, port, protocol, allowed, HERE)


def suite(*steps: Step, policies: tuple[NetworkPolicy, ...] = ()) -> Suite:
    namespaces = tuple(Namespace(n, Labels({"kubernetes.io/metadata.name": n})) for n in ("x", "y"))
    pods = tuple(Pod(ref, Labels({"pod": ref.name}), PORTS) for ref in (A, B))
    return Suite("demo", Path("demo.yaml"), namespaces, pods, policies, steps, Settings())


def run(backend: FakeBackend, the_suite: Suite, clock: FakeClock, **kwargs: object):  # type: ignore[no-untyped-def]
    return run_suite(the_suite, backend, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_all_agree_first_time_then_confirmed_once() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    result = run(backend, suite(Step("open", (), (expect(True),))), clock)
    (only,) = result.results
    assert only.status is Status.PASS and not only.failed
    assert only.observation is not None
    assert only.observation.outcome is Outcome.CONNECTED
    assert only.observation.attempts == 1 and not only.observation.flapped
    assert only.observation.settled_after == 0.0
    assert clock.slept == [1.0]  # the confirmation round, one interval later
    assert [c for c in backend.calls if c.startswith("exec")] == ["exec x/a 1", "exec x/a 1"]
    assert backend.calls[-1] == "teardown" and result.backend == "fake"


def test_lagging_dataplane_settles_after_retries_and_records_the_time() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock, lag_seconds=2.5)
    steps = (
        Step("open", (), (expect(True),)),
        Step("closed", (ApplyPolicy(deny_all("y")),), (expect(False),)),
    )
    result = run(backend, suite(*steps), clock)
    opened, closed = result.results
    assert opened.status is Status.PASS
    assert closed.status is Status.PASS
    assert closed.observation is not None
    assert closed.observation.attempts == 4  # t = 0, 1, 2 still open; t = 3 denied
    assert closed.observation.settled_after == 3.0
    assert closed.observation.outcome is Outcome.TIMEOUT


def test_lag_counted_in_rounds() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock, lag_rounds=2)
    steps = (Step("closed", (ApplyPolicy(deny_all("y")),), (expect(False),)),)
    (closed,) = run(backend, suite(*steps), clock).results
    assert closed.observation is not None and closed.observation.attempts == 3
    assert closed.status is Status.PASS


def test_never_settles_within_budget_fails_with_every_attempt_counted() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    (wrong,) = run(backend, suite(Step("s", (), (expect(False),))), clock).results
    assert wrong.failed and wrong.status is Status.POLICY  # dataplane did what policy says
    assert wrong.observation is not None
    assert wrong.observation.attempts == 11  # t = 0..10; one more would pass the 10 s budget
    assert wrong.observation.settled_after is None
    assert clock.slept == [1.0] * 10  # no confirmation for what never agreed


def test_flapping_result_is_detected_and_the_later_result_counts() -> None:
    clock = FakeClock()
    target = ip_address("10.40.0.2")  # the fake places pods in order: x/a .1, y/b .2
    flaps = {(A, target, 80, Protocol.TCP): [Outcome.CONNECTED, Outcome.TIMEOUT]}
    backend = FakeBackend(clock=clock, flaps=flaps)
    (flapped,) = run(backend, suite(Step("s", (), (expect(True),))), clock).results
    assert flapped.observation is not None
    assert flapped.observation.flapped
    assert flapped.observation.outcome is Outcome.TIMEOUT
    assert flapped.failed and flapped.status is Status.DATAPLANE


def test_dataplane_disagreeing_with_the_analyzer_is_a_dataplane_finding() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock, truth=table_truth([]))  # drops everything
    (result,) = run(backend, suite(Step("s", (), (expect(True),))), clock).results
    assert result.status is Status.DATAPLANE and result.failed


def test_broken_exec_gives_error_status_with_the_transport_message() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock, broken_pods=frozenset({A}))
    (result,) = run(backend, suite(Step("s", (), (expect(True),))), clock).results
    assert result.status is Status.ERROR and result.failed
    assert result.observation is not None
    assert "no result marker" in result.observation.detail
    assert "error dialing backend" in result.observation.detail


def test_sctp_is_skipped_with_the_reason_when_the_backend_cannot_probe_it() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    step = Step("s", (), (expect(True, 9, Protocol.SCTP), expect(True)))
    sctp, tcp = run(backend, suite(step), clock).results
    assert sctp.status is Status.SKIPPED and sctp.observation is None
    assert sctp.skip is not None and "cannot probe SCTP" in sctp.skip
    assert tcp.status is Status.PASS


def test_a_server_the_backend_reports_down_skips_the_probes_to_it_and_only_those() -> None:
    clock = FakeClock()
    why = "the node has no SCTP support: container cont-9-sctp of pod y/b exited with code 1"
    # The reason also wins over the capability's (the fake cannot probe SCTP either): it
    # says what is wrong with this pod.
    backend = FakeBackend(clock=clock, down={(B, Port(9, Protocol.SCTP)): why})
    to_b = Step(
        "s", (), (expect(True, 9, Protocol.SCTP), expect(True), expect(True, 80, Protocol.UDP))
    )
    result = run(backend, suite(to_b), clock, options=RunOptions(matrix=True))
    sctp, tcp, udp = result.results[:3]
    assert sctp.status is Status.SKIPPED and sctp.skip == why and sctp.observation is None
    assert tcp.status is Status.PASS and udp.status is Status.PASS
    cells = [r for r in result.results[3:] if r.expectation.protocol is Protocol.SCTP]
    to_a = [c.skip for c in cells if c.expectation.destination == A]
    assert {c.skip for c in cells if c.expectation.destination == B} == {why}
    assert to_a and all(skip is not None and "cannot probe SCTP" in skip for skip in to_a)


def test_steps_act_through_the_backend_and_are_judged_on_the_suite_model() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    steps = (
        Step("closed", (), (expect(False),)),
        Step("reopened", (DeletePolicy(PolicyRef("y", "deny-all")),), (expect(True),)),
    )
    result = run(backend, suite(*steps, policies=(deny_all("y"),)), clock)
    assert [r.status for r in result.results] == [Status.PASS, Status.PASS]
    assert [r.step for r in result.results] == ["closed", "reopened"]
    assert "apply_policy y/deny-all" in backend.calls
    assert "delete_policy y/deny-all" in backend.calls


def test_policies_option_replaces_the_suites_policies() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    the_suite = suite(Step("s", (), (expect(True),)), policies=(deny_all("y"),))
    (result,) = run(backend, the_suite, clock, policies=()).results
    assert result.status is Status.PASS
    assert not any(c.startswith("apply_policy") for c in backend.calls)


def test_matrix_mode_probes_every_pair_on_every_declared_port() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    result = run(
        backend,
        suite(Step("s", (), (expect(False),)), policies=(deny_all("y"),)),
        clock,
        options=RunOptions(matrix=True),
    )
    cells = [r for r in result.results if MATRIX_TAG in r.expectation.tags]
    # 2 sources x 2 destinations x 3 ports, less the one the suite already expects
    assert len(cells) == 11
    assert sum(1 for c in cells if c.skip) == 4  # SCTP cells
    assert all(c.status in (Status.PASS, Status.SKIPPED) for c in cells)
    to_b = [c for c in cells if c.expectation.destination == B and c.expectation.source == A]
    assert {c.expectation.allowed for c in to_b if not c.skip} == {False}


def test_matrix_mode_reports_cells_where_the_dataplane_differs() -> None:
    clock = FakeClock()
    leaky = table_truth([])  # drops all: a-> a etc. are allowed by the analyzer
    backend = FakeBackend(clock=clock, truth=leaky)
    result = run(backend, suite(Step("s", (), ())), clock, options=RunOptions(matrix=True))
    assert {r.status for r in result.results if not r.skip} == {Status.DATAPLANE}


def test_progress_counts_probes_and_retries() -> None:
    clock = FakeClock()
    seen: list[Progress] = []
    backend = FakeBackend(clock=clock, lag_rounds=1)
    steps = (Step("closed", (ApplyPolicy(deny_all("y")),), (expect(False),)),)
    run(backend, suite(*steps), clock, progress=seen.append)
    assert str(seen[0]) == "[demo] step 1/1  probes 0/1  retries 0"
    assert seen[-1].probes == 1 and seen[-1].retries == 1  # the confirmation is not a retry


def test_backend_is_torn_down_when_deploy_fails() -> None:
    backend = FakeBackend(fail_deploy="no netns for you")
    with pytest.raises(BackendError, match="no netns"):
        run_suite(suite(Step("s", (), (expect(True),))), backend)
    assert backend.torn_down == 1


class InterruptedClock(FakeClock):
    """Ctrl-C comes at the first wait."""

    def sleep(self, seconds: float) -> None:
        raise KeyboardInterrupt


def test_backend_is_torn_down_when_interrupted() -> None:
    clock = InterruptedClock()
    backend = FakeBackend(clock=clock, lag_rounds=5)
    steps = (Step("closed", (ApplyPolicy(deny_all("y")),), (expect(False),)),)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite(*steps), backend, clock=clock)
    assert backend.torn_down == 1


def test_one_exec_per_source_pod_per_round_with_all_its_probes() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock)
    step = Step("s", (), (expect(True), expect(True, 80, Protocol.UDP)))
    run(backend, suite(step), clock, options=RunOptions(confirm=False))
    assert [c for c in backend.calls if c.startswith("exec")] == ["exec x/a 2"]


def test_probe_values_reject_anything_but_addresses_and_ints() -> None:
    with pytest.raises(TypeError):
        Probe("10.0.0.1; rm -rf /", 80, Protocol.TCP)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Probe(ip_address("10.0.0.1"), 0, Protocol.TCP)


def test_sctp_on_a_backend_that_claims_it_is_an_error_not_a_guess() -> None:
    clock = FakeClock()
    backend = FakeBackend(clock=clock, capabilities=Capabilities(frozenset(Protocol)))
    step = Step("s", (), (expect(True, 9, Protocol.SCTP),))
    (sctp,) = run(backend, suite(step), clock, options=RunOptions(settle_timeout=0)).results
    assert sctp.status is Status.ERROR
    assert sctp.observation is not None and "cannot speak SCTP" in sctp.observation.detail


def test_settle_time_counts_to_when_the_agreeing_probe_was_sent() -> None:
    """A denied probe takes its whole timeout to be seen; the change had happened when it
    was sent, so its duration is not enforcement latency."""
    from netprobe.probes import ProbeResult
    from netprobe.run.settle import ProbeCheck, SettlePolicy, settle

    clock = FakeClock()
    check = ProbeCheck(A, Probe(ip_address("10.0.0.2"), 80, Protocol.TCP), wanted=False)
    outcomes = iter([Outcome.CONNECTED, Outcome.CONNECTED, Outcome.TIMEOUT, Outcome.TIMEOUT])

    def prober(checks):  # type: ignore[no-untyped-def]
        outcome = next(outcomes)
        clock.sleep(0.05 if outcome is Outcome.CONNECTED else 1.0)  # a drop waits out nc -w 1
        return {c.key: ProbeResult(outcome) for c in checks}

    observed = settle(
        [check], prober, SettlePolicy(1.0, 10.0), clock=clock, start=clock.monotonic()
    )
    # rounds are sent at 0, 1.05 and 2.1; the third is the first that sees the drop
    assert observed[check].attempts == 3
    assert observed[check].settled_after == 2.1


def test_run_options_override_the_suites_timings_once() -> None:
    suite = Settings(probe_timeout=2.0, settle_interval=0.5, settle_timeout=30.0, tags=("t",))
    merged = RunOptions(probe_timeout=3.0, settle_timeout=0).settings(suite)
    assert (merged.probe_timeout, merged.settle_interval, merged.settle_timeout) == (3.0, 0.5, 0)
    assert merged.tags == ("t",)
    assert RunOptions(probe_timeout=0).settings(suite) == suite


class DiagnosingBackend(FakeBackend):
    """Records what the runner asks it to diagnose, and when."""

    def __init__(self, fail: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.asked: list[tuple[Involved, str | None, int]] = []
        self.fail = fail

    def diagnose(self, involved: Involved, cni: str | None) -> Diagnostics | None:
        self.asked.append((involved, cni, self.torn_down))
        if self.fail:
            raise BackendError(self.fail)
        return bounded(cni, notes=["seen"])


def test_a_failed_run_asks_the_backend_once_what_it_saw_before_teardown() -> None:
    clock = FakeClock()
    backend = DiagnosingBackend(clock=clock)
    steps = (Step("a", (), (expect(True),)), Step("b", (), (expect(True), expect(False))))
    result = run(
        backend, suite(*steps, policies=(deny_all("y"),)), clock, options=RunOptions(cni="calico")
    )
    assert backend.asked == [(Involved((A, B), (PolicyRef("y", "deny-all"),)), "calico", 0)]
    assert result.diagnostics == bounded("calico", notes=["seen"])
    assert backend.torn_down == 1


def test_a_run_where_everything_held_asks_for_no_diagnostics() -> None:
    clock = FakeClock()
    backend = DiagnosingBackend(clock=clock)
    result = run(backend, suite(Step("s", (), (expect(True),))), clock)
    assert backend.asked == [] and result.diagnostics is None


def test_a_dataplane_disagreement_that_held_is_diagnosed_too() -> None:
    clock = FakeClock()
    backend = DiagnosingBackend(clock=clock, truth=table_truth([]))  # drops everything
    steps = (Step("s", (), (expect(False),)),)  # the analyzer allows; the suite expects deny
    (held,) = run(backend, suite(*steps), clock).results
    assert held.status is Status.BOTH and not held.failed
    assert len(backend.asked) == 1


def test_diagnostics_that_cannot_be_gathered_are_a_note_not_a_failed_run() -> None:
    clock = FakeClock()
    backend = DiagnosingBackend(fail="the API server is gone", clock=clock)
    result = run(backend, suite(Step("s", (), (expect(False),))), clock)
    assert result.diagnostics is not None
    assert result.diagnostics.notes == ("gathering diagnostics failed: the API server is gone",)
    assert result.diagnostics.cni == "unknown"


def test_a_backend_without_diagnostics_gives_none() -> None:
    clock = FakeClock()
    result = run(FakeBackend(clock=clock), suite(Step("s", (), (expect(False),))), clock)
    assert result.results[0].failed and result.diagnostics is None


class RefusingBackend(FakeBackend):
    """Its execs fail, as a cluster's do once the credentials are revoked (or not)."""

    def __init__(self, error: BackendError, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.error = error
        self.execs = 0

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        self.execs += 1
        raise self.error


def test_an_exec_error_that_retrying_cannot_help_stops_the_run_after_teardown() -> None:
    fatal = BackendError("the API server rejected the credentials (401)")
    fatal.fatal = True
    backend = RefusingBackend(fatal, clock=FakeClock())
    with pytest.raises(BackendError, match=r"\(401\)"):
        run(backend, suite(Step("s", (), (expect(True), expect(False)))), FakeClock())
    assert backend.execs == 1 and backend.torn_down == 1


def test_other_exec_errors_are_error_outcomes_that_are_retried() -> None:
    clock = FakeClock()
    backend = RefusingBackend(BackendError("stream broke off"), clock=clock)
    (result,) = run(backend, suite(Step("s", (), (expect(True),))), clock).results
    assert result.observation is not None and "stream broke off" in result.observation.detail
    assert backend.execs > 1
