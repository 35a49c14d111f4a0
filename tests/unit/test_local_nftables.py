"""The local dataplane's NetworkPolicy -> nftables compiler, rule kind by rule kind."""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_network

import pytest

from netprobe.backends.local.nftables import compile_ruleset, compile_rulesets, isolating_policies
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    ContainerPort,
    IPBlock,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PodRef,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

INGRESS = (PolicyType.INGRESS,)
EGRESS = (PolicyType.EGRESS,)
NODE = (ip_address("10.244.0.1"),)
ALL = LabelSelector()


def sel(**labels: str) -> LabelSelector:
    return LabelSelector(Labels(labels))


def namespace(name: str, **labels: str) -> Namespace:
    return Namespace(name, Labels({NAMESPACE_NAME_LABEL: name, **labels}))


def pod(ref: str, ip: str, *ports: ContainerPort, **labels: str) -> Pod:
    return Pod(PodRef.parse(ref), Labels(labels), ports, (ip_address(ip),))


PODS = (
    pod(
        "x/a",
        "10.244.0.2",
        ContainerPort(80, name="http"),
        ContainerPort(53, Protocol.UDP, "dns"),
        app="a",
    ),
    pod("x/b", "10.244.0.3", ContainerPort(80), ContainerPort(8080, name="web"), app="b"),
    pod("y/a", "10.244.0.4", ContainerPort(8081, name="web"), app="a"),
    pod("y/b", "10.244.0.5", app="b"),
    pod("z/c", "10.244.0.6", app="c"),
)
NAMESPACES = (namespace("x"), namespace("y", team="blue"), namespace("z"))
TARGET = PODS[0]


def policy(
    types: tuple[PolicyType, ...],
    *rules: Rule,
    name: str = "p",
    ns: str = "x",
    selector: LabelSelector = ALL,
) -> NetworkPolicy:
    ingress = rules if types == INGRESS else ()
    egress = rules if types == EGRESS else ()
    return NetworkPolicy(PolicyRef(ns, name), selector, types, ingress, egress)


def chain(text: str, name: str) -> tuple[str, list[str]]:
    """The chain's default policy and its policy rules (comments and the always-allowed
    lines left out)."""
    lines = text.split(f"\tchain {name} {{\n", 1)[1].split("\n\t}", 1)[0].splitlines()
    default = lines[0].rsplit("policy ", 1)[1].rstrip(";")
    rules = [
        re.sub(r' ?accept comment ".*"$', "", line.strip()) or "accept"
        for line in lines[1:]
        if "comment" in line
    ]
    return default, rules


def compiled(*policies: NetworkPolicy, target: Pod = TARGET, pods: tuple[Pod, ...] = PODS) -> str:
    return compile_ruleset(target, ClusterState(NAMESPACES, pods, policies), NODE)


def test_no_policy_leaves_both_directions_open() -> None:
    text = compiled()
    assert chain(text, "input") == ("accept", [])
    assert chain(text, "output") == ("accept", [])


def test_default_deny_drops_but_keeps_return_traffic_loopback_and_the_node() -> None:
    assert compiled(policy(INGRESS)) == (
        "table inet netprobe {}\n"
        "delete table inet netprobe\n"
        "table inet netprobe {\n"
        "\tchain input {\n"
        "\t\ttype filter hook input priority filter; policy drop;\n"
        "\t\t# isolated for Ingress by x/p\n"
        "\t\tct state established,related accept\n"
        '\t\tiif "lo" accept\n'
        "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
        "nd-router-advert } accept\n"
        "\t\tip saddr 10.244.0.1 accept\n"
        "\t}\n"
        "\n"
        "\tchain output {\n"
        "\t\ttype filter hook output priority filter; policy accept;\n"
        "\t}\n"
        "}\n"
    )


def P(
    port: int | str | None = None, protocol: Protocol = Protocol.TCP, end: int | None = None
) -> PolicyPort:
    return PolicyPort(protocol, port, end)


IPB = IPBlock(
    ip_network("10.0.0.0/8"),
    (ip_network("10.244.0.0/24"), ip_network("10.244.0.128/25"), ip_network("10.9.0.0/16")),
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(Rule(), ["accept"], id="empty rule allows everything"),
        pytest.param(
            Rule((Peer(pod_selector=sel(app="b")),), (P(80),)),
            ["ip saddr { 10.244.0.3 } tcp dport { 80 }"],
            id="podSelector alone: the policy's namespace",
        ),
        pytest.param(
            Rule((Peer(namespace_selector=sel(team="blue")),)),
            ["ip saddr { 10.244.0.4, 10.244.0.5 }"],
            id="namespaceSelector alone: every pod there",
        ),
        pytest.param(
            Rule((Peer(namespace_selector=ALL),)),
            ["ip saddr { 10.244.0.2, 10.244.0.3, 10.244.0.4, 10.244.0.5, 10.244.0.6 }"],
            id="empty namespaceSelector: every pod",
        ),
        pytest.param(
            Rule((Peer(pod_selector=sel(app="a"), namespace_selector=sel(team="blue")),)),
            ["ip saddr { 10.244.0.4 }"],
            id="both selectors in one peer: AND",
        ),
        pytest.param(
            Rule((Peer(pod_selector=sel(app="b")), Peer(namespace_selector=sel(team="blue")))),
            ["ip saddr { 10.244.0.3, 10.244.0.4, 10.244.0.5 }"],
            id="two peers: OR",
        ),
        pytest.param(
            Rule(
                (
                    Peer(
                        namespace_selector=LabelSelector(
                            match_expressions=(Requirement("team", Operator.DOES_NOT_EXIST),)
                        )
                    ),
                )
            ),
            ["ip saddr { 10.244.0.2, 10.244.0.3, 10.244.0.6 }"],
            id="matchExpressions",
        ),
        pytest.param(
            Rule((Peer(pod_selector=sel(app="nothing")),), (P(80),)),
            [],
            id="selector matching no pod allows nothing",
        ),
        pytest.param(
            Rule((Peer(ip_block=IPB),)),
            ["ip saddr 10.0.0.0/8 ip saddr != { 10.9.0.0/16, 10.244.0.0/24 }"],
            id="ipBlock with except (overlapping excepts merged)",
        ),
        pytest.param(
            Rule((Peer(ip_block=IPBlock(ip_network("fd00::/8"))),), (P(80),)),
            ["ip6 saddr fd00::/8 tcp dport { 80 }"],
            id="IPv6 ipBlock",
        ),
        pytest.param(
            Rule(ports=(P(8000, end=9000), P(8500, end=9500), P(80), P(81))),
            ["tcp dport { 80-81, 8000-9500 }"],
            id="endPort ranges merged",
        ),
        pytest.param(
            Rule(ports=(P(None, Protocol.UDP), P(53, Protocol.UDP), P(443))),
            ["meta l4proto udp", "tcp dport { 443 }"],
            id="protocol without port: all its ports",
        ),
        pytest.param(
            Rule(ports=(P(None, Protocol.SCTP),)),
            ["meta l4proto sctp"],
            id="SCTP",
        ),
        pytest.param(
            Rule((Peer(pod_selector=sel(app="b")),), (P("http"), P("dns", Protocol.UDP), P("web"))),
            [
                "ip saddr { 10.244.0.3 } tcp dport { 80 }",
                "ip saddr { 10.244.0.3 } udp dport { 53 }",
            ],
            id="named ports resolved on the pod itself for ingress",
        ),
        pytest.param(
            Rule(
                (
                    Peer(pod_selector=sel(app="b")),
                    Peer(ip_block=IPBlock(ip_network("192.0.2.0/24"))),
                ),
                (P(80), P(90, Protocol.UDP)),
            ),
            [
                "ip saddr { 10.244.0.3 } tcp dport { 80 }",
                "ip saddr { 10.244.0.3 } udp dport { 90 }",
                "ip saddr 192.0.2.0/24 tcp dport { 80 }",
                "ip saddr 192.0.2.0/24 udp dport { 90 }",
            ],
            id="peers x ports",
        ),
    ],
)
def test_ingress_rules(rule: Rule, expected: list[str]) -> None:
    default, rules = chain(compiled(policy(INGRESS, rule)), "input")
    assert default == "drop"
    assert rules == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(
            Rule((Peer(pod_selector=sel(app="b")),), (P("web"),)),
            ["ip daddr . tcp dport { 10.244.0.3 . 8080 }"],
            id="named port resolved per destination pod",
        ),
        pytest.param(
            Rule(ports=(P("web"),)),
            ["ip daddr . tcp dport { 10.244.0.3 . 8080, 10.244.0.4 . 8081 }"],
            id="named port to any peer: only pods that have it",
        ),
        pytest.param(
            Rule(
                (
                    Peer(ip_block=IPBlock(ip_network("10.244.0.4/31"))),
                    Peer(ip_block=IPBlock(ip_network("192.0.2.0/24"))),
                ),
                (P("web"), P(443)),
            ),
            [
                "ip daddr 10.244.0.4/31 tcp dport { 443 }",
                "ip daddr 192.0.2.0/24 tcp dport { 443 }",
                "ip daddr . tcp dport { 10.244.0.4 . 8081 }",
            ],
            id="named port through ipBlock: pods inside it only, never other addresses",
        ),
        pytest.param(
            Rule((Peer(namespace_selector=sel(team="blue")),), (P("nope"),)),
            [],
            id="named port nobody has",
        ),
        pytest.param(
            Rule(
                (Peer(ip_block=IPBlock(ip_network("0.0.0.0/0"), (ip_network("10.244.0.0/16"),))),)
            ),
            ["ip daddr 0.0.0.0/0 ip daddr != { 10.244.0.0/16 }"],
            id="everything but the pods",
        ),
    ],
)
def test_egress_rules(rule: Rule, expected: list[str]) -> None:
    text = compiled(policy(EGRESS, rule))
    assert chain(text, "input") == ("accept", [])
    default, rules = chain(text, "output")
    assert default == "drop"
    assert rules == expected
    assert "\t\tip daddr 10.244.0.1 accept\n" in text


def test_union_of_every_policy_selecting_the_pod_and_only_those() -> None:
    policies = (
        policy(INGRESS, Rule(ports=(P(80),)), name="web"),
        policy(INGRESS, Rule(ports=(P(53, Protocol.UDP),)), name="dns", selector=sel(app="a")),
        policy(INGRESS, Rule(ports=(P(1),)), name="other-pod", selector=sel(app="b")),
        policy(INGRESS, Rule(ports=(P(2),)), name="other-ns", ns="y"),
    )
    text = compiled(*policies)
    assert chain(text, "input") == ("drop", ["udp dport { 53 }", "tcp dport { 80 }"])
    assert "# isolated for Ingress by x/dns, x/web" in text
    assert 'comment "x/web ingress[0]"' in text


@pytest.mark.parametrize(
    ("types", "ingress", "egress"),
    [
        (INGRESS, "drop", "accept"),
        (EGRESS, "accept", "drop"),
        ((PolicyType.INGRESS, PolicyType.EGRESS), "drop", "drop"),
    ],
)
def test_policy_types_decide_which_directions_isolate(
    types: tuple[PolicyType, ...], ingress: str, egress: str
) -> None:
    text = compiled(NetworkPolicy(PolicyRef("x", "p"), ALL, types, (Rule(),), ()))
    assert chain(text, "input")[0] == ingress
    assert chain(text, "output")[0] == egress


def test_a_pod_no_policy_selects_is_not_isolated() -> None:
    text = compiled(policy(INGRESS, selector=sel(app="b")), policy(EGRESS, ns="y"))
    assert chain(text, "input") == ("accept", [])
    assert chain(text, "output") == ("accept", [])
    assert isolating_policies(
        PODS[1],
        ClusterState(NAMESPACES, PODS, (policy(INGRESS, selector=sel(app="b")),)),
        PolicyType.INGRESS,
    )


def test_relabeling_changes_what_selectors_resolve_to() -> None:
    rule = Rule((Peer(pod_selector=sel(app="b")),))
    before = chain(compiled(policy(INGRESS, rule)), "input")[1]
    relabeled = (*PODS[:2], pod("x/c", "10.244.0.9", app="b"))
    after = chain(compiled(policy(INGRESS, rule), pods=relabeled), "input")[1]
    assert before == ["ip saddr { 10.244.0.3 }"]
    assert after == ["ip saddr { 10.244.0.3, 10.244.0.9 }"]


def test_user_text_cannot_break_out_of_an_nft_comment() -> None:
    evil = NetworkPolicy(PolicyRef("x", 'p" accept; drop "'), ALL, INGRESS, (Rule(),))
    text = compiled(evil)
    assert 'comment "x/p? accept? drop ?' in text
    assert text.count('"') % 2 == 0


def test_compiling_every_pod_at_once_gives_each_pod_its_own_ruleset() -> None:
    policies = (
        policy(INGRESS, Rule((Peer(pod_selector=sel(app="b")),)), selector=sel(app="a")),
        policy(EGRESS, Rule(ports=(P("web"),)), ns="y"),
    )
    state = ClusterState(NAMESPACES, PODS, policies)
    together = compile_rulesets(state, NODE)
    assert together == {p.ref: compile_ruleset(p, state, NODE) for p in PODS}
    assert chain(together[PODS[0].ref], "input")[0] == "drop"
    assert chain(together[PODS[2].ref], "output")[0] == "drop"
    assert chain(together[PODS[4].ref], "output")[0] == "accept"
