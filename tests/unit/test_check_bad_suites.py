"""Every malformed suite in tests/bad_suites exits 2 with a located message, no traceback.

Each file's first line is ``# expect: <fragment>``: a piece of the message it must give."""

from pathlib import Path

import pytest

from netprobe.cli import main

BAD_SUITES = sorted((Path(__file__).parents[1] / "bad_suites").glob("*.yaml"))


def expected_fragment(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ")


def test_the_corpus_is_large_enough() -> None:
    assert len(BAD_SUITES) >= 30


@pytest.mark.parametrize("path", BAD_SUITES, ids=lambda p: p.stem)
def test_bad_suite_exits_2_with_a_located_message(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("netprobe: error: ")]
    assert len(errors) == 1, err
    assert errors[0].startswith(f"netprobe: error: {path}:"), err
    assert expected_fragment(path) in err
