"""``netprobe explain``: verdicts and reasons in text and JSON, and the errors a user meets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netprobe.cli import main

CASES = Path(__file__).parent.parent / "cases"
THREE_TIER = str(CASES / "three-tier" / "manifests.yaml")
NAMED = str(CASES / "named-ports" / "manifests.yaml")
TNP = str(CASES / "test-network-policy" / "manifests.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_denied_names_isolating_policies_and_what_each_rule_admits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "-f", THREE_TIER, "frontend/webserver03", "application/appserver01", "8080"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "DENIED: frontend/webserver03 -> application/appserver01:8080/TCP"
    assert (
        "application/appserver01 is isolated for ingress by application/default-deny-ingress, "
        "application/from-web-to-app, application/from-web-to-app-cidr" in out
    )
    assert "application/default-deny-ingress has no ingress rules" in out
    assert (
        "application/from-web-to-app ingress[0] admits pods type=green in namespaces "
        "name=frontend only" in out
    )
    assert "from-web-to-app-cidr ingress[0] admits addresses in 10.244.120.69/32 only" in out


def test_allowed_names_the_rule_that_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-f", THREE_TIER, "10.244.120.69", "application/appserver01", "8080")
    assert out.startswith("ALLOWED: 10.244.120.69 -> application/appserver01:8080/TCP")
    assert "10.244.120.69 is the address of pod frontend/webserver01" in out
    assert "application/from-web-to-app-cidr ingress[0] admits frontend/webserver01" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "-f", THREE_TIER, "application/appserver01", "database/db01", "5432", "-o", "json"
    )
    document = json.loads(out)
    assert code == 0
    assert {k: document[k] for k in ("from", "to", "port", "protocol", "allowed", "verdict")} == {
        "from": "application/appserver01",
        "to": "database/db01",
        "port": 5432,
        "protocol": "TCP",
        "allowed": True,
        "verdict": "ALLOWED",
    }
    allowing = [r for r in document["reasons"] if r["rule"] is not None]
    assert allowing == [
        {
            "text": allowing[0]["text"],
            "policy": "database/from-application-to-db",
            "direction": "Ingress",
            "rule": 0,
        }
    ]
    assert document["undefined"] is None


def test_named_port_resolves_on_the_destination(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-f", NAMED, "app/client", "app/web-b", "http")
    assert out.startswith("ALLOWED: app/client -> app/web-b:9090/TCP")


def test_pod_without_ip_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-f", TNP, "other/pending", "default/db", "6379")
    assert out.startswith("DENIED")
    assert "other/pending has no IP in the snapshot, so no ipBlock can match it" in out


def test_named_port_towards_an_address_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "-f", NAMED, "app/client", "192.0.2.1", "8080")
    assert out.startswith("DENIED")
    assert "a named port never matches an address that is not a pod" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frontend/webserver1", "database/db01", "5432"], "did you mean frontend/webserver01"),
        (["frontend/webserver01", "database/db", "5432"], "did you mean database/db01"),
        (["nowhere", "database/db01", "5432"], "expected namespace/pod"),
        (["frontend/webserver01", "database/db01", "postgres"], "has no TCP port named 'postgres'"),
        (["frontend/webserver01", "192.0.2.1", "http"], "is not a pod"),
        (["frontend/webserver01", "database/db01", "5432/ICMP"], "TCP, UDP, SCTP"),
        (["frontend/webserver01", "database/db01", "70000"], "from 1 to 65535"),
        (["frontend/webserver01", "10.0.0.0/8", "80"], "TO '10.0.0.0/8' is a CIDR"),
        (["frontend/webserver01", "database/db01", "\u00b2"], "has no TCP port named"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "-f", THREE_TIER, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert out == ""


def test_ipv6_destination_may_be_bracketed_as_in_suites(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "-f", THREE_TIER, "frontend/webserver01", "[2001:db8::1]", "80")
    assert code == 0
    assert out.splitlines()[0].endswith("-> [2001:db8::1]:80/TCP")


def test_host_network_pod_is_reported_undefined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "host.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: kube-system}\n"
        "spec: {hostNetwork: true, containers: [{name: a, image: a}]}\n"
        "status: {podIP: 192.168.0.10}\n"
    )
    code, out, _ = run(capsys, "-f", str(path), "kube-system/agent", "192.0.2.1", "443")
    assert code == 0
    assert "UNDEFINED: kube-system/agent uses hostNetwork" in out
