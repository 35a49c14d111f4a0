"""The reachability matrix of every pod pair on a set of ports, computed over pod classes.

For each class (see :mod:`.classes`) and port it computes the set of destination classes
the class may reach, as a bitset: the egress side is the union of the class's egress rules
(peers AND port), the ingress side is computed per group of destinations that share their
ingress policies, then turned around (sources -> destinations) once per distinct source
set. Nothing here loops over pod pairs; expanding classes back to pods is left to readers
of :class:`Matrix`, which can also count cells without expanding them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from netprobe.analyzer.classes import ClassIndex, bit_indices, bits_of, select
from netprobe.model import ClusterState, NetworkPolicy, PodRef, PolicyType, Port, Protocol, Rule
from netprobe.selectors import LabelSelector


class Matrix:
    """Which pod may reach which on each port. Pods are indexed in state order."""

    __slots__ = ("_rows", "_weights", "class_of", "classes", "pods", "ports")

    def __init__(
        self,
        pods: tuple[PodRef, ...],
        ports: tuple[Port, ...],
        index: ClassIndex,
        rows: tuple[tuple[int, ...], ...],
    ) -> None:
        self.pods = pods
        self.ports = ports
        self.class_of: tuple[int, ...] = index.class_of
        """Pod index -> class index; pods of one class are indistinguishable to policies."""
        self.classes: tuple[tuple[int, ...], ...] = index.members
        """Class index -> its pods' indices (state order); classes ordered by first pod."""
        self._rows = rows
        by_size: dict[int, int] = defaultdict(int)
        for number, members in enumerate(self.classes):
            by_size[len(members)] |= 1 << number
        self._weights = tuple(by_size.items())

    def allowed(self, source: int, destination: int, port: int) -> bool:
        """Whether pod ``source`` may reach pod ``destination`` on ``self.ports[port]``."""
        if source == destination:
            return True
        row = self._rows[port][self.class_of[source]]
        return bool(row >> self.class_of[destination] & 1)

    def class_allowed(self, source: int, destination: int, port: int) -> bool:
        """Whether a pod of class ``source`` may reach a *different* pod of class
        ``destination`` (a pod always reaches itself whatever this says)."""
        return bool(self._rows[port][source] >> destination & 1)

    def class_row(self, source: int, port: int) -> int:
        """The classes a pod of class ``source`` may reach on ``self.ports[port]``, as a
        bitset (bit ``c`` = class ``c``); see :meth:`class_allowed` for pods of its own class."""
        return self._rows[port][source]

    def row(self, source: int, port: int) -> Iterator[bool]:
        """The cells of pod ``source`` to every pod, in state order."""
        bits = self._rows[port][self.class_of[source]]
        for destination, cls in enumerate(self.class_of):
            yield destination == source or bool(bits >> cls & 1)

    def allowed_count(self, port: int) -> int:
        """How many ordered pod pairs (self included) are allowed on ``self.ports[port]``,
        counted over classes without expanding them."""
        total = 0
        for cls, bits in enumerate(self._rows[port]):
            size = len(self.classes[cls])
            reached = sum(weight * (bits & mask).bit_count() for weight, mask in self._weights)
            total += size * reached
            if not bits >> cls & 1:
                total += size  # each pod reaches itself even when its class-mates do not
        return total

    @property
    def cells_per_port(self) -> int:
        return len(self.pods) ** 2


def matrix(state: ClusterState, ports: Sequence[Port]) -> Matrix:
    """The reachability matrix of every ordered pod pair of ``state`` on ``ports``."""
    ports = tuple(dict.fromkeys(ports))
    index = ClassIndex(state, ports)
    builder = _Builder(state, index)
    rows = tuple(builder.rows(port.number, port.protocol) for port in ports)
    return Matrix(tuple(pod.ref for pod in state.pods), ports, index, rows)


_Atom = tuple[str, ...] | int
"""One ``from`` entry as what it covers: the names of namespaces (every class in them), or a
class bitset."""


class _Builder:
    """Per-snapshot memo of which classes each policy selects and each rule admits.

    Every rule's peers are resolved to class bitsets once per snapshot (by position, so no
    rule, selector or ipBlock value is hashed again per port), and each distinct ``from``
    entry to its :data:`_Atom` once.
    """

    def __init__(self, state: ClusterState, index: ClassIndex) -> None:
        self.index = index
        self.policies = state.policies
        ingress_of: list[list[int]] = [[] for _ in range(index.count)]
        egress_of: list[list[int]] = [[] for _ in range(index.count)]
        self.isolated_in = 0
        self.isolated_out = 0
        for number, policy in enumerate(state.policies):
            selected = index.pods_matching(policy.pod_selector) & index.namespace_bits.get(
                policy.namespace, 0
            )
            if not selected:
                continue
            ingress = policy.isolates(PolicyType.INGRESS)
            egress = policy.isolates(PolicyType.EGRESS)
            self.isolated_in |= selected if ingress else 0
            self.isolated_out |= selected if egress else 0
            for cls in bit_indices(selected):
                if ingress:
                    ingress_of[cls].append(number)
                if egress:
                    egress_of[cls].append(number)
        self.ingress_groups = _group(ingress_of, index.named_signatures)
        self.egress_groups = _group(egress_of, None)
        self._namespaces = tuple(sorted(index.namespace_bits))
        self._ns_kv_bits: dict[tuple[str, str], int] = defaultdict(int)
        self._ns_key_bits: dict[str, int] = defaultdict(int)
        for number, name in enumerate(self._namespaces):
            for key, value in state.namespace_labels(name).items():
                self._ns_kv_bits[key, value] |= 1 << number
                self._ns_key_bits[key] |= 1 << number
        self._namespaces_of: dict[LabelSelector, tuple[str, ...]] = {}
        self._atom_ids: dict[_Atom, int] = {}
        self._atom_classes: dict[int, list[int]] = {}
        self.atoms: list[_Atom] = []
        self.egress_peers = self._resolve(PolicyType.EGRESS)
        self.ingress_atoms = self._ingress_atoms()
        self.namespace_of = tuple(
            representative.namespace for representative in index.representatives
        )

    def _resolve(self, direction: PolicyType) -> list[tuple[int, ...]]:
        """For each policy, the class bitset of each of its rules' peers for ``direction``."""
        found: dict[tuple[int, str], int] = {}
        resolved = []
        for policy in self.policies:
            bits = []
            for rule in policy.rules(direction):
                key = (id(rule), policy.namespace)
                if key not in found:
                    found[key] = self._peers(rule, policy)
                bits.append(found[key])
            resolved.append(tuple(bits))
        return resolved

    def _ingress_atoms(self) -> list[tuple[tuple[int, ...], ...]]:
        """For each policy, the atom ids of each ingress rule's ``from`` entries."""
        index = self.index
        everything: tuple[int, ...] = (self._atom(self._namespaces),)
        resolved = []
        for policy in self.policies:
            rules = []
            for rule in policy.ingress:
                if not rule.peers:
                    rules.append(everything)
                    continue
                ids = []
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        ids.append(self._atom(index.in_block(peer.ip_block)))
                        continue
                    if peer.namespace_selector is None:
                        names: tuple[str, ...] = (policy.namespace,)
                    else:
                        names = self._namespaces_matching(peer.namespace_selector)
                    if peer.pod_selector is None or peer.pod_selector.is_empty:
                        ids.append(self._atom(names))
                        continue
                    where = 0
                    for name in names:
                        where |= index.namespace_bits.get(name, 0)
                    ids.append(self._atom(where & index.pods_matching(peer.pod_selector)))
                rules.append(tuple(dict.fromkeys(ids)))
            resolved.append(tuple(rules))
        return resolved

    def _namespaces_matching(self, selector: LabelSelector) -> tuple[str, ...]:
        found = self._namespaces_of.get(selector)
        if found is None:
            every = (1 << len(self._namespaces)) - 1
            bits = select(selector, self._ns_kv_bits, self._ns_key_bits, every)
            found = self._namespaces_of[selector] = tuple(
                self._namespaces[number] for number in bit_indices(bits)
            )
        return found

    def _classes_of(self, atom: int, bits: int) -> list[int]:
        found = self._atom_classes.get(atom)
        if found is None:
            found = self._atom_classes[atom] = bit_indices(bits)
        return found

    def _atom(self, atom: _Atom) -> int:
        found = self._atom_ids.get(atom)
        if found is None:
            found = self._atom_ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return found

    def rows(self, port: int, protocol: Protocol) -> tuple[int, ...]:
        index = self.index
        everything = index.universe
        port_bits: dict[int, int] = {}

        def ports(rule: Rule) -> int:
            found = port_bits.get(id(rule))
            if found is None:
                found = port_bits[id(rule)] = self._ports(rule, port, protocol)
            return found

        # Egress: what each class may send to (every class when not isolated).
        out = [everything] * index.count
        for (policies, _), members in self.egress_groups.items():
            reach = 0
            for number in policies:
                peers = self.egress_peers[number]
                for rule, bits in zip(self.policies[number].egress, peers, strict=True):
                    reach |= bits & ports(rule)
            for cls in bit_indices(members):
                out[cls] = reach
        # Ingress: the destinations each distinct ``from`` entry admits sources into.
        admits: dict[int, int] = defaultdict(int)
        for (policies, _), members in self.ingress_groups.items():
            representative = (members & -members).bit_length() - 1
            for number in policies:
                atoms = self.ingress_atoms[number]
                for rule, ids in zip(self.policies[number].ingress, atoms, strict=True):
                    if ports(rule) >> representative & 1:
                        for atom in ids:
                            admits[atom] |= members
        # Turn it around: each entry hands its destinations to the sources it covers.
        base = everything & ~self.isolated_in
        by_namespace: dict[str, int] = defaultdict(int)
        gained = [0] * index.count
        for atom, destinations in admits.items():
            covered = self.atoms[atom]
            if isinstance(covered, int):
                for cls in self._classes_of(atom, covered):
                    gained[cls] |= destinations
            else:
                for name in covered:
                    by_namespace[name] |= destinations
        namespace_of = self.namespace_of
        return tuple(
            out[cls] & (base | by_namespace.get(namespace_of[cls], 0) | gained[cls])
            for cls in range(index.count)
        )

    def _peers(self, rule: Rule, policy: NetworkPolicy) -> int:
        index = self.index
        if not rule.peers:
            return index.universe
        bits = 0
        for peer in rule.peers:
            if peer.ip_block is not None:
                bits |= index.in_block(peer.ip_block)
                continue
            if peer.namespace_selector is None:
                where = index.namespace_bits.get(policy.namespace, 0)
            else:
                where = index.namespaces_matching(peer.namespace_selector)
            if peer.pod_selector is not None:
                where &= index.pods_matching(peer.pod_selector)
            bits |= where
        return bits

    def _ports(self, rule: Rule, port: int, protocol: Protocol) -> int:
        """The classes towards which ``rule`` admits ``port`` (named ports resolve on them)."""
        if not rule.ports:
            return self.index.universe
        bits = 0
        for entry in rule.ports:
            if entry.protocol is not protocol:
                continue
            if entry.port is None:
                return self.index.universe
            if isinstance(entry.port, str):
                bits |= self.index.named_bits.get((entry.port, protocol, port), 0)
                continue
            last = entry.end_port if entry.end_port is not None else entry.port
            if entry.port <= port <= last:
                return self.index.universe
        return bits


def _group(
    policies_of: list[list[int]], signatures: Sequence[object] | None
) -> dict[tuple[tuple[int, ...], object], int]:
    """Isolated classes grouped by (their policies, their named-port signature)."""
    members: dict[tuple[tuple[int, ...], object], list[int]] = defaultdict(list)
    for cls, policies in enumerate(policies_of):
        if policies:
            signature = signatures[cls] if signatures is not None else None
            members[tuple(policies), signature].append(cls)
    return {key: bits_of(group, len(policies_of)) for key, group in members.items()}
