"""``netprobe lint`` on one manifest per rule that must trigger it and one that must not,
the CLI's exit codes and JSON shape, and that every rule is documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netprobe.cli import main
from netprobe.lint import CHECKS, check_ids

EXAMPLES = Path(__file__).parent.parent / "lint"
DOCS = Path(__file__).parent.parent.parent / "docs" / "lint.md"
RULES = check_ids()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def findings(capsys: pytest.CaptureFixture[str], path: Path) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "lint", "-f", str(path), "-o", "json", "--fail-on", "info")
    document = json.loads(out)
    assert code == (1 if document["findings"] else 0)
    return list(document["findings"])


@pytest.mark.parametrize("rule", RULES)
def test_positive_example_triggers_only_its_rule(
    capsys: pytest.CaptureFixture[str], rule: str
) -> None:
    found = findings(capsys, EXAMPLES / f"{rule}-positive.yaml")
    assert {f["rule"] for f in found} == {rule}
    for finding in found:
        assert finding["file"] == str(EXAMPLES / f"{rule}-positive.yaml")
        assert isinstance(finding["line"], int)
        assert finding["hint"]


@pytest.mark.parametrize("rule", RULES)
def test_negative_example_is_clean(capsys: pytest.CaptureFixture[str], rule: str) -> None:
    assert findings(capsys, EXAMPLES / f"{rule}-negative.yaml") == []


def test_every_rule_is_documented_with_its_severity() -> None:
    text = DOCS.read_text()
    for check in CHECKS:
        assert f"## {check.rule_id} {check.name}" in text
        assert f"Severity: {check.severity}" in text


def test_finding_names_file_line_field_rule_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lint", "-f", str(EXAMPLES / "NP003-positive.yaml"))
    assert code == 1
    first, hint, summary = out.splitlines()
    assert first.startswith(
        f"{EXAMPLES / 'NP003-positive.yaml'}:16 (document 3) spec.ingress[0].from[0]: "
        "NP003 warning: "
    )
    assert "kubernetes.io/metadata.name: frontend" in hint
    assert summary == "1 finding: 1 warning"


@pytest.mark.parametrize(("fail_on", "code"), [("info", 1), ("warning", 1), ("error", 0)])
def test_fail_on_sets_the_threshold(
    capsys: pytest.CaptureFixture[str], fail_on: str, code: int
) -> None:
    path = str(EXAMPLES / "NP001-positive.yaml")  # one warning
    assert run(capsys, "lint", "-f", path, "--fail-on", fail_on)[0] == code


def test_error_findings_fail_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "lint", "-f", str(EXAMPLES / "NP010-positive.yaml"))[0] == 1


def test_infos_do_not_fail_by_default(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: p, namespace: api}\nspec:\n  podSelector: {}\n  ingress:\n"
        "    - from: [{namespaceSelector: {matchLabels: {name: api}}}]\n"
    )
    code, out, _ = run(capsys, "lint", "-f", str(path))
    assert code == 0
    assert "NP003 info" in out


def test_disable_skips_a_rule(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "NP001-positive.yaml")
    code, out, _ = run(capsys, "lint", "-f", path, "--disable", "np001")
    assert (code, out) == (0, "no findings\n")


def test_pod_cidr_makes_ipblock_overlap_a_finding(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "NP009-negative.yaml")  # 192.168.1.10/32, no pod IPs
    assert run(capsys, "lint", "-f", path)[0] == 0
    code, out, _ = run(capsys, "lint", "-f", path, "--pod-cidr", "192.168.0.0/16")
    assert code == 1
    assert "NP008 warning" in out and "part of the pod CIDR 192.168.0.0/16" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--disable", "NP999"], "unknown lint rule(s) NP999"),
        (["--pod-cidr", "10.0.0/8x"], "expected a CIDR"),
    ],
)
def test_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "lint", "-f", str(EXAMPLES / "NP001-positive.yaml"), *argv)
    assert code == 2
    assert message in err


def test_bad_manifest_exits_2_with_its_location(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\n")
    code, out, err = run(capsys, "lint", "-f", str(path))
    assert code == 2 and out == ""
    assert str(path) in err
