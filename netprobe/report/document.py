"""The JSON report: one stable document for scripts and dashboards.

The shape is a contract (documented in docs/suites.md, "The JSON report"): keys are only
ever added, never renamed or removed, and ``format`` changes if that promise is broken.
Observation fields are present in every result and ``null`` for a static check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from netprobe import __version__
from netprobe.latency import latency_summary
from netprobe.model import PodRef
from netprobe.report.describe import Counts, is_live, word
from netprobe.results import ExpectationResult, Status, SuiteResult, is_failure, is_held

FORMAT = 1


def to_document(suites: Sequence[SuiteResult]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "netprobe": __version__,
        "mode": "live" if is_live(suites) else "static",
        "summary": _counts(Counts.total(suites)),
        "suites": [_suite(suite) for suite in suites],
        "latency": _latency([r for suite in suites for r in suite.results], suites),
    }


def render_json(suites: Sequence[SuiteResult]) -> str:
    return json.dumps(to_document(suites), indent=2) + "\n"


def _suite(suite: SuiteResult) -> dict[str, Any]:
    return {
        "name": suite.name,
        "path": str(suite.path),
        "backend": suite.backend,
        "duration": round(suite.duration, 3),
        "summary": _counts(Counts.of(suite.results)),
        "results": [_result(result) for result in suite.results],
        "latency": _latency(suite.results, [suite]),
        "cni": suite.cni,
        "diagnostics": suite.diagnostics.as_dict() if suite.diagnostics else None,
    }


def _latency(
    results: Sequence[ExpectationResult], suites: Sequence[SuiteResult]
) -> dict[str, Any] | None:
    """Enforcement latency of the changed pairs (netprobe.latency); null when static."""
    return latency_summary(results).as_dict() if is_live(suites) else None


def _counts(counts: Counts) -> dict[str, Any]:
    return {
        "expectations": counts.expectations,
        "held": counts.held,
        "violated": counts.violated,
        "skipped": counts.skipped,
        "errors": counts.errors,
        "status": {status.value: count for status, count in counts.by_status.items()},
    }


def _result(result: ExpectationResult) -> dict[str, Any]:
    expectation = result.expectation
    observation = result.observation
    destination = expectation.destination
    return {
        "id": expectation.id,
        "step": result.step,
        "from": str(expectation.source),
        "to": str(destination),
        "to_kind": "pod" if isinstance(destination, PodRef) else "address",
        "cidr": str(expectation.cidr) if expectation.cidr else None,
        "port": expectation.port,
        "port_name": expectation.port_name,
        "protocol": expectation.protocol.value,
        "expected": word(expectation.allowed),
        "analyzer": word(result.verdict.allowed),
        "undefined": result.verdict.undefined,
        "reasons": [
            {
                "text": reason.text,
                "policy": str(reason.policy) if reason.policy else None,
                "direction": reason.direction.value if reason.direction else None,
                "rule": reason.rule,
            }
            for reason in result.verdict.reasons
        ],
        "observed": None
        if observation is None
        else {
            "outcome": observation.outcome.value,
            "allowed": observation.allowed,
            "attempts": observation.attempts,
            "settled_after": observation.settled_after,
            "flapped": observation.flapped,
            "detail": observation.detail,
        },
        "status": result.status.value,
        "held": is_held(result),
        "violated": is_failure(result) and result.status is not Status.ERROR,
        "skip": result.skip,
        "tags": list(expectation.tags),
        "location": str(expectation.location),
        "changed": result.changed,
    }
