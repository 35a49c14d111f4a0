"""apimachinery's ``field.Error`` and ``errors.NewInvalid``, as the wire shows them: the
causes of a 422 and the message that sums them up.

Mirrors ``staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go``
(``Error.Error``, ``Error.ErrorBody``, ``ErrorType.String``, the ``Invalid``/``Required``/...
constructors, ``ErrorList.ToAggregate``) and ``staging/src/k8s.io/apimachinery/pkg/api/errors/
errors.go`` (``NewInvalid``), Kubernetes 1.34. Pure: no IO, no HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
NOT_FOUND = "FieldValueNotFound"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"

_TYPE_TEXT = {
    NOT_FOUND: "Not found",
    REQUIRED: "Required value",
    DUPLICATE: "Duplicate value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
}
"""``ErrorType.String``."""

_NO_VALUE = frozenset({REQUIRED, FORBIDDEN, TOO_LONG})
"""``ErrorBody`` prints only the type for these: the bad value never shows."""

QUALIFIED_KINDS = {
    "Namespace": "Namespace",
    "Pod": "Pod",
    "NetworkPolicy": "NetworkPolicy.networking.k8s.io",
    "Lease": "Lease.coordination.k8s.io",
}
"""``schema.GroupKind.String``: ``Kind`` for the core group, ``Kind.group`` otherwise."""


@dataclass(frozen=True, slots=True)
class Cause:
    """One ``metav1.StatusCause`` of a 422, built from a ``field.Error`` by ``NewInvalid``."""

    reason: str
    """``StatusCause.Type`` (JSON ``reason``): ``FieldValueInvalid``, ``FieldValueRequired``..."""
    message: str
    """``field.Error.ErrorBody()``: ``Invalid value: "Foo_bar": a lowercase RFC 1123 ...``."""
    field: str
    """``field.Error.Field``: ``metadata.name``, ``spec.ingress[0].ports[0].port``."""

    def __str__(self) -> str:
        """``field.Error.Error()``: the field, a colon, the body."""
        return f"{self.field}: {self.message}"

    def as_status_cause(self) -> dict[str, str]:
        """The cause as it appears in ``Status.details.causes``."""
        return {"reason": self.reason, "message": self.message, "field": self.field}


def go_quote(text: str) -> str:
    """Go's ``%q`` for the strings validation reports (``strconv.Quote``)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def render(value: Any) -> str:
    """How ``ErrorBody`` prints a bad value: simple numbers and booleans with ``%v``, strings
    with ``%q``, anything else through ``json.Marshal`` (so a pointer prints its target and a
    nil prints ``null``); JSON replaced Go's ``%#v`` for composite values in 1.34
    (kubernetes/kubernetes#132314)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def body(reason: str, value: Any, detail: str) -> str:
    """``field.Error.ErrorBody()``."""
    text = _TYPE_TEXT[reason]
    if reason not in _NO_VALUE:
        text = f"{text}: {render(value)}"
    return f"{text}: {detail}" if detail else text


def invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause(INVALID, body(INVALID, value, detail), field)


def required(field: str, detail: str = "") -> Cause:
    return Cause(REQUIRED, body(REQUIRED, "", detail), field)


def duplicate(field: str, value: Any) -> Cause:
    return Cause(DUPLICATE, body(DUPLICATE, value, ""), field)


def not_found(field: str, value: Any) -> Cause:
    return Cause(NOT_FOUND, body(NOT_FOUND, value, ""), field)


def forbidden(field: str, detail: str) -> Cause:
    return Cause(FORBIDDEN, body(FORBIDDEN, "", detail), field)


def not_supported(field: str, value: Any, valid: Sequence[str]) -> Cause:
    """``field.NotSupported``: the valid values, each ``strconv.Quote``d, in the order given."""
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return Cause(NOT_SUPPORTED, body(NOT_SUPPORTED, value, detail), field)


def too_long(field: str, max_bytes: int) -> Cause:
    """``field.TooLong``: "may not be more than N bytes" (the value never shows), the wording
    since kubernetes/kubernetes#128553 (1.33; a 2025 server quoted in patroni/patroni#3483:
    "Too long: may not be more than 262144 bytes"). Older servers said "must have at most"."""
    unit = "byte" if max_bytes == 1 else "bytes"
    return Cause(TOO_LONG, body(TOO_LONG, "", f"may not be more than {max_bytes} {unit}"), field)


def aggregate(causes: Iterable[Cause]) -> str:
    """``ErrorList.ToAggregate().Error()``: duplicates dropped, one error bare, several in
    brackets joined by ", "."""
    seen: list[str] = []
    for cause in causes:
        text = str(cause)
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def status_message(kind: str, name: str, causes: Sequence[Cause]) -> str:
    """The message of the 422 ``errors.NewInvalid`` returns: ``Pod "x" is invalid: ...``."""
    head = f"{QUALIFIED_KINDS.get(kind, kind)} {go_quote(name)} is invalid"
    return f"{head}: {aggregate(causes)}" if causes else head


def invalid_status(kind: str, name: str, causes: Sequence[Cause]) -> dict[str, Any]:
    """The whole ``metav1.Status`` body of that 422 (``NewInvalid``)."""
    qualified = QUALIFIED_KINDS.get(kind, kind)
    group = qualified.partition(".")[2]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": status_message(kind, name, causes),
        "reason": "Invalid",
        "details": {
            "name": name,
            **({"group": group} if group else {}),
            "kind": kind,
            "causes": [c.as_status_cause() for c in causes],
        },
        "code": 422,
    }
