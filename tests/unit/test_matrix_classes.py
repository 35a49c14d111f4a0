"""``netprobe matrix -o classes``: docs/matrix.md's reader, run as the page prints it, turns
the output back into exactly ``-o json``'s cells (every case of tests/cases, seeded random
clusters, replicas); the header and the number of lines follow classes, not pods; the
page's worked example is what the command prints."""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_analyzer_agreement import QUERY, random_state

from netprobe.analyzer import Matrix, matrix
from netprobe.cli import main
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    PolicyType,
    Port,
)
from netprobe.report.matrix import WRITERS
from netprobe.selectors import Labels, LabelSelector

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "matrix.md"
CASES = sorted((ROOT / "tests" / "cases").glob("*/manifests.yaml"))

Cells = dict[tuple[str, str, int, str], bool]


def _block(marker: str) -> tuple[str, str]:
    """The code block after ``<!-- marker... -->`` in docs/matrix.md, and the marker's rest."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker}:?(.*?)-->\n```\w+\n(.*?)```", text, re.DOTALL)
    assert found, f"docs/matrix.md has no code block marked {marker}"
    return found.group(2), found.group(1).strip()


def _documented_reader() -> Callable[[Iterable[str]], Iterator[dict[str, Any]]]:
    code, _ = _block("reader")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["cells"]  # type: ignore[no-any-return]


cells = _documented_reader()


def _keyed(results: Iterable[dict[str, Any]]) -> Cells:
    found: Cells = {}
    for result in results:
        assert list(result) == ["from", "to", "port", "protocol", "allowed"]
        key = (result["from"], result["to"], result["port"], result["protocol"])
        assert key not in found, f"{key} twice"
        found[key] = result["allowed"]
    return found


def _written(output: str, result: Matrix, state: ClusterState) -> str:
    out = io.StringIO()
    WRITERS[output](result, state, out)
    return out.getvalue()


def _assert_expands_to_json(json_text: str, classes_text: str) -> None:
    document = json.loads(json_text)
    expanded = _keyed(cells(classes_text.splitlines()))
    assert expanded == _keyed(document["results"])
    header = json.loads(classes_text.splitlines()[0])
    assert header["pods"] == len(document["pods"])


def _replicated(state: ClusterState, copies: int) -> ClusterState:
    """``state`` with every pod ``copies`` times (same labels and addresses): classes of
    several pods, some of whose pods do not reach each other."""
    pods = tuple(
        Pod(PodRef(pod.namespace, f"{pod.name}-{n}"), pod.labels, pod.ports, pod.ips)
        for pod in state.pods
        for n in range(copies)
    )
    return ClusterState(state.namespaces, pods, state.policies)


@pytest.mark.parametrize("manifests", CASES, ids=lambda path: path.parent.name)
def test_expanding_classes_gives_the_json_cells_of_every_case(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["matrix", "-f", str(manifests), "-o", "json"]) == 0
    json_text = capsys.readouterr().out
    assert main(["matrix", "-f", str(manifests), "-o", "classes"]) == 0
    _assert_expands_to_json(json_text, capsys.readouterr().out)


@pytest.mark.parametrize("copies", [1, 3])
@pytest.mark.parametrize("seed", range(60))
def test_expanding_classes_gives_the_json_cells_of_random_clusters(seed: int, copies: int) -> None:
    state = _replicated(random_state(seed), copies)
    result = matrix(state, QUERY)
    _assert_expands_to_json(_written("json", result, state), _written("classes", result, state))


def test_the_seeds_above_have_classes_whose_pods_do_not_reach_each_other() -> None:
    isolated = 0
    for seed in range(60):
        result = matrix(_replicated(random_state(seed), 3), QUERY)
        isolated += sum(
            not result.class_allowed(c, c, q)
            for c in range(len(result.classes))
            for q in range(len(QUERY))
        )
    assert isolated > 100


def _replicas(count: int) -> ClusterState:
    """``count`` identical pods in a namespace that denies all ingress."""
    pods = tuple(Pod(PodRef("a", f"web-{n}"), Labels({"app": "web"})) for n in range(count))
    deny = NetworkPolicy(PolicyRef("a", "deny"), LabelSelector(), (PolicyType.INGRESS,))
    namespace = Namespace("a", Labels({NAMESPACE_NAME_LABEL: "a"}))
    return ClusterState((namespace,), pods, (deny,))


def test_the_output_grows_with_classes_not_pods() -> None:
    state = _replicas(500)
    result = matrix(state, [Port(80)])
    lines = _written("classes", result, state).splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "format": "netprobe-matrix-classes",
            "version": 1,
            "pods": 500,
            "classes": 1,
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
        {"class": 0, "pods": [f"a/web-{n}" for n in range(500)]},
        {"from": 0, "port": 80, "protocol": "TCP", "to": "0x0"},
    ]
    expanded = _keyed(cells(lines))
    assert len(expanded) == 500 * 500
    allowed = {(source, destination) for (source, destination, _, _), a in expanded.items() if a}
    assert allowed == {(f"a/web-{n}", f"a/web-{n}") for n in range(500)}


def test_a_line_per_class_then_per_class_and_port(capsys: pytest.CaptureFixture[str]) -> None:
    manifests = ROOT / "tests" / "cases" / "test-network-policy" / "manifests.yaml"
    assert main(["matrix", "-f", str(manifests), "--ports", "6379,5978,53/UDP"]) == 0
    capsys.readouterr()
    assert (
        main(["matrix", "-f", str(manifests), "--ports", "6379,5978,53/UDP", "-o", "classes"]) == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    header, rest = lines[0], lines[1:]
    count = header["classes"]
    assert [line["class"] for line in rest[:count]] == list(range(count))
    pods = [pod for line in rest[:count] for pod in line["pods"]]
    assert sorted(pods) == sorted(set(pods)) and len(pods) == header["pods"] == 7
    reach = [(line["from"], line["port"], line["protocol"]) for line in rest[count:]]
    ports = [(port["port"], port["protocol"]) for port in header["ports"]]
    assert ports == [(6379, "TCP"), (5978, "TCP"), (53, "UDP")]
    assert reach == [(c, *port) for c in range(count) for port in ports]


class _ClassesOnly:
    """A matrix that refuses every question about a pod pair."""

    def __init__(self, result: Matrix) -> None:
        self.pods, self.ports, self.classes = result.pods, result.ports, result.classes
        self.class_of, self.class_row = result.class_of, result.class_row

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"-o classes asked the matrix for {name}")


def test_classes_are_written_without_asking_about_pod_pairs() -> None:
    state = _replicated(random_state(3), 4)
    result = matrix(state, QUERY)
    expected = _written("classes", result, state)
    out = io.StringIO()
    WRITERS["classes"](_ClassesOnly(result), state, out)  # type: ignore[arg-type]
    assert out.getvalue() == expected


def test_the_worked_example_is_what_the_command_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example, arguments = _block("example")
    path, *rest = shlex.split(arguments)
    assert main(["matrix", "-f", str(ROOT / path), *rest, "-o", "classes"]) == 0
    assert capsys.readouterr().out == example
