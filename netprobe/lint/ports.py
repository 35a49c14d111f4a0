"""Checks on ``ports`` entries: named ports that no receiving pod declares.

A named port is resolved on the receiving side (docs/semantics.md rule 15): for ingress the
pods the policy selects, for egress the destination pods. A name none of them declares
(with that protocol) matches nothing, so the rule silently allows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from netprobe.documents import suggest
from netprobe.lint.findings import Check, Finding, Severity
from netprobe.lint.subject import LintInput, field_names, rules_of
from netprobe.model import NetworkPolicy, Pod, PolicyPort, PolicyType, Rule


def _receivers(
    subject: LintInput, policy: NetworkPolicy, direction: PolicyType, rule: Rule
) -> Callable[[], Iterator[Pod]] | None:
    """The pods a named port is resolved on (each call lists them afresh, maybe with
    repeats), or None when the input cannot tell."""
    if direction is PolicyType.INGRESS:
        if not subject.knows_pods_of(policy.namespace):
            return None
        selected = subject.selected_pods(policy)
        return lambda: iter(selected)
    if not rule.peers:
        return (lambda: iter(subject.pods)) if subject.pods else None
    known = any(
        subject.knows_pods_of(name)
        for peer in rule.peers
        for name in subject.peer_namespaces(peer, policy.namespace)
    )
    only_blocks = all(peer.ip_block is not None for peer in rule.peers)
    if not known and not only_blocks:
        return None
    return lambda: (pod for peer in rule.peers for pod in subject.peer_pods(peer, policy.namespace))


def _hint(entry: PolicyPort, receivers: tuple[Pod, ...]) -> str:
    name = str(entry.port)
    other_protocols = sorted(
        {str(p.protocol) for pod in receivers for p in pod.ports if p.name == name}
    )
    if other_protocols:
        return f"the pods declare '{name}' with {'/'.join(other_protocols)}: fix 'protocol'"
    names = sorted({p.name for pod in receivers for p in pod.ports if p.name})
    close = suggest(name, names)
    if close:
        return close
    declared = ", ".join(names[:8]) or "no named ports"
    return f"use a port number, or a name the pods declare ({declared})"


def _undeclared(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for direction, index, rule in rules_of(policy):
            named = [(i, e) for i, e in enumerate(rule.ports) if isinstance(e.port, str)]
            if not named:
                continue
            listed = _receivers(subject, policy, direction, rule)
            if listed is None:
                continue
            rules_field, _ = field_names(direction)
            side = "it selects" if direction is PolicyType.INGRESS else "its peers select"
            for port_index, entry in named:
                assert isinstance(entry.port, str)
                if any(pod.named_port(entry.port, entry.protocol) for pod in listed()):
                    continue
                receivers = tuple({pod.ref: pod for pod in listed()}.values())
                if receivers:
                    problem = (
                        f"none of the {len(receivers)} pod(s) {side} declares a "
                        f"container port named '{entry.port}' with {entry.protocol}"
                    )
                else:
                    problem = "its peers select no pod, and a named port only matches pods"
                yield check.finding(
                    entry.location or rule.location,
                    f"{rules_field}[{index}].ports[{port_index}] '{entry.port}': {problem}; "
                    "this port entry matches nothing",
                    _hint(entry, receivers),
                    policy=policy.ref,
                )


CHECKS = (
    Check(
        "NP006",
        "named-port-undeclared",
        Severity.WARNING,
        "a named port that no receiving pod declares",
        _undeclared,
    ),
)
