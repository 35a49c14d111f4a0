"""The shipped JSON Schema accepts every example suite and rejects what it can see."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from netprobe.suite.schema import load_schema

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "suites").rglob("*.netprobe.yaml"))


def validator() -> Any:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_suite_matches_the_schema(path: Path) -> None:
    errors = list(validator().iter_errors(yaml.safe_load(path.read_text())))
    assert errors == []


@pytest.mark.parametrize(
    "name",
    ["unknown-top-key", "missing-pods", "allow-and-deny", "unknown-setting", "unknown-entry-key"],
)
def test_the_schema_rejects_structural_mistakes(name: str) -> None:
    document = yaml.safe_load((ROOT / "tests" / "bad_suites" / f"{name}.yaml").read_text())
    assert list(validator().iter_errors(document))
