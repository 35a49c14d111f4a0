"""Describing a set of pods for a person: per namespace, by the labels the changed
policies look at ("namespace db (app=postgres, 2 pods)"), or "any pod"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from netprobe.analyzer import relevant_keys
from netprobe.bitsets import bit_indices
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
        self._shown: dict[int, Labels] = {}
        self._whole: dict[str, tuple[PodRef, ...]] = {}
        # PodRef's order, as plain tuples (compared in C)
        refs = [(pod.namespace, pod.name) for pod in state.pods]
        by_ref = sorted(range(len(refs)), key=refs.__getitem__)
        self._rank = [0] * len(by_ref)
        """Pod index -> its place in the pods sorted by ref."""
        for place, index in enumerate(by_ref):
            self._rank[index] = place

    def count(self, bits: int) -> int:
        return sum(self._sizes[number] for number in bit_indices(bits))

    def _indices(self, bits: int) -> list[int]:
        members = self.joint.members
        return [i for number in bit_indices(bits) for i in members[number]]

    def pods_of(self, bits: int) -> list[Pod]:
        return [self.pods[i] for i in self._indices(bits)]

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
        indices = self._indices(bits)
        by_namespace: dict[str, list[int]] = defaultdict(list)
        for i in indices:
            by_namespace[self.pods[i].namespace].append(i)
        groups: list[PodGroup] = []
        for namespace in sorted(by_namespace):
            members = by_namespace[namespace]
            if len(members) == self.namespace_sizes[namespace]:
                refs = self._refs_of(namespace, members)
                groups.append(PodGroup(namespace, Labels(), refs, True))
                continue
            groups.extend(self._label_groups(namespace, members))
        return PodSet(tuple(groups), everything=len(indices) == len(self.pods))

    def _refs_of(self, namespace: str, members: list[int]) -> tuple[PodRef, ...]:
        """The sorted refs of every pod of ``namespace`` (``members``)."""
        found = self._whole.get(namespace)
        if found is None:
            found = self._whole[namespace] = self._sorted_refs(members)
        return found

    def _sorted_refs(self, members: list[int]) -> tuple[PodRef, ...]:
        return tuple(self.pods[i].ref for i in sorted(members, key=self._rank.__getitem__))

    def _labels_shown(self, index: int) -> Labels:
        """Pod ``index``'s labels that the changed policies look at."""
        found = self._shown.get(index)
        if found is None:
            labels = self.pods[index].labels
            found = self._shown[index] = Labels({k: v for k, v in labels.items() if k in self.keys})
        return found

    def _label_groups(self, namespace: str, members: list[int]) -> list[PodGroup]:
        by_labels: dict[Labels, list[int]] = defaultdict(list)
        for i in members:
            by_labels[self._labels_shown(i)].append(i)
        if len(by_labels) > MAX_GROUPS_PER_NAMESPACE:
            # the labels every member shares, restricted to the keys shown
            distinct = iter(by_labels)
            shared = dict(next(distinct).items())
            for labels in distinct:
                shared = {k: v for k, v in shared.items() if labels.get(k) == v}
            common = Labels(shared)
            return [PodGroup(namespace, common, self._sorted_refs(members), False)]
        return [
            PodGroup(namespace, labels, self._sorted_refs(indices), False)
            for labels, indices in sorted(by_labels.items(), key=lambda item: str(item[0]))
        ]
