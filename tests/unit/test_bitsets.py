"""The bulk bitset operations (netprobe/bitsets.py) agree with their bit-by-bit definitions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netprobe.bitsets import Columns, Gather, bitset, lowest

WIDTHS = st.integers(min_value=1, max_value=70)


def _members(bits: int) -> list[int]:
    return [n for n in range(bits.bit_length()) if bits >> n & 1]


@given(WIDTHS.flatmap(lambda w: st.tuples(st.just(w), st.lists(st.integers(0, w - 1)))))
def test_bitset_sets_the_members(case: tuple[int, list[int]]) -> None:
    width, members = case
    assert _members(bitset(members, width)) == sorted(set(members))


@given(st.integers(min_value=0, max_value=2**200), st.integers(min_value=-1, max_value=210))
def test_lowest_lists_the_lowest_set_bits(bits: int, count: int) -> None:
    assert lowest(bits, count) == _members(bits)[: max(count, 0)]


@given(
    WIDTHS.flatmap(
        lambda w: st.tuples(
            st.just(w), st.integers(0, 2**w - 1), st.lists(st.integers(0, w - 1), max_size=30)
        )
    )
)
def test_gather_reindexes_bits(case: tuple[int, int, list[int]]) -> None:
    width, bits, positions = case
    gathered = Gather(positions, width)(bits)
    assert gathered == sum(1 << j for j, p in enumerate(positions) if bits >> p & 1)


@given(
    WIDTHS.flatmap(
        lambda w: st.tuples(
            st.just(w),
            st.lists(st.integers(0, 2**w - 1), max_size=40),
            st.lists(st.integers(0, w - 1), max_size=6),
        )
    )
)
def test_columns_transpose_the_rows(case: tuple[int, list[int], list[int]]) -> None:
    width, rows, wanted = case
    columns = Columns(rows, width, wanted)
    for column in wanted:
        expected = sum(1 << r for r, row in enumerate(rows) if row >> column & 1)
        assert columns(column) == expected
