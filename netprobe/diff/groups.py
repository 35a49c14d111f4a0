"""Describing a set of pods for a person: per namespace, by the labels the changed
policies look at ("namespace db (app=postgres, 2 pods)"), or "any pod"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from netprobe.analyzer import bit_indices, relevant_keys
from netprobe.diff.cells import JointClasses
from netprobe.diff.model import PodGroup, PodSet
from netprobe.model import ClusterState, NetworkPolicy, Pod, PodRef
from netprobe.selectors import Labels

MAX_GROUPS_PER_NAMESPACE = 3


class Describer:
    """Turns bitsets over joint classes into readable pod sets (memoized)."""

    def __init__(
        self, state: ClusterState, joint: JointClasses, policies: Iterable[NetworkPolicy]
    ) -> None:
        self.pods = state.pods
        self.joint = joint
        self.keys = relevant_keys(policies)
        self.namespace_sizes: dict[str, int] = defaultdict(int)
        for pod in state.pods:
            self.namespace_sizes[pod.namespace] += 1
        self._sizes = tuple(len(group) for group in joint.members)
        self._seen: dict[int, PodSet] = {}

    def count(self, bits: int) -> int:
        return sum(self._sizes[number] for number in bit_indices(bits))

    def pods_of(self, bits: int) -> list[Pod]:
        return [self.pods[i] for number in bit_indices(bits) for i in self.joint.members[number]]

    def example(self, sources: int, destinations: int) -> tuple[PodRef, PodRef]:
        """A source and a different destination pod from the two sets, when there is one."""
        first_src = self.pods_of(sources)[0]
        for pod in self.pods_of(destinations):
            if pod.ref != first_src.ref:
                return first_src.ref, pod.ref
        for pod in self.pods_of(sources)[1:]:
            return pod.ref, first_src.ref
        return first_src.ref, first_src.ref

    def describe(self, bits: int) -> PodSet:
        found = self._seen.get(bits)
        if found is None:
            found = self._seen[bits] = self._describe(bits)
        return found

    def _describe(self, bits: int) -> PodSet:
        pods = self.pods_of(bits)
        by_namespace: dict[str, list[Pod]] = defaultdict(list)
        for pod in pods:
            by_namespace[pod.namespace].append(pod)
        groups: list[PodGroup] = []
        for namespace in sorted(by_namespace):
            members = by_namespace[namespace]
            if len(members) == self.namespace_sizes[namespace]:
                refs = tuple(sorted(p.ref for p in members))
                groups.append(PodGroup(namespace, Labels(), refs, True))
                continue
            groups.extend(self._label_groups(namespace, members))
        return PodSet(tuple(groups), everything=len(pods) == len(self.pods))

    def _label_groups(self, namespace: str, members: list[Pod]) -> list[PodGroup]:
        by_labels: dict[Labels, list[Pod]] = defaultdict(list)
        for pod in members:
            shown = Labels({k: v for k, v in pod.labels.items() if k in self.keys})
            by_labels[shown].append(pod)
        if len(by_labels) > MAX_GROUPS_PER_NAMESPACE:
            shared = dict(members[0].labels.items())
            for pod in members[1:]:
                shared = {k: v for k, v in shared.items() if pod.labels.get(k) == v}
            common = Labels({k: v for k, v in shared.items() if k in self.keys})
            return [PodGroup(namespace, common, tuple(sorted(p.ref for p in members)), False)]
        return [
            PodGroup(namespace, labels, tuple(sorted(p.ref for p in pods)), False)
            for labels, pods in sorted(by_labels.items(), key=lambda item: str(item[0]))
        ]
