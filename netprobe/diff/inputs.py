"""What ``netprobe diff`` compares: the snapshots before and after a policy change, and
the ports to compare them on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netprobe.analyzer import declared_ports
from netprobe.errors import InputError
from netprobe.manifests import LoadedObjects, load_paths
from netprobe.manifests.notes import Warn
from netprobe.model import ClusterState, Namespace, NetworkPolicy, Pod, Port
from netprobe.suite.sources import load_objects, merge, namespace_name, pod_ref


def before_and_after(
    before: Sequence[Path], after: Sequence[Path], paths: Sequence[Path], warn: Warn
) -> tuple[ClusterState, ClusterState]:
    """The snapshots before and after: one set of namespaces and pods (from ``paths``,
    then ``before``, then ``after``), the common policies of ``paths`` overridden by
    those of ``before`` and ``after`` of the same namespace and name."""
    given = load_objects(paths, warn, with_suite_policies=False)
    namespaces, pods, common = list(given.namespaces), list(given.pods), list(given.policies)
    old, new = load_paths(before, warn), load_paths(after, warn)
    namespaces = merge(
        (namespaces, old.namespaces, new.namespaces), namespace_name, "namespace", warn
    )
    pods = merge((pods, old.pods, new.pods), pod_ref, "pod", warn)
    if not pods:
        raise InputError(
            "no pods to compare: give the Pod manifests (or a suite) with -f, "
            "or include them in --before/--after"
        )
    state = _with_implied_namespaces(namespaces, pods, [*common, *old.policies, *new.policies])
    return (
        state.replace(policies=_overlay(common, old.policies)),
        state.replace(policies=_overlay(common, new.policies)),
    )


def _overlay(
    common: Sequence[NetworkPolicy], side: Sequence[NetworkPolicy]
) -> tuple[NetworkPolicy, ...]:
    refs = {policy.ref for policy in side}
    return (*(p for p in common if p.ref not in refs), *side)


def _with_implied_namespaces(
    namespaces: list[Namespace], pods: list[Pod], policies: list[NetworkPolicy]
) -> ClusterState:
    objects = LoadedObjects(tuple(namespaces), tuple(pods), tuple(policies))
    return objects.to_state(lambda message: None)


def ports_to_compare(before: ClusterState, after: ClusterState) -> tuple[Port, ...]:
    """:func:`~netprobe.analyzer.ports.declared_ports` of the pods and of the policies of
    either side.

    Raises:
        InputError: there is none.
    """
    found = declared_ports(before.pods, (*before.policies, *after.policies))
    if not found:
        raise InputError(
            "no port to compare: no pod declares a container port and no policy names a "
            "port number; pass --ports, e.g. --ports 80,53/UDP"
        )
    return found
