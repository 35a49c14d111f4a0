"""NetworkPolicy validation: ``ValidateNetworkPolicy`` and ``ValidateNetworkPolicyUpdate``
of ``pkg/apis/networking/validation/validation.go``, Kubernetes 1.34.

Facts worth knowing, all upstream's: ``policyTypes`` may repeat a value (only more than two
entries, or a value other than Ingress/Egress, is an error); a peer needs at least one of
podSelector, namespaceSelector and ipBlock, and ipBlock excludes the other two; a numeric
port in a string (``"80"``) is a port *name* and fails as one. ``ipBlock`` CIDRs are checked
with ``IsValidCIDRForLegacyField`` without strict validation (the StrictIPCIDRValidation
gate is off by default in 1.34), so host bits and leading zeros are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator import formats
from emulator.fielderrors import Cause, forbidden, invalid, not_supported, required
from emulator.metadata import (
    name_is_dns_subdomain,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)

Obj = Mapping[str, Any]

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
INVALID_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def validate_port(port: Obj, path: str) -> list[Cause]:
    """``ValidateNetworkPolicyPort``."""
    causes: list[Cause] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        causes.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    number = port.get("port")
    end = port.get("endPort")
    if number is None:
        if end is not None:
            detail = "may not be specified when `port` is not specified"
            causes.append(invalid(f"{path}.endPort", end, detail))
    elif isinstance(number, int):
        causes += [invalid(f"{path}.port", number, m) for m in formats.port_number(number)]
        if end is not None:
            if end < number:
                causes.append(
                    invalid(f"{path}.endPort", end, "must be greater than or equal to `port`")
                )
            causes += [invalid(f"{path}.endPort", end, m) for m in formats.port_number(end)]
    else:
        if end is not None:
            detail = "may not be specified when `port` is non-numeric"
            causes.append(invalid(f"{path}.endPort", end, detail))
        causes += [invalid(f"{path}.port", number, m) for m in formats.port_name(number)]
    return causes


def validate_ip_block(block: Obj, path: str) -> list[Cause]:
    """``ValidateIPBlock``: a CIDR, and ``except`` entries strictly inside it."""
    cidr = block.get("cidr") or ""
    if not cidr:
        return [required(f"{path}.cidr")]
    network = formats.parse_cidr_sloppy(cidr)
    if network is None:
        return [invalid(f"{path}.cidr", cidr, INVALID_CIDR)]
    causes: list[Cause] = []
    for i, text in enumerate(block.get("except") or []):
        at = f"{path}.except[{i}]"
        inner = formats.parse_cidr_sloppy(text)
        if inner is None:
            causes.append(invalid(at, text, INVALID_CIDR))
            continue
        contained = inner.version == network.version and inner.network_address in network
        if not contained or network.prefixlen >= inner.prefixlen:
            causes.append(invalid(at, text, "must be a strict subset of `cidr`"))
    return causes


def validate_peer(peer: Obj, path: str) -> list[Cause]:
    """``ValidateNetworkPolicyPeer``."""
    causes: list[Cause] = []
    count = 0
    for key in ("podSelector", "namespaceSelector"):
        if peer.get(key) is not None:
            count += 1
            causes += validate_label_selector(peer[key], f"{path}.{key}")
    if peer.get("ipBlock") is not None:
        count += 1
        causes += validate_ip_block(peer["ipBlock"], f"{path}.ipBlock")
    if count == 0:
        causes.append(required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        causes.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return causes


def validate_spec(spec: Obj) -> list[Cause]:
    """``ValidateNetworkPolicySpec``."""
    causes = validate_label_selector(spec.get("podSelector") or {}, "spec.podSelector")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            at = f"spec.{direction}[{i}]"
            for j, port in enumerate(rule.get("ports") or []):
                causes += validate_port(port, f"{at}.ports[{j}]")
            for j, peer in enumerate(rule.get(peers_key) or []):
                causes += validate_peer(peer, f"{at}.{peers_key}[{j}]")
    types = spec.get("policyTypes") or []
    if len(types) > len(POLICY_TYPES):
        causes.append(
            invalid("spec.policyTypes", types, "may not specify more than two policyTypes")
        )
        return causes
    for i, kind in enumerate(types):
        if kind not in POLICY_TYPES:
            causes.append(not_supported(f"spec.policyTypes[{i}]", kind, POLICY_TYPES))
    return causes


def validate_network_policy(policy: Obj) -> list[Cause]:
    """``ValidateNetworkPolicy``: metadata (name a DNS subdomain), then the spec."""
    causes = validate_object_meta(policy.get("metadata") or {}, True, name_is_dns_subdomain)
    return causes + validate_spec(policy.get("spec") or {})


def validate_network_policy_update(new: Obj, old: Obj) -> list[Cause]:
    """What ``networkPolicyStrategy.ValidateUpdate`` returns: the full validation, then
    ``ValidateNetworkPolicyUpdate`` (metadata update rules and the spec again), so a spec
    error is a cause twice; the message shows it once (``ToAggregate`` drops duplicates)."""
    causes = validate_network_policy(new)
    causes += validate_object_meta_update(
        new.get("metadata") or {}, old.get("metadata") or {}, resource_version_required=False
    )
    return causes + validate_spec(new.get("spec") or {})
