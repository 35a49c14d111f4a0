"""What lint looks at: the objects read from the manifests, with the lookups checks share.

A :class:`LintInput` is a :class:`ClusterState`, so checks match peers, addresses and ports
with the analyzer's own matchers (one home per NetworkPolicy rule) without asking it for
verdicts. Namespaces that pods or policies live in but that no manifest declares are known
by their name label only, as in the analyzer.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from netprobe.analyzer import peer_matches, peer_namespace_matches, pod_addresses
from netprobe.model import (
    ClusterState,
    IPAddress,
    IPBlock,
    IPNetwork,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyType,
    Rule,
)
from netprobe.selectors import LabelSelector


@dataclass(frozen=True)
class LintInput(ClusterState):
    """Namespaces, pods and policies to lint (a snapshot the analyzer's matchers take as it
    is), plus the pod CIDRs the user declared."""

    pod_cidrs: tuple[IPNetwork, ...] = ()

    @cached_property
    def known_namespaces(self) -> tuple[str, ...]:
        """Every namespace known: declared ones, then the implied ones."""
        names = [ns.name for ns in self.namespaces]
        names += [pod.namespace for pod in self.pods] + [p.namespace for p in self.policies]
        return tuple(dict.fromkeys(names))

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
        return self._matching(policy.pod_selector, policy.namespace)

    def _matching(self, selector: LabelSelector, namespace: str) -> tuple[Pod, ...]:
        """The pods of ``namespace`` whose labels ``selector`` matches (memoized: checks ask
        about the same selectors again and again)."""
        key = (selector, namespace)
        found = self._matched.get(key)
        if found is None:
            found = self._matched[key] = tuple(
                pod
                for pod in self.pods_by_namespace.get(namespace, ())
                if selector.matches(pod.labels)
            )
        return found

    @cached_property
    def _matched(self) -> dict[tuple[LabelSelector, str], tuple[Pod, ...]]:
        return {}

    def peer_namespaces(self, peer: Peer, policy_namespace: str) -> tuple[str, ...]:
        """The known namespaces a selector peer reaches into (none for an ipBlock)."""
        if peer.ip_block is not None:
            return ()
        # a namespaceSelector decides alone; without one, the policy's namespace does
        selector = peer.namespace_selector
        key = (selector, policy_namespace if selector is None else "")
        found = self._reached.get(key)
        if found is None:
            found = self._reached[key] = tuple(
                name
                for name in self.known_namespaces
                if peer_namespace_matches(peer, policy_namespace, name, self)
            )
        return found

    @cached_property
    def _reached(self) -> dict[tuple[LabelSelector | None, str], tuple[str, ...]]:
        return {}

    def peer_pods(self, peer: Peer, policy_namespace: str) -> Iterator[Pod]:
        """The pods of the input a peer selects (pods whose IP an ipBlock holds, too), found
        lazily: a check that only asks whether there is one stops at the first."""
        if peer.ip_block is not None:
            numbers = dict.fromkeys(number for number, _ in self._held(peer.ip_block))
            candidates: Iterable[Pod] = (self.pods[number] for number in numbers)
        else:  # only the pods of the namespaces it reaches into can match
            selector = peer.pod_selector
            candidates = (
                pod
                for name in self.peer_namespaces(peer, policy_namespace)
                for pod in (
                    self.pods_by_namespace.get(name, ())
                    if selector is None
                    else self._matching(selector, name)
                )
            )
        return (pod for pod in candidates if peer_matches(peer, policy_namespace, pod, self))

    def addresses_in(self, block: IPBlock) -> list[tuple[Pod, IPAddress]]:
        """Every pod address ``block`` holds, with its pod, in input order."""
        pods = self.pods
        return [
            (pods[number], pod_addresses(pods[number])[position])
            for number, position in self._held(block)
        ]

    def _held(self, block: IPBlock) -> list[tuple[int, int]]:
        """(pod number, position among its addresses) of the addresses ``block`` holds,
        sorted: those in its CIDR's span of the sorted addresses, less its excepts' spans."""
        low, high = self._span(block.cidr)
        held = set(range(low, high))
        for excluded in block.except_:
            held.difference_update(range(*self._span(excluded)))
        by_address = self._by_address
        return sorted((by_address[index][2], by_address[index][3]) for index in held)

    def _span(self, network: IPNetwork) -> tuple[int, int]:
        """The indices in :attr:`_by_address` of the addresses inside ``network``."""
        by_address = self._by_address
        low = (network.version, int(network.network_address))
        high = (network.version, int(network.broadcast_address), len(self.pods))
        return bisect_left(by_address, low), bisect_right(by_address, high)

    @cached_property
    def _by_address(self) -> list[tuple[int, int, int, int]]:
        """(IP version, address, pod number, position among the pod's addresses), sorted."""
        return sorted(
            (ip.version, int(ip), number, position)
            for number, pod in enumerate(self.pods)
            for position, ip in enumerate(pod_addresses(pod))
        )


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
