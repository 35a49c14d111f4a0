"""``diff`` agrees with comparing two full matrices pod pair by pod pair, on seeded
synthetic clusters (the analyzer benchmark's generator) with one policy edited, deleted
or added."""

from __future__ import annotations

import dataclasses
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from netprobe.analyzer import matrix
from netprobe.change import ChangeKind, Diff, diff
from netprobe.model import ClusterState, PodRef, Protocol


def _bench() -> ModuleType:
    path = Path(__file__).parent.parent.parent / "bench" / "analyzer.py"
    spec = importlib.util.spec_from_file_location("bench_analyzer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
PORTS: tuple[tuple[int, Protocol], ...] = BENCH.PORTS

Cell = tuple[PodRef, PodRef, tuple[int, Protocol], ChangeKind]


def changed(before: ClusterState, seed: int, mode: str) -> ClusterState:
    rng = random.Random(seed)
    policies = list(before.policies)
    names = sorted({pod.namespace for pod in before.pods})
    victim = rng.randrange(len(policies))
    if mode == "edit":
        fresh = BENCH._policy(rng, 10_000, names)
        policies[victim] = dataclasses.replace(fresh, ref=policies[victim].ref)
    elif mode == "delete":
        del policies[victim]
    else:
        policies.append(BENCH._policy(rng, 10_001, names))
    return before.replace(policies=tuple(policies))


def expand(result: Diff) -> set[Cell]:
    cells: set[Cell] = set()
    for change in result.changes:
        sources = [ref for group in change.sources.groups for ref in group.pods]
        destinations = [ref for group in change.destinations.groups for ref in group.pods]
        for source in sources:
            for destination in destinations:
                for port in change.ports if source != destination else ():
                    cell = (source, destination, port, change.kind)
                    assert cell not in cells, f"{cell} reported twice"
                    cells.add(cell)
        assert change.pairs == len(sources) * len(destinations) - len(
            set(sources) & set(destinations)
        )
    return cells


def brute_force(before: ClusterState, after: ClusterState) -> set[Cell]:
    old, new = matrix(before, PORTS), matrix(after, PORTS)
    cells: set[Cell] = set()
    for q, port in enumerate(PORTS):
        for s, source in enumerate(before.pods):
            for d, destination in enumerate(before.pods):
                was, now = old.allowed(s, d, q), new.allowed(s, d, q)
                if was != now:
                    kind = ChangeKind.OPENED if now else ChangeKind.CLOSED
                    cells.add((source.ref, destination.ref, port, kind))
    return cells


@pytest.mark.parametrize("mode", ["edit", "delete", "add"])
@pytest.mark.parametrize("seed", range(4))
def test_diff_reports_exactly_the_flipped_cells(seed: int, mode: str) -> None:
    before = BENCH.synthetic_cluster(300, seed)
    after = changed(before, seed, mode)
    result = diff(before, after, PORTS)
    assert expand(result) == brute_force(before, after)


def test_the_seeds_above_do_flip_cells() -> None:
    flipped = [
        bool(brute_force(b := BENCH.synthetic_cluster(300, seed), changed(b, seed, mode)))
        for seed in range(4)
        for mode in ("edit", "delete", "add")
    ]
    assert sum(flipped) >= 8


def test_every_change_names_a_changed_policy_and_explains_its_example() -> None:
    before = BENCH.synthetic_cluster(200, 3)
    after = changed(before, 3, "edit")
    result = diff(before, after, PORTS)
    assert result.changes
    for change in result.changes:
        assert set(change.cause.policies) <= set(result.changed_policies)
        assert change.explanation
        word = "admits" if change.kind is ChangeKind.OPENED else "isolated"
        assert any(word in line for line in change.explanation)


def test_no_policy_change_means_no_matrix_work() -> None:
    before = BENCH.synthetic_cluster(100, 1)
    result = diff(before, before.replace(), PORTS)
    assert result.changes == () and result.changed_policies == ()
