"""JSON text -> the values :mod:`netprobe.yamltext` builds, with the same lines, read fast.

``kubectl get ... -o json`` is the usual form of a large cluster dump. Python's json module
(C) decodes it many times faster than libyaml's events can be read, but it says nowhere
where a value was. So the document and its arrays' elements are read one by one, each
decoded by the json module, their lines counted from their offsets; an element that is an
object (a cluster dump's items) is a :class:`JsonObject`, a plain mapping that finds the
lines of what it holds only when asked (:meth:`JsonObject.located`): a second pass over its
own text, where one regular expression lists every token that starts a value or a key, and
newlines, in text order (JSON strings hold no raw line break), which is the order a
pre-order walk of the decoded value visits them. Most items are read without their lines
being needed: only an error or a warning needs them.

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
from json.scanner import make_scanner
from typing import Any, NoReturn, cast

from netprobe.yamltext import MAX_DEPTH, YamlList, YamlMap

_TOKENS = re.compile(r'(\n)|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|[\[{]|[-0-9tfn][^\s,\]}]*').findall
"""Newlines (as themselves) and, as empty strings, what starts a value or a key: a string,
an array's or object's opening, a number, true, false or null."""
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
"""What YAML also counts as a line break (JSON allows the last three raw inside strings)."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SPACE = re.compile(r"[ \t\n]*").match
"""JSON's white space, less the carriage return that read_json leaves to YAML (it matches
the empty string too)."""
_STRUCTURE = {code: None for code in range(128) if chr(code) not in '[]{}"'}
"""str.translate's table keeping, of ASCII, only brackets and quotes (the rest of a JSON
text's characters are inside strings)."""
_STRING = re.compile(r'"[^"]*"')
_INNERMOST = re.compile(r"\[\]|\{\}")


def _after_space(text: str, at: int = 0) -> int:
    found = _SPACE(text, at)
    return found.end() if found else at


class _Unread(Exception):
    """A duplicate key, which the YAML reader is to find and locate."""


def read_json(text: str, file: str) -> list[tuple[Any, int]] | None:
    """The one document of ``text`` with its line, as
    :func:`~netprobe.yamltext.read_documents` returns it; None when ``text`` is not JSON
    that this reader reads exactly, or holds an error (the YAML reader then reads it and
    locates the error)."""
    if text.lstrip()[:1] not in ("{", "[") or any(mark in text for mark in _OTHER_BREAKS):
        return None
    if not _nested_at_most(text, MAX_DEPTH):  # (or not JSON at all, which is left too)
        return None
    try:
        document = _Reader(text).document()
    except (ValueError, _Unread):  # not JSON, an integer of too many digits
        return None
    escaped = "\\" in text
    if escaped and _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(document[0]):
        return None
    return [document]


class JsonObject(dict[str, Any]):
    """A JSON object as the json module decodes it (plain dicts and lists inside), with the
    line it starts on and its place in the text, to find every other line when asked."""

    __slots__ = ("_end", "_located", "_start", "_text", "line")

    def __init__(self, decoded: dict[str, Any], text: str, start: int, end: int, line: int):
        super().__init__(decoded)
        self.line = line
        self._text = text
        self._start = start
        self._end = end
        self._located: YamlMap | None = None

    def on_one_line(self) -> bool:
        """Whether the object is written on one line, which is then every value's line."""
        return self._text.count("\n", self._start, self._end) == 0

    def located(self) -> YamlMap:
        """The same object as a YamlMap that knows the line of everything inside it (made
        once, on the first call)."""
        if self._located is None:
            next_line = _token_lines(self._text, self._start, self._end, self.line)
            located = _collection(dict(self), self.line, next_line)
            assert isinstance(located, YamlMap)
            self._located = located
        return self._located


class _Reader:
    """Reads the document and the elements of its arrays one by one, counting lines."""

    def __init__(self, text: str) -> None:
        self.text = text
        decoder = json.JSONDecoder(object_pairs_hook=_without_duplicates, parse_constant=_not_json)
        self._scan = make_scanner(cast(Any, decoder))
        self.counted = 0
        self.line = 1

    def line_at(self, offset: int) -> int:
        """The line of ``offset``, which is never before the last one asked about."""
        self.line += self.text.count("\n", self.counted, offset)
        self.counted = offset
        return self.line

    def _decode(self, start: int) -> tuple[Any, int]:
        """The value at ``start`` and the offset after it."""
        try:
            decoded: tuple[Any, int] = self._scan(self.text, start)
        except StopIteration:
            raise ValueError("expected a value") from None
        return decoded

    def document(self) -> tuple[Any, int]:
        start = _after_space(self.text)
        line = self.line_at(start)
        value: YamlMap | YamlList
        if self.text[start] == "{":
            value, end = self._object(start, line)
        else:
            value, end = self._array(start, line)
        if _after_space(self.text, end) != len(self.text):
            raise ValueError("text after the document")
        return value, line

    def _object(self, start: int, line: int) -> tuple[YamlMap, int]:
        text = self.text
        mapping = YamlMap()
        mapping.line = line
        mapping.key_lines = {}
        at = _after_space(text, start + 1)
        if text.startswith("}", at):
            return mapping, at + 1
        while True:
            if not text.startswith('"', at):
                raise ValueError("expected a key")
            key_line = self.line_at(at)
            key, at = self._decode(at)
            at = _after_space(text, at)
            if not text.startswith(":", at):
                raise ValueError("expected ':'")
            at = _after_space(text, at + 1)
            value, at = self._member(at)
            if key in mapping:
                raise _Unread
            mapping[key] = value
            mapping.key_lines[key] = key_line
            at = _after_space(text, at)
            if text.startswith("}", at):
                return mapping, at + 1
            if not text.startswith(",", at):
                raise ValueError("expected ',' or '}'")
            at = _after_space(text, at + 1)

    def _array(self, start: int, line: int) -> tuple[YamlList, int]:
        text = self.text
        sequence = YamlList()
        sequence.line = line
        sequence.item_lines = []
        at = _after_space(text, start + 1)
        if text.startswith("]", at):
            return sequence, at + 1
        while True:
            item_line = self.line_at(at)
            decoded, end = self._decode(at)
            if decoded.__class__ is dict:
                decoded = JsonObject(decoded, text, at, end, item_line)
            elif decoded.__class__ is list:
                decoded = self._located(decoded, at, end, item_line)
            sequence.append(decoded)
            sequence.item_lines.append(item_line)
            at = _after_space(text, end)
            if text.startswith("]", at):
                return sequence, at + 1
            if not text.startswith(",", at):
                raise ValueError("expected ',' or ']'")
            at = _after_space(text, at + 1)

    def _member(self, start: int) -> tuple[Any, int]:
        """A member of the document's object: an array read element by element, any other
        value decoded whole (and located at once)."""
        line = self.line_at(start)
        if self.text.startswith("[", start):
            return self._array(start, line)
        decoded, end = self._decode(start)
        if decoded.__class__ is dict:
            decoded = self._located(decoded, start, end, line)
        return decoded, end

    def _located(self, decoded: Any, start: int, end: int, line: int) -> Any:
        return _collection(decoded, line, _token_lines(self.text, start, end, line))


def _token_lines(text: str, start: int, end: int, line: int) -> Callable[[], int]:
    """The line of each token after the first of the value ``text[start:end]``, which
    starts on ``line``, one by one. (White space between tokens is taken out first: JSON
    never separates two tokens by white space alone, and the regular expression is then
    twice as fast on indented text.)"""
    compact = text[start:end].replace(" ", "")
    if "\t" in compact:
        compact = compact.replace("\t", "")
    breaks = [token == "\n" for token in _TOKENS(compact)]
    lines = compress(accumulate(breaks, initial=line), map(operator.not_, breaks))
    next(lines)  # the value's own first token
    return lines.__next__


def _without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise _Unread
    return mapping


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")  # NaN, Infinity: Python's extension


def _nested_at_most(text: str, depth: int) -> bool:
    """Whether arrays and objects nest at most ``depth`` deep in ``text``, if it is JSON:
    its brackets outside strings, emptied of their innermost pairs ``depth`` times, are
    gone. (Escaped backslashes and quotes are dropped first, then every character but
    brackets and quotes, then the strings.)"""
    if "\\" in text:  # (looking for one character is many times faster than for two)
        text = text.replace("\\\\", "").replace('\\"', "")
    structure = text.translate(_STRUCTURE)
    # Most strings hold no bracket: dropping two quotes that touch keeps every bracket in
    # or out of a string as it was, and leaves few strings to remove one by one.
    brackets = _STRING.sub("", structure.replace('""', ""))
    # str.replace empties one or two levels at a time ('{[]}' goes at once), the regular
    # expression exactly one: the first bounds the depth cheaply, the second counts it.
    emptied = brackets
    if not emptied:
        return True
    for _ in range(depth // 2):
        emptied = emptied.replace("[]", "").replace("{}", "")
        if not emptied:
            return True
    for _ in range(depth):
        brackets = _INNERMOST.sub("", brackets)
        if not brackets:
            return True
    return False


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _collection(
    decoded: dict[str, Any] | list[Any], line: int, next_line: Callable[[], int]
) -> YamlMap | YamlList:
    """``decoded`` as a YamlMap or YamlList, taking each token's line in text order."""
    if decoded.__class__ is dict:
        mapping = YamlMap(decoded)
        mapping.line = line
        key_lines: dict[Any, int] = {}
        mapping.key_lines = key_lines
        for key, item in decoded.items():
            key_lines[key] = next_line()
            item_line = next_line()
            if item.__class__ is dict or item.__class__ is list:
                mapping[key] = _collection(item, item_line, next_line)
        return mapping
    sequence = YamlList()
    sequence.line = line
    item_lines: list[int] = []
    sequence.item_lines = item_lines
    for item in decoded:
        item_line = next_line()
        item_lines.append(item_line)
        if item.__class__ is dict or item.__class__ is list:
            item = _collection(item, item_line, next_line)
        sequence.append(item)
    return sequence
