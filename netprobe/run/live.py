"""Live judgement for the pytest plugin: a suite's items answered by a run on a backend.

The plugin asks item by item, but a live run goes step by step (actions change the
dataplane for every later expectation), so the whole suite runs once, on the first item
of the suite, and each item then reads its own result. Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable

from netprobe.backends.base import Backend
from netprobe.backends.registry import BackendOptions, create_backend
from netprobe.results import ExpectationResult
from netprobe.run.runner import RunOptions, run_suite
from netprobe.suite.model import Expectation, Step, Suite


class LiveEvaluator:
    """An evaluator for ``pytest --netprobe-backend NAME`` (see :mod:`netprobe.pytest_plugin`)."""

    def __init__(
        self,
        backend: str,
        options: RunOptions | None = None,
        factory: Callable[[str, BackendOptions], Backend] = create_backend,
    ) -> None:
        self.backend = backend
        self.options = options or RunOptions()
        self._factory = factory
        self._results: dict[tuple[str, str, int], ExpectationResult] = {}

    def start(self, suite: Suite) -> None:
        result = run_suite(
            suite, self._factory(self.backend, BackendOptions()), options=self.options
        )
        counters: dict[str, int] = {}
        for item in result.results:
            index = counters.get(item.step, 0)
            counters[item.step] = index + 1
            self._results[(str(suite.path), item.step, index)] = item

    def evaluate(self, suite: Suite, step: Step, expectation: Expectation) -> ExpectationResult:
        key = (str(suite.path), step.name, step.expectations.index(expectation))
        if key not in self._results:
            self.start(suite)
        return self._results[key]

    def finish(self, suite: Suite) -> None:
        path = str(suite.path)
        for key in [key for key in self._results if key[0] == path]:
            del self._results[key]
