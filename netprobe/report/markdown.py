"""The Markdown report, for a pull-request comment: a headline, the summary table, each
result that needs attention with its reasons, and the full list folded away."""

from __future__ import annotations

from collections.abc import Sequence

from netprobe.report.describe import (
    Counts,
    headline,
    is_live,
    needs_attention,
    reasons,
    title,
    verdict_sentence,
)
from netprobe.report.text import results_table, summary_table
from netprobe.results import SuiteResult


def render_markdown(suites: Sequence[SuiteResult]) -> str:
    live = is_live(suites)
    mark = ":x:" if Counts.total(suites).failed else ":white_check_mark:"
    parts = [f"### {mark} {title(suites)}", "", summary_table(suites, live, "github")]
    for suite in suites:
        for result in suite.results:
            if not needs_attention(result):
                continue
            parts += [
                "",
                f"#### `{_code(headline(result, suite))}`",
                f"`{_code(str(result.expectation.location))}`: {verdict_sentence(result)}",
                "",
                *[f"- {_escape(reason)}" for reason in reasons(result)],
            ]
    for suite in suites:
        parts += [
            "",
            f"<details><summary>{_escape(suite.name)}: every expectation</summary>",
            "",
            results_table(suite.results, live, "github"),
            "",
            "</details>",
        ]
    return "\n".join(parts) + "\n"


def _code(text: str) -> str:
    return text.replace("`", "'")


def _escape(text: str) -> str:
    for char in ("\\", "*", "_", "<", ">", "|", "["):
        text = text.replace(char, "\\" + char)
    return text
