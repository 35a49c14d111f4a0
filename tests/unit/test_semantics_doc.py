"""docs/semantics.md is the key to the rule numbers the code, tests and suites cite.

Every ``rule N`` / ``rules N-M`` citation must name a rule the page defines (headings
``### Rule N — title``), every quoted section (``docs/semantics.md, "Validation"``) a heading
it has, and every file and test the page points to must exist. Nothing may cite the
semantics checklist that lives outside the repository, so a fresh clone has the key to its
own tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "semantics.md"
SCANNED = ("netprobe", "tests", "suites", "docs", "bench", "README.md")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".sh"}

RULE_HEADING = re.compile(r"^#{2,3} Rule (\d+) — \S", re.MULTILINE)
HEADING = re.compile(r"^#{2,3} (.+?)\s*$", re.MULTILINE)
CITATION = re.compile(r"\brules?\s+(\d+(?:\s*(?:-|\u2013|,|and|or|to)\s*\d+)*)\b", re.IGNORECASE)
SECTION_CITATION = re.compile(r"docs/semantics\.md,?\s+\"([^\"]+)\"")
OUTSIDE = (
    # the checklist outside the repository, by its file name...
    re.compile(r"(?<![a-z])networkpolicy\.md", re.IGNORECASE),
    # ...or as "NetworkPolicy rule 8": cite docs/semantics.md instead
    re.compile(r"\bNetworkPolicy,?\s+rules?\s+\d"),
)
POINTER = re.compile(r"`((?:netprobe|tests|docs|suites|bench|fixtures)/[^`\s:]+)(?:::(\w+))?`")


def cited_numbers(text: str) -> set[int]:
    """The rule numbers one citation names: ``9-12`` and ``9 to 12`` are ranges."""
    numbers: set[int] = set()
    for part in re.split(r"\s*(?:,|and|or)\s*", text):
        bounds = [int(n) for n in re.split(r"\s*(?:-|\u2013|to)\s*", part) if n]
        numbers.update(range(bounds[0], bounds[-1] + 1))
    return numbers


def defined_rules() -> list[int]:
    return [int(n) for n in RULE_HEADING.findall(DOC.read_text(encoding="utf-8"))]


def sections() -> set[str]:
    return set(HEADING.findall(DOC.read_text(encoding="utf-8")))


def scanned_files() -> Iterator[Path]:
    this = Path(__file__).resolve()
    for name in SCANNED:
        top = ROOT / name
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            if (
                path.suffix in SUFFIXES
                and path.is_file()
                and path.resolve() != this
                and "__pycache__" not in path.parts
            ):
                yield path


def matches(pattern: re.Pattern[str]) -> Iterator[tuple[str, re.Match[str]]]:
    """``(file:line, match)`` for every match of ``pattern`` in the scanned files."""
    for path in scanned_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield f"{path.relative_to(ROOT)}:{line}", match


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", {3}),
        ("9-12", {9, 10, 11, 12}),
        ("9\u201312", {9, 10, 11, 12}),
        ("1, 4", {1, 4}),
        ("9 to 11", {9, 10, 11}),
        ("14-16", {14, 15, 16}),
        ("10, 11", {10, 11}),
    ],
)
def test_cited_numbers(text: str, expected: set[int]) -> None:
    assert cited_numbers(text) == expected


def test_rules_are_numbered_once_each_in_order_from_one() -> None:
    rules = defined_rules()
    assert rules == list(range(1, len(rules) + 1)), rules
    assert len(rules) >= 16


def test_the_sections_the_code_cites_by_name_exist() -> None:
    assert {"Objects", "Validation", "What is undefined"} <= sections()


def test_every_cited_rule_is_defined() -> None:
    defined = set(defined_rules())
    found = [(where, match.group(1)) for where, match in matches(CITATION)]
    assert any(where.startswith("netprobe/analyzer/isolation.py:") for where, _ in found), (
        "the scanner found no citation where one is known to be"
    )
    wrong = [
        f"{where}: rules {text} (docs/semantics.md defines {min(defined)}-{max(defined)})"
        for where, text in found
        if not cited_numbers(text) <= defined
    ]
    assert not wrong, "\n".join(wrong)


def test_every_cited_section_exists() -> None:
    known = sections()
    wrong = [
        f"{where}: docs/semantics.md has no section {match.group(1)!r}"
        for where, match in matches(SECTION_CITATION)
        if match.group(1) not in known
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_cites_the_checklist_outside_the_repository() -> None:
    wrong = [
        f"{where}: {match.group(0)!r}" for pattern in OUTSIDE for where, match in matches(pattern)
    ]
    assert not wrong, "cite docs/semantics.md instead:\n" + "\n".join(wrong)


def test_the_files_and_tests_the_page_points_to_exist() -> None:
    wrong = []
    for match in POINTER.finditer(DOC.read_text(encoding="utf-8")):
        relative, name = match.groups()
        path = ROOT / relative
        if not path.exists():
            wrong.append(f"{relative}: no such file")
        elif name and not re.search(
            rf"^(?:def|class) {name}\b|^{name}\s*[:=]", path.read_text(encoding="utf-8"), re.M
        ):
            wrong.append(f"{relative}::{name}: not defined there")
    assert not wrong, "\n".join(wrong)
