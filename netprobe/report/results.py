"""Reports of suite results, chosen by name: ``table`` (text for a terminal), ``json`` (a
stable document, see docs/suites.md), ``markdown`` (a pull-request comment), and JUnit XML
written to a file. Used by ``netprobe check`` (static results) and ``netprobe run`` (live
results, where observations add columns); reports never decide exit codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from netprobe.errors import InputError
from netprobe.report.document import render_json, to_document
from netprobe.report.junit import render_junit, write_junit
from netprobe.report.markdown import render_markdown
from netprobe.report.text import render_text
from netprobe.results import SuiteResult

_RENDERERS: dict[str, Callable[[Sequence[SuiteResult], bool], str]] = {
    "table": render_text,
    "json": lambda suites, verbose: render_json(suites),
    "markdown": lambda suites, verbose: render_markdown(suites),
}

FORMATS: tuple[str, ...] = tuple(_RENDERERS)
"""The names ``render`` accepts, for ``-o`` choices."""


def render(name: str, results: Sequence[SuiteResult], verbose: bool = False) -> str:
    """The report ``name`` (one of :data:`FORMATS`) of ``results``.

    ``verbose`` lists every expectation in the table report (the other formats always do).
    """
    try:
        renderer = _RENDERERS[name]
    except KeyError:
        raise InputError(
            f"unknown report format '{name}' (choose from {', '.join(FORMATS)})"
        ) from None
    return renderer(results, verbose)


__all__ = ["FORMATS", "render", "render_junit", "to_document", "write_junit"]
