"""NetworkPolicy documents become the model the analyzer reads: effective policy types,
rules, peers and ports, with locations and the manifest kept for backends."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from netprobe.documents import Field, parse_yaml_documents
from netprobe.manifests import parse_label_selector, parse_network_policy
from netprobe.model import IPBlock, PolicyPort, PolicyType, Protocol
from netprobe.selectors import Labels, Operator, Requirement

# Every test here runs through libyaml's parser and through the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")

HEAD = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: prod}\n"
)
INGRESS, EGRESS = PolicyType.INGRESS, PolicyType.EGRESS


def document(text: str) -> Field:
    (field,) = parse_yaml_documents(text, "p.yaml")
    return field


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("", (INGRESS,), id="no-spec"),
        pytest.param("spec: {}", (INGRESS,), id="empty-spec"),
        pytest.param("spec: {ingress: [{}]}", (INGRESS,), id="ingress-only"),
        pytest.param("spec: {egress: []}", (INGRESS,), id="empty-egress-adds-nothing"),
        pytest.param("spec: {egress: [{}]}", (INGRESS, EGRESS), id="egress-rule-adds-egress"),
        pytest.param(
            "spec: {egress: [{to: [{podSelector: {}}]}]}", (INGRESS, EGRESS), id="egress-to"
        ),
        pytest.param("spec: {policyTypes: [Egress]}", (EGRESS,), id="explicit-egress"),
        pytest.param("spec: {policyTypes: [Egress], ingress: [{}]}", (EGRESS,), id="explicit-wins"),
        pytest.param(
            "spec: {policyTypes: [Ingress, Egress]}", (INGRESS, EGRESS), id="explicit-both"
        ),
        pytest.param(
            "spec: {policyTypes: [], egress: [{}]}", (INGRESS, EGRESS), id="empty-list-defaults"
        ),
    ],
)
def test_effective_policy_types(spec: str, expected: tuple[PolicyType, ...]) -> None:
    policy = parse_network_policy(document(HEAD + spec))
    assert policy.policy_types == expected


@pytest.mark.parametrize(
    "rule",
    [
        "{}",
        "{from: [], ports: []}",
        "{from: null, ports: null}",
    ],
)
def test_absent_and_empty_peers_and_ports_both_match_everything(rule: str) -> None:
    policy = parse_network_policy(document(HEAD + f"spec:\n  ingress: [{rule}]\n"))
    (only,) = policy.ingress
    assert (only.peers, only.ports) == ((), ())


def test_rules_peers_and_ports_are_modelled_with_their_locations() -> None:
    policy = parse_network_policy(
        document(
            HEAD + "spec:\n"  # 4
            "  podSelector: {matchLabels: {app: db}}\n"  # 5
            "  ingress:\n"  # 6
            "  - from:\n"  # 7
            "    - podSelector: {matchLabels: {app: api}}\n"  # 8
            "      namespaceSelector:\n"  # 9
            "        matchExpressions: [{key: team, operator: NotIn, values: [x, y]}]\n"
            "    - namespaceSelector: {}\n"  # 11
            "    ports:\n"  # 12
            "    - port: pg\n"  # 13
            "    - {port: 8000, endPort: 8080}\n"  # 14
            "    - protocol: UDP\n"  # 15
            "  egress:\n"  # 16
            "  - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: SCTP}]\n"  # 17
        )
    )
    assert str(policy.ref) == "prod/p"
    assert policy.pod_selector.match_labels == Labels({"app": "db"})
    (rule,) = policy.ingress
    both, any_namespace = rule.peers
    assert both.pod_selector is not None and both.namespace_selector is not None
    assert both.namespace_selector.match_expressions == (
        Requirement("team", Operator.NOT_IN, frozenset({"x", "y"})),
    )
    assert any_namespace.pod_selector is None
    assert any_namespace.namespace_selector is not None
    assert any_namespace.namespace_selector.is_empty
    assert rule.ports == (
        PolicyPort(Protocol.TCP, "pg"),
        PolicyPort(Protocol.TCP, 8000, 8080),
        PolicyPort(Protocol.UDP, None),
    )
    (egress,) = policy.egress
    assert [str(port) for port in egress.ports] == ["53/UDP", "53/SCTP"]
    assert policy.policy_types == (INGRESS, EGRESS)
    located = [
        (policy.location, 1, ""),
        (rule.location, 7, "spec.ingress[0]"),
        (both.location, 8, "spec.ingress[0].from[0]"),
        (any_namespace.location, 11, "spec.ingress[0].from[1]"),
        (rule.ports[1].location, 14, "spec.ingress[0].ports[1]"),
        (egress.location, 17, "spec.egress[0]"),
    ]
    for location, line, path in located:
        assert location is not None
        assert (location.file, location.line, location.path) == ("p.yaml", line, path)


def test_namespace_defaults_to_default() -> None:
    text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
    assert parse_network_policy(document(text)).namespace == "default"


@pytest.mark.parametrize(
    ("port", "expected"),
    [("80", 80), ("http", "http"), ("web-8080", "web-8080"), ("a1", "a1"), ("65535", 65535)],
)
def test_numbers_are_port_numbers_and_strings_are_port_names(
    port: str, expected: int | str
) -> None:
    policy = parse_network_policy(
        document(HEAD + f"spec:\n  ingress: [{{ports: [{{port: {port}}}]}}]\n")
    )
    assert policy.ingress[0].ports[0].port == expected


def test_endport_equal_to_port_is_a_range_of_one() -> None:
    policy = parse_network_policy(
        document(HEAD + "spec:\n  egress: [{ports: [{port: 443, endPort: 443}]}]\n")
    )
    assert policy.egress[0].ports[0] == PolicyPort(Protocol.TCP, 443, 443)


def test_ipv6_ip_block_with_except() -> None:
    policy = parse_network_policy(
        document(
            HEAD + "spec:\n  egress:\n  - to:\n    - ipBlock:\n"
            "        cidr: 2001:db8::/32\n"
            "        except: ['2001:db8:1::/48', '2001:db8:2::1/128']\n"
        )
    )
    block = policy.egress[0].peers[0].ip_block
    assert block == IPBlock(
        ip_network("2001:db8::/32"),
        (ip_network("2001:db8:1::/48"), ip_network("2001:db8:2::1/128")),
    )


def test_host_bits_are_masked_with_a_warning_and_the_written_cidr_is_kept() -> None:
    warnings: list[str] = []
    policy = parse_network_policy(
        document(
            HEAD + "spec:\n  ingress:\n  - from:\n    - ipBlock:\n"  # 4-7
            "        cidr: 10.1.0.1/4\n"  # 8
            "        except: [10.1.2.3/24]\n"  # 9
        ),
        warn=warnings.append,
    )
    block = policy.ingress[0].peers[0].ip_block
    assert block is not None
    assert block.cidr == ip_network("0.0.0.0/4")
    assert block.except_ == (ip_network("10.1.2.0/24"),)
    assert (block.declared, block.declared_except) == ("10.1.0.1/4", ("10.1.2.3/24",))
    assert warnings == [
        "p.yaml:8 spec.ingress[0].from[0].ipBlock.cidr: 10.1.0.1/4 has host bits set; using "
        "0.0.0.0/4, as older API servers did (write 0.0.0.0/4 to silence this warning)",
        "p.yaml:9 spec.ingress[0].from[0].ipBlock.except[0]: 10.1.2.3/24 has host bits set; "
        "using 10.1.2.0/24, as older API servers did (write 10.1.2.0/24 to silence this warning)",
    ]


def test_ipv6_host_bits_are_masked_too() -> None:
    warnings: list[str] = []
    policy = parse_network_policy(
        document(HEAD + "spec:\n  ingress: [{from: [{ipBlock: {cidr: 'fd00::1/64'}}]}]\n"),
        warn=warnings.append,
    )
    block = policy.ingress[0].peers[0].ip_block
    assert block is not None and block.cidr == ip_network("fd00::/64")
    assert len(warnings) == 1 and "using fd00::/64" in warnings[0]


def test_manifest_is_a_plain_copy_of_the_document() -> None:
    text = (
        HEAD
        + "spec:\n  podSelector: {}\n"
        + "  ingress: [{from: [{podSelector: {}}], ports: [{port: 80}]}]\n"
    )
    policy = parse_network_policy(document(text))
    expected = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "prod"},
        "spec": {
            "podSelector": {},
            "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 80}]}],
        },
    }
    assert policy.manifest == expected
    assert _only_plain_types(policy.manifest)


def test_metadata_fields_the_server_adds_are_tolerated() -> None:
    text = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n"
        "  uid: 1234\n  resourceVersion: '9'\n  annotations: {a: b}\n"
        "  managedFields: [{manager: kubectl}]\n  generation: 2\nspec: {}\nstatus: {}\n"
    )
    assert parse_network_policy(document(text)).ref.name == "p"


def test_label_selector_on_its_own() -> None:
    selector = parse_label_selector(
        document(
            "matchLabels: {app.kubernetes.io/name: web, tier: ''}\n"
            "matchExpressions:\n- {key: env, operator: Exists}\n"
            "- {key: canary, operator: DoesNotExist}\n"
        )
    )
    assert selector.matches({"app.kubernetes.io/name": "web", "tier": "", "env": "prod"})
    assert not selector.matches({"app.kubernetes.io/name": "web", "tier": "", "canary": "1"})
    assert parse_label_selector(document("{}\n")).is_empty


def _only_plain_types(value: object) -> bool:
    if isinstance(value, dict):
        return type(value) is dict and all(_only_plain_types(v) for v in value.values())
    if isinstance(value, list):
        return type(value) is list and all(_only_plain_types(v) for v in value)
    return True
