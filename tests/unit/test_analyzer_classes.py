"""The matrix groups pods no selector, ipBlock or named port can tell apart, and only those;
``isolating_policies`` names the policies that isolate a pod."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from netprobe.analyzer import isolating_policies, matrix
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
    Port,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

IN, OUT = PolicyType.INGRESS, PolicyType.EGRESS


def _pod(
    name: str, ip: str | None = None, ports: tuple[ContainerPort, ...] = (), **labels: str
) -> Pod:
    return Pod(PodRef("a", name), Labels(labels), ports, (ip_address(ip),) if ip else ())


POLICY = NetworkPolicy(
    PolicyRef("a", "p"),
    LabelSelector(Labels({"app": "web"})),
    (IN, OUT),
    ingress=(
        Rule(
            (Peer(ip_block=IPBlock(ip_network("10.0.0.0/24"), (ip_network("10.0.0.0/28"),))),),
            (PolicyPort(Protocol.TCP, "http"),),
        ),
    ),
    egress=(
        Rule(
            (
                Peer(
                    pod_selector=LabelSelector(
                        match_expressions=(Requirement("tier", Operator.IN, frozenset({"x"})),)
                    )
                ),
            )
        ),
    ),
)


def _classes(*pods: Pod) -> list[list[str]]:
    state = ClusterState((Namespace("a", Labels({NAMESPACE_NAME_LABEL: "a"})),), pods, (POLICY,))
    result = matrix(state, [Port(80)])
    return [[pods[i].name for i in members] for members in result.classes]


def test_labels_no_selector_reads_do_not_split_classes() -> None:
    assert _classes(_pod("a", app="web", hash="1"), _pod("b", app="web", hash="2")) == [["a", "b"]]


def test_values_no_selector_names_collapse() -> None:
    assert _classes(_pod("a", tier="y"), _pod("b", tier="z"), _pod("c", tier="x")) == [
        ["a", "b"],
        ["c"],
    ]


def test_ip_blocks_split_classes_only_where_they_differ() -> None:
    pods = (
        _pod("in1", "10.0.0.100"),
        _pod("in2", "10.0.0.200"),
        _pod("except", "10.0.0.5"),
        _pod("outside", "10.9.0.1"),
        _pod("none"),
    )
    assert _classes(*pods) == [["in1", "in2"], ["except", "outside", "none"]]


def test_named_ports_split_classes_only_for_queried_ports() -> None:
    pods = (
        _pod("a", ports=(ContainerPort(80, name="http"),)),
        _pod("b", ports=(ContainerPort(8080, name="http"),)),
        _pod("c", ports=(ContainerPort(9090, name="http"),)),
    )
    assert _classes(*pods) == [["a"], ["b", "c"]]


def test_isolating_policies_by_direction() -> None:
    web = _pod("w", app="web")
    state = ClusterState(
        (), (web,), (POLICY, NetworkPolicy(PolicyRef("b", "q"), LabelSelector(), (IN,)))
    )
    assert isolating_policies(web, IN, state) == (POLICY,)
    assert isolating_policies(web, OUT, state) == (POLICY,)
    assert isolating_policies(_pod("x", app="db"), IN, state) == ()
