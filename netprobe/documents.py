"""User files as :class:`Field` values: typed access to what :mod:`netprobe.yamltext` read
from YAML and JSON, failing with located errors.

Both the manifest loader and the suite loader parse user files through :class:`Field`, so
that every complaint names file, line and field path in the same way. Nothing here knows
about Kubernetes or suites.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from netprobe.errors import InputError, LocatedError, Location
from netprobe.jsontext import JsonObject, read_json
from netprobe.yamltext import MAX_FILE_BYTES, YamlList, YamlMap, read_documents, shown


def _line_of(value: Any, default: int | None) -> int | None:
    return getattr(value, "line", default)


@dataclass(frozen=True, slots=True)
class Field:
    """A value read from a user file together with where it was read.

    The ``as_*`` accessors return the value in the wanted type or raise a
    :class:`LocatedError` that says what was expected and what was found.
    """

    value: Any
    location: Location

    # -- navigation -------------------------------------------------------------------
    def get(self, key: str) -> Field | None:
        """The field ``key`` of this mapping, or None when absent (or null)."""
        mapping = self.as_map()
        if key not in mapping or mapping[key] is None:
            return None
        return self._child(key)

    def require(self, key: str) -> Field:
        """The field ``key`` of this mapping; a located error when it is missing."""
        found = self.get(key)
        if found is None:
            self.fail(f"'{key}' is required")
        return found

    def has(self, key: str) -> bool:
        """Whether ``key`` is present, even with a null value."""
        return key in self.as_map()

    def items(self) -> Iterator[tuple[str, Field]]:
        """The key and field of each entry of this mapping; keys must be strings."""
        for key in self.as_map():
            child = self._child(key)
            if not isinstance(key, str):
                child.fail(f"keys must be strings, not {type_name(key)} {key!r}")
            yield key, child

    def elements(self) -> list[Field]:
        """The fields of this sequence."""
        seq = self.as_list_value()
        lines = getattr(seq, "item_lines", None)
        return [
            Field(
                item,
                self.location.child(index, _line_of(item, lines[index] if lines else None)),
            )
            for index, item in enumerate(seq)
        ]

    def _child(self, key: Any) -> Field:
        mapping = self.as_map()
        key_lines = getattr(mapping, "key_lines", {})
        line = key_lines.get(key, _line_of(mapping[key], None))
        return Field(mapping[key], self.location.child(str(key), line))

    # -- typed access -----------------------------------------------------------------
    def as_map(self) -> dict[Any, Any]:
        """The mapping, which knows the line of each key (a JSON object finds them now)."""
        if not isinstance(self.value, dict):
            self.fail(f"expected a mapping, got {describe(self.value)}")
        if self.value.__class__ is JsonObject:
            return self.value.located()
        return self.value

    def as_list_value(self) -> list[Any]:
        if not isinstance(self.value, list):
            self.fail(f"expected a list, got {describe(self.value)}")
        return self.value

    def as_str(self) -> str:
        if not isinstance(self.value, str):
            self.fail(f"expected a string, got {describe(self.value)}")
        return self.value

    def as_int(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail(f"expected an integer, got {describe(self.value)}")
        return self.value

    def as_number(self) -> float:
        """The number as a float; an integer too large for one is infinite, as 1e400 is."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            self.fail(f"expected a number, got {describe(self.value)}")
        try:
            return float(self.value)
        except OverflowError:
            return math.inf if self.value > 0 else -math.inf

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"expected true or false, got {describe(self.value)}")
        return self.value

    def as_str_map(self) -> dict[str, str]:
        """A mapping of strings to strings, as labels are."""
        result = {}
        for key, child in self.items():
            result[key] = child.as_str()
        return result

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Fail on the first key that is not in ``allowed``, suggesting the closest one."""
        allowed = list(allowed)
        if all(isinstance(key, str) and key in allowed for key in self.as_map()):
            return  # the common case, without building a field per key
        for key, child in self.items():
            if key not in allowed:
                child.fail(f"unknown field '{key}'", hint=suggest(key, allowed))

    def fail(self, message: str, hint: str | None = None) -> NoReturn:
        raise LocatedError(self.location, message, hint)


def plain(value: Any, copies: dict[int, Any] | None = None) -> Any:
    """A deep copy made of plain dicts, lists and scalars: no line-keeping subclasses, no
    other mappings, no tuples (what ``yaml.safe_dump`` and an API server accept).

    A node YAML shares through an alias is copied once and stays shared: copying each use
    apart would grow exponentially on a "billion laughs" document.
    """
    if not isinstance(value, Mapping | list | tuple):
        return value
    copies = {} if copies is None else copies
    done = copies.get(id(value))
    if done is not None:
        return done
    copy: Any
    if isinstance(value, Mapping):
        copy = copies[id(value)] = {}
        copy.update((key, plain(item, copies)) for key, item in value.items())
    else:
        copy = copies[id(value)] = []
        copy.extend(plain(item, copies) for item in value)
    return copy


def plain_shared(value: Any) -> Any:
    """:func:`plain`, sharing what is plain already, for a value kept to be read only (a
    policy's manifest): a JSON object's values are the json module's own, plain dicts and
    lists that nothing changes, so of it only its own mapping is copied."""
    if value.__class__ is JsonObject:
        return dict(value)
    return plain(value)


def type_name(value: Any) -> str:
    return {
        dict: "mapping",
        YamlMap: "mapping",
        JsonObject: "mapping",
        list: "list",
        YamlList: "list",
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def describe(value: Any) -> str:
    """A short description of a value for error messages: its type and, if short, itself."""
    if isinstance(value, dict | list) or value is None:
        return type_name(value)
    return f"{type_name(value)} {shown(value)}"


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """'did you mean ...?' for the closest choice, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def parse_yaml_documents(text: str, file: str) -> list[Field]:
    """Parse every YAML (or JSON) document of ``text``; empty documents are dropped.

    Each returned field's location names ``file``, the document's first line and, when the
    text holds several documents, the document index.
    """
    raw = read_json(text, file) or read_documents(text, file)
    several = len(raw) > 1
    return [
        Field(doc, Location(file, _line_of(doc, line), "", index if several else None))
        for index, (doc, line) in enumerate(raw)
        if doc is not None
    ]


STDIN = Path("-")
"""The path that names standard input, as ``kubectl apply -f -`` does (k8s.io/cli-runtime
pkg/resource/builder.go, ``FilenameParam`` and ``Stdin``). kubectl refuses a second ``-f -``
(``StdinMultiUseError``); here it is read once and each naming gets the same text, so
``diff -f - --before - --after -`` can take one stream."""
STDIN_NAME = "<stdin>"
"""What locations in standard input's text name as their file."""


def read_text(path: Path) -> str:
    """A file's text (line breaks as ``\\n``), or an InputError that says why it cannot be
    read; a file larger than :data:`MAX_FILE_BYTES` is not read at all. :data:`STDIN` is
    standard input, read once however often it is named."""
    if path == STDIN:
        return _stdin_text()
    too_large = _too_large(str(path))
    try:
        with path.open("rb") as stream:
            status = os.fstat(stream.fileno())
            if status.st_size > MAX_FILE_BYTES:
                raise too_large
            data = stream.read() if stat.S_ISREG(status.st_mode) else _read_at_most(stream)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return _decoded(data, str(path))


@functools.cache
def _stdin_text() -> str:
    try:
        data = _read_at_most(sys.stdin.buffer)
    except OSError as exc:
        raise InputError(f"{STDIN_NAME}: cannot read: {exc.strerror}") from None
    return _decoded(data, STDIN_NAME)


def _too_large(name: str) -> InputError:
    return InputError(
        f"{name}: larger than {MAX_FILE_BYTES >> 30} GiB, the most netprobe reads "
        "(split it into several files)"
    )


def _decoded(data: bytes, name: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _read_at_most(stream: BinaryIO) -> bytes:
    """Up to one byte more than :data:`MAX_FILE_BYTES` of a pipe or device (no size known)."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_FILE_BYTES and (chunk := stream.read(1 << 20)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def load_yaml_documents(path: Path) -> list[Field]:
    """Read ``path`` and parse its documents (see :func:`parse_yaml_documents`)."""
    return parse_yaml_documents(read_text(path), STDIN_NAME if path == STDIN else str(path))
