"""The matrix rows over classes, kept factored instead of as one bitset per class and port.

A source class ``c`` in namespace ``n`` may reach, on a port::

    row(c) = out(c) & (open(n) | wide(c) | narrow(c))

- ``out``: what its egress allows; one bitset per distinct egress reach (every class when
  it is not isolated for egress).
- ``open``: the destinations that admit all of namespace ``n``: those not isolated for
  ingress, and those admitting ``n`` by namespace.
- ``wide`` and ``narrow``: the destinations admitting ``c`` by pod selector or ipBlock,
  the union of what each such ``from`` entry covering ``c`` admits. An entry whose
  destinations span many words is *wide* and kept as one bitset; any other is *narrow*:
  its destinations are a few namespaces' pods, short runs of classes, kept as word pieces
  (:mod:`netprobe.bitsets`) that cost only their own length.

Materialising every row would take (classes)² bits per port, gigabytes at Kubernetes'
150,000-pod limit; the factors take about (distinct egress reaches + namespaces + wide
entries) x classes bits per port. :meth:`PortRows.allowed_count` builds one row at a time
and drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

from netprobe.bitsets import WORD, Pieces, from_pieces

EVERYTHING = -1
"""``out`` of a class its egress does not restrict."""


class Weights:
    """Class sizes, to count pods instead of classes in a bitset of classes."""

    __slots__ = ("_masks", "sizes")

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = tuple(sizes)
        masks: dict[int, int] = {}
        for number, size in enumerate(self.sizes):
            extra, bit = size - 1, 0
            while extra:
                if extra & 1:
                    masks[bit] = masks.get(bit, 0) | 1 << number
                extra >>= 1
                bit += 1
        self._masks = tuple(masks.items())
        """Bit ``b`` of (size - 1) -> the classes having it: a few masks for any sizes."""

    def of(self, bits: int) -> int:
        """Pods in the classes of ``bits``."""
        return bits.bit_count() + sum((bits & mask).bit_count() << b for b, mask in self._masks)


class Coverage:
    """Which ``from`` entries cover each source class, the same on every port."""

    __slots__ = ("namespace_of", "narrow_of", "wide_of", "words")

    def __init__(
        self,
        words: int,
        namespace_of: Sequence[int],
        wide_of: Sequence[tuple[int, ...]],
        narrow_of: Sequence[tuple[int, ...]],
    ) -> None:
        self.words = words
        """Words of a class bitset."""
        self.namespace_of = namespace_of
        self.wide_of = wide_of
        self.narrow_of = narrow_of


class PortRows:
    """One port's factored rows; see the module's docstring."""

    __slots__ = ("_coverage", "_narrow", "_open", "_out", "_out_of", "_wide")

    def __init__(
        self,
        coverage: Coverage,
        out: Sequence[int],
        out_of: Sequence[int],
        open_: Sequence[int],
        wide: dict[int, int],
        narrow: dict[int, Pieces],
    ) -> None:
        """``out[out_of[c]]`` (every class for :data:`EVERYTHING`); ``open_`` by namespace;
        what each wide entry (a bitset) and narrow entry (pieces) admits on this port."""
        self._coverage = coverage
        self._out = out
        self._out_of = out_of
        self._open = open_
        self._wide = wide
        self._narrow = narrow

    def has(self, source: int, destination: int) -> bool:
        """Whether class ``source`` may reach class ``destination``, from the factors."""
        out = self._out_of[source]
        if out != EVERYTHING and not self._out[out] >> destination & 1:
            return False
        coverage = self._coverage
        if self._open[coverage.namespace_of[source]] >> destination & 1:
            return True
        wide = self._wide
        if any(wide.get(entry, 0) >> destination & 1 for entry in coverage.wide_of[source]):
            return True
        number, bit = divmod(destination, WORD)
        narrow = self._narrow
        return any(
            at == number and word >> bit & 1
            for entry in coverage.narrow_of[source]
            for at, word in narrow.get(entry, ())
        )

    def row(self, source: int, memo: dict[tuple[int, ...], int] | None = None) -> int:
        """The classes ``source`` may reach, as one bitset; ``memo`` keeps the unions of
        wide entries across calls."""
        coverage = self._coverage
        wide_entries = coverage.wide_of[source]
        if memo is None or (wide := memo.get(wide_entries)) is None:
            wide = 0
            for entry in wide_entries:
                wide |= self._wide.get(entry, 0)
            if memo is not None:
                memo[wide_entries] = wide
        reach = self._open[coverage.namespace_of[source]] | wide
        narrow = self._narrow
        found = [piece for entry in coverage.narrow_of[source] for piece in narrow.get(entry, ())]
        if found:
            reach |= from_pieces(found, coverage.words)
        out = self._out_of[source]
        return reach if out == EVERYTHING else reach & self._out[out]

    def allowed_count(self, weights: Weights) -> int:
        """Ordered pod pairs allowed, each pod reaching itself included."""
        total = 0
        memo: dict[tuple[int, ...], int] = {}
        for source, size in enumerate(weights.sizes):
            row = self.row(source, memo)
            total += size * weights.of(row)
            if not row >> source & 1:
                total += size  # each pod reaches itself even when its class-mates do not
        return total
