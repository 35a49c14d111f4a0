"""The table's groups: the near-linear merge finds exactly the classes that reach and are
reached alike (checked against a brute-force comparison of every row and column), every
cell of a group pair is one answer, and labels say what the policies see."""

from __future__ import annotations

import pytest
from test_analyzer_agreement import QUERY, random_state

from netprobe.analyzer import Matrix, matrix
from netprobe.model import ClusterState, NetworkPolicy, Pod, PodRef, PolicyRef, PolicyType
from netprobe.report import matrix_groups
from netprobe.report.matrix_groups import group_labels, merged_classes, pod_groups
from netprobe.selectors import Labels, LabelSelector


def _brute_force(result: Matrix) -> list[list[int]]:
    count, ports = len(result.classes), range(len(result.ports))
    found: dict[object, list[int]] = {}
    for c in range(count):
        rows = tuple(result.class_row(c, q) for q in ports)
        columns = tuple(tuple(result.class_allowed(s, c, q) for s in range(count)) for q in ports)
        found.setdefault((rows, columns), []).append(c)
    return sorted(found.values())


@pytest.mark.parametrize("batch", [1, 3, 1024])
@pytest.mark.parametrize("seed", range(150))
def test_merge_finds_exactly_the_classes_that_behave_alike(
    seed: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_groups, "BATCH", batch)
    result = matrix(random_state(seed), QUERY)
    assert sorted(merged_classes(result)) == _brute_force(result)


def test_the_seeds_above_merge_classes_that_rows_alone_would_merge_wrongly() -> None:
    """Classes with equal rows but different columns: the merge must split them."""
    split = 0
    for seed in range(150):
        result = matrix(random_state(seed), QUERY)
        by_rows: dict[tuple[int, ...], int] = {}
        for c in range(len(result.classes)):
            key = tuple(result.class_row(c, q) for q in range(len(QUERY)))
            by_rows[key] = by_rows.get(key, 0) + 1
        split += len(_brute_force(result)) > len(by_rows)
    assert split > 10


@pytest.mark.parametrize("seed", range(60))
def test_every_cell_between_two_groups_is_one_answer(seed: int) -> None:
    state = random_state(seed)
    result = matrix(state, QUERY)
    groups = pod_groups(result, state)
    assert sorted(p for group in groups for p in group.pods) == list(range(len(state.pods)))
    for q in range(len(QUERY)):
        for sources in groups:
            for destinations in groups:
                answers = {
                    result.allowed(s, d, q)
                    for s in sources.pods
                    for d in destinations.pods
                    if s != d
                }
                assert len(answers) <= 1, (sources.label, destinations.label, QUERY[q])


SELECTING = ClusterState(
    (),
    (),
    (
        NetworkPolicy(
            PolicyRef("prod", "p"),
            LabelSelector(Labels({"app": "x", "tier": "y", "team": "z"})),
            (PolicyType.INGRESS,),
        ),
    ),
)
"""Its selectors look at app, tier and team."""


def _pods(namespace: str, *labels: dict[str, str]) -> list[Pod]:
    return [Pod(PodRef(namespace, f"p{n}"), Labels(values)) for n, values in enumerate(labels)]


def test_labels_name_the_namespace_and_the_labels_selectors_look_at() -> None:
    web = _pods("prod", {"app": "x", "tier": "y", "hash": "1"}, {"app": "x", "hash": "2"})
    spread = [*_pods("a", {"app": "x"}), *_pods("b", {"app": "x"})]
    many = [pod for name in "abcd" for pod in _pods(name, {"team": "z"})]
    assert group_labels([web, spread, many], SELECTING) == [
        "prod/app=x (2 pods)",
        "{a,b}/app=x (2 pods)",
        "4 namespaces/team=z (4 pods)",
    ]


def test_labels_that_would_read_the_same_are_told_apart() -> None:
    plain = _pods("prod", {"app": "x"})
    tiered = _pods("prod", {"app": "x", "tier": "y"}, {"app": "x", "tier": "z"})
    other = _pods("prod", {"app": "x"}, {"app": "x"})
    assert group_labels([plain, tiered, other, _pods("ops", {})], SELECTING) == [
        "prod/app=x,!tier #1 (1 pod)",
        "prod/app=x (2 pods)",
        "prod/app=x,!tier #2 (2 pods)",
        "ops (1 pod)",
    ]
