"""Live judgement for the pytest plugin: a suite's items answered by a run on a backend.

The plugin asks item by item, but a live run goes step by step (actions change the
dataplane for every later expectation), so the whole suite runs once, on the first item
of the suite, and each item then reads its own result. Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from netprobe.backends.base import Backend
from netprobe.backends.options import build
from netprobe.backends.registry import create_backend, plugin
from netprobe.results import ExpectationResult
from netprobe.run.runner import RunOptions, run_suite
from netprobe.suite.model import Expectation, Step, Suite


class LiveEvaluator:
    """An evaluator for ``pytest --netprobe-backend NAME`` (see :mod:`netprobe.pytest_plugin`)."""

    def __init__(
        self,
        backend: str,
        options: RunOptions | None = None,
        factory: Callable[..., Backend] = create_backend,
        backend_options: Mapping[str, str | bool] | None = None,
    ) -> None:
        """``backend_options``: the backend's options by name, as texts
        (``--netprobe-option NAME=VALUE``); checked here, before any suite runs. Each
        backend makes its own run id (NETPROBE_RUN_ID names `netprobe run`'s: pytest
        workers run in parallel)."""
        self.backend = backend
        self.options = options or RunOptions()
        self._factory = factory
        self._backend_options = build(plugin(backend).options_type(), backend_options or {})
        self._suites = 0
        self._results: dict[tuple[str, str, int], ExpectationResult] = {}

    def start(self, suite: Suite) -> None:
        backend = self._factory(
            self.backend, self._backend_options, run_id=None, index=self._suites
        )
        self._suites += 1
        result = run_suite(suite, backend, options=self.options)
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
