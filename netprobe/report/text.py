"""The terminal report: a tabulate summary per suite, then each result that needs
attention with the analyzer's reasons (and, in a live run, what was observed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tabulate import tabulate

from netprobe.latency import latency_summary
from netprobe.report.describe import (
    Counts,
    headline,
    is_live,
    needs_attention,
    observation_text,
    reasons,
    settled_late,
    title,
    verdict_sentence,
    word,
)
from netprobe.report.why import why_block
from netprobe.results import ExpectationResult, Status, SuiteResult, is_failure


def render_text(suites: Sequence[SuiteResult], verbose: bool = False) -> str:
    live = is_live(suites)
    parts = [title(suites), "", summary_table(suites, live, "simple")]
    if live:
        parts.append(str(latency_summary(r for suite in suites for r in suite.results)))
    if verbose:
        for suite in suites:
            parts += ["", f"{suite.name} ({suite.path})", results_table(suite.results, live)]
    details = [
        _detail(result, suite)
        for suite in suites
        for result in suite.results
        if needs_attention(result)
    ]
    if details:
        parts += ["", *details]
    for suite in suites:
        why = why_block(suite)
        if why:
            parts += ["", *why]
    skipped = Counter(r.skip for suite in suites for r in suite.results if r.skip is not None)
    if live and skipped:
        parts += ["", "skipped, and why:"]
        parts += [f"  {count:>5}  {reason}" for reason, count in skipped.most_common()]
    late = [(suite, r) for suite in suites for r in suite.results if settled_late(r)]
    if late:
        parts += ["", "held only after retries:"]
        parts += [
            f"  {headline(r, suite)}: {observation_text(r.observation)}"
            for suite, r in late
            if r.observation is not None
        ]
    return "\n".join(parts) + "\n"


def summary_table(suites: Sequence[SuiteResult], live: bool, fmt: str) -> str:
    headers = ["suite", "expectations", "held", "violated", "skipped"]
    if live:
        headers += ["errors", "policy", "dataplane", "backend", "seconds"]
    rows = [_summary_row(suite.name, Counts.of(suite.results), live, suite) for suite in suites]
    if len(suites) > 1:
        rows.append(_summary_row("total", Counts.total(suites), live, None))
    return _table(rows, headers, fmt)


def results_table(results: Sequence[ExpectationResult], live: bool, fmt: str = "simple") -> str:
    """One row per expectation (``-v``)."""
    headers = ["step", "expectation", "expected", "analyzer"]
    headers += ["observed", "attempts", "settled (s)", "status"] if live else ["result"]
    rows = []
    for result in results:
        row: list[object] = [
            result.step,
            result.expectation.id,
            word(result.expectation.allowed),
            word(result.verdict.allowed),
        ]
        if live:
            observation = result.observation
            row += [
                observation.outcome.value if observation else "",
                observation.attempts if observation else "",
                f"{observation.settled_after:.1f}"
                if observation and observation.settled_after is not None
                else "",
                result.status.value.upper(),
            ]
        else:
            row.append(_static_result(result))
        rows.append(row)
    return _table(rows, headers, fmt)


def _table(rows: list[list[object]], headers: list[str], fmt: str) -> str:
    """A tabulate table; in Markdown ("github") a '|' in a suite or step name is escaped,
    or it would split the cell."""
    if fmt == "github":
        rows = [[c.replace("|", "\\|") if isinstance(c, str) else c for c in r] for r in rows]
    return tabulate(rows, headers=headers, tablefmt=fmt)


def _summary_row(name: str, counts: Counts, live: bool, suite: SuiteResult | None) -> list[object]:
    row: list[object] = [name, counts.expectations, counts.held, counts.violated, counts.skipped]
    if live:
        statuses = counts.by_status
        row += [
            counts.errors,
            statuses[Status.POLICY] + statuses[Status.BOTH],
            statuses[Status.DATAPLANE] + statuses[Status.BOTH],
            (suite.backend or "") if suite else "",
            f"{suite.duration:.1f}" if suite else "",
        ]
    return row


def _static_result(result: ExpectationResult) -> str:
    if result.skip is not None:
        return "skipped"
    return "VIOLATED" if is_failure(result) else "held"


def _detail(result: ExpectationResult, suite: SuiteResult) -> str:
    label = result.status.value.upper() if result.observation else "VIOLATED"
    if result.observation is None and not is_failure(result):
        label = result.status.value.upper()
    lines = [
        f"{label}  {headline(result, suite)}",
        f"  at {result.expectation.location}",
        f"  {verdict_sentence(result)}",
    ]
    lines += [f"  - {reason}" for reason in reasons(result)]
    return "\n".join(lines)
