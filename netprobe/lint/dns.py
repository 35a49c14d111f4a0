"""The egress default deny that forgets DNS: pods isolated for egress that can reach no
DNS server on 53/UDP and 53/TCP, so every name lookup times out.

A DNS server is the cluster DNS (pods of kube-system labelled ``k8s-app=kube-dns``, as
given or assumed), or any address an ipBlock admits (a node-local cache, an upstream
resolver).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from netprobe.analyzer import isolating_policies, rule_peer_matches, rule_port_matches
from netprobe.lint.findings import Check, Finding, Severity
from netprobe.lint.subject import LintInput, selector_covers
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels

DNS_PORT = 53
DNS_PROTOCOLS = (Protocol.UDP, Protocol.TCP)

_ASSUMED_DNS = Pod(
    PodRef("kube-system", "kube-dns"),
    Labels({"k8s-app": "kube-dns"}),
    (ContainerPort(53, Protocol.UDP, "dns"), ContainerPort(53, Protocol.TCP, "dns-tcp")),
)


def _dns_pods(subject: LintInput) -> tuple[Pod, ...]:
    given = tuple(
        pod for pod in subject.pods if pod.labels.get("k8s-app") in ("kube-dns", "coredns")
    )
    return given or (_ASSUMED_DNS,)


def _rule_allows_dns(
    subject: LintInput,
    servers: tuple[Pod, ...],
    policy: NetworkPolicy,
    rule: Rule,
    protocol: Protocol,
) -> bool:
    any_address = any(peer.ip_block is not None for peer in rule.peers)
    return any(
        (any_address or rule_peer_matches(rule, policy.namespace, server, subject))
        and rule_port_matches(rule.ports, DNS_PORT, protocol, server)
        for server in servers
    )


def _missing(
    subject: LintInput, servers: tuple[Pod, ...], policies: Sequence[NetworkPolicy]
) -> list[Protocol]:
    """The DNS protocols no egress rule of ``policies`` allows."""
    return [
        protocol
        for protocol in DNS_PROTOCOLS
        if not any(
            _rule_allows_dns(subject, servers, policy, rule, protocol)
            for policy in policies
            for rule in policy.egress
        )
    ]


def _egress_isolating(subject: LintInput) -> list[NetworkPolicy]:
    return [p for p in subject.policies if p.isolates(PolicyType.EGRESS)]


def _applying(
    subject: LintInput, policy: NetworkPolicy, isolating: _Isolating
) -> list[tuple[Pod | None, Sequence[NetworkPolicy]]]:
    """Per pod that ``policy`` isolates, every egress policy that applies to it; without
    pods, the policies whose selectors surely cover ``policy``'s."""
    if subject.knows_pods_of(policy.namespace):
        return [(pod, isolating(pod)) for pod in subject.selected_pods(policy)]
    covering = [
        p
        for p in subject.policies_in(policy.namespace)
        if p.isolates(PolicyType.EGRESS) and selector_covers(p.pod_selector, policy.pod_selector)
    ]
    return [(None, covering)]


class _Isolating:
    """The egress policies isolating each pod, found once per pod (a pod is asked about
    once for every policy that selects it)."""

    def __init__(self, subject: LintInput) -> None:
        self._subject = subject
        self._found: dict[int, tuple[NetworkPolicy, ...]] = {}

    def __call__(self, pod: Pod) -> tuple[NetworkPolicy, ...]:
        found = self._found.get(id(pod))
        if found is None:
            found = self._found[id(pod)] = isolating_policies(pod, PolicyType.EGRESS, self._subject)
        return found


def _no_dns(subject: LintInput, check: Check) -> Iterator[Finding]:
    known: dict[tuple[int, ...], list[Protocol]] = {}
    isolating = _Isolating(subject)
    # One finding per set of pods left without DNS, at its default deny when it has one.
    reported: dict[object, tuple[NetworkPolicy, set[Protocol], int]] = {}
    servers = _dns_pods(subject)
    for policy in _egress_isolating(subject):
        missing: set[Protocol] = set()
        without: list[PodRef] = []
        for pod, applying in _applying(subject, policy, isolating):
            key = tuple(id(p) for p in applying)
            lacking = known.get(key)
            if lacking is None:
                lacking = known[key] = _missing(subject, servers, applying)
            missing.update(lacking)
            if lacking and pod is not None:
                without.append(pod.ref)
        if not missing:
            continue
        scope: object = frozenset(without) if without else policy.pod_selector
        previous = reported.get(scope)
        if previous is None or (previous[0].egress and not policy.egress):
            reported[scope] = (policy, missing, len(without))
    for policy, missing, count in reported.values():
        names = " and ".join(f"{DNS_PORT}/{p}" for p in DNS_PROTOCOLS if p in missing)
        if count:
            scope_text = f"{count} pod(s) it isolates"
        elif policy.pod_selector.is_empty:
            scope_text = f"the pods of namespace {policy.namespace}"
        else:
            scope_text = f"the pods {policy.pod_selector} it isolates"
        yield check.finding(
            policy.location,
            f"egress is denied by default but no egress rule for {scope_text} allows DNS "
            f"({names}) to kube-system/kube-dns or any address: name lookups will fail",
            "add an egress rule: to: [{namespaceSelector: {matchLabels: "
            f"{{{NAMESPACE_NAME_LABEL}: kube-system}}}}, podSelector: {{matchLabels: "
            "{k8s-app: kube-dns}}}], ports: [{port: 53, protocol: UDP}, "
            "{port: 53, protocol: TCP}]",
            policy=policy.ref,
            severity=Severity.INFO if missing == {Protocol.TCP} else None,
        )


CHECKS = (
    Check(
        "NP002",
        "egress-deny-without-dns",
        Severity.WARNING,
        "egress isolation with no rule allowing DNS (53/UDP and 53/TCP)",
        _no_dns,
    ),
)
