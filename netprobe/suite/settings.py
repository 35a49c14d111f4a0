"""The ``settings:`` block of a suite and the ``skip:`` syntax shared by suites and entries.

Durations are seconds as numbers, or strings with a unit (``500ms``, ``2s``, ``1m``).
``skipFrom`` names shared skip files (one place for every suite, e.g. the CNIs' known
limitations in fixtures/cni-limitations.yaml): each holds a ``skip:`` list in the syntax of
``settings.skip``, and every rule there must name its backends and tags.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

from netprobe.documents import Field, load_yaml_documents
from netprobe.errors import LocatedError, Location
from netprobe.suite.model import Settings, Skip
from netprobe.suite.names import parse_tags
from netprobe.yamltext import shown

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
_LONGEST = 86400.0  # a day: longer is a typo, and clocks and timeouts overflow near infinity


def parse_settings(field: Field | None, base: Path | None = None) -> Settings:
    """``settings: {probeTimeout, settleInterval, settleTimeout, tags, skip, skipFrom}``;
    ``base`` anchors relative ``skipFrom`` paths (the suite's folder)."""
    if field is None:
        return Settings()
    field.check_keys(
        ["probeTimeout", "settleInterval", "settleTimeout", "tags", "skip", "skipFrom"]
    )
    timings = Settings().with_timings(
        probe_timeout=_duration(field.get("probeTimeout")),
        settle_interval=_duration(field.get("settleInterval")),
        settle_timeout=_duration(field.get("settleTimeout")),
    )
    if timings.settle_timeout < timings.probe_timeout:
        timeout_field = field.get("settleTimeout") or field.require("probeTimeout")
        timeout_field.fail(
            f"settleTimeout ({timings.settle_timeout:g}s) is shorter than probeTimeout "
            f"({timings.probe_timeout:g}s): no probe could be repeated"
        )
    tags_field = field.get("tags")
    skip_field = field.get("skip")
    skips = parse_skips(skip_field, allow_tags=True) if skip_field else ()
    from_field = field.get("skipFrom")
    if from_field is not None:
        skips = (*skips, *load_skip_files(from_field, base or Path.cwd()))
    return replace(timings, tags=parse_tags(tags_field) if tags_field else (), skips=skips)


def load_skip_files(field: Field, base: Path) -> tuple[Skip, ...]:
    """The rules of each file ``skipFrom`` names (a path or a list; relative to ``base``).

    A shared rule must be narrow: it names the backends (CNIs) and the tags it holds for,
    so that no file can silently skip whole suites."""
    return tuple(skip for _, skip in shared_skip_rules(field, base))


def shared_skip_rules(field: Field, base: Path) -> list[tuple[Field, Skip]]:
    """Each rule of the files ``skipFrom`` names, as written and as read (see
    :func:`load_skip_files`)."""
    items = field.elements() if isinstance(field.value, list) else [field]
    rules: list[tuple[Field, Skip]] = []
    for item in items:
        text = item.as_str().strip()
        path = Path(text) if Path(text).is_absolute() else base / text
        if not path.is_file():
            item.fail(
                f"no such skip file '{text}' (looked for {path})",
                hint="skipFrom paths are relative to the suite file",
            )
        documents = load_yaml_documents(path)
        if len(documents) != 1:
            raise LocatedError(
                Location(str(path), 1), "a skip file holds one YAML document with a 'skip:' list"
            )
        root = documents[0]
        if not isinstance(root.value, dict):
            root.fail("a skip file is a mapping with a 'skip:' list", hint="skip: [{reason: ...}]")
        root.check_keys(["description", "skip"])
        skip_field = root.require("skip")
        for rule, rule_field in zip(
            parse_skips(skip_field, allow_tags=True), _rule_fields(skip_field), strict=True
        ):
            if not rule.backends or not rule.tags:
                rule_field.fail(
                    "a shared skip rule names the backends (CNIs) and the tags it holds for",
                    hint="e.g. {reason: ..., backends: [cilium], tags: [sctp]}",
                )
            rules.append((rule_field, rule))
    return rules


def _rule_fields(field: Field) -> list[Field]:
    return field.elements() if isinstance(field.value, list) else [field]


def parse_skips(field: Field, allow_tags: bool = False) -> tuple[Skip, ...]:
    """``skip: "reason"``, ``skip: {reason, backends, tags}``, or a list of those.

    ``tags`` is only meaningful (and only accepted) in ``settings.skip``."""
    items = field.elements() if isinstance(field.value, list) else [field]
    return tuple(_parse_skip(item, allow_tags) for item in items)


def _parse_skip(field: Field, allow_tags: bool) -> Skip:
    if isinstance(field.value, str):
        return Skip(_reason(field))
    keys = ["reason", "backends", *(["tags"] if allow_tags else [])]
    field.check_keys(keys)
    reason = _reason(field.require("reason"))
    backends_field = field.get("backends")
    backends = tuple(b.lower() for b in parse_tags(backends_field)) if backends_field else ()
    tags_field = field.get("tags") if allow_tags else None
    return Skip(reason, backends, parse_tags(tags_field) if tags_field else ())


def _reason(field: Field) -> str:
    text = field.as_str().strip()
    if not text:
        field.fail("a skip needs a reason", hint="say why, e.g. a CNI's known limitation")
    return text


def _duration(field: Field | None) -> float | None:
    if field is None:
        return None
    if isinstance(field.value, str):
        match = _DURATION.match(field.value)
        if not match:
            field.fail(
                f"{shown(field.value)} is not a duration",
                hint="write seconds (2, 0.5) or 500ms, 2s, 1m",
            )
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    else:
        seconds = field.as_number()
    if math.isnan(seconds) or seconds <= 0:
        field.fail(f"a duration must be positive, got {shown(field.value)}")
    if seconds > _LONGEST:
        field.fail(
            f"a duration of {shown(field.value)} is longer than a day",
            hint="write seconds (2, 0.5) or 500ms, 2s, 1m",
        )
    return seconds
