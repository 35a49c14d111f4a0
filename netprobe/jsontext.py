"""JSON text -> the values :mod:`netprobe.yamltext` builds, with the same lines, read fast.

``kubectl get ... -o json`` is the usual form of a large cluster dump. Python's json module
(C) decodes it several times faster than libyaml's events can be read, but it says nowhere
where a value was. The lines come from a second pass: one regular expression lists every
token that starts a value or a key, and newlines, in text order (JSON strings hold no raw
line break), which is the order a pre-order walk of the decoded value visits them.

Kubernetes reads a file as JSON when it starts with ``{`` after white space
(k8s.io/apimachinery pkg/util/yaml/decoder.go, ``ToJSON`` and ``hasJSONPrefix``); numbers
then read as JSON's (``1e3`` is a number, where YAML 1.1 reads it as text). Anything
Python's json module rejects, and anything whose lines YAML would count otherwise, is left
to the YAML reader, which locates what is wrong, as are a duplicate key and nesting deeper
than :data:`~netprobe.yamltext.MAX_DEPTH`: every located error has one home.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from itertools import accumulate, compress
from typing import Any, NoReturn

from netprobe.yamltext import MAX_DEPTH, YamlList, YamlMap

_TOKENS = re.compile(r'(\n)|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|[\[{]|[-0-9tfn][^\s,\]}]*').findall
"""Newlines (as themselves) and, as empty strings, what starts a value or a key: a string,
an array's or object's opening, a number, true, false or null."""
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
"""What YAML also counts as a line break (JSON allows the last three raw inside strings)."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Unread(Exception):
    """Nesting too deep, which the YAML reader is to find and locate."""


def read_json(text: str, file: str) -> list[tuple[Any, int]] | None:
    """The one document of ``text`` with its line, as
    :func:`~netprobe.yamltext.read_documents` returns it; None when ``text`` is not JSON
    that this reader reads exactly, or holds an error (the YAML reader then reads it and
    locates the error)."""
    if text.lstrip()[:1] not in ("{", "[") or any(mark in text for mark in _OTHER_BREAKS):
        return None
    try:
        value = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):  # not JSON, or an integer of too many digits
        return None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        return None
    breaks = [token == "\n" for token in _TOKENS(text)]
    lines = compress(accumulate(breaks, initial=1), map(operator.not_, breaks))
    line = next(lines)
    try:
        if value.__class__ is dict or value.__class__ is list:
            value = _collection(value, line, 0, lines.__next__)
    except _Unread:
        return None
    if next(lines, None) is not None:  # a duplicate key dropped members json decoded
        return None
    return [(value, line)]


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")  # NaN, Infinity: Python's extension


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _collection(
    decoded: dict[str, Any] | list[Any], line: int, depth: int, next_line: Callable[[], int]
) -> YamlMap | YamlList:
    """``decoded`` as a YamlMap or YamlList, taking each token's line in text order."""
    if depth == MAX_DEPTH:
        raise _Unread
    if decoded.__class__ is dict:
        mapping = YamlMap(decoded)
        mapping.line = line
        key_lines: dict[Any, int] = {}
        mapping.key_lines = key_lines
        for key, item in decoded.items():
            key_lines[key] = next_line()
            item_line = next_line()
            if item.__class__ is dict or item.__class__ is list:
                mapping[key] = _collection(item, item_line, depth + 1, next_line)
        return mapping
    sequence = YamlList()
    sequence.line = line
    item_lines: list[int] = []
    sequence.item_lines = item_lines
    for item in decoded:
        item_line = next_line()
        item_lines.append(item_line)
        if item.__class__ is dict or item.__class__ is list:
            item = _collection(item, item_line, depth + 1, next_line)
        sequence.append(item)
    return sequence
