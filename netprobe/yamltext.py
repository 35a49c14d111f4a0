"""YAML (and JSON) text -> values that remember their lines, read as Kubernetes reads them.

Values are built straight from libyaml's event stream, never from a composed node graph: a
duplicate key or a nesting beyond :data:`MAX_DEPTH` is reported as soon as it is read, and
memory holds only the values. Mappings and sequences remember their own line and the line of
each key and item. An anchor's value is shared by its aliases, never copied.

Scalars resolve as PyYAML's SafeLoader resolves them (YAML 1.1: ``yes`` is true, ``0x1f``
is 31, ``~`` is null), with one exception: timestamps stay the strings they were written
as. Kubernetes reads YAML through sigs.k8s.io/yaml, which decodes with go-yaml v2 into
``interface{}`` values; there a timestamp-looking scalar is kept as its text ("for backward
compatibility reasons we set it as a string", go-yaml v2 decode.go ``scalar()``; the
sigs.k8s.io/yaml goyaml.v2/decode_test.go case "implicit timestamp tag into interface" reads
``a: 2015-01-01`` as the string "2015-01-01", and its resolve.go resolves a date that
``time.Parse`` rejects, such as 2024-02-30, to a plain string). So an unquoted date is a
string here too, possible or not, and ``!!timestamp`` only checks that its value is one.

Explicit tags must fit their value: ``!!int abc`` is a located error, as it is for the API
server. Stricter than go-yaml, ``!!seq x`` (a collection tag on a scalar) and a tag YAML's
core schema does not define (``!custom``) are located errors too, asking to drop the tag.
"""

from __future__ import annotations

import binascii
import sys
from collections.abc import Callable
from typing import Any, cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from netprobe.errors import LocatedError, Location

try:  # libyaml's parser is ~5x faster; big manifests (5,000 pods) depend on it
    from yaml import _yaml

    _CParser: Any = _yaml.CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

use_libyaml = _CParser is not None
"""Whether YAML is read with libyaml's C parser rather than PyYAML's pure-Python one. Both
give the same events with the same marks (PyYAML's yaml/_yaml.pyx, ``CParser._event_to_object``,
builds each event's ``start_mark`` from libyaml's 0-based line and column, as
yaml/parser.py does from its scanner's), so they read every text to the same documents and
the same located errors; tests set this to False to check that."""

MAX_FILE_BYTES = 1 << 30
"""The largest file read (1 GiB); a dump of 150,000 pods is a few hundred MB."""
MAX_DOCUMENTS = 1_000_000
"""The most documents in one file, empty ones included."""
MAX_DEPTH = 100
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"
"""What the libyaml bundled with PyYAML 6.0.4's wheels says when its scanner, which reads a
flow collection ahead of the events, meets nesting beyond its own limit before this
reader has counted to MAX_DEPTH (6.0.3's says nothing and lets the events come)."""
"""The deepest nesting of mappings and sequences; Kubernetes objects need about 15."""


class YamlMap(dict[Any, Any]):
    """A mapping that remembers the line of itself and of each of its keys."""

    __slots__ = ("key_lines", "line")
    line: int
    key_lines: dict[Any, int]


class YamlList(list[Any]):
    """A sequence that remembers the line of itself and of each item."""

    __slots__ = ("item_lines", "line")
    line: int
    item_lines: list[int]


def read_documents(text: str, file: str) -> list[tuple[Any, int]]:
    """Each document of ``text`` (empty ones as None) with the line it starts at.

    Raises:
        LocatedError: naming ``file`` and the line, for anything that is not YAML, does not
            fit its tag, or exceeds a limit.
    """
    parser = None
    try:
        parser = _CParser(text) if use_libyaml and _CParser is not None else yaml.SafeLoader(text)
        return _documents(parser, file)
    except UnicodeEncodeError as exc:  # a lone surrogate, which no file can hold
        raise _bad_character(text, file, ord(text[exc.start])) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1 if mark else None)
        problem = exc.problem or exc.context or "invalid YAML"
        if problem == _LIBYAML_TOO_DEEP:
            raise too_deep(where) from None
        raise LocatedError(where, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:
        if isinstance(exc.character, int):
            raise _bad_character(text, file, exc.character) from None
        raise LocatedError(Location(file), f"not YAML text: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise LocatedError(Location(file), f"YAML syntax error: {exc}") from None
    finally:
        if parser is not None:
            parser.dispose()


def shown(value: Any) -> str:
    """``repr(value)`` for a message, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad_character(text: str, file: str, code: int) -> LocatedError:
    # The parser stops at the first character YAML forbids, so its first occurrence is it.
    line = text.count("\n", 0, max(text.find(chr(code)), 0)) + 1
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return LocatedError(
        Location(file, line),
        f"U+{code:04X} is not allowed in YAML",
        f'remove it; in a double-quoted string, write it as the escape "{escape}"',
    )


def too_deep(where: Location) -> LocatedError:
    return LocatedError(
        where, f"YAML nested deeper than {MAX_DEPTH} levels (no manifest or suite needs that)"
    )


def duplicate_key(where: Location, key: Any) -> LocatedError:
    return LocatedError(where, f"duplicate key {shown(key)}", "keep one of them")


def _documents(parser: Any, file: str) -> list[tuple[Any, int]]:
    get_event = parser.get_event
    get_event()  # StreamStartEvent
    documents: list[tuple[Any, int]] = []
    plain: dict[str, Any] = {}
    while (event := get_event()).__class__ is not StreamEndEvent:  # a DocumentStartEvent
        if len(documents) == MAX_DOCUMENTS:
            raise LocatedError(
                Location(file, event.start_mark.line + 1),
                f"more than {MAX_DOCUMENTS:,} YAML documents in one file",
                "split the file",
            )
        documents.append(_document(get_event, file, plain))
        get_event()  # DocumentEndEvent
    return documents


class _Open:
    """A mapping or sequence being read, with the key waiting for its value."""

    __slots__ = ("anchor", "key", "key_line", "merges", "value")

    def __init__(self, value: YamlMap | YamlList, anchor: str | None) -> None:
        self.value = value
        self.anchor = anchor
        self.key: Any = _NOTHING
        self.key_line = 0
        self.merges: list[YamlMap] | None = None


_NOTHING = object()
_MERGE_KEY = object()
_BEING_READ = object()


def _document(get_event: Callable[[], Any], file: str, plain: dict[str, Any]) -> tuple[Any, int]:
    """The value of one document, read from the event after its DocumentStartEvent.
    ``plain`` holds the value of each plain scalar read so far: its text alone says what it
    is, and the keys and values a file repeats are then read once, and kept once."""
    anchors: dict[str, Any] = {}
    stack: list[_Open] = []
    while True:
        event = get_event()
        kind = event.__class__
        line = event.start_mark.line + 1
        if kind is ScalarEvent:
            if event.tag is None and event.implicit[0]:
                value = plain.get(event.value, _NOTHING)
                if value is _NOTHING:
                    value = plain[event.value] = _scalar(event, file, line)
            else:
                value = _scalar(event, file, line)
            if event.anchor is not None:
                anchors[event.anchor] = value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(stack) == MAX_DEPTH:
                raise too_deep(Location(file, line))
            opened: YamlMap | YamlList
            if kind is MappingStartEvent:
                _check_collection_tag(event.tag, _MAPPING_TAGS, "mapping", file, line)
                opened = YamlMap()
                opened.key_lines = {}
            else:
                _check_collection_tag(event.tag, _SEQUENCE_TAGS, "sequence", file, line)
                opened = YamlList()
                opened.item_lines = []
            opened.line = line
            if event.anchor is not None:
                anchors[event.anchor] = _BEING_READ
            stack.append(_Open(opened, event.anchor))
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            done = stack.pop()
            value = (
                done.value
                if done.merges is None
                else _merged(cast(YamlMap, done.value), done.merges)
            )
            line = value.line
            if done.anchor is not None:
                anchors[done.anchor] = value
        else:  # AliasEvent
            value = anchors.get(event.anchor, _NOTHING)
            if value is _NOTHING or value is _BEING_READ:
                where = "names no anchor before it" if value is _NOTHING else "is inside its anchor"
                raise LocatedError(
                    Location(file, line),
                    f"the alias *{event.anchor} {where}",
                    f"define '&{event.anchor}' before using it, outside what uses it",
                )
        if not stack:
            return value, line
        top = stack[-1]
        into = top.value
        if into.__class__ is YamlList:
            into.append(value)
            into.item_lines.append(line)
        elif top.key is _NOTHING:
            if value.__class__ is YamlMap or value.__class__ is YamlList:
                raise LocatedError(
                    Location(file, line), "a mapping key must be a scalar", "write it as a string"
                )
            top.key = _MERGE_KEY if value == "<<" and _is_merge(event) else value
            top.key_line = line
        else:
            key = top.key
            top.key = _NOTHING
            if key is _MERGE_KEY:
                top.merges = (top.merges or []) + _merge_sources(value, file, line)
            elif key in into:
                raise duplicate_key(Location(file, top.key_line), key)
            else:
                into[key] = value
                into.key_lines[key] = top.key_line  # type: ignore[union-attr]


def _is_merge(event: Any) -> bool:
    return event.__class__ is ScalarEvent and (
        event.tag == _MERGE or (event.tag is None and event.implicit[0])
    )


def _merge_sources(value: Any, file: str, line: int) -> list[YamlMap]:
    if value.__class__ is YamlMap:
        return [value]
    if value.__class__ is YamlList and all(item.__class__ is YamlMap for item in value):
        return list(value)
    raise LocatedError(
        Location(file, line),
        "a merge key '<<' takes a mapping or a list of mappings",
        "quote '<<' to use it as an ordinary key",
    )


def _merged(own: YamlMap, sources: list[YamlMap]) -> YamlMap:
    """``own`` with the keys of each merged mapping it lacks; earlier sources win (YAML's
    merge key: the merged keys come first, as in PyYAML)."""
    result = YamlMap()
    result.line = own.line
    result.key_lines = {}
    for source in (*sources, own):
        for key, value in source.items():
            if source is own or key not in result:
                result[key] = value
                result.key_lines[key] = source.key_lines[key]
    return result


# -- scalars and tags ---------------------------------------------------------------------

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL = _CORE + "str", _CORE + "int", _CORE + "float", _CORE + "bool"
_NULL, _TIMESTAMP, _BINARY, _MERGE = (
    _CORE + "null",
    _CORE + "timestamp",
    _CORE + "binary",
    _CORE + "merge",
)
_MAPPING_TAGS = frozenset({_CORE + "map", _CORE + "set"})
_SEQUENCE_TAGS = frozenset({_CORE + "seq", _CORE + "omap", _CORE + "pairs"})
_IMPLICIT = Resolver.yaml_implicit_resolvers
_SAFE = SafeConstructor()
_INT_SYNTAX = next(regexp for tag, regexp in _IMPLICIT["1"] if tag == _INT)


class _Unfit(Exception):
    """A scalar its tag does not fit: the message and the hint of the located error."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _scalar(event: Any, file: str, line: int) -> Any:
    value: str = event.value
    tag = event.tag
    try:
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value  # quoted, or the non-specific tag '!'
            for resolved, regexp in _IMPLICIT.get(value[:1], ()):  # as Resolver.resolve does
                if regexp.match(value):
                    read = _IMPLICIT_READ.get(resolved)
                    return value if read is None else read(value)
            return value
        read = _EXPLICIT_READ.get(tag)
        if read is not None:
            return read(value)
    except _Unfit as unfit:
        raise LocatedError(Location(file, line), unfit.message, unfit.hint) from None
    raise _tag_error(tag, "a scalar", file, line)


def _check_collection_tag(
    tag: str | None, allowed: frozenset[str], kind: str, file: str, line: int
) -> None:
    if tag is not None and tag != "!" and tag not in allowed:
        raise _tag_error(tag, f"a {kind}", file, line)


def _tag_error(tag: str, kind: str, file: str, line: int) -> LocatedError:
    short = tag.replace(_CORE, "!!", 1)
    known = tag in _EXPLICIT_READ or tag in _MAPPING_TAGS or tag in _SEQUENCE_TAGS
    return LocatedError(
        Location(file, line),
        f"the tag {short} does not fit {kind}" if known else f"unknown YAML tag {short}",
        "drop the tag" + ("; quote the value to keep it a string" if kind == "a scalar" else ""),
    )


def _unfit(value: str, tag: str, what: str) -> _Unfit:
    return _Unfit(
        f"{shown(value)} is not {what}, as its tag {tag} says",
        "drop the tag; quote the value to keep it a string",
    )


def _int(value: str) -> int:
    try:
        return int(_SAFE.construct_yaml_int(ScalarNode(_INT, value)))
    except (ValueError, IndexError):
        if _INT_SYNTAX.match(value):  # an integer, with more digits than Python converts
            raise _Unfit(
                f"an integer of {sum(c.isdigit() for c in value):,} digits is longer than "
                f"the {sys.get_int_max_str_digits():,} digits netprobe reads",
                "quote it to keep it as text",
            ) from None
        raise _unfit(value, "!!int", "an integer") from None


def _float(value: str) -> float:
    try:
        return float(_SAFE.construct_yaml_float(ScalarNode(_FLOAT, value)))
    except (ValueError, IndexError):
        raise _unfit(value, "!!float", "a number") from None


def _bool(value: str) -> bool:
    read = _SAFE.bool_values.get(value.lower())
    if read is None:
        raise _unfit(value, "!!bool", "true or false")
    return bool(read)


def _null(value: str) -> None:
    if value not in ("", "~", "null", "Null", "NULL"):
        raise _unfit(value, "!!null", "null")


def _timestamp(value: str) -> str:
    try:
        if _SAFE.timestamp_regexp.match(value):
            _SAFE.construct_yaml_timestamp(ScalarNode(_TIMESTAMP, value))
            return value  # the text, as Kubernetes reads it (see the module's docstring)
    except (ValueError, OverflowError):
        pass
    raise _unfit(value, "!!timestamp", "a date or a time")


def _binary(value: str) -> bytes:
    try:
        return binascii.a2b_base64("".join(value.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        raise _unfit(value, "!!binary", "base64 data") from None


_IMPLICIT_READ: dict[str, Callable[[str], Any]] = {
    _INT: _int,
    _FLOAT: _float,
    _BOOL: _bool,
    _NULL: _null,
}
"""Plain scalars resolved to any other tag (timestamps, '<<', '=') stay strings."""
_EXPLICIT_READ: dict[str, Callable[[str], Any]] = {
    **_IMPLICIT_READ,
    _STR: str,
    _TIMESTAMP: _timestamp,
    _BINARY: _binary,
    _MERGE: str,
}
