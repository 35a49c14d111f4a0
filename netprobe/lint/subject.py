"""What lint looks at: the objects read from the manifests, with the lookups checks share.

Checks only need selector matching over the pods and namespaces given, not the analyzer's
full verdicts, so the little matching they need lives here. Namespaces that pods or
policies live in but that no manifest declares are known by their name label only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    IPAddress,
    IPNetwork,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyPort,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels, LabelSelector


@dataclass(frozen=True)
class LintInput:
    """Namespaces, pods and policies to lint, plus the pod CIDRs the user declared."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()
    pod_cidrs: tuple[IPNetwork, ...] = ()

    @cached_property
    def namespace_labels(self) -> dict[str, Labels]:
        """Labels of every namespace known: declared ones, then the implied ones."""
        known = {ns.name: ns.labels for ns in self.namespaces}
        for name in [pod.namespace for pod in self.pods] + [p.namespace for p in self.policies]:
            known.setdefault(name, Labels({NAMESPACE_NAME_LABEL: name}))
        return known

    @property
    def declares_namespaces(self) -> bool:
        return bool(self.namespaces)

    @cached_property
    def pods_by_namespace(self) -> dict[str, tuple[Pod, ...]]:
        grouped: dict[str, list[Pod]] = defaultdict(list)
        for pod in self.pods:
            grouped[pod.namespace].append(pod)
        return {name: tuple(pods) for name, pods in grouped.items()}

    def knows_pods_of(self, namespace: str) -> bool:
        """Whether the input holds any pod of ``namespace`` (else pod checks stay quiet)."""
        return namespace in self.pods_by_namespace

    def selected_pods(self, policy: NetworkPolicy) -> tuple[Pod, ...]:
        """The pods of the input that ``policy`` applies to."""
        return tuple(
            pod
            for pod in self.pods_by_namespace.get(policy.namespace, ())
            if policy.pod_selector.matches(pod.labels)
        )

    def peer_namespaces(self, peer: Peer, policy_namespace: str) -> tuple[str, ...]:
        """The known namespaces a selector peer reaches into (none for an ipBlock)."""
        if peer.ip_block is not None:
            return ()
        if peer.namespace_selector is None:
            return (policy_namespace,)
        selector = peer.namespace_selector
        return tuple(
            name for name, labels in self.namespace_labels.items() if selector.matches(labels)
        )

    def peer_pods(self, peer: Peer, policy_namespace: str) -> tuple[Pod, ...]:
        """The pods of the input a peer selects (pods whose IP an ipBlock holds, too)."""
        if peer.ip_block is not None:
            block = peer.ip_block
            return tuple(pod for pod in self.pods if any(map(block.contains, addresses(pod))))
        selector = peer.pod_selector or LabelSelector()
        return tuple(
            pod
            for name in self.peer_namespaces(peer, policy_namespace)
            for pod in self.pods_by_namespace.get(name, ())
            if selector.matches(pod.labels)
        )


def addresses(pod: Pod) -> tuple[IPAddress, ...]:
    """Every address of ``pod`` (none in static manifests)."""
    if pod.ips:
        return pod.ips
    return (pod.ip,) if pod.ip is not None else ()


def peer_matches(peer: Peer, policy_namespace: str, pod: Pod, namespace_labels: Labels) -> bool:
    """Whether a ``from``/``to`` entry selects ``pod`` (whose namespace has those labels)."""
    if peer.ip_block is not None:
        return any(map(peer.ip_block.contains, addresses(pod)))
    if peer.namespace_selector is None:
        if pod.namespace != policy_namespace:
            return False
    elif not peer.namespace_selector.matches(namespace_labels):
        return False
    return peer.pod_selector is None or peer.pod_selector.matches(pod.labels)


def port_matches(entry: PolicyPort, port: int, protocol: Protocol, receiver: Pod | None) -> bool:
    """Whether a ``ports`` entry admits ``port``/``protocol`` on the receiving pod."""
    if entry.protocol is not protocol:
        return False
    if entry.port is None:
        return True
    if isinstance(entry.port, str):
        return receiver is not None and receiver.named_port(entry.port, protocol) == port
    if entry.end_port is not None:
        return entry.port <= port <= entry.end_port
    return entry.port == port


def selector_covers(wider: LabelSelector, narrower: LabelSelector) -> bool:
    """Whether every label set ``narrower`` matches is surely matched by ``wider`` too.

    Decided on the selectors' text alone (no pods needed); it may answer False for
    selectors that happen to be equivalent.
    """
    labels_included = all(narrower.match_labels.get(k) == v for k, v in wider.match_labels.items())
    return labels_included and set(wider.match_expressions) <= set(narrower.match_expressions)


def field_names(direction: PolicyType) -> tuple[str, str]:
    """The manifest's names for a direction's rule list and peer list."""
    return ("ingress", "from") if direction is PolicyType.INGRESS else ("egress", "to")


def rules_of(policy: NetworkPolicy) -> Iterator[tuple[PolicyType, int, Rule]]:
    """Every rule of ``policy`` with its direction and index, ingress first."""
    for direction in (PolicyType.INGRESS, PolicyType.EGRESS):
        for index, rule in enumerate(policy.rules(direction)):
            yield direction, index, rule


def explain_no_match(selector: LabelSelector, pods: tuple[Pod, ...]) -> str:
    """A hint for a pod selector that matches none of ``pods``: which label is missing."""
    for key, value in selector.match_labels.items():
        seen = sorted({pod.labels[key] for pod in pods if key in pod.labels})
        if value not in seen:
            if not seen:
                return f"no pod given carries the label key '{key}'; check its spelling"
            return f"no pod given has {key}={value} (values seen: {', '.join(seen[:8])})"
    return "no pod given matches every part of the selector together"
