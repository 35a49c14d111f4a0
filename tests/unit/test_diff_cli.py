"""``netprobe diff``: grouped rows with their cause, the outputs, ``--fail-on`` and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netprobe.cli import main

NAMESPACES = """\
apiVersion: v1
kind: Namespace
metadata: {name: frontend}
---
apiVersion: v1
kind: Namespace
metadata: {name: db}
---
"""


def pod(namespace: str, name: str, app: str, port: int) -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}, "
        f"labels: {{app: {app}, pod-template-hash: h{name}}}}}\n"
        f"spec:\n  containers: [{{name: c, image: i, ports: [{{containerPort: {port}}}]}}]\n---\n"
    )


PODS = (
    "".join(pod("frontend", f"web-{n}", "web", 80) for n in range(3))
    + "".join(pod("frontend", f"admin-{n}", "admin", 80) for n in range(2))
    + "".join(pod("db", f"pg-{n}", "postgres", 5432) for n in range(2))
    + pod("db", "backup", "backup", 22)
)

DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: db}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
"""

ALLOW_WEB = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: db}
spec:
  podSelector: {matchLabels: {app: postgres}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}
          podSelector: {matchLabels: {app: web}}
      ports: [{port: 5432}]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    paths = {
        "cluster": NAMESPACES + PODS,
        "before": DENY,
        "after": DENY + ALLOW_WEB,
        "none": "",
    }
    found = {}
    for name, text in paths.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        found[name] = str(path)
    return found


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def diff(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], before: str, after: str, *more: str
) -> tuple[int, str, str]:
    return run(
        capsys,
        "diff",
        "-f",
        files["cluster"],
        "--before",
        files[before],
        "--after",
        files[after],
        *more,
    )


def test_opened_rows_are_grouped_and_name_their_rule(
    capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    code, out, _ = diff(capsys, files, "before", "after", "-o", "json")
    assert code == 0
    document = json.loads(out)
    assert document["changed_policies"] == ["db/allow-web"]
    assert document["summary"] == {"opened": 6, "closed": 0}
    (change,) = document["changes"]
    assert change["text"] == (
        "namespace frontend (app=web, 3 pods) -> namespace db (app=postgres, 2 pods) "
        "5432/TCP: OPENED by db/allow-web ingress[0]"
    )
    assert change["cause"]["location"].startswith(f"{files['after']}:")
    assert change["pairs"] == 6
    assert any("db/allow-web ingress[0] admits" in r for r in change["example"]["reasons"])


def test_removing_a_default_deny_opens_with_isolation_lifted(
    capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    code, out, _ = diff(capsys, files, "before", "none", "--ports", "22")
    assert code == 0
    assert "OPENED db/default-deny no longer isolates it for ingress" in out
    assert "  any pod (8 pods) -> namespace db (all 3 pods) 22/TCP  [21 pod pair(s); " in out


def test_adding_a_default_deny_closes_with_its_policy_named(
    capsys: pytest.CaptureFixture[str], files: dict[str, str]
) -> None:
    _, out, _ = diff(capsys, files, "none", "before", "--ports", "5432", "-o", "markdown")
    assert out.startswith("**netprobe diff**: 1 policy changed (db/default-deny)")
    assert "| **CLOSED** | any pod (8 pods) | namespace db (all 3 pods) | 5432/TCP |" in out
    assert "db/default-deny now isolates it for ingress (default deny)" in out


@pytest.mark.parametrize(
    ("before", "after", "fail_on", "code"),
    [
        ("before", "after", "opened", 1),
        ("before", "after", "closed", 0),
        ("before", "after", "any", 1),
        ("after", "before", "opened", 0),
        ("after", "before", "closed", 1),
        ("before", "before", "any", 0),
    ],
)
def test_fail_on_gates_on_what_it_names(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    before: str,
    after: str,
    fail_on: str,
    code: int,
) -> None:
    assert diff(capsys, files, before, after, "--fail-on", fail_on)[0] == code


def test_nothing_changed_says_so(capsys: pytest.CaptureFixture[str], files: dict[str, str]) -> None:
    code, out, _ = diff(capsys, files, "after", "after")
    assert code == 0
    assert out.splitlines()[-1] == "no connection opened or closed"


def test_pods_can_come_from_a_suite(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).parent.parent.parent
    code, out, _ = run(
        capsys,
        "diff",
        "-f",
        str(root / "suites" / "three-tier.netprobe.yaml"),
        "--before",
        str(root / "fixtures" / "three-tier"),
        "--after",
        str(root / "fixtures" / "three-tier" / "default-deny.yaml"),
        "--ports",
        "5432",
    )
    assert code == 0
    assert "3 policies changed" in out
    assert "CLOSED database/db-from-backend ingress[0] no longer admits it" in out
    assert "namespace backend (all: api) -> namespace database (all: db) 5432/TCP" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ports", "http"], "expected a number from 1 to 65535"),
        (["--before", "/nonexistent.yaml"], "/nonexistent.yaml"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], argv: list[str], message: str
) -> None:
    code, out, err = diff(capsys, files, "before", "after", *argv)
    assert code == 2 and out == ""
    assert message in err


def test_no_pods_is_bad_input(capsys: pytest.CaptureFixture[str], files: dict[str, str]) -> None:
    code, _, err = run(capsys, "diff", "--before", files["before"], "--after", files["after"])
    assert code == 2
    assert "no pods to compare" in err


def test_egress_changes_towards_addresses_outside_the_pods(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], tmp_path: Path
) -> None:
    egress = tmp_path / "egress.yaml"
    egress.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: web-egress, namespace: frontend}\nspec:\n"
        "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n"
        "  egress:\n    - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n"
    )
    code, out, _ = run(
        capsys,
        "diff",
        "-f",
        files["cluster"],
        "--before",
        files["none"],
        "--after",
        str(egress),
        "--ports",
        "443",
        "-o",
        "json",
    )
    assert code == 0
    rows = {
        (c["change"], c["to"].get("address"), c["cause"]["text"])
        for c in json.loads(out)["changes"]
        if "address" in c["to"]
    }
    assert rows == {
        ("closed", "192.0.2.1", "frontend/web-egress now isolates it for egress (default deny)"),
        ("closed", "10.1.0.1", "frontend/web-egress now isolates it for egress (default deny)"),
    }


def test_ingress_opened_from_addresses_outside_the_pods_is_reported(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], tmp_path: Path
) -> None:
    world = tmp_path / "world.yaml"
    world.write_text(
        DENY + "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: from-world, namespace: db}\nspec:\n"
        "  podSelector: {matchLabels: {app: postgres}}\n"
        "  ingress:\n    - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]\n"
    )
    code, out, _ = run(
        capsys, "diff", "-f", files["cluster"], "--before", files["before"],
        "--after", str(world), "--ports", "5432", "--fail-on", "opened", "-o", "json",
    )  # fmt: skip
    assert code == 1
    rows = {
        (c["change"], c["from"].get("address"), c["example"]["to"], c["cause"]["text"])
        for c in json.loads(out)["changes"]
        if "address" in c["from"]
    }
    assert rows == {
        ("opened", "0.0.0.1", "db/pg-0", "by db/from-world ingress[0]"),
        ("opened", "192.0.2.1", "db/pg-0", "by db/from-world ingress[0]"),
    }
