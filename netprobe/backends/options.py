"""A backend's options, declared once, as fields of its frozen options dataclass.

A field made with :func:`option` or :func:`switch` carries its help and its parser; the
front ends read the declarations (``netprobe run`` and ``netprobe cleanup`` make flags of
them, the pytest plugin takes them as ``--netprobe-option NAME=VALUE``) and hand the texts
to :func:`build`, so every front end spells, parses and checks an option the same way.
Backends never see argparse or pytest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from netprobe.errors import InputError

_KEY = "netprobe.option"

OptionsT = TypeVar("OptionsT")


def non_empty(value: str) -> str:
    """Any text but an empty one (the default parser)."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    """The field; ``--name-with-dashes`` on the command line."""
    help: str
    parse: Callable[[str], Any] = non_empty
    """Text to value; ValueError with what is wrong (the flag is put before it)."""
    metavar: str | None = None
    switch: bool = False
    """Present means true; takes no value."""
    commands: frozenset[str] = frozenset({"run", "cleanup"})
    """The commands that take it."""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def option(
    default: Any,
    help: str,
    *,
    parse: Callable[[str], Any] = non_empty,
    metavar: str | None = None,
    commands: tuple[str, ...] = ("run", "cleanup"),
) -> Any:
    """A dataclass field that is also a command-line option."""
    spec = {"help": help, "parse": parse, "metavar": metavar, "commands": frozenset(commands)}
    return field(default=default, metadata={_KEY: spec})


def switch(help: str, *, commands: tuple[str, ...] = ("run",)) -> Any:
    """A boolean field that is also an option without a value."""
    spec = {"help": help, "switch": True, "commands": frozenset(commands)}
    return field(default=False, metadata={_KEY: spec})


def declared(options: type[Any], command: str | None = None) -> tuple[Option, ...]:
    """The options ``options`` declares (those ``command`` takes, when given)."""
    found = (Option(f.name, **f.metadata[_KEY]) for f in fields(options) if _KEY in f.metadata)
    return tuple(o for o in found if command is None or command in o.commands)


def build(options: type[OptionsT], given: Mapping[str, str | bool]) -> OptionsT:
    """``options`` with the ``given`` texts (by field name) parsed; the rest default.

    Raises:
        InputError: a name ``options`` does not declare, or a text its parser refuses.
    """
    known = {o.name: o for o in declared(options)}
    values: dict[str, Any] = {}
    for name, value in given.items():
        spec = known.get(name)
        if spec is None:
            choices = ", ".join(sorted(o.flag[2:] for o in known.values())) or "none"
            shown = name.replace("_", "-")
            raise InputError(f"unknown option '{shown}' (this backend takes: {choices})")
        if isinstance(value, bool):
            if not spec.switch:
                raise InputError(f"{spec.flag} needs a value")
            values[name] = value
        elif spec.switch:
            values[name] = _truth(spec, value)
        else:
            try:
                values[name] = spec.parse(value)
            except ValueError as exc:
                raise InputError(f"{spec.flag} {exc}") from None
    return options(**values)


def _truth(spec: Option, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise InputError(f"{spec.flag} is a switch: true or false, got {text!r}")


def positive_seconds(text: str) -> float:
    value = _number(text)
    if not 0 < value < math.inf:  # nan compares false too
        raise ValueError(f"must be a positive number of seconds, got {value:g}")
    return value


def seconds_or_zero(text: str) -> float:
    value = _number(text)
    if not 0 <= value < math.inf:
        raise ValueError(f"must be 0 or more, got {value:g}")
    return value


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"{text}: no such file")
    return path


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"must be a number of seconds, got {text!r}") from None
