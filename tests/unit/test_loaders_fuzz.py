"""Hostile input never gives a traceback: mutated suites and manifests, fed to the loaders.

The real suites and test-case manifests are mutated line by line and byte by byte (lines
deleted, duplicated and swapped; tags that do not fit, huge integers, impossible dates,
control characters, deep nesting, anchors and aliases put in) and loaded as files. The
only exception allowed is netprobe's InputError, and a located one names the file. The
examples are derandomized and bounded, so CI runs the same ones in a few seconds.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from netprobe.documents import parse_yaml_documents
from netprobe.errors import InputError, LocatedError
from netprobe.manifests import load_paths
from netprobe.suite.loader import load_suite

# Every test here runs through libyaml's parser and through the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")

ROOT = Path(__file__).parents[2]
SUITES = sorted((ROOT / "suites").glob("*.netprobe.yaml"))
MANIFESTS = sorted((ROOT / "tests" / "cases").glob("*/manifests.yaml"))
EXAMPLES = 2000

FRAGMENTS = (
    "!!float nginx",
    "!!int abc",
    "!!bool maybe",
    "!!timestamp x",
    "!!set x",
    "!!seq x",
    "!!map x",
    "!!binary ==",
    "!custom x",
    "7" * 5000,
    "1" + "0" * 400,
    "-1" + "0" * 400,
    "1e400",
    "2024-02-30",
    "2024-01-01 10:00:00",
    "\x07",
    "\x00",
    "\x1b[31m",
    "\ufeff",
    "&a",
    "*a",
    "&a [*a]",
    "*nowhere",
    "<<: 5",
    "<<: *a",
    "[" * 120,
    "{a: " * 60,
    "? [a]\n: b",
    "---",
    "...",
    "%TAG ! tag:x,2000:",
    "\t",
    '"unterminated',
    "|",
    "- - -",
    ": :",
    "~",
    "=",
    "<<",
)


def _lines(text: str) -> list[str]:
    return text.split("\n")


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Path]) -> bytes:
    """The text of one seed file with one to four mutations."""
    lines = _lines(draw(st.sampled_from(seeds)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(("delete", "duplicate", "swap", "value", "insert", "byte")))
        line = lines[at]
        if how == "delete" and len(lines) > 1:
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, line)
        elif how == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        elif how == "value" and ": " in line:
            lines[at] = line.split(": ", 1)[0] + ": " + draw(st.sampled_from(FRAGMENTS))
        elif how == "insert":
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(at, indent + draw(st.sampled_from(FRAGMENTS)))
        elif how == "byte" and line:
            column = draw(st.integers(0, len(line)))
            character = chr(draw(st.integers(0, 0x7F)))
            lines[at] = line[:column] + character + line[column:]
    encoded = "\n".join(lines).encode("utf-8")
    if draw(st.booleans()) and encoded:  # a raw byte, which may break the UTF-8 too
        position = draw(st.integers(0, len(encoded) - 1))
        encoded = encoded[:position] + bytes([draw(st.integers(0, 255))]) + encoded[position:]
    return encoded


def _only_input_errors(path: Path, load: Callable[[Path], object]) -> None:
    """Loading ``path`` succeeds or fails naming it (or a fixture file it names)."""
    try:
        load(path)
    except LocatedError as error:
        assert Path(error.location.file).is_file(), error
        assert error.location.line is not None or "fixtures" in error.location.file, error
    except InputError as error:
        assert str(error).startswith(str(path.parent)), error


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder beside a link to the fixtures, so mutated suites still find their policies."""
    base = tmp_path_factory.mktemp("fuzz")
    (base / "fixtures").symlink_to(ROOT / "fixtures")
    (base / "suites").mkdir()
    return base / "suites"


_FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_FUZZ
@given(text=mutated(SUITES))
def test_mutated_suites_give_input_errors_only(folder: Path, text: bytes) -> None:
    path = folder / "fuzzed.netprobe.yaml"
    path.write_bytes(text)
    _only_input_errors(path, lambda file: load_suite(file, lambda _: None))


@_FUZZ
@given(text=mutated(MANIFESTS))
def test_mutated_manifests_give_input_errors_only(folder: Path, text: bytes) -> None:
    path = folder / "fuzzed-manifests.yaml"
    path.write_bytes(text)
    _only_input_errors(path, lambda file: load_paths([file], lambda _: None))


@_FUZZ
@given(text=st.text(max_size=300))
def test_any_text_parses_or_gives_a_located_error(text: str) -> None:
    try:
        parse_yaml_documents(text, "any.yaml")
    except LocatedError as error:
        assert error.location.file == "any.yaml"


SUITE = (
    "pods:\n  frontend/web: {labels: {app: web}, ports: [80]}\n"
    "expect:\n  - allow: frontend/web -> frontend/web:80\n"
)


@pytest.mark.parametrize(
    "text",
    [
        "description: !!float nginx\n" + SUITE,
        "description: !!seq x\n" + SUITE,
        "description: " + "7" * 5000 + "\n" + SUITE,
        "description: a\x07b\n" + SUITE,
        "settings: {probeTimeout: 1" + "0" * 400 + "}\n" + SUITE,
        "description: " + "[" * 5000 + "\n" + SUITE,
        "a: 1\n" * 2_000_000,
    ],
    ids=["bad-float", "bad-seq", "long-int", "control", "overflow", "deep", "10MB-duplicates"],
)
def test_check_exits_2_with_one_line_and_no_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hostile.netprobe.yaml"
    path.write_text(text, encoding="utf-8")
    done = _netprobe("check", str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith(f"netprobe: error: {path}:"), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_check_reads_an_unquoted_impossible_date_as_text(tmp_path: Path) -> None:
    path = tmp_path / "dated.netprobe.yaml"
    path.write_text("description: 2024-02-30\n" + SUITE, encoding="utf-8")
    assert _netprobe("check", str(path)).returncode == 0


@pytest.mark.parametrize(
    "annotation", ["!!int abc", "!!timestamp 2024-02-30", "&a [*a]", "x\x00y"], ids=repr
)
def test_matrix_exits_2_on_hostile_manifests(tmp_path: Path, annotation: str) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n"
        f"  annotations:\n    note: {annotation}\n",
        encoding="utf-8",
    )
    done = _netprobe("matrix", "-f", str(path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"netprobe: error: {path}:7"), done.stderr
    assert "Traceback" not in done.stderr


def _netprobe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netprobe", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
