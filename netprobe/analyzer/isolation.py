"""Which policies isolate a pod for a direction (docs/semantics.md rules 1-4).

A pod is isolated for a direction when at least one policy of its own namespace selects it
and has that direction among its effective policy types. This module answers that question
for one pod; the matrix answers it for every pod class at once with bitsets.
"""

from __future__ import annotations

from netprobe.model import ClusterState, NetworkPolicy, Pod, PolicyType


def isolating_policies(
    pod: Pod, direction: PolicyType, state: ClusterState
) -> tuple[NetworkPolicy, ...]:
    """The policies that select ``pod`` and isolate it for ``direction``, in state order.

    An empty tuple means the pod is not isolated for that direction: everything is allowed.
    """
    return tuple(
        policy
        for policy in state.policies_in(pod.namespace)
        if policy.isolates(direction) and policy.pod_selector.matches(pod.labels)
    )
