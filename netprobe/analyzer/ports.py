"""Whether a rule's ``ports`` admit a port and protocol (docs/semantics.md rules 14-16).

Named ports resolve on the pod that receives the connection: for ingress the selected pod,
for egress the destination pod. A named port never matches when the receiving side is not
a pod, or when that pod has no container port of that name and protocol.

:func:`declared_ports` is which ports to look at when nobody said: those the pods declare
and the policies name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netprobe.model import NetworkPolicy, Pod, PolicyPort, Port, Protocol


def policy_port_matches(
    entry: PolicyPort, port: int, protocol: Protocol, receiving: Pod | None
) -> bool:
    """Whether one ``ports`` entry admits ``port``/``protocol`` towards ``receiving``."""
    if entry.protocol is not protocol:
        return False
    if entry.port is None:
        return True
    if isinstance(entry.port, str):
        return receiving is not None and receiving.named_port(entry.port, protocol) == port
    last = entry.end_port if entry.end_port is not None else entry.port
    return entry.port <= port <= last


def rule_port_matches(
    entries: Sequence[PolicyPort], port: int, protocol: Protocol, receiving: Pod | None
) -> bool:
    """An empty ``ports`` list admits every port and protocol; otherwise any entry (OR)."""
    if not entries:
        return True
    return any(policy_port_matches(entry, port, protocol, receiving) for entry in entries)


def describe_ports(entries: Sequence[PolicyPort], receiving: Pod | None) -> str:
    """The ports a rule admits, resolving names on ``receiving``: ``80/TCP, http=8080/TCP``."""
    if not entries:
        return "every port"
    parts = []
    for entry in entries:
        text = str(entry)
        if isinstance(entry.port, str):
            if receiving is None:
                text += " (a named port never matches an address that is not a pod)"
            else:
                number = receiving.named_port(entry.port, entry.protocol)
                text += (
                    f" (= {number} on {receiving.ref})"
                    if number is not None
                    else f" (not a port of {receiving.ref})"
                )
        parts.append(text)
    return ", ".join(parts)


def declared_ports(pods: Iterable[Pod], policies: Iterable[NetworkPolicy] = ()) -> tuple[Port, ...]:
    """Every distinct container port of ``pods`` and every port number (and range end)
    ``policies`` name, sorted by protocol (TCP, UDP, SCTP) then number; empty when there
    is none. What ``matrix``, ``diff`` and ``generate`` look at when no ports are given."""
    found = {Port(port.port, port.protocol) for pod in pods for port in pod.ports}
    for policy in policies:
        for rule in (*policy.ingress, *policy.egress):
            for entry in rule.ports:
                if isinstance(entry.port, int):
                    found.add(Port(entry.port, entry.protocol))
                    if entry.end_port is not None:
                        found.add(Port(entry.end_port, entry.protocol))
    order = list(Protocol)
    return tuple(sorted(found, key=lambda port: (order.index(port.protocol), port.number)))
