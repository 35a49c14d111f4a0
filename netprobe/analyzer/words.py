"""Class bitsets cut into 64-bit words, for the bitsets that are wide but mostly empty.

A Python int bitset costs its whole width on every operation, even when only a few bits
near the top are set. What one namespace's policies select is a short run of classes (see
:mod:`.classes`), so such sets are kept as *pieces*: ``(word number, 64-bit word)`` pairs
for the words that are not zero; wide sets that are read a word at a time are kept as a
:class:`memoryview` of words.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable

WORD = 64
ALL_ONES = (1 << WORD) - 1

Pieces = tuple[tuple[int, int], ...]


def word_count(bits: int) -> int:
    """Words needed for ``bits`` classes."""
    return (bits + WORD - 1) // WORD


def as_words(bits: int, count: int) -> memoryview:
    """``bits`` as ``count`` native 64-bit words, word ``j`` holding bits ``64j..64j+63``."""
    return memoryview(bits.to_bytes(count * 8, sys.byteorder)).cast("Q")


def from_words(words: memoryview) -> int:
    return int.from_bytes(words.cast("B"), sys.byteorder)


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
