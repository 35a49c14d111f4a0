"""The verdict on one connection, with the reasons a person needs to act on it.

``evaluate`` is the reference implementation of docs/semantics.md for a single connection:
plain loops over policies, rules and peers, written to be obviously right and to explain
itself. The matrix computes the same answers for every pod pair with grouped bitsets; the
tests hold the two to agreement.
"""

from __future__ import annotations

import difflib

from netprobe.analyzer.isolation import isolating_policies
from netprobe.analyzer.peers import (
    ResolvedEndpoint,
    describe_peers,
    endpoint_name,
    pod_addresses,
    rule_peer_matches,
)
from netprobe.analyzer.ports import describe_ports, rule_port_matches
from netprobe.errors import InputError
from netprobe.model import (
    ClusterState,
    Connection,
    Host,
    Pod,
    PodRef,
    PolicyType,
    Protocol,
    Reason,
    Rule,
    Verdict,
)

_WORD = {PolicyType.INGRESS: "ingress", PolicyType.EGRESS: "egress"}


def resolve_endpoint(endpoint: Host, state: ClusterState, role: str) -> ResolvedEndpoint:
    """A pod of the snapshot for a PodRef or a pod's IP; the address itself otherwise.

    Raises:
        InputError: ``endpoint`` names a pod the snapshot does not have.
    """
    if isinstance(endpoint, PodRef):
        pod = state.pod(endpoint)
        if pod is None:
            raise InputError(f"{role} {endpoint}: no such pod{_did_you_mean(endpoint, state)}")
        return pod
    return state.pod_at(endpoint) or endpoint


def _did_you_mean(ref: PodRef, state: ClusterState) -> str:
    names = [str(pod.ref) for pod in state.pods]
    close = difflib.get_close_matches(str(ref), names, n=3, cutoff=0.5)
    if close:
        return f" (did you mean {' or '.join(close)}?)"
    in_namespace = [pod.name for pod in state.pods if pod.namespace == ref.namespace]
    if in_namespace:
        return f" (namespace {ref.namespace} has: {', '.join(sorted(in_namespace)[:10])})"
    return f" (no pod in namespace {ref.namespace})"


def evaluate(connection: Connection, state: ClusterState) -> Verdict:
    """ALLOWED or DENIED for ``connection`` in ``state``, with reasons.

    Raises:
        InputError: the source or destination names a pod the snapshot does not have.
    """
    source = resolve_endpoint(connection.source, state, "source")
    destination = resolve_endpoint(connection.destination, state, "destination")
    undefined = _undefined(source, destination)
    if isinstance(source, Pod) and isinstance(destination, Pod) and source.ref == destination.ref:
        text = f"{source.ref} connects to itself: a pod can always reach itself"
        return Verdict(True, (Reason(text),), undefined)
    if not isinstance(source, Pod) and not isinstance(destination, Pod):
        text = f"neither {source} nor {destination} is a pod: no NetworkPolicy applies"
        return Verdict(True, (Reason(text),), "NetworkPolicy only governs traffic of pods")
    reasons = [
        Reason(f"{given} is the address of pod {found.ref}: judged as that pod")
        for given, found in ((connection.source, source), (connection.destination, destination))
        if not isinstance(given, PodRef) and isinstance(found, Pod)
    ]
    allowed = True
    port, protocol = connection.port, connection.protocol
    if isinstance(source, Pod):
        ok, side = _side(source, destination, PolicyType.EGRESS, port, protocol, state)
        allowed &= ok
        reasons += side
    if isinstance(destination, Pod):
        ok, side = _side(destination, source, PolicyType.INGRESS, port, protocol, state)
        allowed &= ok
        reasons += side
    if allowed:
        sides = (
            "the source's egress and the destination's ingress both admit it"
            if isinstance(source, Pod) and isinstance(destination, Pod)
            else "the pod's side admits it, and an address that is not a pod has no policy"
        )
        reasons.append(Reason(f"allowed: {sides}"))
    return Verdict(allowed, tuple(reasons), undefined)


def _undefined(*endpoints: ResolvedEndpoint) -> str | None:
    host = list(
        dict.fromkeys(str(e.ref) for e in endpoints if isinstance(e, Pod) and e.host_network)
    )
    if host:
        return (
            f"{', '.join(host)} uses hostNetwork: NetworkPolicy does not define what applies "
            "to it (the verdict shown treats it as an ordinary pod)"
        )
    return None


def _side(
    pod: Pod,
    peer: ResolvedEndpoint,
    direction: PolicyType,
    port: int,
    protocol: Protocol,
    state: ClusterState,
) -> tuple[bool, list[Reason]]:
    """Whether ``pod``'s policies for ``direction`` admit ``peer`` on ``port``, and why."""
    word = _WORD[direction]
    policies = isolating_policies(pod, direction, state)
    if not policies:
        text = (
            f"{pod.ref} is not isolated for {word}: no policy in namespace {pod.namespace} "
            f"selects it for {direction}, so all {word} is allowed"
        )
        return True, [Reason(text, direction=direction)]
    names = ", ".join(str(policy.ref) for policy in policies)
    reasons = [Reason(f"{pod.ref} is isolated for {word} by {names}", direction=direction)]
    receiving = pod if direction is PolicyType.INGRESS else peer if isinstance(peer, Pod) else None
    flow = f"{endpoint_name(peer)} on {port}/{protocol}"
    allowing: list[Reason] = []
    missing: list[Reason] = []
    for policy in policies:
        rules = policy.rules(direction)
        if not rules:
            text = f"{policy.ref} has no {word} rules: it only isolates (default deny)"
            missing.append(Reason(text, policy.ref, direction))
        for index, rule in enumerate(rules):
            label = f"{policy.ref} {word}[{index}]"
            peer_ok = rule_peer_matches(rule, policy.namespace, peer, state)
            port_ok = rule_port_matches(rule.ports, port, protocol, receiving)
            admits = describe_peers(rule.peers, policy.namespace)
            ports = describe_ports(rule.ports, receiving)
            if peer_ok and port_ok:
                text = f"{label} admits {flow}: it allows {admits} on {ports}"
                allowing.append(Reason(text, policy.ref, direction, index))
                continue
            if not peer_ok:
                text = f"{label} admits {admits} only"
                if port_ok:
                    text += f" (ports: {ports})"
                text += _peer_note(rule, peer)
            else:
                text = f"{label} admits {endpoint_name(peer)} but only on {ports}"
            missing.append(Reason(text, policy.ref, direction, index))
    if allowing:
        return True, reasons + allowing
    verb = "from" if direction is PolicyType.INGRESS else "to"
    text = f"no {word} rule of {pod.ref} admits traffic {verb} {flow}"
    return False, [*reasons, Reason(text, direction=direction), *missing]


def _peer_note(rule: Rule, peer: ResolvedEndpoint) -> str:
    peers = rule.peers
    has_block = any(entry.ip_block is not None for entry in peers)
    if isinstance(peer, Pod):
        if has_block and not pod_addresses(peer):
            return f"; {peer.ref} has no IP in the snapshot, so no ipBlock can match it"
        return ""
    if any(entry.ip_block is None for entry in peers):
        return f"; {peer} is not a pod, so only ipBlock entries can match it"
    return ""
