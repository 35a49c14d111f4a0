"""Truth tables, one per rule of docs/semantics.md, over hand-built model values.

Every case between two pods is also checked against the matrix (see ``judge``).
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from netprobe.analyzer import evaluate, matrix
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    Connection,
    ContainerPort,
    Endpoint,
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
    Verdict,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

IN, OUT = PolicyType.INGRESS, PolicyType.EGRESS
TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP


def ns(name: str, **labels: str) -> Namespace:
    return Namespace(name, Labels({NAMESPACE_NAME_LABEL: name, **labels}))


def pod(
    ref: str,
    ip: str | None = None,
    ports: tuple[ContainerPort, ...] = (),
    host_network: bool = False,
    **labels: str,
) -> Pod:
    namespace, name = ref.split("/")
    return Pod(
        PodRef(namespace, name),
        Labels(labels),
        ports,
        (ip_address(ip),) if ip else (),
        host_network,
    )


def sel(*expressions: Requirement, **labels: str) -> LabelSelector:
    return LabelSelector(Labels(labels), expressions)


def req(key: str, operator: str, *values: str) -> Requirement:
    return Requirement(key, Operator(operator), frozenset(values))


def block(cidr: str, *excepts: str) -> Peer:
    return Peer(ip_block=IPBlock(ip_network(cidr), tuple(ip_network(e) for e in excepts)))


def pods_peer(**labels: str) -> Peer:
    return Peer(pod_selector=sel(**labels))


def port(
    number: int | str | None = None, protocol: Protocol = TCP, end: int | None = None
) -> PolicyPort:
    return PolicyPort(protocol, number, end)


def rule(*peers: Peer, ports: tuple[PolicyPort, ...] = ()) -> Rule:
    return Rule(tuple(peers), ports)


def policy(
    ref: str,
    selector: LabelSelector | None = None,
    types: tuple[PolicyType, ...] | None = None,
    ingress: tuple[Rule, ...] = (),
    egress: tuple[Rule, ...] = (),
) -> NetworkPolicy:
    namespace, name = ref.split("/")
    if types is None:  # the loader's defaulting, docs/semantics.md rule 3
        types = (IN, OUT) if egress else (IN,)
    return NetworkPolicy(PolicyRef(namespace, name), selector or sel(), types, ingress, egress)


def state(*objects: Namespace | Pod | NetworkPolicy) -> ClusterState:
    return ClusterState(
        tuple(o for o in objects if isinstance(o, Namespace)),
        tuple(o for o in objects if isinstance(o, Pod)),
        tuple(o for o in objects if isinstance(o, NetworkPolicy)),
    )


def judge(snapshot: ClusterState, source: str, destination: str, spec: str = "80") -> Verdict:
    """evaluate() on ``source -> destination:spec``; between two pods, also checks that the
    matrix gives the same answer."""
    number, _, protocol_text = spec.partition("/")
    protocol = Protocol(protocol_text or "TCP")
    connection = Connection(
        Endpoint.parse_host(source), Endpoint.parse_host(destination), int(number), protocol
    )
    verdict = evaluate(connection, snapshot)
    refs = [p.ref for p in snapshot.pods]
    if connection.source in refs and connection.destination in refs:
        result = matrix(snapshot, [Port(int(number), protocol)])
        s, d = refs.index(connection.source), refs.index(connection.destination)  # type: ignore[arg-type]
        assert result.allowed(s, d, 0) == verdict.allowed, "matrix disagrees with evaluate"
    return verdict


import pytest  # noqa: E402

from netprobe.errors import InputError  # noqa: E402

NAMESPACES = (ns("prod", env="prod"), ns("web", env="prod", team="web"), ns("dev", env="dev"))
DB = pod("prod/db", "10.0.1.5", (ContainerPort(5432, name="pg"),), app="db")
API = pod("prod/api", "10.0.1.6", (ContainerPort(8080, name="http"),), app="api")
FRONT = pod("web/front", "10.0.2.7", (ContainerPort(8080, name="http"),), app="front")
TOOL = pod("dev/tool", None, app="tool")
PODS = (DB, API, FRONT, TOOL)


def world(*policies: NetworkPolicy) -> ClusterState:
    return state(*NAMESPACES, *PODS, *policies)


DENY_ALL_PROD = policy("prod/deny", types=(IN, OUT))

# -- rules 1-4: isolation ------------------------------------------------------------------
ISOLATION = [
    ("no policy: everything allowed", world(), "web/front", "prod/db", "5432", True),
    (
        "default deny ingress isolates",
        world(policy("prod/deny")),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "a policy selecting other pods does not isolate",
        world(policy("prod/p", sel(app="api"))),
        "web/front",
        "prod/db",
        "5432",
        True,
    ),
    (
        "a policy in another namespace does not isolate",
        world(policy("web/deny")),
        "prod/api",
        "prod/db",
        "5432",
        True,
    ),
    (
        "ingress-only policy leaves egress open",
        world(policy("prod/deny", types=(IN,))),
        "prod/db",
        "web/front",
        "8080",
        True,
    ),
    (
        "egress-only policy ignores its ingress rules and leaves ingress open",
        world(policy("prod/p", types=(OUT,), ingress=(rule(pods_peer(app="none")),))),
        "web/front",
        "prod/db",
        "5432",
        True,
    ),
    (
        "egress default deny blocks the source side",
        world(policy("prod/deny", types=(OUT,))),
        "prod/db",
        "web/front",
        "8080",
        False,
    ),
    (
        "egress: [{}] allows all egress",
        world(policy("prod/p", egress=(rule(),), types=(OUT,))),
        "prod/db",
        "web/front",
        "8080",
        True,
    ),
    (
        "ingress: [{}] allows all ingress",
        world(policy("prod/p", ingress=(rule(),))),
        "dev/tool",
        "prod/db",
        "1",
        True,
    ),
]

# -- rules 5-8: union, rule matching, both sides, self -------------------------------------
COMBINING = [
    (
        "union: a second policy adds what the first denies",
        world(
            policy("prod/deny"),
            policy("prod/p", sel(app="db"), ingress=(rule(pods_peer(app="api")),)),
        ),
        "prod/api",
        "prod/db",
        "5432",
        True,
    ),
    (
        "peer matches but port does not",
        world(policy("prod/p", ingress=(rule(pods_peer(app="api"), ports=(port(80),)),))),
        "prod/api",
        "prod/db",
        "5432",
        False,
    ),
    (
        "port matches but peer does not",
        world(policy("prod/p", ingress=(rule(pods_peer(app="api"), ports=(port(5432),)),))),
        "prod/db",
        "prod/api",
        "5432",
        False,
    ),
    (
        "empty from with ports: every peer on that port",
        world(policy("prod/p", ingress=(rule(ports=(port(5432),)),))),
        "dev/tool",
        "prod/db",
        "5432",
        True,
    ),
    (
        "any of several rules",
        world(policy("prod/p", ingress=(rule(pods_peer(app="x")), rule(pods_peer(app="api"))))),
        "prod/api",
        "prod/db",
        "5432",
        True,
    ),
    (
        "ingress allows but the source's egress denies",
        world(policy("prod/p", ingress=(rule(),)), policy("web/deny", types=(OUT,))),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "egress allows but the destination's ingress denies",
        world(policy("web/p", egress=(rule(),)), policy("prod/deny")),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "both sides allow",
        world(
            policy("web/p", egress=(rule(Peer(namespace_selector=sel(env="prod"))),)),
            policy("prod/p", ingress=(rule(Peer(namespace_selector=sel(team="web"))),)),
        ),
        "web/front",
        "prod/db",
        "5432",
        True,
    ),
    (
        "a pod reaches itself through default deny",
        world(DENY_ALL_PROD),
        "prod/db",
        "prod/db",
        "5432",
        True,
    ),
    (
        "an external address: only the pod side counts",
        world(),
        "192.0.2.1",
        "prod/db",
        "5432",
        True,
    ),
    (
        "an external address into a deny",
        world(policy("prod/deny")),
        "192.0.2.1",
        "prod/db",
        "5432",
        False,
    ),
    (
        "egress to an external address with ingress rules elsewhere",
        world(policy("prod/deny")),
        "prod/db",
        "192.0.2.1",
        "443",
        True,
    ),
]

# -- rules 9-11: selectors in peers -----------------------------------------------------------
PEERS = [
    (
        "podSelector alone means the policy's own namespace",
        world(policy("prod/p", ingress=(rule(pods_peer(app="front")),))),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "podSelector alone matches in its own namespace",
        world(policy("prod/p", ingress=(rule(pods_peer(app="api")),))),
        "prod/api",
        "prod/db",
        "5432",
        True,
    ),
    (
        "empty namespaceSelector: every namespace",
        world(policy("prod/p", ingress=(rule(Peer(namespace_selector=sel())),))),
        "dev/tool",
        "prod/db",
        "5432",
        True,
    ),
    (
        "namespaceSelector by label",
        world(policy("prod/p", ingress=(rule(Peer(namespace_selector=sel(env="dev"))),))),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "namespaceSelector by the name label",
        world(
            policy(
                "prod/p",
                ingress=(rule(Peer(namespace_selector=sel(**{NAMESPACE_NAME_LABEL: "dev"}))),),
            )
        ),
        "dev/tool",
        "prod/db",
        "5432",
        True,
    ),
    (
        "AND: both selectors in one entry, pod label does not match",
        world(policy("prod/p", ingress=(rule(Peer(sel(app="api"), sel(team="web"))),))),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "AND: both selectors in one entry, both match",
        world(policy("prod/p", ingress=(rule(Peer(sel(app="front"), sel(team="web"))),))),
        "web/front",
        "prod/db",
        "5432",
        True,
    ),
    (
        "OR: the same selectors in two entries",
        world(
            policy(
                "prod/p",
                ingress=(rule(Peer(sel(app="api")), Peer(namespace_selector=sel(team="web"))),),
            )
        ),
        "web/front",
        "prod/db",
        "5432",
        True,
    ),
]

# -- rule 12: ipBlock ---------------------------------------------------------------------------
IP_BLOCKS = [
    (
        "cidr contains the address",
        world(policy("prod/p", ingress=(rule(block("192.0.2.0/24")),))),
        "192.0.2.9",
        "prod/db",
        "5432",
        True,
    ),
    (
        "outside the cidr",
        world(policy("prod/p", ingress=(rule(block("192.0.2.0/24")),))),
        "198.51.100.1",
        "prod/db",
        "5432",
        False,
    ),
    (
        "inside an except",
        world(policy("prod/p", ingress=(rule(block("192.0.2.0/24", "192.0.2.0/28")),))),
        "192.0.2.9",
        "prod/db",
        "5432",
        False,
    ),
    (
        "beside the except",
        world(policy("prod/p", ingress=(rule(block("192.0.2.0/24", "192.0.2.0/28")),))),
        "192.0.2.99",
        "prod/db",
        "5432",
        True,
    ),
    (
        "IPv6 cidr",
        world(policy("prod/p", ingress=(rule(block("2001:db8::/64", "2001:db8::/120")),))),
        "2001:db8::1:1",
        "prod/db",
        "5432",
        True,
    ),
    (
        "IPv6 except",
        world(policy("prod/p", ingress=(rule(block("2001:db8::/64", "2001:db8::/120")),))),
        "2001:db8::5",
        "prod/db",
        "5432",
        False,
    ),
    (
        "an IPv4 block never matches IPv6",
        world(policy("prod/p", ingress=(rule(block("0.0.0.0/0")),))),
        "2001:db8::5",
        "prod/db",
        "5432",
        False,
    ),
    (
        "ipBlock matches a pod's IP",
        world(policy("prod/p", ingress=(rule(block("10.0.2.0/24")),))),
        "web/front",
        "prod/db",
        "5432",
        True,
    ),
    (
        "ipBlock except excludes a pod's IP",
        world(policy("prod/p", ingress=(rule(block("10.0.0.0/16", "10.0.2.0/24")),))),
        "web/front",
        "prod/db",
        "5432",
        False,
    ),
    (
        "a pod without an IP never matches an ipBlock",
        world(policy("prod/p", ingress=(rule(block("0.0.0.0/0")),))),
        "dev/tool",
        "prod/db",
        "5432",
        False,
    ),
    (
        "selectors never match an external address",
        world(policy("prod/p", ingress=(rule(Peer(namespace_selector=sel())),))),
        "192.0.2.1",
        "prod/db",
        "5432",
        False,
    ),
    (
        "an IP that is a pod's IP is that pod",
        world(policy("prod/p", ingress=(rule(pods_peer(app="api")),))),
        "10.0.1.6",
        "prod/db",
        "5432",
        True,
    ),
    (
        "egress ipBlock to an external address",
        world(policy("prod/p", types=(OUT,), egress=(rule(block("192.0.2.0/24")),))),
        "prod/db",
        "192.0.2.1",
        "443",
        True,
    ),
    (
        "egress ipBlock, address outside",
        world(policy("prod/p", types=(OUT,), egress=(rule(block("192.0.2.0/24")),))),
        "prod/db",
        "203.0.113.1",
        "443",
        False,
    ),
]

# -- rule 13: label selectors -------------------------------------------------------------------
SELECTORS = [
    ("In matches", sel(req("app", "In", "api", "x")), "prod/api", True),
    ("In does not match another value", sel(req("app", "In", "x")), "prod/api", False),
    ("NotIn with another value", sel(req("app", "NotIn", "x")), "prod/api", True),
    ("NotIn with that value", sel(req("app", "NotIn", "api")), "prod/api", False),
    ("NotIn is true when the key is absent", sel(req("tier", "NotIn", "x")), "prod/api", True),
    ("Exists", sel(req("app", "Exists")), "prod/api", True),
    ("Exists, key absent", sel(req("tier", "Exists")), "prod/api", False),
    ("DoesNotExist, key absent", sel(req("tier", "DoesNotExist")), "prod/api", True),
    ("DoesNotExist, key present", sel(req("app", "DoesNotExist")), "prod/api", False),
    ("matchLabels AND matchExpressions", sel(req("app", "Exists"), app="db"), "prod/api", False),
]

# -- rules 14-16: ports ---------------------------------------------------------------------------
PORTS = [
    ("number matches", (port(5432),), "prod/api", "prod/db", "5432", True),
    ("protocol must match", (port(5432, UDP),), "prod/api", "prod/db", "5432", False),
    ("UDP", (port(53, UDP),), "prod/api", "prod/db", "53/UDP", True),
    ("SCTP", (port(None, SCTP),), "prod/api", "prod/db", "9999/SCTP", True),
    (
        "absent port: every port of that protocol",
        (port(None, TCP),),
        "prod/api",
        "prod/db",
        "1",
        True,
    ),
    ("absent port is per protocol", (port(None, TCP),), "prod/api", "prod/db", "1/UDP", False),
    ("endPort lower bound", (port(32000, TCP, 32768),), "prod/api", "prod/db", "32000", True),
    (
        "endPort upper bound inclusive",
        (port(32000, TCP, 32768),),
        "prod/api",
        "prod/db",
        "32768",
        True,
    ),
    ("endPort above the range", (port(32000, TCP, 32768),), "prod/api", "prod/db", "32769", False),
    ("below the range", (port(32000, TCP, 32768),), "prod/api", "prod/db", "31999", False),
    (
        "ingress named port resolves on the selected pod",
        (port("pg"),),
        "prod/api",
        "prod/db",
        "5432",
        True,
    ),
    ("named port, another number", (port("pg"),), "prod/api", "prod/db", "5433", False),
    ("named port the pod does not have", (port("http"),), "prod/api", "prod/db", "8080", False),
    (
        "named port with the wrong protocol",
        (port("pg", UDP),),
        "prod/api",
        "prod/db",
        "5432/UDP",
        False,
    ),
]


def _run(case: tuple[object, ...]) -> None:
    *_, snapshot, source, destination, spec, expected = case
    verdict = judge(snapshot, source, destination, spec)  # type: ignore[arg-type]
    assert verdict.allowed is expected, "; ".join(map(str, verdict.reasons))


@pytest.mark.parametrize("case", ISOLATION, ids=[c[0] for c in ISOLATION])
def test_isolation(case: tuple[object, ...]) -> None:
    _run(case)


@pytest.mark.parametrize("case", COMBINING, ids=[c[0] for c in COMBINING])
def test_combining_rules_and_sides(case: tuple[object, ...]) -> None:
    _run(case)


@pytest.mark.parametrize("case", PEERS, ids=[c[0] for c in PEERS])
def test_peer_selectors(case: tuple[object, ...]) -> None:
    _run(case)


@pytest.mark.parametrize("case", IP_BLOCKS, ids=[c[0] for c in IP_BLOCKS])
def test_ip_blocks(case: tuple[object, ...]) -> None:
    _run(case)


@pytest.mark.parametrize(
    ("name", "selector", "source", "expected"), SELECTORS, ids=[c[0] for c in SELECTORS]
)
def test_selector_operators_in_peers_and_pod_selection(
    name: str, selector: LabelSelector, source: str, expected: bool
) -> None:
    as_peer = world(policy("prod/p", sel(app="db"), ingress=(rule(Peer(pod_selector=selector)),)))
    assert judge(as_peer, source, "prod/db", "5432").allowed is expected
    as_namespace = world(
        policy("prod/p", sel(app="db"), ingress=(rule(Peer(namespace_selector=selector)),))
    )
    labelled = as_namespace.replace(
        namespaces=tuple(
            Namespace(n.name, n.labels.with_changes(dict(API.labels))) if n.name == "prod" else n
            for n in NAMESPACES
        )
    )
    assert judge(labelled, source, "prod/db", "5432").allowed is expected
    isolating = world(policy("prod/deny", selector))
    assert judge(isolating, "prod/db", source, "8080").allowed is not expected


@pytest.mark.parametrize(
    ("name", "ports", "source", "destination", "spec", "expected"), PORTS, ids=[c[0] for c in PORTS]
)
def test_ports_on_ingress(
    name: str,
    ports: tuple[PolicyPort, ...],
    source: str,
    destination: str,
    spec: str,
    expected: bool,
) -> None:
    snapshot = world(policy("prod/p", sel(app="db"), ingress=(rule(ports=ports),)))
    assert judge(snapshot, source, destination, spec).allowed is expected


@pytest.mark.parametrize(
    ("destination", "spec", "expected"),
    [
        ("prod/db", "5432", True),  # db names 5432 'pg'
        ("prod/api", "8080", False),  # api has no 'pg'
        ("192.0.2.1", "5432", False),  # a named port never matches a non-pod destination
    ],
)
def test_egress_named_port_resolves_on_the_destination(
    destination: str, spec: str, expected: bool
) -> None:
    snapshot = world(policy("web/p", types=(OUT,), egress=(rule(ports=(port("pg"),)),)))
    assert judge(snapshot, "web/front", destination, spec).allowed is expected


def test_reasons_name_the_isolating_policies_and_what_each_rule_admits() -> None:
    snapshot = world(
        policy("prod/default-deny"),
        policy(
            "prod/allow-api",
            sel(app="db"),
            ingress=(rule(pods_peer(app="api"), ports=(port(5432),)),),
        ),
    )
    verdict = judge(snapshot, "web/front", "prod/db", "5432")
    texts = [r.text for r in verdict.reasons]
    assert not verdict.allowed
    assert "prod/db is isolated for ingress by prod/default-deny, prod/allow-api" in texts
    assert (
        "prod/allow-api ingress[0] admits pods app=api in namespace prod only (ports: 5432/TCP)"
        in texts
    )
    assert any("web/front is not isolated for egress" in t for t in texts)
    (rule_reason,) = [r for r in verdict.reasons if r.rule is not None]
    assert (str(rule_reason.policy), rule_reason.direction, rule_reason.rule) == (
        "prod/allow-api",
        IN,
        0,
    )


def test_reasons_name_the_rule_that_allowed() -> None:
    snapshot = world(
        policy("prod/p", ingress=(rule(pods_peer(app="x")), rule(pods_peer(app="api"))))
    )
    verdict = judge(snapshot, "prod/api", "prod/db", "5432")
    allowing = [r for r in verdict.reasons if r.rule is not None]
    assert [(str(r.policy), r.rule) for r in allowing] == [("prod/p", 1)]


def test_reasons_say_a_pod_without_ip_cannot_match_an_ip_block() -> None:
    snapshot = world(policy("prod/p", ingress=(rule(block("0.0.0.0/0")),)))
    verdict = judge(snapshot, "dev/tool", "prod/db", "5432")
    assert any("dev/tool has no IP" in r.text for r in verdict.reasons)


def test_host_network_pods_are_undefined() -> None:
    snapshot = state(
        *NAMESPACES, DB, pod("prod/node-agent", "10.0.1.9", host_network=True, app="agent")
    )
    verdict = judge(snapshot, "prod/node-agent", "prod/db", "5432")
    assert verdict.undefined is not None and "hostNetwork" in verdict.undefined


def test_host_network_pod_reaching_itself_is_named_once() -> None:
    snapshot = state(*NAMESPACES, pod("prod/node-agent", "10.0.1.9", host_network=True))
    verdict = judge(snapshot, "prod/node-agent", "prod/node-agent", "80")
    assert verdict.undefined is not None
    assert verdict.undefined.startswith("prod/node-agent uses hostNetwork")


def test_unknown_pod_is_an_input_error_with_did_you_mean() -> None:
    with pytest.raises(InputError, match=r"no such pod \(did you mean prod/db\b"):
        judge(world(), "web/front", "prod/dbb", "5432")


@pytest.mark.parametrize(
    ("cidr", "expected"), [("2001:db8::/64", True), ("10.9.0.0/16", True), ("192.0.2.0/24", False)]
)
def test_dual_stack_pod_matches_an_ip_block_by_any_of_its_addresses(
    cidr: str, expected: bool
) -> None:
    dual = Pod(
        PodRef("web", "dual"),
        Labels(),
        (),
        (ip_address("10.9.0.1"), ip_address("2001:db8::9")),
    )
    snapshot = state(*NAMESPACES, DB, dual, policy("prod/p", ingress=(rule(block(cidr)),)))
    assert judge(snapshot, "web/dual", "prod/db", "5432").allowed is expected


def test_declared_ports_are_the_pods_and_the_policies_numbers_by_protocol_then_number() -> None:
    from netprobe.analyzer.ports import declared_ports

    web = pod("a/web", ports=(ContainerPort(8080), ContainerPort(53, UDP, "dns")))
    other = pod("a/other", ports=(ContainerPort(80), ContainerPort(8080)))
    ranged = policy(
        "a/p",
        ingress=(rule(ports=(port(9000, SCTP, end=9002), port("http"), port(None, UDP))),),
        egress=(rule(ports=(port(443),)),),
    )
    assert declared_ports([web, other]) == (Port(80), Port(8080), Port(53, UDP))
    assert declared_ports([web, other], [ranged]) == (
        Port(80),
        Port(443),
        Port(8080),
        Port(53, UDP),
        Port(9000, SCTP),
        Port(9002, SCTP),
    )
    assert declared_ports([pod("a/bare")], [policy("a/deny")]) == ()
