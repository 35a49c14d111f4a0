"""Whether a ``from``/``to`` entry matches one end of a connection, and how to say what
an entry admits (docs/semantics.md rules 9-12).

The peer on the other side of a rule is either a pod (matched by selectors, and by
ipBlocks through its IP) or an address that is not a pod's (matched by ipBlocks only).
"""

from __future__ import annotations

from collections.abc import Sequence

from netprobe.model import ClusterState, IPAddress, Peer, Pod, Rule

ResolvedEndpoint = Pod | IPAddress
"""A resolved end of a connection: a pod of the snapshot, or an address that is no pod's."""


def pod_addresses(pod: Pod) -> tuple[IPAddress, ...]:
    """Every address of ``pod`` (dual-stack pods have two). An ipBlock matches a pod when
    it contains any of them; a pod without an address never matches an ipBlock."""
    return pod.ips


def peer_matches(
    peer: Peer, policy_namespace: str, endpoint: ResolvedEndpoint, state: ClusterState
) -> bool:
    """Whether ``peer`` (an entry of a policy in ``policy_namespace``) matches ``endpoint``."""
    if peer.ip_block is not None:
        block = peer.ip_block
        if isinstance(endpoint, Pod):
            return any(block.contains(address) for address in pod_addresses(endpoint))
        return block.contains(endpoint)
    if not isinstance(endpoint, Pod):
        return False
    if not peer_namespace_matches(peer, policy_namespace, endpoint.namespace, state):
        return False
    return peer.pod_selector is None or peer.pod_selector.matches(endpoint.labels)


def peer_namespace_matches(
    peer: Peer, policy_namespace: str, namespace: str, state: ClusterState
) -> bool:
    """Whether a selector entry (not an ipBlock) reaches into ``namespace``: the policy's own
    namespace without a namespaceSelector, else the namespaces whose labels it matches."""
    if peer.namespace_selector is None:
        return namespace == policy_namespace
    return peer.namespace_selector.matches(state.namespace_labels(namespace))


def rule_peer_matches(
    rule: Rule, policy_namespace: str, endpoint: ResolvedEndpoint, state: ClusterState
) -> bool:
    """An empty peer list matches everything; otherwise any entry must match (OR)."""
    if not rule.peers:
        return True
    return any(peer_matches(peer, policy_namespace, endpoint, state) for peer in rule.peers)


def describe_peer(peer: Peer, policy_namespace: str) -> str:
    """What one entry admits, in words: ``pods app=api in namespace prod``."""
    if peer.ip_block is not None:
        return f"addresses in {peer.ip_block}"
    pods = (
        "every pod"
        if peer.pod_selector is None or peer.pod_selector.is_empty
        else f"pods {peer.pod_selector}"
    )
    if peer.namespace_selector is None:
        return f"{pods} in namespace {policy_namespace}"
    if peer.namespace_selector.is_empty:
        return f"{pods} in every namespace"
    return f"{pods} in namespaces {peer.namespace_selector}"


def describe_peers(peers: Sequence[Peer], policy_namespace: str) -> str:
    """What a rule's entries admit together (OR); every peer when there is none."""
    if not peers:
        return "every peer"
    return " or ".join(describe_peer(peer, policy_namespace) for peer in peers)


def endpoint_name(endpoint: ResolvedEndpoint) -> str:
    return str(endpoint.ref) if isinstance(endpoint, Pod) else str(endpoint)
