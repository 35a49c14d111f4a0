"""Checks on what a policy selects and isolates: policies that select no pods, allow-all
rules that undo a default deny, and rules that ``policyTypes`` switches off."""

from __future__ import annotations

from collections.abc import Iterator

from netprobe.lint.findings import Check, Finding, Severity
from netprobe.lint.subject import (
    LintInput,
    explain_no_match,
    field_names,
    selector_covers,
)
from netprobe.model import NetworkPolicy, PolicyType


def _selects_nothing(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        if not subject.knows_pods_of(policy.namespace) or subject.selected_pods(policy):
            continue
        pods = subject.pods_by_namespace[policy.namespace]
        yield check.finding(
            policy.location,
            f"spec.podSelector {policy.pod_selector} selects none of the {len(pods)} pods "
            f"given in namespace {policy.namespace}: the policy has no effect",
            explain_no_match(policy.pod_selector, pods),
            policy=policy.ref,
        )


def _overlap(subject: LintInput, first: NetworkPolicy, second: NetworkPolicy) -> bool:
    if subject.knows_pods_of(first.namespace):
        theirs = {id(pod) for pod in subject.selected_pods(second)}
        return any(id(pod) in theirs for pod in subject.selected_pods(first))
    return selector_covers(first.pod_selector, second.pod_selector) or selector_covers(
        second.pod_selector, first.pod_selector
    )


def _default_denies(
    subject: LintInput, namespace: str, direction: PolicyType
) -> list[NetworkPolicy]:
    return [
        policy
        for policy in subject.policies_in(namespace)
        if policy.isolates(direction) and not policy.rules(direction)
    ]


def _allow_all(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for direction in (PolicyType.INGRESS, PolicyType.EGRESS):
            allow_all = [
                (index, rule)
                for index, rule in enumerate(policy.rules(direction))
                if not rule.peers and not rule.ports
            ]
            if not allow_all or not policy.isolates(direction):
                continue
            denies = [
                deny
                for deny in _default_denies(subject, policy.namespace, direction)
                if deny.ref != policy.ref and _overlap(subject, policy, deny)
            ]
            if not denies:
                continue
            rules_field, peers_field = field_names(direction)
            for index, rule in allow_all:
                names = ", ".join(str(deny.ref) for deny in denies)
                yield check.finding(
                    rule.location or policy.location,
                    f"{rules_field}[{index}] has no '{peers_field}' and no 'ports': it allows "
                    f"all {direction.value.lower()} traffic of the pods {policy.pod_selector} "
                    f"that the default deny {names} isolates, so the deny does nothing for them",
                    f"list the allowed peers under '{peers_field}' and the ports under 'ports'; "
                    "an empty entry ({}) means everything",
                    policy=policy.ref,
                )


def _ignored_rules(subject: LintInput, check: Check) -> Iterator[Finding]:
    for policy in subject.policies:
        for direction in (PolicyType.INGRESS, PolicyType.EGRESS):
            rules = policy.rules(direction)
            if not rules or policy.isolates(direction):
                continue
            rules_field = field_names(direction)[0]
            types = ", ".join(t.value for t in policy.policy_types) or "none"
            yield check.finding(
                rules[0].location or policy.location,
                f"spec.policyTypes ({types}) leaves out {direction.value}: the "
                f"{len(rules)} {rules_field} rule(s) are ignored",
                f"add {direction.value} to spec.policyTypes, or delete the {rules_field} rules",
                policy=policy.ref,
            )


CHECKS = (
    Check(
        "NP005",
        "policy-selects-no-pods",
        Severity.WARNING,
        "a policy whose podSelector selects no pod",
        _selects_nothing,
    ),
    Check(
        "NP007",
        "allow-all-defeats-default-deny",
        Severity.WARNING,
        "an allow-all rule (no peers, no ports) over pods a default deny isolates",
        _allow_all,
    ),
    Check(
        "NP010",
        "rules-ignored-by-policy-types",
        Severity.ERROR,
        "ingress or egress rules that spec.policyTypes switches off",
        _ignored_rules,
    ),
)
