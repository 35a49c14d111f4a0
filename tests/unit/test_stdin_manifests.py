"""``-f -`` reads the manifests from standard input, as ``kubectl apply -f -`` does."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netprobe import documents
from netprobe.cli import main

THREE_TIER = Path(__file__).parent.parent / "cases" / "three-tier" / "manifests.yaml"
Feed = Callable[[str], None]


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Feed]:
    """Sets what standard input holds; standard input is read once per process."""

    def feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    documents._stdin_text.cache_clear()
    yield feed
    documents._stdin_text.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


COMMANDS = {
    "matrix": ("matrix", "--ports", "5432,80"),
    "explain": ("explain", "frontend/webserver01", "database/db01", "5432"),
    "lint": ("lint",),
    "generate": ("generate", "--ports", "5432"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_standard_input_reads_as_the_file_does(
    capsys: pytest.CaptureFixture[str], stdin: Feed, command: str
) -> None:
    first, *rest = COMMANDS[command]
    from_file = run(capsys, first, "-f", str(THREE_TIER), *rest)
    stdin(THREE_TIER.read_text())
    from_stdin = run(capsys, first, "-f", "-", *rest)
    code, out, err = from_file
    named = str(THREE_TIER)
    assert from_stdin == (
        code,
        out.replace(f"{named}:", "<stdin>:").replace(named, "-"),
        err.replace(f"{named}:", "<stdin>:"),
    )


def test_diff_reads_standard_input_once_for_every_side(
    capsys: pytest.CaptureFixture[str], stdin: Feed
) -> None:
    stdin(THREE_TIER.read_text())
    code, out, err = run(capsys, "diff", "-f", "-", "--before", "-", "--after", "-")
    assert (code, err) == (0, "")
    assert out.startswith("0 policies changed (none); 5 pods")
    assert out.endswith("no connection opened or closed\n")


def test_an_error_in_standard_input_names_stdin_and_the_line(
    capsys: pytest.CaptureFixture[str], stdin: Feed
) -> None:
    stdin(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: p, namespace: prod}\nspec:\n  podSelector: {}\n  ingres: []\n"
    )
    code, out, err = run(capsys, "matrix", "-f", "-")
    assert (code, out) == (2, "")
    assert err.startswith("netprobe: error: <stdin>:6 spec.ingres: unknown field 'ingres'")


def test_standard_input_named_twice_is_read_as_one_file(
    capsys: pytest.CaptureFixture[str], stdin: Feed
) -> None:
    stdin(THREE_TIER.read_text())
    twice = run(capsys, "lint", "-f", "-", "-f", "-")
    stdin(THREE_TIER.read_text())
    documents._stdin_text.cache_clear()
    assert twice == run(capsys, "lint", "-f", "-")
