import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from netprobe.documents import load_yaml_documents, parse_yaml_documents
from netprobe.errors import InputError, LocatedError

# Every test here runs through libyaml's parser and through the pure-Python one.
pytestmark = pytest.mark.usefixtures("yaml_parser")


def test_fields_know_their_file_line_and_path() -> None:
    docs = parse_yaml_documents("a: 1\nb:\n  - x\n  - {c: 2}\n---\nz: 3\n", "f.yaml")
    c = docs[0].require("b").elements()[1].require("c")
    assert str(c.location) == "f.yaml:4 (document 1) b[1].c"
    assert str(docs[1].location) == "f.yaml:6 (document 2)"


def test_wrong_type_names_the_field_and_what_was_found() -> None:
    (doc,) = parse_yaml_documents("spec:\n  port: eighty\n", "p.yaml")
    expected = r"p.yaml:2 spec.port: expected an integer, got string 'eighty'"
    with pytest.raises(LocatedError, match=expected):
        doc.require("spec").require("port").as_int()


def test_unknown_key_suggests_the_closest_known_one() -> None:
    (doc,) = parse_yaml_documents("podSelektor: {}\n", "p.yaml")
    expected = r"unknown field 'podSelektor' \(did you mean 'podSelector'\?\)"
    with pytest.raises(LocatedError, match=expected):
        doc.check_keys(["podSelector", "ingress"])


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [("a: [1,\n", 2, "YAML syntax error"), ("a: 1\na: 2\n", 2, "duplicate key 'a'")],
)
def test_yaml_errors_are_located(text: str, line: int, problem: str) -> None:
    with pytest.raises(LocatedError) as info:
        parse_yaml_documents(text, "bad.yaml")
    assert info.value.location.line == line
    assert problem in str(info.value)


def test_empty_documents_are_dropped() -> None:
    assert parse_yaml_documents("---\n---\n", "e.yaml") == []


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_yaml_documents(tmp_path / "nope.yaml")


def test_yaml_nested_beyond_reason_is_an_input_error_not_a_crash() -> None:
    with pytest.raises(LocatedError, match="nested deeper than 100 levels") as caught:
        parse_yaml_documents("a: " + "[" * 5000 + "]" * 5000, "deep.yaml")
    assert caught.value.location.file == "deep.yaml"


@pytest.mark.parametrize(
    "value",
    [
        "!!float nginx",
        "!!int abc",
        "!!int ''",
        "!!bool maybe",
        "!!null x",
        "!!timestamp x",
        "!!timestamp 2024-02-30",
        "!!set x",
        "!!seq x",
        "!!map x",
        "!!str {a: 1}",
        "!!int [1]",
        "!!binary ==",
        "!nginx x",
        pytest.param("!!int " + "7" * 5000, id="!!int 7777..."),
        pytest.param("7" * 5000, id="7777..."),
    ],
)
def test_a_value_that_does_not_fit_its_tag_is_located_with_a_hint(value: str) -> None:
    text = f"name: web\nspec:\n  image: {value}\n"
    with pytest.raises(LocatedError) as caught:
        parse_yaml_documents(text, "t.yaml")
    assert str(caught.value).startswith("t.yaml:3: ")
    assert caught.value.hint


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("!!float 1", 1.0),
        ("!!int '7'", 7),
        ("!!bool yes", True),
        ("!!null ''", None),
        ("!!str 80", "80"),
        ("!!binary aGk=", b"hi"),
        ("=", "="),
    ],
)
def test_values_that_fit_their_tag_are_read(value: str, read: object) -> None:
    (doc,) = parse_yaml_documents(f"v: {value}\n", "t.yaml")
    assert doc.value == {"v": read}


def test_an_anchor_defined_again_names_the_new_value_from_there_on() -> None:
    (doc,) = parse_yaml_documents("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "t.yaml")
    assert doc.value == {"a": 1, "b": 1, "c": 2, "d": 2}


def test_a_long_hexadecimal_integer_is_read() -> None:
    (doc,) = parse_yaml_documents("v: 0x" + "f" * 5000 + "\n", "t.yaml")
    assert doc.value["v"] == 16**5000 - 1


@pytest.mark.parametrize(
    "date",
    ["2024-01-01", "2024-02-30", "2001-12-14t21:59:43.10-05:00", "2024-01-01 10:00:00"],
)
def test_unquoted_dates_are_strings_as_kubernetes_reads_them(date: str) -> None:
    (doc,) = parse_yaml_documents(
        f"metadata:\n  annotations: {{created: {date}}}\nwhen: !!timestamp 2024-01-01\n", "d.yaml"
    )
    assert doc.require("metadata").require("annotations").as_str_map() == {"created": date}
    assert doc.require("when").as_str() == "2024-01-01"


@pytest.mark.parametrize(
    ("text", "line", "character"),
    [
        ("a: 1\nb: x\x07\n", 2, "U+0007"),
        ("a: ééé\nb: ééé\n\nc: x\x00y\n", 4, "U+0000"),
        ('a: "\x1b"\n', 1, "U+001B"),
        ("a: 1\nb: 2\nc: \x7f\n", 3, "U+007F"),
    ],
)
def test_a_control_character_is_named_at_its_line(text: str, line: int, character: str) -> None:
    with pytest.raises(LocatedError) as caught:
        parse_yaml_documents(text, "c.yaml")
    assert str(caught.value).startswith(f"c.yaml:{line}: {character} ")
    assert "<unicode string>" not in str(caught.value)


def test_a_duplicate_key_in_a_huge_file_is_reported_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(LocatedError, match="duplicate key 'a'") as caught:
        parse_yaml_documents("a: 1\n" * 2_000_000, "big.yaml")
    assert caught.value.location.line == 2
    assert time.perf_counter() - started < 2  # composing the 10 MB first took 12 to 21 s


@pytest.mark.parametrize(
    "nested",
    [
        lambda depth: "a: " + "[" * (depth - 1) + "]" * (depth - 1),
        lambda depth: (
            "".join("  " * level + f"k{level}:\n" for level in range(depth)) + "  " * depth + "x"
        ),
    ],
    ids=["flow", "block"],
)
def test_nesting_is_limited_to_100_levels(nested: Callable[[int], str]) -> None:
    assert parse_yaml_documents(nested(100), "deep.yaml")
    with pytest.raises(LocatedError, match="nested deeper than 100 levels") as caught:
        parse_yaml_documents(nested(101), "deep.yaml")
    assert caught.value.location.file == "deep.yaml"
    assert caught.value.location.line is not None


def test_a_file_over_1_gib_is_refused_without_being_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as stream:
        stream.truncate((1 << 30) + 1)  # sparse: nothing is written
    with pytest.raises(InputError, match=r"huge\.yaml: larger than 1 GiB"):
        load_yaml_documents(huge)


def test_more_than_a_million_documents_in_a_file_are_refused() -> None:
    with pytest.raises(LocatedError, match="more than 1,000,000 YAML documents") as caught:
        parse_yaml_documents("---\n" * 1_000_001, "many.yaml")
    assert caught.value.location.line == 1_000_001


def test_merge_keys_fill_in_what_the_mapping_lacks_and_keep_lines() -> None:
    text = (
        "base: &base {app: web, tier: front}\n"
        "other: &other {tier: back, team: red}\n"
        "pod:\n"
        "  <<: [*base, *other]\n"
        "  app: api\n"
    )
    (doc,) = parse_yaml_documents(text, "m.yaml")
    pod = doc.require("pod")
    assert pod.value == {"app": "api", "tier": "front", "team": "red"}
    assert str(pod.require("app").location) == "m.yaml:5 pod.app"
    assert str(pod.require("team").location) == "m.yaml:2 pod.team"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("a: *nowhere\n", 1, "the alias *nowhere names no anchor before it"),
        ("a: &x\n  b: *x\n", 2, "the alias *x is inside its anchor"),
        ("a: 1\n<<: 5\n", 2, "a merge key '<<' takes a mapping or a list of mappings"),
        ("? [a]\n: 1\n", 1, "a mapping key must be a scalar"),
    ],
)
def test_aliases_merges_and_keys_that_cannot_be_read_are_located(
    text: str, line: int, problem: str
) -> None:
    with pytest.raises(LocatedError) as caught:
        parse_yaml_documents(text, "a.yaml")
    assert str(caught.value).startswith(f"a.yaml:{line}: {problem}")


def test_a_pipe_is_read_as_a_file(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_text, args=("a: 1\r\nb: [x]\n",))
    writer.start()
    (doc,) = load_yaml_documents(pipe)
    writer.join()
    assert str(doc.require("b").location) == f"{pipe}:2 b"
