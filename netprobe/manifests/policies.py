"""``networking.k8s.io/v1`` NetworkPolicy documents -> :class:`netprobe.model.NetworkPolicy`.

Validates what the API server validates (networking ``ValidateNetworkPolicySpec``) and
applies its defaulting of ``policyTypes`` (docs/semantics.md rule 3). Unknown fields inside
``spec`` are errors with a did-you-mean, as ``kubectl apply`` reports them under strict field
validation. Every rule, peer and port keeps its location for reasons and reports.
"""

from __future__ import annotations

from netprobe.documents import Field, describe, plain_shared
from netprobe.manifests.cidrs import parse_ip_block
from netprobe.manifests.labels import parse_label_selector
from netprobe.manifests.metadata import check_identity, parse_metadata
from netprobe.manifests.names import (
    PORT_NAME_RULE,
    did_you_mean,
    fixed_port_name,
    port_name_problem,
    try_hint,
)
from netprobe.manifests.notes import Warn, drop_warning
from netprobe.model import (
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
    is_port_number,
)
from netprobe.selectors import LabelSelector

API_VERSION = "networking.k8s.io/v1"
TOP_KEYS = ("apiVersion", "kind", "metadata", "spec", "status")
SPEC_KEYS = ("podSelector", "policyTypes", "ingress", "egress")
PEER_KEYS = ("podSelector", "namespaceSelector", "ipBlock")
PORT_KEYS = ("protocol", "port", "endPort")
_PROTOCOLS = tuple(protocol.value for protocol in Protocol)
_POLICY_TYPES = tuple(policy_type.value for policy_type in PolicyType)


def parse_network_policy(field: Field, *, warn: Warn = drop_warning) -> NetworkPolicy:
    """One NetworkPolicy document, validated, with its effective policy types.

    Raises:
        LocatedError: anything the API server would reject, pointing at the field.
    """
    field.check_keys(TOP_KEYS)
    check_identity(field, API_VERSION, "NetworkPolicy")
    meta = parse_metadata(field, "NetworkPolicy", namespaced=True)
    spec = field.get("spec") or Field({}, field.location.child("spec"))
    spec.check_keys(SPEC_KEYS)
    selector = spec.get("podSelector")
    ingress = _parse_rules(spec.get("ingress"), "from", warn)
    egress = _parse_rules(spec.get("egress"), "to", warn)
    return NetworkPolicy(
        ref=PolicyRef(meta.namespace, meta.name),
        pod_selector=parse_label_selector(selector) if selector else LabelSelector(),
        policy_types=_parse_policy_types(spec.get("policyTypes"), has_egress=bool(egress)),
        ingress=ingress,
        egress=egress,
        location=field.location,
        manifest=plain_shared(field.value),
    )


def _parse_policy_types(field: Field | None, *, has_egress: bool) -> tuple[PolicyType, ...]:
    # The API server defaults an absent *or empty* list (SetDefaults_NetworkPolicy checks
    # len(PolicyTypes) == 0): Ingress, plus Egress when there is at least one egress rule.
    items = field.elements() if field is not None else []
    if not items:
        return (PolicyType.INGRESS, PolicyType.EGRESS) if has_egress else (PolicyType.INGRESS,)
    found: list[PolicyType] = []
    for item in items:
        text = item.as_str()
        if text not in _POLICY_TYPES:
            close = did_you_mean(text, _POLICY_TYPES)
            item.fail(
                f"'{text}' is not a policy type",
                hint="use Ingress or Egress" + (f"; {close}" if close else ""),
            )
        policy_type = PolicyType(text)
        if policy_type in found:
            item.fail(f"'{text}' is listed twice", hint="list each policy type once")
        found.append(policy_type)
    return tuple(found)


def _parse_rules(field: Field | None, peers_key: str, warn: Warn) -> tuple[Rule, ...]:
    if field is None:
        return ()
    return tuple(_parse_rule(item, peers_key, warn) for item in field.elements())


def _parse_rule(field: Field, peers_key: str, warn: Warn) -> Rule:
    field.check_keys(("ports", peers_key))
    peers = field.get(peers_key)
    ports = field.get("ports")
    return Rule(
        peers=tuple(_parse_peer(item, warn) for item in peers.elements()) if peers else (),
        ports=tuple(_parse_port(item) for item in ports.elements()) if ports else (),
        location=field.location,
    )


def _parse_peer(field: Field, warn: Warn) -> Peer:
    field.check_keys(PEER_KEYS)
    pod_selector = field.get("podSelector")
    namespace_selector = field.get("namespaceSelector")
    ip_block = field.get("ipBlock")
    if pod_selector is None and namespace_selector is None and ip_block is None:
        field.fail(
            "a peer must set podSelector, namespaceSelector or ipBlock",
            hint="to match every peer, leave out the whole list instead",
        )
    if ip_block is not None and (pod_selector is not None or namespace_selector is not None):
        other = "podSelector" if pod_selector is not None else "namespaceSelector"
        field.fail(
            f"a peer may not combine ipBlock with {other}",
            hint="put the ipBlock in an entry of its own; entries of the list are ORed",
        )
    return Peer(
        pod_selector=parse_label_selector(pod_selector) if pod_selector else None,
        namespace_selector=(
            parse_label_selector(namespace_selector) if namespace_selector else None
        ),
        ip_block=parse_ip_block(ip_block, warn) if ip_block else None,
        location=field.location,
    )


def _parse_port(field: Field) -> PolicyPort:
    field.check_keys(PORT_KEYS)
    protocol_field = field.get("protocol")
    protocol = parse_protocol(protocol_field) if protocol_field else Protocol.TCP
    port_field = field.get("port")
    port = _parse_port_value(port_field) if port_field else None
    end_field = field.get("endPort")
    end_port = None
    if end_field is not None:
        end_port = end_field.as_int()
        if port is None:
            end_field.fail(
                "endPort needs a numeric port", hint="set port to the first port of the range"
            )
        if isinstance(port, str):
            end_field.fail(
                f"endPort may not be used with the named port '{port}'",
                hint="give port as a number to describe a range",
            )
        _check_port_number(end_field, end_port, "endPort")
        if end_port < port:
            end_field.fail(
                f"endPort {end_port} is smaller than port {port}",
                hint="endPort is the last port of the range port..endPort",
            )
    return PolicyPort(protocol=protocol, port=port, end_port=end_port, location=field.location)


def _parse_port_value(field: Field) -> int | str:
    # IntOrString: a YAML number is a port number, a string is always a port *name*, so a
    # quoted "80" fails as a name, exactly as on the API server.
    value = field.value
    if isinstance(value, int) and not isinstance(value, bool):
        return _check_port_number(field, value, "port")
    if isinstance(value, str):
        problem = port_name_problem(value)
        if problem:
            hint = try_hint(fixed_port_name(value), PORT_NAME_RULE)
            if value.isdigit():
                hint = f"a quoted number is a port name; write {value} without quotes"
            field.fail(f"port name '{value}' {problem}", hint=hint)
        return value
    field.fail(f"expected a port number or name, got {describe(value)}")


def _check_port_number(field: Field, number: int, what: str) -> int:
    if not is_port_number(number):
        field.fail(f"{what} {number} is out of range", hint="use a number from 1 to 65535")
    return number


def parse_protocol(field: Field) -> Protocol:
    """``TCP``, ``UDP`` or ``SCTP``, spelled as the API server wants (upper case)."""
    text = field.as_str()
    if text not in _PROTOCOLS:
        close = did_you_mean(text, _PROTOCOLS)
        field.fail(
            f"protocol '{text}' is not supported",
            hint="use TCP, UDP or SCTP" + (f"; {close}" if close else ""),
        )
    return Protocol(text)
