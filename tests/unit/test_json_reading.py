"""JSON read by Python's json module gives what the YAML reader gives for the same text:
the same values, the same line for every key and item, and the same located errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netprobe import yamltext
from netprobe.documents import parse_yaml_documents
from netprobe.errors import LocatedError
from netprobe.jsontext import JsonObject, read_json
from netprobe.manifests import load_paths
from netprobe.yamltext import MAX_DEPTH

# The YAML reader these are compared with runs with libyaml's parser and the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")

CASES = sorted((Path(__file__).parents[1] / "cases").glob("*/manifests.yaml"))


def cluster(manifests: Path) -> dict[str, Any]:
    """A test case's manifests as one ``kind: List``, as ``kubectl get -o json`` prints it."""
    items = [doc for doc in yaml.safe_load_all(manifests.read_text()) if doc is not None]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def with_lines(value: Any) -> Any:
    """A value with the line of every mapping, key and item it holds, to compare (a JSON
    object is asked for its lines)."""
    if isinstance(value, JsonObject):
        value = value.located()
    if isinstance(value, dict):
        keyed = tuple((k, value.key_lines[k], with_lines(v)) for k, v in value.items())
        return ("map", value.line, keyed)
    if isinstance(value, list):
        return (
            "list",
            value.line,
            tuple(zip(value.item_lines, map(with_lines, value), strict=True)),
        )
    return (type(value).__name__, value)


def yaml_read(text: str) -> Any:
    return [(with_lines(doc), line) for doc, line in yamltext.read_documents(text, "f.json")]


def json_read(text: str) -> Any:
    read = read_json(text, "f.json")
    assert read is not None, "the JSON reader left this text to the YAML reader"
    return [(with_lines(doc), line) for doc, line in read]


@pytest.mark.parametrize("indent", [2, None, "\t", "    "], ids=["2", "one-line", "tab", "4"])
@pytest.mark.parametrize("manifests", CASES, ids=[path.parent.name for path in CASES])
def test_a_cluster_dump_reads_to_the_same_values_and_lines(
    manifests: Path, indent: int | str | None
) -> None:
    text = json.dumps(cluster(manifests), indent=indent)
    # PyYAML's pure-Python scanner takes no tab between flow tokens (libyaml does, as JSON
    # does); json.dumps escapes the tabs of strings, so spaces read the same elsewhere.
    assert json_read(text) == yaml_read(text.replace("\t", " "))


def test_a_yaml_cluster_and_its_json_dump_load_the_same_objects(tmp_path: Path) -> None:
    for manifests in CASES:
        dumped = tmp_path / f"{manifests.parent.name}.json"
        dumped.write_text(json.dumps(cluster(manifests), indent=2))
        assert load_paths([dumped], lambda _: None) == load_paths([manifests], lambda _: None)


BAD_POLICY = """{
  "apiVersion": "networking.k8s.io/v1",
  "kind": "NetworkPolicy",
  "metadata": {"name": "p", "namespace": "prod"},
  "spec": {
    "podSelector": {},
    "ingres": []
  }
}
"""


def test_a_field_error_in_json_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(BAD_POLICY)
    assert read_json(BAD_POLICY, str(path)) is not None
    with pytest.raises(LocatedError) as error:
        load_paths([path], lambda _: None)
    assert str(error.value).startswith(f"{path}:7 spec.ingres: unknown field 'ingres'")


LOCATED = {
    "duplicate key": ('{\n  "a": 1,\n  "b": {"c": [1, 2]},\n  "a": 2\n}\n', 4),
    "nested duplicate key": ('{"items": [\n  {"x": 1},\n  {"y": 1,\n   "y": 2}\n]}\n', 4),
    "too deep": ("[\n" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
    "trailing text": ('{"a": 1}\n{"b": 2}\n', 2),
    "huge integer": ('{"a":\n ' + "9" * 5000 + "}", 2),
}


@pytest.mark.parametrize(("text", "line"), LOCATED.values(), ids=LOCATED)
def test_an_error_in_json_is_located_as_the_yaml_reader_locates_it(text: str, line: int) -> None:
    with pytest.raises(LocatedError) as expected:
        yamltext.read_documents(text, "f.json")
    with pytest.raises(LocatedError) as error:
        parse_yaml_documents(text, "f.json")
    assert str(error.value) == str(expected.value)
    assert error.value.location.line == line


LEFT_TO_YAML = {
    "NaN": '{"a":\n NaN}',
    "trailing comma": '{"a": 1,\n}',
    "lone surrogate escape": '{\n"a": "\\ud800"}',
    "line separator in a string": '{\n"a": "x\u2028y",\n"b": 1}',
}


@pytest.mark.parametrize("text", LEFT_TO_YAML.values(), ids=LEFT_TO_YAML)
def test_text_that_is_not_plain_json_reads_as_the_yaml_reader_reads_it(text: str) -> None:
    assert read_json(text, "f.json") is None
    assert outcome(lambda: parse_yaml_documents(text, "f.json")[0].value) == outcome(
        lambda: yamltext.read_documents(text, "f.json")[0][0]
    )


def outcome(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except LocatedError as error:
        return str(error)


def test_json_numbers_read_as_json_numbers() -> None:
    (doc,) = parse_yaml_documents('{"a": 1e3, "b": 25, "c": 0.5}', "f.json")
    assert doc.value == {"a": 1000.0, "b": 25, "c": 0.5}  # YAML 1.1 reads 1e3 as text


def nested(height: int) -> str:
    """Objects and arrays nested ``height`` deep, strings with brackets, escaped quotes and
    backslashes inside."""
    text = '{"s": "]}[{\\"\\\\", "t": "\\\\"}'
    for level in range(height - 1):
        text = f'{{"k": {text}, "x": "[["}}' if level % 2 else f'["{{", {text}, []]'
    return text


@pytest.mark.parametrize("height", [1, 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 150])
def test_json_nested_up_to_the_limit_is_read_as_json_and_deeper_left_to_yaml(height: int) -> None:
    text = nested(height)
    read = read_json(text, "f.json")
    if height <= MAX_DEPTH:
        assert read is not None
        assert read[0][0] == json.loads(text)
    else:
        assert read is None
        with pytest.raises(LocatedError, match=f"nested deeper than {MAX_DEPTH} levels"):
            parse_yaml_documents(text, "f.json")
