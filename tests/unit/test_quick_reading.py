"""The quick readers (netprobe/manifests/quick*.py) read what the located parsers read, to
the same objects and locations; wherever those raise or warn, they step aside, so every
error and warning is the located parsers' own, at the same line, through every reader and
however large the file."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netprobe import documents
from netprobe.documents import parse_yaml_documents
from netprobe.errors import LocatedError, Location
from netprobe.manifests import parse_objects
from netprobe.manifests.quick import QuickReader
from tests.unit.test_manifests_validation import CASES as INVALID

# The YAML reader runs with libyaml's parser and the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")

ROOT = Path(__file__).parents[2]
MANIFESTS = [
    *sorted((ROOT / "tests" / "cases").glob("*/manifests.yaml")),
    ROOT / "tests" / "manifests" / "kubectl-list.yaml",
]
WARNED = {
    "host bits": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: p}\nspec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.1.0.1/8}\n",
    "name label declared": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
    "  labels: {kubernetes.io/metadata.name: b}\n",
    "finished pod": "apiVersion: v1\nkind: Pod\nmetadata: {name: done}\nstatus: {phase: Failed}\n",
    "other kind": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
}
ODD_VALUES = (None, "", 0, 1, 1.5, 70000, True, "Not Valid!", "a" * 64, "10.1.0.0/16", [], {}, [{}])
"""What a mutation puts in place of a value: each fails some check somewhere."""


def outcome(text: str, file: str) -> str:
    """Everything a load says of ``text``: the objects with every location and manifest
    (their repr), the warnings, or the error."""
    warnings: list[str] = []
    try:
        loaded = parse_objects(parse_yaml_documents(text, file), warnings.append)
    except LocatedError as error:
        return f"error: {error}"
    return repr(loaded) + "".join(f"\nwarning: {message}" for message in warnings)


def both_ways(text: str, monkeypatch: pytest.MonkeyPatch, file: str = "m.json") -> list[str]:
    """:func:`outcome` with the quick readers, and with the located parsers alone."""
    quick = outcome(text, file)
    with monkeypatch.context() as patched:
        patched.setattr(QuickReader, "read", lambda *_: None)
        located = outcome(text, file)
    return [quick, located]


def documents_of(path: Path) -> list[dict[str, Any]]:
    found = []
    for document in yaml.safe_load_all(path.read_text()):
        if isinstance(document, dict) and isinstance(document.get("items"), list):
            found.extend(document["items"])
        elif document is not None:
            found.append(document)
    return found


def listed(*items: Any, indent: int | None = 4) -> str:
    """A ``kind: List`` as ``kubectl get -o json`` prints it (indent=None: on one line)."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}, indent=indent)


@pytest.mark.parametrize("path", MANIFESTS, ids=[path.parent.name for path in MANIFESTS])
def test_the_test_cases_load_the_same_with_and_without_the_quick_readers(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text()
    items = documents_of(path)
    for form in (text, listed(*items), listed(*items, indent=None)):
        quick, located = both_ways(form, monkeypatch)
        assert quick == located
        assert not quick.startswith("error")


@pytest.mark.parametrize(("text", "line", "path", "_"), [case[1:] for case in INVALID])
def test_a_document_the_api_server_rejects_is_left_to_the_located_parsers(
    text: str, line: int, path: str, _: str
) -> None:
    for value in yaml.safe_load_all(text):
        assert QuickReader().read(value, Location("bad.yaml"), None) is None


@pytest.mark.parametrize("text", WARNED.values(), ids=WARNED)
def test_a_document_that_needs_a_warning_is_left_to_the_located_parsers(text: str) -> None:
    (value,) = yaml.safe_load_all(text)
    assert QuickReader().read(value, Location("m.yaml"), None) is None


def mutations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every place in ``value`` (a key's value, a list's item, a key of its own added to a
    mapping), each with an odd value to put there."""
    if isinstance(value, dict):
        yield (*path, "unknownField"), 1
        for key, item in value.items():
            for odd in ODD_VALUES:
                yield (*path, key), odd
            yield from mutations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from mutations(item, (*path, index))


def mutated(document: dict[str, Any], path: tuple[Any, ...], odd: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    place: Any = changed
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = odd
    return changed


SAMPLE_DOCUMENTS = [
    document
    for path in MANIFESTS
    for document in documents_of(path)
    if document.get("kind") in ("Pod", "Namespace", "NetworkPolicy")
]


@pytest.mark.parametrize(
    "document", SAMPLE_DOCUMENTS, ids=[d["metadata"]["name"] for d in SAMPLE_DOCUMENTS]
)
def test_every_mutated_value_loads_the_same_with_and_without_the_quick_readers(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for path, odd in mutations(document):
        changed = mutated(document, path, odd)
        for form in (listed({"apiVersion": "v1", "kind": "Namespace"}, changed), listed(changed)):
            quick, located = both_ways(form, monkeypatch)
            assert quick == located, (path, odd)


def big_cluster(pods: int) -> list[dict[str, Any]]:
    """Pods of the shape ``kubectl get pods -o json`` prints, and a policy per ten."""
    items: list[dict[str, Any]] = []
    for number in range(pods):
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"pod-{number}",
                    "namespace": f"ns{number % 7}",
                    "labels": {"app": f"app{number % 5}", "pod-template-hash": f"h{number}"},
                    "annotations": {"note": "{not: [json]}"},
                },
                "spec": {
                    "containers": [
                        {"name": "main", "ports": [{"name": "http", "containerPort": 8080}]}
                    ]
                },
                "status": {"phase": "Running", "podIP": f"10.0.{number // 250}.{number % 250}"},
            }
        )
        if number % 10 == 0:
            items.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": f"np-{number}", "namespace": f"ns{number % 7}"},
                    "spec": {
                        "podSelector": {"matchLabels": {"app": "app1"}},
                        "ingress": [
                            {
                                "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                                "ports": [{"port": 8080, "endPort": 8090}],
                            }
                        ],
                    },
                }
            )
    return items


@pytest.mark.parametrize("indent", [4, None], ids=["kubectl", "one-line"])
@pytest.mark.parametrize(
    ("where", "odd"),
    [
        pytest.param(("spec", "containers", 0, "ports", 0, "name"), "HTTP", id="pod-port-name"),
        pytest.param(("metadata", "labels", "app"), "not ok", id="pod-label"),
        pytest.param(("status", "podIP"), "10.0.0.300", id="pod-ip"),
        pytest.param(("spec", "ingress", 0, "ports", 0, "endPort"), 80, id="policy-end-port"),
        pytest.param(("spec", "ingress", 0, "from", 0, "ipBlock", "cidr"), "10/8", id="cidr"),
    ],
)
def test_an_error_deep_in_a_large_json_dump_is_located_as_the_yaml_reader_locates_it(
    where: tuple[Any, ...], odd: Any, indent: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = big_cluster(1000)
    kind = "NetworkPolicy" if where[:2] == ("spec", "ingress") else "Pod"
    target = [index for index, item in enumerate(items) if item["kind"] == kind][-2]
    items[target] = mutated(items[target], where, odd)
    text = listed(*items, indent=indent)
    assert documents.read_json(text, "big.json") is not None  # read as JSON, not YAML
    with pytest.raises(LocatedError) as fast:
        parse_objects(parse_yaml_documents(text, "big.json"), lambda _: None)
    with monkeypatch.context() as patched:
        patched.setattr(documents, "read_json", lambda *_: None)  # every value located
        with pytest.raises(LocatedError) as located:
            parse_objects(parse_yaml_documents(text, "big.json"), lambda _: None)
    assert str(fast.value) == str(located.value)
    path = f"items[{target}]." + ".".join(
        f"{step}" if isinstance(step, str) else f"[{step}]" for step in where
    ).replace(".[", "[")
    assert fast.value.location.path == path
    line = fast.value.location.line
    assert line is not None
    if indent is None:
        assert line == 1
    else:
        assert json.dumps(odd) in text.splitlines()[line - 1]
