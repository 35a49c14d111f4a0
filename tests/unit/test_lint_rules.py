"""Lint rules on the cases their one-file examples do not show: pods known or not,
severities that soften, and the edges of each rule."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from netprobe.lint import Finding, LintInput, Severity, lint
from netprobe.manifests import load_paths


def lint_yaml(tmp_path: Path, text: str, pod_cidrs: tuple[str, ...] = ()) -> tuple[Finding, ...]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    objects = load_paths([path], lambda message: None)
    cidrs = tuple(ip_network(c) for c in pod_cidrs)
    return lint(LintInput(objects.namespaces, objects.pods, objects.policies, cidrs))


def pod(name: str, labels: str, ports: str = "[]", ip: str | None = None) -> str:
    status = f"status: {{podIP: {ip}}}\n" if ip else ""
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, "
        f"labels: {labels}}}\nspec:\n  containers: [{{name: c, image: i, ports: {ports}}}]\n"
        f"{status}---\n"
    )


def policy(name: str, spec: str, namespace: str = "shop") -> str:
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}---\n"
    )


DENY_EGRESS = policy("deny", "  podSelector: {}\n  policyTypes: [Egress]\n")


def ids(found: tuple[Finding, ...]) -> list[tuple[str, Severity]]:
    return [(f.rule_id, f.severity) for f in found]


def test_dns_is_judged_per_pod_when_pods_are_given(tmp_path: Path) -> None:
    dns_for_web = policy(
        "web-dns",
        "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n"
        "  egress: [{ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}]\n",
    )
    text = pod("web", "{app: web}") + pod("db", "{app: db}") + DENY_EGRESS + dns_for_web
    (finding,) = lint_yaml(tmp_path, text)
    assert finding.rule_id == "NP002"
    assert "1 pod(s) it isolates" in finding.message
    assert str(finding.policy) == "shop/deny"


@pytest.mark.parametrize(
    ("egress", "expected"),
    [
        ("[{ports: [{port: 53, protocol: UDP}]}]", [("NP002", Severity.INFO)]),
        ("[{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]", []),
        ("[{ports: [{port: 1, endPort: 100, protocol: UDP}, {protocol: TCP}]}]", []),
        (
            "[{to: [{namespaceSelector: {}}], ports: [{port: dns, protocol: UDP}, "
            "{port: dns-tcp, protocol: TCP}]}]",
            [],
        ),
        (
            "[{to: [{podSelector: {}}], ports: [{port: 53, protocol: UDP}]}]",
            [("NP002", Severity.WARNING)],
        ),
    ],
)
def test_what_counts_as_dns(tmp_path: Path, egress: str, expected: list[object]) -> None:
    allow = policy("allow", f"  podSelector: {{}}\n  policyTypes: [Egress]\n  egress: {egress}\n")
    assert ids(lint_yaml(tmp_path, DENY_EGRESS + allow)) == expected


def test_named_port_with_the_wrong_protocol_says_so(tmp_path: Path) -> None:
    text = pod("dns", "{app: dns}", "[{name: dns, containerPort: 53, protocol: UDP}]") + policy(
        "p", "  podSelector: {matchLabels: {app: dns}}\n  ingress: [{ports: [{port: dns}]}]\n"
    )
    (finding,) = lint_yaml(tmp_path, text)
    assert finding.rule_id == "NP006"
    assert finding.hint == "the pods declare 'dns' with UDP: fix 'protocol'"


def test_named_port_towards_an_ipblock_only_matches_nothing(tmp_path: Path) -> None:
    text = pod("web", "{app: web}") + policy(
        "p",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
        "    - to: [{ipBlock: {cidr: 203.0.113.0/24}}]\n      ports: [{port: https}]\n"
        "    - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]\n",
    )
    (finding,) = lint_yaml(tmp_path, text)
    assert finding.rule_id == "NP006"
    assert "its peers select no pod" in finding.message


def test_allow_all_over_other_pods_than_the_deny_is_fine(tmp_path: Path) -> None:
    text = (
        pod("web", "{app: web}")
        + pod("db", "{app: db}")
        + policy("deny-db", "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n")
        + policy("web-open", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{}]\n")
    )
    assert lint_yaml(tmp_path, text) == ()


@pytest.mark.parametrize(
    ("block", "found"),
    [
        ("{cidr: 0.0.0.0/0, except: [10.244.0.0/16]}", False),
        ("{cidr: 0.0.0.0/0, except: [10.244.0.0/17]}", True),
        ("{cidr: 10.244.5.0/24}", True),
        ("{cidr: 192.168.0.0/16}", False),
    ],
)
def test_ipblock_against_the_pod_cidr(tmp_path: Path, block: str, found: bool) -> None:
    text = policy("p", f"  podSelector: {{}}\n  ingress: [{{from: [{{ipBlock: {block}}}]}}]\n")
    result = lint_yaml(tmp_path, text, pod_cidrs=("10.244.0.0/16",))
    assert ids(result) == ([("NP008", Severity.WARNING)] if found else [])


def test_host_bits_in_except_are_reported_too(tmp_path: Path) -> None:
    text = policy(
        "p",
        "  podSelector: {}\n  ingress:\n"
        "    - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.2.3/16]}}]\n",
    )
    (finding,) = lint_yaml(tmp_path, text)
    assert finding.rule_id == "NP009"
    assert "ipBlock.except[0] 10.1.2.3/16 has host bits set: it means 10.1.0.0/16" in (
        finding.message
    )
    assert finding.location is not None and finding.location.line == 7


def test_findings_are_sorted_by_line(tmp_path: Path) -> None:
    text = policy("a", "  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n") + policy(
        "b", "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.1/8}}]}]\n"
    )
    found = lint_yaml(tmp_path, text)
    assert [f.rule_id for f in found] == ["NP010", "NP009"]
    lines = [f.location.line for f in found if f.location]
    assert lines == sorted(lines)
