"""Making a bundle (:mod:`netprobe.suite.bundle`): suites and what they read from other
files, in one file that loads as the same suites.

Each suite is loaded first, with every check of the loader, so a bundle only ever holds
suites that load, and a suite with an error stops the bundling with the loader's located
message. Its document is then copied with each reference to another file replaced by what
the loader reads there, by the loader's own rules: a ``policies``/``apply`` path becomes
one inline ``kind: List`` of the documents of the files it names
(:func:`~netprobe.suite.objects.resolve_source`, :func:`netprobe.manifests.manifest_documents`;
one list per path, so what the loader checks per path, an object defined twice, it checks
the same way), and the rules of the ``skipFrom`` files join ``settings.skip`` after the
suite's own (:func:`~netprobe.suite.settings.shared_skip_rules`), in the order the loader
adds them. The name is written out, since the file name it may come from is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netprobe.documents import Field, plain
from netprobe.manifests import drop_warning, manifest_documents
from netprobe.manifests.notes import Warn
from netprobe.suite.bundle import BUNDLE_FORMAT, BUNDLE_KEY, SOURCES_KEY, SuiteDocument
from netprobe.suite.loader import parse_suite_document, read_suite_documents, suite_files
from netprobe.suite.objects import resolve_source, source_entries
from netprobe.suite.settings import shared_skip_rules

_HEADER = """\
# A netprobe bundle: {suites}, with every fixture read, in one file. `netprobe run` and
# `netprobe check` load it (or a folder holding it) as the suites it was made from.
# Made by `netprobe bundle`: change the sources and bundle them again, not this file.
"""


@dataclass(frozen=True, slots=True)
class Bundle:
    """The suites bundled and the bundle's text."""

    names: tuple[str, ...]
    sources: tuple[str, ...]
    """The file each suite was written in, in the bundle's order."""
    text: str


def bundle_suites(paths: Sequence[Path], warn: Warn) -> Bundle:
    """The bundle of the suites under ``paths`` (files and folders, as ``netprobe run``
    finds them; the suites of a bundle among them are bundled again).

    Raises:
        InputError: a path that does not exist; LocatedError for a suite that does not
            load, as the loader words it.
    """
    names: list[str] = []
    sources: list[str] = []
    documents: list[dict[str, Any]] = []
    for file in suite_files(paths):
        for document in read_suite_documents(file):
            suite = parse_suite_document(document, file, warn)
            names.append(suite.name)
            sources.append(document.source or str(file))
            documents.append(_self_contained(document, suite.name, file.parent))
    header = {BUNDLE_KEY: BUNDLE_FORMAT, SOURCES_KEY: sources}
    count = f"{len(documents)} suite{'' if len(documents) == 1 else 's'}"
    parts = [_HEADER.format(suites=count) + _dump(header, flow=False)]
    parts += [
        f"# {_one_line(name)}, from {_one_line(source)}\n{_dump(document)}"
        for name, source, document in zip(names, sources, documents, strict=True)
    ]
    return Bundle(tuple(names), tuple(sources), "---\n".join(parts))


def _self_contained(document: SuiteDocument, name: str, base: Path) -> dict[str, Any]:
    """The suite's document as plain data, reading no other file."""
    # One memo for the whole document: what YAML shares through an alias stays shared,
    # and is written once with an anchor.
    copies: dict[int, Any] = {}
    root = document.root
    suite: dict[str, Any] = plain(root.value, copies)
    policies = root.get("policies")
    if policies is not None:
        suite["policies"] = _inlined(policies, base, copies)
    steps = root.get("steps")
    for step, copy in zip(steps.elements() if steps else (), suite.get("steps") or (), strict=True):
        apply = step.get("apply")
        if apply is not None:
            copy["apply"] = _inlined(apply, base, copies)
    settings = root.get("settings")
    skip_from = settings.get("skipFrom") if settings else None
    if settings is not None and skip_from is not None:
        suite["settings"] = _with_shared_skips(suite["settings"], skip_from, base, copies)
    return {"name": name, **{key: value for key, value in suite.items() if key != "name"}}


def _inlined(field: Field, base: Path, copies: dict[int, Any]) -> list[Any]:
    entries: list[Any] = []
    for entry in source_entries(field):
        if isinstance(entry.value, dict):
            entries.append(plain(entry.value, copies))
            continue
        path = resolve_source(entry, base)
        # The loader has warned about these files already, while loading the suite.
        items = [plain(doc.value) for doc in manifest_documents([path], drop_warning)]
        entries.append({"apiVersion": "v1", "kind": "List", "items": items})
    return entries


def _with_shared_skips(
    settings: dict[str, Any], skip_from: Field, base: Path, copies: dict[int, Any]
) -> dict[str, Any]:
    own = settings.get("skip")
    rules = own if isinstance(own, list) else [] if own is None else [own]
    shared = [plain(rule.value, copies) for rule, _ in shared_skip_rules(skip_from, base)]
    kept = {key: value for key, value in settings.items() if key not in ("skip", "skipFrom")}
    return {**kept, "skip": [*rules, *shared]}


def _one_line(text: str) -> str:
    """``text`` as a comment can hold it: a file name (and a suite name taken from one)
    may hold a line break."""
    return text if text.isprintable() else repr(text)


def _dump(value: Any, flow: bool | None = None) -> str:
    """YAML text; by default a collection of scalars only on one line (``[80, 443]``)."""
    return str(
        yaml.safe_dump(
            value, sort_keys=False, allow_unicode=True, default_flow_style=flow, width=100
        )
    )
