"""NetworkPolicy documents in their common case, read straight from their values: the part
of :mod:`netprobe.manifests.quick` (whose docstring says why) for
:mod:`netprobe.manifests.policies`.

Rules, peers and ports keep their locations: the values read are ones that know their lines
(a YAML document, or :meth:`JsonObject.located <netprobe.jsontext.JsonObject.located>`),
or a JSON object written on one line, where every line is its own. Paths are made by
:meth:`Location.child <netprobe.errors.Location.child>`, as the located parsers make them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netprobe.documents import Field, plain_shared
from netprobe.errors import LocatedError, Location
from netprobe.jsontext import JsonObject
from netprobe.manifests import cidrs, policies
from netprobe.manifests.names import label_key_problem, port_name_problem
from netprobe.model import (
    IPBlock,
    IPNetwork,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
    is_port_number,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

_PROTOCOLS = {protocol.value: protocol for protocol in Protocol}
_OPERATORS = {operator.value: operator for operator in Operator}
_POLICY_TYPES = {policy_type.value: policy_type for policy_type in PolicyType}
_TOP_KEYS = frozenset(policies.TOP_KEYS)
_SPEC_KEYS = frozenset(policies.SPEC_KEYS)
_PEER_KEYS = frozenset(policies.PEER_KEYS)
_PORT_KEYS = frozenset(policies.PORT_KEYS)
_SELECTOR_KEYS = frozenset(("matchLabels", "matchExpressions"))
_REQUIREMENT_KEYS = frozenset(("key", "operator", "values"))
_BLOCK_KEYS = frozenset(("cidr", "except"))
_RULE_KEYS = {"from": frozenset(("ports", "from")), "to": frozenset(("ports", "to"))}
_DEFAULT_TYPES = {False: (PolicyType.INGRESS,), True: (PolicyType.INGRESS, PolicyType.EGRESS)}

LabelsReader = Callable[[Any], Labels | None]
"""Labels from a ``labels`` or ``matchLabels`` value, None when not all are valid."""
ValueCheck = Callable[[Any], bool]
"""Whether a value is a valid label value."""
MetadataReader = Callable[[Any], tuple[str, str, Labels] | None]
"""Name, namespace and labels of a namespaced object's metadata, None when not valid."""


class QuickPolicyReader:
    """Reads NetworkPolicies of one load, with the label and metadata checks of its
    :class:`~netprobe.manifests.quick.QuickReader`; remembers the CIDRs it read."""

    def __init__(
        self, labels: LabelsReader, label_value: ValueCheck, metadata: MetadataReader
    ) -> None:
        self._labels = labels
        self._label_value = label_value
        self._metadata = metadata
        self._networks: dict[str, IPNetwork | None] = {}

    def read(self, value: dict[Any, Any], location: Location) -> NetworkPolicy | None:
        """The policy of ``value`` (a NetworkPolicy document at ``location``), or None
        when the located parser is to read it."""
        if not _TOP_KEYS.issuperset(value):
            return None
        meta = self._metadata(value.get("metadata"))
        if meta is None:
            return None
        name, namespace, _ = meta
        lined = _with_lines(value)
        spec = lined.get("spec")
        if spec is None:
            spec = {}
        elif not isinstance(spec, dict) or not _SPEC_KEYS.issuperset(spec):
            return None
        selector = spec.get("podSelector")
        pod_selector = LabelSelector() if selector is None else self._selector(selector)
        ingress = self._rules(spec.get("ingress"), "from", location, "ingress")
        egress = self._rules(spec.get("egress"), "to", location, "egress")
        types = _policy_types(spec.get("policyTypes"), has_egress=bool(egress))
        if pod_selector is None or ingress is None or egress is None or types is None:
            return None
        return NetworkPolicy(
            PolicyRef(namespace, name),
            pod_selector,
            types,
            ingress,
            egress,
            location=location,
            manifest=plain_shared(value),
        )

    def _rules(
        self, value: Any, peers_key: str, document: Location, direction: str
    ) -> tuple[Rule, ...] | None:
        if not value:
            return () if value is None or value == [] else None
        if not isinstance(value, list):
            return None
        rules = []
        allowed = _RULE_KEYS[peers_key]
        location = document.child("spec").child(direction)
        for index, entry in enumerate(value):
            if not isinstance(entry, dict) or not allowed.issuperset(entry):
                return None
            here = location.child(index, _line(entry, location))
            peers = self._entries(entry.get(peers_key), self._peer, here, peers_key)
            ports = self._entries(entry.get("ports"), self._port, here, "ports")
            if peers is None or ports is None:
                return None
            rules.append(Rule(peers, ports, here))
        return tuple(rules)

    def _entries(
        self,
        value: Any,
        read: Callable[[dict[Any, Any], Location], Any],
        rule: Location,
        key: str,
    ) -> tuple[Any, ...] | None:
        if not value:
            return () if value is None or value == [] else None
        if not isinstance(value, list):
            return None
        location = rule.child(key)
        read_ones = []
        for index, entry in enumerate(value):
            if not isinstance(entry, dict):
                return None
            one = read(entry, location.child(index, _line(entry, location)))
            if one is None:
                return None
            read_ones.append(one)
        return tuple(read_ones)

    def _peer(self, value: dict[Any, Any], location: Location) -> Peer | None:
        if not _PEER_KEYS.issuperset(value):
            return None
        pods = value.get("podSelector")
        namespaces = value.get("namespaceSelector")
        block = value.get("ipBlock")
        if block is not None:
            if pods is not None or namespaces is not None:
                return None
            ip_block = self._ip_block(block)
            return None if ip_block is None else Peer(ip_block=ip_block, location=location)
        if pods is None and namespaces is None:
            return None
        pod_selector = None if pods is None else self._selector(pods)
        namespace_selector = None if namespaces is None else self._selector(namespaces)
        if (pods is not None and pod_selector is None) or (
            namespaces is not None and namespace_selector is None
        ):
            return None
        return Peer(pod_selector, namespace_selector, location=location)

    def _port(self, value: dict[Any, Any], location: Location) -> PolicyPort | None:
        if not _PORT_KEYS.issuperset(value):
            return None
        protocol = value.get("protocol")
        if protocol is None:
            protocol = "TCP"
        elif type(protocol) is not str or protocol not in _PROTOCOLS:
            return None
        port = value.get("port")
        end_port = value.get("endPort")
        if type(port) is int:
            if not is_port_number(port):
                return None
        elif port is not None and (type(port) is not str or port_name_problem(port)):
            return None
        if end_port is not None and (
            type(end_port) is not int
            or type(port) is not int
            or not is_port_number(end_port)
            or end_port < port
        ):
            return None
        return PolicyPort(_PROTOCOLS[protocol], port, end_port, location)

    def _selector(self, value: Any) -> LabelSelector | None:
        if not isinstance(value, dict) or not _SELECTOR_KEYS.issuperset(value):
            return None
        labels = value.get("matchLabels")
        match_labels = Labels() if labels is None else self._labels(labels)
        expressions = value.get("matchExpressions")
        requirements: list[Requirement] = []
        if expressions is not None:
            if not isinstance(expressions, list):
                return None
            for expression in expressions:
                requirement = self._requirement(expression)
                if requirement is None:
                    return None
                requirements.append(requirement)
        if match_labels is None:
            return None
        return LabelSelector(match_labels, tuple(requirements))

    def _requirement(self, value: Any) -> Requirement | None:
        if not isinstance(value, dict) or not _REQUIREMENT_KEYS.issuperset(value):
            return None
        key = value.get("key")
        written = value.get("operator")
        operator = _OPERATORS.get(written) if type(written) is str else None
        values = value.get("values")
        if values is None:
            values = []
        if type(key) is not str or operator is None or not isinstance(values, list):
            return None
        if label_key_problem(key) is not None:
            return None
        if not all(map(self._label_value, values)):
            return None
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            return None
        if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            return None
        return Requirement(key, operator, frozenset(values))

    def _ip_block(self, value: Any) -> IPBlock | None:
        if not isinstance(value, dict) or not _BLOCK_KEYS.issuperset(value):
            return None
        declared = value.get("cidr")
        cidr = self._network(declared)
        excepts = value.get("except")
        if excepts is None:
            excepts = []
        if cidr is None or not isinstance(excepts, list):
            return None
        excluded = []
        for text in excepts:
            network = self._network(text)
            if network is None or not _strictly_inside(network, cidr):
                return None
            excluded.append(network)
        return IPBlock(cidr, tuple(excluded), declared, tuple(excepts))

    def _network(self, text: Any) -> IPNetwork | None:
        """The CIDR ``text`` as :func:`~netprobe.manifests.cidrs.parse_cidr` reads it, when
        it reads it without an error or a warning."""
        if type(text) is not str:
            return None
        if text not in self._networks:
            warnings: list[str] = []
            try:
                network: IPNetwork | None = cidrs.parse_cidr(
                    Field(text, Location("")), warnings.append
                )
            except LocatedError:
                network = None
            self._networks[text] = None if warnings else network
        return self._networks[text]


def _with_lines(value: dict[Any, Any]) -> dict[Any, Any]:
    """``value``, or the same values that know their lines where ``value`` does not."""
    if value.__class__ is JsonObject and not value.on_one_line():
        return value.located()
    return value


def _line(value: Any, around: Location) -> int | None:
    """The line ``value`` starts on; a value that does not say is on its document's line
    (a JSON object written on one line)."""
    return getattr(value, "line", around.line)


def _strictly_inside(network: IPNetwork, cidr: IPNetwork) -> bool:
    return (
        network.version == cidr.version
        and network.prefixlen > cidr.prefixlen
        and network.network_address in cidr
    )


def _policy_types(value: Any, *, has_egress: bool) -> tuple[PolicyType, ...] | None:
    if value is None or value == []:
        return _DEFAULT_TYPES[has_egress]
    if not isinstance(value, list):
        return None
    found: list[PolicyType] = []
    for text in value:
        policy_type = _POLICY_TYPES.get(text) if type(text) is str else None
        if policy_type is None or policy_type in found:
            return None
        found.append(policy_type)
    return tuple(found)
