"""Checks on ``from``/``to`` entries: ORed selectors meant as AND, and selectors that
select nothing in the manifests given."""

from __future__ import annotations

from collections.abc import Iterator

from netprobe.lint.findings import Check, Finding, Severity
from netprobe.lint.subject import LintInput, field_names, rules_of
from netprobe.model import NAMESPACE_NAME_LABEL, NetworkPolicy, Peer
from netprobe.selectors import LabelSelector


def _split_and(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for direction, index, rule in rules_of(policy):
            rules_field, peers_field = field_names(direction)
            only_ns = [
                (i, p.namespace_selector)
                for i, p in enumerate(rule.peers)
                if p.namespace_selector is not None and p.pod_selector is None
            ]
            only_pod = [
                (i, p.pod_selector, p)
                for i, p in enumerate(rule.peers)
                if p.pod_selector is not None and p.namespace_selector is None
            ]
            if not only_ns or not only_pod:
                continue
            (ns_index, ns_selector), (pod_index, pod_selector, pod_peer) = only_ns[0], only_pod[0]
            where = f"{rules_field}[{index}].{peers_field}"
            yield check.finding(
                pod_peer.location or rule.location or policy.location,
                f"{where}[{ns_index}] (namespaceSelector {ns_selector}) and "
                f"{where}[{pod_index}] (podSelector {pod_selector}) are two entries, "
                "so they are ORed: every pod of the selected namespaces, or the selected pods "
                f"of {policy.namespace}",
                "to select those pods inside those namespaces, put both selectors in one entry "
                "(drop the '-' before podSelector); if the OR is meant, write two rules",
                policy=policy.ref,
            )


def _namespace_hint(selector: LabelSelector, subject: LintInput) -> str | None:
    """The 'name: frontend' mistake: a value naming a known namespace under another key."""
    for key, value in selector.match_labels.items():
        if key != NAMESPACE_NAME_LABEL and value in subject.known_namespaces:
            return (
                f"namespace '{value}' does not carry {key}={value}; select a namespace by name "
                f"with '{NAMESPACE_NAME_LABEL}: {value}', which every namespace has"
            )
    return None


def _empty_namespace_selectors(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for direction, index, rule in rules_of(policy):
            rules_field, peers_field = field_names(direction)
            for peer_index, peer in enumerate(rule.peers):
                selector = peer.namespace_selector
                if selector is None or subject.peer_namespaces(peer, policy.namespace):
                    continue
                hint = _namespace_hint(selector, subject)
                where = f"{rules_field}[{index}].{peers_field}[{peer_index}].namespaceSelector"
                if subject.declares_namespaces:
                    message = f"{where} {selector} matches none of the namespaces given"
                    severity = None
                elif hint is not None:
                    # Without Namespace manifests only names are known: report the likely
                    # mistake, softly.
                    message = (
                        f"{where} {selector} matches no namespace by the labels known (no "
                        "Namespace manifests given, so only their name labels)"
                    )
                    severity = Severity.INFO
                else:
                    continue
                yield check.finding(
                    peer.location or rule.location,
                    message,
                    hint
                    or "label the namespaces or fix the selector; every namespace carries "
                    f"{NAMESPACE_NAME_LABEL}=<its name>",
                    policy=policy.ref,
                    severity=severity,
                )


def _describe_peer(peer: Peer, policy: NetworkPolicy) -> str:
    where = (
        f"in namespaces {peer.namespace_selector}"
        if peer.namespace_selector is not None
        else f"in {policy.namespace}"
    )
    return f"podSelector {peer.pod_selector} {where}"


def _empty_pod_selectors(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for direction, index, rule in rules_of(policy):
            rules_field, peers_field = field_names(direction)
            for peer_index, peer in enumerate(rule.peers):
                if peer.pod_selector is None or peer.pod_selector.is_empty:
                    continue
                namespaces = subject.peer_namespaces(peer, policy.namespace)
                if not any(subject.knows_pods_of(name) for name in namespaces):
                    continue  # no pods given there: nothing to judge by
                if next(subject.peer_pods(peer, policy.namespace), None) is not None:
                    continue
                yield check.finding(
                    peer.location or rule.location,
                    f"{rules_field}[{index}].{peers_field}[{peer_index}]: "
                    f"{_describe_peer(peer, policy)} matches none of the pods given",
                    "check the label keys and values against the pods' labels "
                    "(a typo here silently allows nothing)",
                    policy=policy.ref,
                )


CHECKS = (
    Check(
        "NP001",
        "or-where-and-meant",
        Severity.WARNING,
        "namespaceSelector and podSelector in two entries (OR) where one entry (AND) "
        "was likely meant",
        _split_and,
    ),
    Check(
        "NP003",
        "namespace-selector-matches-nothing",
        Severity.WARNING,
        "a namespaceSelector that no namespace matches",
        _empty_namespace_selectors,
    ),
    Check(
        "NP004",
        "pod-selector-matches-nothing",
        Severity.WARNING,
        "a peer podSelector that no pod matches",
        _empty_pod_selectors,
    ),
)
