"""``netprobe generate``: the suite it writes loads, passes ``netprobe check`` against the
same policies, covers every rule, stays small, and fails when the policies change."""

from __future__ import annotations

from pathlib import Path

import pytest

from netprobe.cli import main
from netprobe.judge import judge_suite
from netprobe.manifests import load_state
from netprobe.suite.loader import load_suite

CASES = Path(__file__).parent.parent / "cases"
SUITES = Path(__file__).parent.parent.parent / "suites"
MANIFESTS = sorted(CASES.glob("*/manifests.yaml"))
WITH_POLICIES = [
    s for s in sorted(SUITES.glob("*.netprobe.yaml")) if s.name != "dns-egress.netprobe.yaml"
]


def generate(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> Path:
    code = main(["generate", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    path = tmp_path / "pinned.netprobe.yaml"
    path.write_text(captured.out)
    return path


@pytest.mark.parametrize("example", WITH_POLICIES, ids=lambda path: path.name)
def test_suites_pods_and_policies_can_be_pinned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, example: Path
) -> None:
    path = generate(capsys, tmp_path, "-f", str(example))
    assert not judge_suite(load_suite(path, lambda message: None)).failed


@pytest.mark.parametrize("manifests", MANIFESTS, ids=lambda path: path.parent.name)
def test_generated_suite_loads_and_passes_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, manifests: Path
) -> None:
    path = generate(capsys, tmp_path, "-f", str(manifests))
    warnings: list[str] = []
    suite = load_suite(path, warnings.append)
    assert warnings == []
    result = judge_suite(suite)
    assert result.results and not result.failed
    assert {e.allowed for e in suite.expectations} == {True, False}
    assert main(["check", str(path)]) == 0


YAML_LOOKALIKES = """\
apiVersion: v1
kind: Pod
metadata: {name: "true", namespace: "no", labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: cli, namespace: "123"}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: "no"}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {}}]}]
"""


def test_namespaces_named_like_yaml_booleans_and_numbers_load_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifests = tmp_path / "m.yaml"
    manifests.write_text(YAML_LOOKALIKES)
    path = generate(capsys, tmp_path, "-f", str(manifests))
    suite = load_suite(path, lambda message: None)
    assert {namespace.name for namespace in suite.namespaces} == {"no", "123"}
    assert main(["check", str(path)]) == 0


def test_namespaces_named_like_dates_load_back_even_impossible_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifests = tmp_path / "m.yaml"
    manifests.write_text(
        YAML_LOOKALIKES.replace('"no"', "2024-02-30").replace('"123"', "2024-01-01")
    )
    path = generate(capsys, tmp_path, "-f", str(manifests))
    suite = load_suite(path, lambda message: None)
    assert {namespace.name for namespace in suite.namespaces} == {"2024-02-30", "2024-01-01"}
    assert "'2024-02-30'" in path.read_text() or '"2024-02-30"' in path.read_text()
    assert main(["check", str(path)]) == 0


def test_policies_with_aliased_metadata_are_inlined_without_expanding_the_aliases(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    levels = ['    l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    levels += [f"    l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 7)]
    aliased = YAML_LOOKALIKES.replace(
        'metadata: {name: web, namespace: "no"}',
        'metadata:\n  name: web\n  namespace: "no"\n  managedFields:\n' + "\n".join(levels),
    )
    manifests = tmp_path / "m.yaml"
    manifests.write_text(aliased)
    path = generate(capsys, tmp_path, "-f", str(manifests))
    assert len(path.read_text()) < 20_000  # 9**6 "ha"s when expanded
    assert main(["check", str(path)]) == 0


@pytest.mark.parametrize("manifests", MANIFESTS, ids=lambda path: path.parent.name)
def test_every_rule_and_default_deny_is_pinned_or_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, manifests: Path
) -> None:
    text = generate(capsys, tmp_path, "-f", str(manifests)).read_text()
    state = load_state([manifests], lambda message: None)
    for policy in state.policies:
        for direction in policy.policy_types:
            word = direction.value.lower()
            rules = policy.rules(direction)
            if not rules:
                assert f"{policy.ref} {word} isolates" in text
            for index in range(len(rules)):
                assert f"{policy.ref} {word}[{index}]" in text


@pytest.mark.parametrize("manifests", MANIFESTS, ids=lambda path: path.parent.name)
def test_suite_is_far_smaller_than_the_matrix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, manifests: Path
) -> None:
    suite = load_suite(generate(capsys, tmp_path, "-f", str(manifests)), lambda m: None)
    state = load_state([manifests], lambda message: None)
    rules = sum(len(p.ingress) + len(p.egress) + 1 for p in state.policies)
    assert len(suite.expectations) <= 4 * rules
    assert len(suite.pods) <= len(state.pods)


def test_three_tier_pins_the_and_selector_with_a_near_miss(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = generate(capsys, tmp_path, "-f", str(CASES / "three-tier" / "manifests.yaml"))
    lines = text.read_text().splitlines()
    allow = '  - allow: "frontend/webserver02 -> application/appserver01:8080/TCP"'
    near = '  - deny: "frontend/webserver01 -> application/appserver01:8080/TCP"'
    assert allow in lines and near in lines
    assert lines[lines.index(near) - 1] == (
        "  # near miss of application/from-web-to-app ingress[0]: frontend/webserver01 is "
        "outside its peers"
    )
    assert "#   application/from-web-to-app-cidr ingress[0] from/to[0]: ipBlock sources" in (
        text.read_text()
    )


def test_pinned_suite_fails_when_a_rule_is_removed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifests = CASES / "three-tier" / "manifests.yaml"
    path = generate(capsys, tmp_path, "-f", str(manifests))
    documents = manifests.read_text().split("\n---\n")
    kept = [d for d in documents if "name: from-application-to-db" not in d]
    assert len(kept) == len(documents) - 1
    changed = tmp_path / "changed.yaml"
    changed.write_text("\n---\n".join(kept))
    assert main(["check", str(path), "--policies", str(changed)]) == 1
    assert "allow application/appserver01 -> database/db01:5432/TCP" in capsys.readouterr().out


def test_ports_option_limits_the_choice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifests = str(CASES / "three-tier" / "manifests.yaml")
    suite = load_suite(generate(capsys, tmp_path, "-f", manifests, "--ports", "8080"), print)
    assert {e.port for e in suite.expectations} == {8080}


@pytest.mark.parametrize(
    ("text", "argv", "message"),
    [
        ("", [], "no pods in the manifests"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
            "spec: {containers: [{name: c, image: i}]}\n",
            [],
            "no NetworkPolicy in the manifests",
        ),
        (None, ["--ports", "0"], "expected a number from 1 to 65535"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str | None,
    argv: list[str],
    message: str,
) -> None:
    path = CASES / "three-tier" / "manifests.yaml"
    if text is not None:
        path = tmp_path / "empty.yaml"
        path.write_text(text)
    code = main(["generate", "-f", str(path), *argv])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err
