"""The JSON Schema of the suite format, shipped in the package (``schema.json``).

Editors use it to complete and check suites as they are typed (yaml-language-server:
``# yaml-language-server: $schema=<path to schema.json>``). netprobe's own loader does not
depend on it: it checks more than a schema can, with better messages.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def load_schema() -> dict[str, Any]:
    """The suite schema as a mapping."""
    text = files("netprobe.suite").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
