"""The actions of a step: ``delete`` policies, ``apply`` policies, ``label`` pods and
namespaces — in that order — checked against the state the step starts from.

``label`` merges: ``{app: web}`` sets a label, ``{app: null}`` removes it; the action the
suite model carries is the complete new label set, so backends and the analyzer need no
merging of their own.
"""

from __future__ import annotations

from pathlib import Path

from netprobe.documents import Field, suggest
from netprobe.manifests.notes import Warn
from netprobe.model import NAMESPACE_NAME_LABEL, ClusterState, PodRef, PolicyRef
from netprobe.suite.model import (
    Action,
    ApplyPolicy,
    DeletePolicy,
    SetNamespaceLabels,
    SetPodLabels,
)
from netprobe.suite.names import parse_label_changes
from netprobe.suite.objects import parse_policy_sources


def parse_actions(step: Field, state: ClusterState, base: Path, warn: Warn) -> tuple[Action, ...]:
    """The actions of one step, in the order they are performed."""
    actions: list[Action] = []
    delete = step.get("delete")
    if delete is not None:
        actions.extend(_deletions(delete, state))
    apply = step.get("apply")
    if apply is not None:
        fixtures = parse_policy_sources(apply, base, warn)
        if not fixtures.policies:
            apply.fail("'apply' names no NetworkPolicy")
        if fixtures.namespaces or fixtures.pods:
            warn(
                f"{apply.location}: only NetworkPolicies are applied in a step; ignoring "
                f"{len(fixtures.namespaces)} namespace(s) and {len(fixtures.pods)} pod(s)"
            )
        actions.extend(ApplyPolicy(policy) for policy in fixtures.policies)
    label = step.get("label")
    if label is not None:
        actions.extend(_relabels(label, state))
    return tuple(actions)


def _deletions(field: Field, state: ClusterState) -> list[DeletePolicy]:
    items = field.elements() if isinstance(field.value, list) else [field]
    existing = {str(policy.ref) for policy in state.policies}
    deletions = []
    for item in items:
        text = item.as_str().strip()
        try:
            ref = PolicyRef.parse(text)
        except ValueError:
            item.fail(f"'{text}' is not 'namespace/name' of a policy")
        if str(ref) not in existing:
            item.fail(
                f"no policy '{ref}' to delete at this step",
                hint=suggest(text, existing)
                or f"policies: {', '.join(sorted(existing)) or 'none'}",
            )
        deletions.append(DeletePolicy(ref))
    return deletions


def _relabels(field: Field, state: ClusterState) -> list[SetPodLabels | SetNamespaceLabels]:
    """``label: {ns/pod: {k: v}, namespace: {k: v}}``."""
    actions: list[SetPodLabels | SetNamespaceLabels] = []
    for key, entry in field.items():
        changes = parse_label_changes(entry)
        if "/" in key:
            pod = state.pod(PodRef.parse(key)) if key.count("/") == 1 else None
            if pod is None:
                entry.fail(
                    f"no pod '{key}' in this suite",
                    hint=suggest(key, [str(p.ref) for p in state.pods]),
                )
            actions.append(SetPodLabels(pod.ref, pod.labels.with_changes(changes)))
            continue
        namespace = state.namespace(key)
        if namespace is None:
            entry.fail(
                f"no pod or namespace '{key}' in this suite",
                hint=suggest(key, [n.name for n in state.namespaces])
                or "pods are written 'namespace/name'",
            )
        if NAMESPACE_NAME_LABEL in changes:
            entry.fail(f"{NAMESPACE_NAME_LABEL} cannot change: the control plane sets it")
        actions.append(SetNamespaceLabels(key, namespace.labels.with_changes(changes)))
    return actions
