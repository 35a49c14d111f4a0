"""Bulk operations on bitsets (Python ints, bit ``n`` = member ``n``) that would otherwise
be a Python loop per bit.

With thousands of pod classes, a loop over every bit of a row, or a ``row >> column & 1``
per row (each shift copies the whole int), costs seconds. These go through ``bin``,
``bytes`` slicing, ``translate`` and ``itemgetter``, which loop in C.

A bitset that is wide but mostly empty costs its whole width on every operation, so it can
also be kept as *pieces*: ``(word number, 64-bit word)`` pairs for the words that are not
zero (the analyzer's rows, where what one namespace's policies select is a short run).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from operator import itemgetter

WORD = 64

Pieces = tuple[tuple[int, int], ...]

_BIT_CHARS = tuple(
    bytes.maketrans(bytes(range(256)), bytes(48 + (byte >> bit & 1) for byte in range(256)))
    for bit in range(8)
)
"""Per bit position: the table turning a byte into ``b"1"`` when that bit is set, else
``b"0"``."""


def bitset(members: Iterable[int], size: int) -> int:
    """The bitset of ``members`` (each below ``size``), built in one pass: OR-ing ``1 << m``
    into a growing int copies it every time, which is quadratic in ``size``."""
    buffer = bytearray((size + 7) // 8)
    for member in members:
        buffer[member >> 3] |= 1 << (member & 7)
    return int.from_bytes(buffer, "little")


def bit_indices(bits: int) -> list[int]:
    """The positions of the set bits of ``bits``, lowest first."""
    if not bits:
        return []
    low = (bits & -bits).bit_length() - 1
    text = bin(bits >> low)[:1:-1]
    found: list[int] = []
    index = text.find("1")
    while index >= 0:
        found.append(index + low)
        index = text.find("1", index + 1)
    return found


def word_count(bits: int) -> int:
    """Words needed for ``bits`` bits."""
    return (bits + WORD - 1) // WORD


def as_words(bits: int, count: int) -> memoryview:
    """``bits`` as ``count`` native 64-bit words, word ``j`` holding bits ``64j..64j+63``."""
    return memoryview(bits.to_bytes(count * 8, sys.byteorder)).cast("Q")


def pieces(bits: int) -> Pieces:
    """The words of ``bits`` that are not zero."""
    if not bits:
        return ()
    first = ((bits & -bits).bit_length() - 1) // WORD
    rest = bits >> (first * WORD)
    view = as_words(rest, word_count(rest.bit_length()))
    return tuple((first + number, word) for number, word in enumerate(view) if word)


def from_pieces(found: Iterable[tuple[int, int]], count: int) -> int:
    """The bitset of ``count`` words holding ``found``."""
    words = array("Q", bytes(count * 8))
    for number, word in found:
        words[number] |= word
    return int.from_bytes(words.tobytes(), sys.byteorder)


def lowest(bits: int, count: int) -> list[int]:
    """The positions of the ``count`` lowest set bits of ``bits`` (at least 0; fewer when
    it has fewer), lowest first, written out from a low slice of ``bits`` only."""
    if count <= 0 or not bits:
        return []
    width = 64
    part = bits & ((1 << width) - 1)
    while part != bits and part.bit_count() < count:
        width *= 4
        part = bits & ((1 << width) - 1)
    text = bin(part)[:1:-1]
    found: list[int] = []
    index = text.find("1")
    while index >= 0 and len(found) < count:
        found.append(index)
        index = text.find("1", index + 1)
    return found


def _from_chars(lowest_first: str) -> int:
    return int(lowest_first[::-1], 2) if lowest_first else 0


class Gather:
    """Re-indexes bitsets: bit ``j`` of the result is bit ``positions[j]`` of the input
    (a bitset over classes becomes one over the joint classes inside them)."""

    __slots__ = ("_pick", "_width")

    def __init__(self, positions: Sequence[int], width: int) -> None:
        """``width``: the number of input positions (every position is below it)."""
        self._width = width
        self._pick = itemgetter(*positions) if positions else None

    def __call__(self, bits: int) -> int:
        return self.chars(bin(bits)[:1:-1].ljust(self._width, "0"))

    def chars(self, lowest_first: str) -> int:
        """The same from the input written as ``"0"``/``"1"`` characters, lowest first."""
        if self._pick is None:
            return 0
        return _from_chars("".join(self._pick(lowest_first)))


class Columns:
    """Some columns of a bit matrix given by its rows: column ``c`` has bit ``r`` set when
    row ``r`` has bit ``c`` set. The bytes holding the wanted columns are picked from each
    row and transposed in C, instead of a shift per row and column."""

    __slots__ = ("_bytes",)

    def __init__(self, rows: Sequence[int], width: int, columns: Iterable[int]) -> None:
        """``width``: the number of columns (every row is below ``1 << width``);
        ``columns``: those to be read."""
        stride = max(1, (width + 7) // 8)
        offsets = sorted({column >> 3 for column in columns})
        self._bytes: dict[int, bytes] = dict.fromkeys(offsets, b"")
        if not offsets or not rows:
            return
        if len(offsets) == 1:  # itemgetter of one item gives the item, not a tuple
            only = offsets[0]
            picked = [(row.to_bytes(stride, "little")[only],) for row in rows]
        else:
            pick = itemgetter(*offsets)
            picked = [pick(row.to_bytes(stride, "little")) for row in rows]
        self._bytes = dict(zip(offsets, map(bytes, zip(*picked, strict=True)), strict=True))

    def chars(self, column: int) -> str:
        """Column ``column`` (one of those wanted) as ``"0"``/``"1"`` characters, one per
        row, first row first."""
        return self._bytes[column >> 3].translate(_BIT_CHARS[column & 7]).decode("ascii")

    def __call__(self, column: int) -> int:
        return _from_chars(self.chars(column))
