"""The reachability matrix of every pod pair on a set of ports, computed over pod classes.

Once per snapshot every rule's peers resolve to class bitsets. Per port, the egress side is
the union of each egress group's rules (peers AND port), and the ingress side is what each
distinct ``from`` entry admits: the destinations of the ingress groups whose rules name it.
Rows are kept factored (see :mod:`.rows`), not as (classes)² bits. Nothing here loops over
pod pairs; expanding classes back to pods is left to readers of :class:`Matrix`, which can
also count cells without expanding them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from netprobe.analyzer.classes import ClassIndex, select
from netprobe.analyzer.rows import EVERYTHING, Coverage, PortRows, Weights
from netprobe.bitsets import WORD, as_words, bit_indices, bitset, from_pieces, pieces, word_count
from netprobe.model import ClusterState, NetworkPolicy, PodRef, PolicyType, Port, Protocol, Rule
from netprobe.selectors import LabelSelector


class Matrix:
    """Which pod may reach which on each port. Pods are indexed in state order."""

    __slots__ = ("_rows", "_weights", "class_of", "classes", "index", "pods", "ports")

    def __init__(
        self,
        pods: tuple[PodRef, ...],
        ports: tuple[Port, ...],
        index: ClassIndex,
        rows: tuple[PortRows, ...],
    ) -> None:
        self.pods = pods
        self.ports = ports
        self.index = index
        """The classes the matrix is computed over."""
        self.class_of: tuple[int, ...] = index.class_of
        """Pod index -> class index; pods of one class are indistinguishable to policies."""
        self.classes: tuple[tuple[int, ...], ...] = index.members
        """Class index -> its pods' indices (state order); classes ordered by namespace,
        then by first pod."""
        self._rows = rows
        self._weights = Weights([len(members) for members in self.classes])

    def allowed(self, source: int, destination: int, port: int) -> bool:
        """Whether pod ``source`` may reach pod ``destination`` on ``self.ports[port]``."""
        if source == destination:
            return True
        return self._rows[port].has(self.class_of[source], self.class_of[destination])

    def class_allowed(self, source: int, destination: int, port: int) -> bool:
        """Whether a pod of class ``source`` may reach a *different* pod of class
        ``destination`` (a pod always reaches itself whatever this says)."""
        return self._rows[port].has(source, destination)

    def class_row(self, source: int, port: int) -> int:
        """The classes a pod of class ``source`` may reach on ``self.ports[port]``, as a
        bitset (bit ``c`` = class ``c``); see :meth:`class_allowed` for pods of its own class.
        Built on each call: a row is (classes) bits."""
        return self._rows[port].row(source)

    def row(self, source: int, port: int) -> Iterator[bool]:
        """The cells of pod ``source`` to every pod, in state order."""
        bits = self.class_row(self.class_of[source], port)
        for destination, cls in enumerate(self.class_of):
            yield destination == source or bool(bits >> cls & 1)

    def allowed_count(self, port: int) -> int:
        """How many ordered pod pairs (self included) are allowed on ``self.ports[port]``,
        counted over classes one row at a time."""
        return self._rows[port].allowed_count(self._weights)

    @property
    def cells_per_port(self) -> int:
        return len(self.pods) ** 2


def matrix(state: ClusterState, ports: Sequence[Port]) -> Matrix:
    """The reachability matrix of every ordered pod pair of ``state`` on ``ports``."""
    ports = tuple(dict.fromkeys(ports))
    index = ClassIndex(state, ports)
    builder = _Builder(state, index)
    return Matrix(tuple(pod.ref for pod in state.pods), ports, index, builder.rows(ports))


WIDE_WORDS = 8
"""A ``from`` entry admitting destinations in more words than this is wide (see
:mod:`.rows`)."""

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
        self.words = word_count(index.count)
        ingress_of: list[list[int]] = [[] for _ in range(index.count)]
        egress_of: list[list[int]] = [[] for _ in range(index.count)]
        self.isolated_in = 0
        for number, policy in enumerate(state.policies):
            selected = index.pods_matching(policy.pod_selector) & index.namespace_bits.get(
                policy.namespace, 0
            )
            if not selected:
                continue
            ingress = policy.isolates(PolicyType.INGRESS)
            egress = policy.isolates(PolicyType.EGRESS)
            self.isolated_in |= selected if ingress else 0
            for cls in bit_indices(selected):
                if ingress:
                    ingress_of[cls].append(number)
                if egress:
                    egress_of[cls].append(number)
        self.ingress_groups = [
            (policies, members, pieces(bitset(members, index.count)))
            for policies, members in _group(ingress_of, index.named_signatures)
        ]
        self.egress_groups = _group(egress_of, None)
        self._namespaces = tuple(sorted(index.namespace_bits))
        numbers = {name: number for number, name in enumerate(self._namespaces)}
        self.namespace_of = tuple(
            numbers[representative.namespace] for representative in index.representatives
        )
        self._ns_kv_bits: dict[tuple[str, str], int] = defaultdict(int)
        self._ns_key_bits: dict[str, int] = defaultdict(int)
        for number, name in enumerate(self._namespaces):
            for key, value in state.namespace_labels(name).items():
                self._ns_kv_bits[key, value] |= 1 << number
                self._ns_key_bits[key] |= 1 << number
        self._namespaces_of: dict[LabelSelector, tuple[str, ...]] = {}
        self._atom_ids: dict[_Atom, int] = {}
        self.atoms: list[_Atom] = []
        self.egress_peers = self._resolve(PolicyType.EGRESS)
        self.ingress_atoms = self._ingress_atoms()
        covering: list[list[int]] = [[] for _ in range(index.count)]
        for number, atom in enumerate(self.atoms):
            if isinstance(atom, int):
                for cls in bit_indices(atom):
                    covering[cls].append(number)
        self.atoms_of = tuple(tuple(found) for found in covering)
        """Class -> the class-bitset ``from`` entries covering it."""

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
                    if peer.namespace_selector is None:
                        where = index.namespace_bits.get(policy.namespace, 0)
                    else:
                        where = index.namespaces_matching(peer.namespace_selector)
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

    def _atom(self, atom: _Atom) -> int:
        found = self._atom_ids.get(atom)
        if found is None:
            found = self._atom_ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return found

    def rows(self, ports: Sequence[Port]) -> tuple[PortRows, ...]:
        """The rows of every port in ``ports``, factored (see :mod:`.rows`)."""
        sides = [self._port(port.number, port.protocol) for port in ports]
        spans: dict[int, set[int]] = defaultdict(set)
        for _, _, admits, _ in sides:
            for atom, admitted in admits.items():
                if isinstance(self.atoms[atom], int):
                    spans[atom].update(admitted)
        wide = {atom for atom, found in spans.items() if len(found) > WIDE_WORDS}
        narrow = spans.keys() - wide
        coverage = Coverage(
            self.words,
            self.namespace_of,
            [tuple(atom for atom in atoms if atom in wide) for atoms in self.atoms_of],
            [tuple(atom for atom in atoms if atom in narrow) for atoms in self.atoms_of],
        )
        return tuple(
            PortRows(
                coverage,
                out,
                out_of,
                open_,
                {
                    atom: from_pieces(admitted.items(), self.words)
                    for atom, admitted in admits.items()
                    if atom in wide
                },
                {
                    atom: tuple(admitted.items())
                    for atom, admitted in admits.items()
                    if atom in narrow
                },
            )
            for out, out_of, admits, open_ in sides
        )

    def _port(
        self, port: int, protocol: Protocol
    ) -> tuple[list[int], list[int], dict[int, dict[int, int]], list[int]]:
        """One port's egress (each distinct reach and each class's index in them), what
        each class-bitset ``from`` entry admits (word pieces) and ``open`` per namespace."""
        index = self.index
        words = self.words
        port_bits: dict[int, int] = {}

        def ports(rule: Rule) -> int:
            found = port_bits.get(id(rule))
            if found is None:
                found = port_bits[id(rule)] = self._ports(rule, port, protocol)
            return found

        # Egress: what each class may send to (every class when not isolated).
        out: list[int] = []
        out_ids: dict[int, int] = {}
        out_of = [EVERYTHING] * index.count
        reach_of: dict[tuple[int, int], int] = {}
        for policies, members in self.egress_groups:
            reach = 0
            for number in policies:
                peers = self.egress_peers[number]
                for position, bits in enumerate(peers):
                    found = reach_of.get((number, position))
                    if found is None:
                        rule = self.policies[number].egress[position]
                        found = reach_of[number, position] = bits & ports(rule)
                    reach |= found
            known = out_ids.get(reach)
            if known is None:
                known = out_ids[reach] = len(out)
                out.append(reach)
            for cls in members:
                out_of[cls] = known
        # Ingress: the destinations each distinct ``from`` entry admits sources into.
        admits: dict[int, dict[int, int]] = defaultdict(dict)
        everywhere = index.universe
        tests: dict[int, bool | memoryview] = {}
        views: dict[int, memoryview] = {}

        def test(rule: Rule) -> bool | memoryview:
            """Whether ``rule`` admits the port everywhere, nowhere, or where its named
            port resolves to it (words of classes)."""
            found = tests.get(id(rule))
            if found is None:
                bits = ports(rule)
                if bits == everywhere or not bits:
                    found = bits == everywhere
                else:
                    found = views.get(bits)
                    if found is None:
                        found = views[bits] = as_words(bits, words)
                tests[id(rule)] = found
            return found

        for policies, members, destinations in self.ingress_groups:
            first, bit = divmod(members[0], WORD)
            for number in policies:
                atoms = self.ingress_atoms[number]
                for rule, ids in zip(self.policies[number].ingress, atoms, strict=True):
                    admits_port = test(rule)
                    if admits_port is False or (
                        admits_port is not True and not admits_port[first] >> bit & 1
                    ):
                        continue
                    for atom in ids:
                        admitted = admits[atom]
                        for word_number, word in destinations:
                            admitted[word_number] = admitted.get(word_number, 0) | word
        # Entries naming namespaces hand their destinations to every class there.
        by_namespace: dict[str, int] = defaultdict(int)
        for atom, admitted in admits.items():
            covered = self.atoms[atom]
            if not isinstance(covered, int):
                destinations_bits = from_pieces(admitted.items(), words)
                for name in covered:
                    by_namespace[name] |= destinations_bits
        base = everywhere & ~self.isolated_in
        open_ = [base | by_namespace.get(name, 0) for name in self._namespaces]
        return out, out_of, admits, open_

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
) -> list[tuple[tuple[int, ...], list[int]]]:
    """Isolated classes grouped by (their policies, their named-port signature)."""
    members: dict[tuple[tuple[int, ...], object], list[int]] = defaultdict(list)
    for cls, policies in enumerate(policies_of):
        if policies:
            signature = signatures[cls] if signatures is not None else None
            members[tuple(policies), signature].append(cls)
    return [(policies, group) for (policies, _), group in members.items()]
