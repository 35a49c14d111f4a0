"""``netprobe check``: exit codes, the summary, violations with reasons, outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netprobe.cli import main

ROOT = Path(__file__).parents[2]
WRONG = ROOT / "tests" / "wrong_policy"
EXAMPLES = sorted((ROOT / "suites").glob("*.netprobe.yaml"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("suite", EXAMPLES, ids=lambda p: p.name)
def test_every_example_suite_holds(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(suite))
    assert (code, err) == (0, ""), out
    assert "all " in out and "expectations hold" in out


def test_there_is_an_example_per_seed_scenario() -> None:
    names = {path.name.removesuffix(".netprobe.yaml") for path in EXAMPLES}
    assert {
        "three-tier",
        "dns-egress",
        "egress-proxy",
        "documented-example",
        "endport",
        "namespaces-by-name",
    } <= names


def test_the_examples_directory_checks_as_a_whole(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(ROOT / "suites"))
    assert code == 0
    assert out.splitlines()[-1].split()[0] == "total"


def test_a_wrong_policy_fails_naming_the_pair_and_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, str(WRONG / "suite.yaml"))
    assert code == 1
    assert "1 of 2 expectations violated" in out
    assert "VIOLATED  wrong-policy: deny frontend/debug -> database/db:5432/TCP" in out
    assert "suite.yaml:14 expect[1].deny" in out
    assert "the suite expects deny; the policies allow it" in out
    assert "database/db-from-web ingress[0] admits frontend/debug" in out


def test_policies_option_checks_a_proposed_change(capsys: pytest.CaptureFixture[str]) -> None:
    args = (str(WRONG / "suite.yaml"), "--policies", str(WRONG / "fixed-policy.yaml"))
    code, out, _ = run(capsys, *args)
    assert code == 0, out


def test_json_output_is_the_documented_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(WRONG / "suite.yaml"), "-o", "json")
    document = json.loads(out)
    assert code == 1
    assert document["mode"] == "static"
    assert document["summary"]["violated"] == 1
    violated = [r for r in document["suites"][0]["results"] if r["violated"]]
    assert violated[0]["from"] == "frontend/debug"
    assert violated[0]["observed"] is None
    assert "database/db-from-web" in {reason["policy"] for reason in violated[0]["reasons"]}


def test_junit_has_one_testcase_per_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "junit.xml"
    code, _, _ = run(
        capsys, str(WRONG / "suite.yaml"), str(ROOT / "suites"), "--junit", str(report)
    )
    root = ET.parse(report).getroot()
    cases = root.findall("./testsuite/testcase")
    assert code == 1
    assert len(cases) == int(root.get("tests", "-1")) > 60
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == 1
    assert "admits frontend/debug" in (failures[0].text or "")


def test_markdown_output_for_a_pull_request(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(WRONG / "suite.yaml"), "-o", "markdown")
    assert out.startswith("### :x: netprobe check: 1 of 2 expectations violated")
    assert "| wrong-policy |" in out
    assert "#### `wrong-policy: deny frontend/debug -> database/db:5432/TCP`" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.netprobe.yaml"], "no such file or directory"),
        (["tests/unit"], "no suite files"),
        (["tests/wrong_policy/suite.yaml", "--policies", "nope/"], "no such file or directory"),
    ],
)
def test_bad_arguments_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
