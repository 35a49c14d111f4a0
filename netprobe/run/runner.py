"""Run a suite on a backend: deploy, apply, then per step act, plan, probe, settle, compare.

The analyzer judges every expectation on the suite's own model of the state after each
step (not on the backend's bookkeeping), with the pod IPs the backend assigned, so a
backend that loses a label or a policy shows up as a dataplane disagreement. The backend
is always torn down, whatever happens: errors, Ctrl-C and SIGTERM (both raise
``KeyboardInterrupt`` in the main thread during a run, and are ignored during teardown).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from netprobe.backends.base import Backend
from netprobe.clock import SYSTEM_CLOCK, Clock
from netprobe.diagnostics import Diagnostics, Involved, bounded
from netprobe.errors import Location, NetprobeError
from netprobe.model import NetworkPolicy, PodRef, PolicyRef
from netprobe.probes import Probe
from netprobe.results import ExpectationResult, Observation, SuiteResult, is_failure
from netprobe.run.changed import changed_by_step
from netprobe.run.engine import DEFAULT_WORKERS, RoundResults, probe_round
from netprobe.run.plan import Planned, plan_step, with_addresses
from netprobe.run.settle import ProbeCheck, SettlePolicy, settle
from netprobe.run.signals import teardown_on_signals
from netprobe.suite.model import ApplyPolicy, Settings, Suite, step_states

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run, beyond what the suite's settings say."""

    matrix: bool = False
    """Also probe every pod pair on every declared port, against the analyzer."""
    probe_timeout: float | None = None
    settle_interval: float | None = None
    settle_timeout: float | None = None
    """These three override the suite's settings of the same names; None keeps the
    suite's, and so does a probe timeout of 0 (see :meth:`settings`)."""
    confirm: bool = True
    workers: int = DEFAULT_WORKERS
    """How many execs (source pods) run at the same time."""
    per_probe: bool = False
    """One exec per probe instead of one per source pod (for the benchmark only)."""
    cni: str | None = None
    """The cluster's CNI (``--cni``): skips declared for it apply, with their reason."""

    def settings(self, suite: Settings) -> Settings:
        """A suite's settings with this run's overrides."""
        return suite.with_timings(
            probe_timeout=self.probe_timeout or None,  # no probe waits 0 s: the suite's
            settle_interval=self.settle_interval,
            settle_timeout=self.settle_timeout,
        )


@dataclass(frozen=True, slots=True)
class Progress:
    suite: str
    step: int
    steps: int
    probes: int
    total: int
    retries: int

    def __str__(self) -> str:
        return (
            f"[{self.suite}] step {self.step}/{self.steps}  "
            f"probes {self.probes}/{self.total}  retries {self.retries}"
        )


def run_suite(
    suite: Suite,
    backend: Backend,
    *,
    policies: Sequence[NetworkPolicy] | None = None,
    options: RunOptions = RunOptions(),
    clock: Clock = SYSTEM_CLOCK,
    progress: Callable[[Progress], None] | None = None,
) -> SuiteResult:
    """Run ``suite`` on ``backend`` and compare expected, analyzer and observed.

    Args:
        suite: the suite to run.
        backend: a fresh backend; it is torn down before this returns or raises.
        policies: replace the suite's policies (``--policies``); steps still act.
        options: matrix mode, timeouts and concurrency.
        clock: time, injected so tests never sleep (the fake backend's, say).
        progress: told after every exec and round.

    Raises:
        BackendError: the backend could not deploy or act (after teardown).
        KeyboardInterrupt: interrupted (after teardown).
    """
    began = clock.monotonic()
    settings = options.settings(suite.settings)
    policy = SettlePolicy(settings.settle_interval, settings.settle_timeout, options.confirm)
    results: list[ExpectationResult] = []
    with teardown_on_signals(backend):
        # Pods get their addresses from the backend, whatever a manifest said.
        unplaced = tuple(replace(pod, ips=()) for pod in suite.pods)
        real: frozenset[PodRef] = frozenset()
        if suite.workloads and backend.capabilities.workloads:
            backend.use_workloads(suite.workloads, {e.source for e in suite.expectations})
            real = frozenset(workload.ref for workload in suite.workloads)
        elif suite.workloads:
            # No existing workloads here: each is the pod the static check stands in.
            unplaced += tuple(replace(w.standin(), ips=()) for w in suite.workloads)
            log.warning(
                "%s: the %s backend has no existing workloads; %s stood in by pods with "
                "their selector's labels and declared ports",
                suite.name,
                backend.name,
                ", ".join(str(w.ref) for w in suite.workloads),
            )
        backend.deploy(suite.namespaces, unplaced, suite.externals)
        if policies is not None:
            suite = replace(suite, policies=tuple(policies))
        for network_policy in suite.policies:
            backend.perform(ApplyPolicy(network_policy))
        before = suite.initial_state().replace(policies=())
        for number, (step, model) in enumerate(step_states(suite), start=1):
            for action in step.actions:
                backend.perform(action)
            changed = clock.monotonic()
            snapshot = backend.snapshot()
            outages = backend.outages()
            state = with_addresses(model, snapshot, real)
            previous = with_addresses(before, snapshot, real)
            before = model
            planned = plan_step(
                step,
                state,
                backend=backend.name,
                capabilities=backend.capabilities,
                matrix=options.matrix,
                location=step.location or Location(str(suite.path)),
                also=(options.cni,) if options.cni else (),
                outages=outages,
            )
            counter = _Counter(suite.name, number, len(suite.steps), progress)
            prober = partial(_probe, backend, settings.probe_timeout, options, counter)
            checks = [p.check for p in planned if p.check is not None]
            counter.start(len(dict.fromkeys(checks)))
            observed = settle(
                checks,
                prober,
                policy,
                clock=clock,
                start=changed,
                on_confirm=counter.confirming,
            )
            results.extend(
                _result(p, step.name, observed, changed_by_step(p, previous)) for p in planned
            )
        diagnostics = _diagnose(backend, results, options.cni)
    return SuiteResult(
        name=suite.name,
        path=suite.path,
        results=tuple(results),
        backend=backend.name,
        duration=round(clock.monotonic() - began, 3),
        cni=options.cni,
        diagnostics=diagnostics,
    )


def _diagnose(
    backend: Backend, results: Sequence[ExpectationResult], cni: str | None
) -> Diagnostics | None:
    """The backend's diagnostics when some result failed or the dataplane disagreed with
    the analyzer; gathering them never fails the run."""
    failing = [result for result in results if is_failure(result, strict=True)]
    if not failing:
        return None
    pods: set[PodRef] = set()
    policies: set[PolicyRef] = set()
    for result in failing:
        pods.add(result.expectation.source)
        if isinstance(result.expectation.destination, PodRef):
            pods.add(result.expectation.destination)
        policies |= {r.policy for r in result.verdict.reasons if r.policy is not None}
    involved = Involved(tuple(sorted(pods)), tuple(sorted(policies)))
    try:
        return backend.diagnose(involved, cni)
    except NetprobeError as exc:
        return bounded(cni, notes=[f"gathering diagnostics failed: {exc}"])


def _result(
    planned: Planned, step: str, observed: Mapping[ProbeCheck, Observation], changed: bool = False
) -> ExpectationResult:
    observation = observed.get(planned.check) if planned.check is not None else None
    return ExpectationResult(
        expectation=planned.expectation,
        step=step,
        verdict=planned.verdict,
        observation=observation,
        skip=planned.skip,
        changed=changed,
    )


class _Counter:
    """Counts probes for the progress line: the first round's, then the retries (the
    final confirmation round is not a retry)."""

    def __init__(
        self, suite: str, step: int, steps: int, report: Callable[[Progress], None] | None
    ) -> None:
        self.suite, self.step, self.steps, self.report = suite, step, steps, report
        self.total = self.done = self.retries = 0
        self.rounds = 0
        self._confirming = False

    def start(self, total: int) -> None:
        self.total = total
        self._tell()

    def confirming(self) -> None:
        self._confirming = True

    def add(self, probes: int) -> None:
        if self.rounds <= 1:
            self.done = min(self.total, self.done + probes)
        elif not self._confirming:
            self.retries += probes
        self._tell()

    def _tell(self) -> None:
        if self.report is not None:
            self.report(
                Progress(self.suite, self.step, self.steps, self.done, self.total, self.retries)
            )


def _probe(
    backend: Backend,
    timeout: float,
    options: RunOptions,
    counter: _Counter,
    checks: Sequence[ProbeCheck],
) -> RoundResults:
    counter.rounds += 1
    batches: dict[PodRef, list[Probe]] = {}
    for check in checks:
        batches.setdefault(check.source, []).append(check.probe)
    return probe_round(
        backend,
        batches,
        timeout,
        workers=options.workers,
        per_probe=options.per_probe,
        on_batch=counter.add,
    )
