from pathlib import Path

import pytest

from netprobe.documents import load_yaml_documents, parse_yaml_documents
from netprobe.errors import InputError, LocatedError


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
    with pytest.raises(LocatedError, match="nested too deeply") as caught:
        parse_yaml_documents("a: " + "[" * 5000 + "]" * 5000, "deep.yaml")
    assert caught.value.location.file == "deep.yaml"
