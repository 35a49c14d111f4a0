"""pytest plugin: ``pytest suites/`` collects ``*.netprobe.yaml`` suites and makes each
expectation a test item.

Node ids read like the suite: ``suites/shop.netprobe.yaml::deny frontend/web ->
database/db:5432/TCP`` (with a ``::STEP`` level when the suite has steps), so ``-k`` selects
by pod, namespace, verb or tag, and ``--junitxml`` gets one testcase per expectation. A
failure shows what the suite expected and the analyzer's reasons; skips show theirs.

Items are judged by an :class:`Evaluator`. The default is static (the analyzer, like
``netprobe check``); a live backend plugs in by implementing the
``pytest_netprobe_evaluator`` hook (see :class:`NetprobeHookspecs`). This module loads into
every pytest run of every project that installs netprobe: it imports nothing of netprobe
but the suite suffix (:mod:`netprobe.suite` imports nothing) until a suite file is actually
collected, and never imports ``kubernetes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from netprobe.suite import SUITE_SUFFIX

if TYPE_CHECKING:
    from netprobe.model import ClusterState
    from netprobe.results import ExpectationResult
    from netprobe.suite.model import Expectation, Step, Suite


class Evaluator(Protocol):
    """Judges the expectations of the suites collected, one suite at a time.

    ``start`` is called before the first item of a suite runs and ``finish`` after its last
    one (also when items fail). Steps come in order, but ``-k`` may deselect items: an
    evaluator that changes a live dataplane performs every step's actions regardless."""

    def start(self, suite: Suite) -> None: ...

    def evaluate(self, suite: Suite, step: Step, expectation: Expectation) -> ExpectationResult:
        """The result for one expectation; ``ExpectationResult.skip`` set to skip it."""
        ...

    def finish(self, suite: Suite) -> None: ...


class StaticEvaluator:
    """The analyzer's verdict against the state at each step: ``netprobe check``'s view."""

    def __init__(self) -> None:
        self._states: dict[tuple[Path, str], ClusterState] = {}

    def start(self, suite: Suite) -> None:
        from netprobe.suite.model import step_states

        for step, state in step_states(suite):
            self._states[(suite.path, step.name)] = state

    def evaluate(self, suite: Suite, step: Step, expectation: Expectation) -> ExpectationResult:
        from netprobe.judge import judge_expectation

        if (suite.path, step.name) not in self._states:
            self.start(suite)
        return judge_expectation(expectation, step, self._states[(suite.path, step.name)])

    def finish(self, suite: Suite) -> None:
        for key in [key for key in self._states if key[0] == suite.path]:
            del self._states[key]


class NetprobeHookspecs:
    @pytest.hookspec(firstresult=True)
    def pytest_netprobe_evaluator(self, config: pytest.Config) -> Evaluator | None:
        """The evaluator for netprobe items (a live backend's, say), or None for the
        static default. Called once per session, when the first suite starts."""


_EVALUATOR = pytest.StashKey["Evaluator"]()
_WARNINGS = pytest.StashKey[list[str]]()
_LIVE = pytest.StashKey["Evaluator"]()
"""The evaluator ``--netprobe-backend`` asked for, built (and checked) at configure time."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(NetprobeHookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netprobe")
    group.addoption(
        "--netprobe-backend",
        default=None,
        metavar="NAME",
        help="judge netprobe suites by running them on this backend, local or kubernetes "
        "(default: the analyzer)",
    )
    group.addoption(
        "--netprobe-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of that backend, named as `netprobe run --help` lists it "
        "(context=kind-calico, ready-timeout=60, use-existing-namespaces=true); repeatable",
    )


@pytest.hookimpl(trylast=True)
def pytest_netprobe_evaluator(config: pytest.Config) -> Evaluator | None:
    """``--netprobe-backend NAME``: each suite runs once on that backend (netprobe.run.live)."""
    return config.stash.get(_LIVE, None)


def _live_evaluator(config: pytest.Config) -> Evaluator:
    """The evaluator ``--netprobe-backend`` and ``--netprobe-option`` ask for; UsageError
    for a bad name or option (a switch may be given bare: ``use-existing-namespaces``)."""
    from netprobe.errors import NetprobeError
    from netprobe.run.live import LiveEvaluator

    given: dict[str, str | bool] = {}
    for text in config.getoption("netprobe_option", []):
        key, sep, value = text.partition("=")
        name = key.strip().lstrip("-").replace("-", "_")
        if not name:
            raise pytest.UsageError(f"--netprobe-option {text!r}: expected NAME=VALUE")
        given[name] = value.strip() if sep else True
    try:
        return LiveEvaluator(config.getoption("netprobe_backend"), backend_options=given)
    except NetprobeError as exc:
        raise pytest.UsageError(f"netprobe: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    """A bad backend name or option is a usage error at once, not N errored items. (The
    evaluator itself is chosen when the first suite starts, so conftests found during
    collection may still provide it.)"""
    if config.getoption("netprobe_backend", None):
        config.stash[_LIVE] = _live_evaluator(config)
    elif config.getoption("netprobe_option", None):
        raise pytest.UsageError("--netprobe-option needs --netprobe-backend")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SuiteFile | None:
    if file_path.name.endswith(SUITE_SUFFIX):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    warnings = config.stash.get(_WARNINGS, [])
    if warnings:
        terminalreporter.section("netprobe warnings")
        for line in warnings:
            terminalreporter.line(line)


def evaluator(config: pytest.Config) -> Evaluator:
    """The session's evaluator: the hook's answer, or the static one."""
    if _EVALUATOR not in config.stash:
        found = config.hook.pytest_netprobe_evaluator(config=config)
        config.stash[_EVALUATOR] = found if found is not None else StaticEvaluator()
    return config.stash[_EVALUATOR]


class SuiteFile(pytest.File):
    """A suite file: its steps (when named) or directly its expectations."""

    suite: Suite

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        from netprobe.errors import NetprobeError
        from netprobe.suite.loader import load_suite

        warnings = self.config.stash.setdefault(_WARNINGS, [])
        try:
            self.suite = load_suite(self.path, warnings.append)
        except NetprobeError as exc:
            raise self.CollectError(f"netprobe: {exc}") from None
        for step in self.suite.steps:
            if step.name:
                yield StepNode.from_parent(self, name=step.name, suite=self.suite, step=step)
            else:
                yield from _items(self, self.suite, step)

    def setup(self) -> None:
        evaluator(self.config).start(self.suite)

    def teardown(self) -> None:
        if hasattr(self, "suite"):
            evaluator(self.config).finish(self.suite)


class StepNode(pytest.Collector):
    """One step of a suite; its expectations are its items."""

    def __init__(self, *, suite: Suite, step: Step, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.step = step

    def collect(self) -> Iterator[pytest.Item]:
        return _items(self, self.suite, self.step)


class ExpectationItem(pytest.Item):
    """One expectation: passes when what happened is what the suite expects."""

    def __init__(
        self, *, suite: Suite, step: Step, expectation: Expectation, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.step = step
        self.expectation = expectation
        self.extra_keyword_matches.update(expectation.tags)
        skip = expectation.skip_reason()
        if skip is not None:
            self.add_marker(pytest.mark.skip(reason=skip))

    def runtest(self) -> None:
        from netprobe.results import is_failure

        result = evaluator(self.config).evaluate(self.suite, self.step, self.expectation)
        self.user_properties.append(("status", result.status.value))
        if result.skip is not None:
            pytest.skip(result.skip)
        if is_failure(result):
            raise ExpectationFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ExpectationFailed):
            return excinfo.value.describe()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.expectation.location.line
        return self.path, None if line is None else line - 1, self.name


class ExpectationFailed(Exception):
    """What happened differs from what the suite expects."""

    def __init__(self, result: ExpectationResult) -> None:
        super().__init__(result.expectation.id)
        self.result = result

    def describe(self) -> str:
        from netprobe.report.describe import reasons, verdict_sentence

        result = self.result
        lines = [
            result.expectation.id,
            f"at {result.expectation.location}",
            verdict_sentence(result),
        ]
        lines += [f"  - {reason}" for reason in reasons(result)]
        return "\n".join(lines)


def _items(parent: pytest.Collector, suite: Suite, step: Step) -> Iterator[pytest.Item]:
    for expectation in step.expectations:
        yield ExpectationItem.from_parent(
            parent, name=expectation.id, suite=suite, step=step, expectation=expectation
        )
