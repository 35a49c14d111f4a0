"""The ``policies:`` of a suite (and ``apply:`` of a step): fixture paths and inline
manifests, read through :mod:`netprobe.manifests`, merged with the suite's own objects.

Fixture files may also hold Namespaces and Pods (a cluster dump, say): they join the
suite's. A namespace the suite declares itself wins over a fixture's when their labels
agree; a pod or policy defined twice is an error, naming both places.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from netprobe import manifests
from netprobe.documents import Field
from netprobe.errors import LocatedError, Location
from netprobe.manifests.notes import Warn
from netprobe.model import Namespace, NetworkPolicy, Pod


@dataclass(frozen=True, slots=True)
class Fixtures:
    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()


def parse_policy_sources(field: Field, base: Path, warn: Warn) -> Fixtures:
    """Each entry of a ``policies:``/``apply:`` list: a path (a file or a folder of
    manifests, relative to ``base``) or an inline manifest."""
    namespaces: list[Namespace] = []
    pods: list[Pod] = []
    policies: list[NetworkPolicy] = []
    for entry in source_entries(field):
        if isinstance(entry.value, dict):
            loaded = manifests.parse_objects([entry], warn)
        else:
            loaded = manifests.load_paths([resolve_source(entry, base)], warn)
        namespaces.extend(loaded.namespaces)
        pods.extend(loaded.pods)
        policies.extend(loaded.policies)
    _unique(policies, "policy")
    _unique(pods, "pod")
    return Fixtures(tuple(namespaces), tuple(pods), tuple(policies))


def merge_fixtures(
    namespaces: tuple[Namespace, ...], pods: tuple[Pod, ...], fixtures: Fixtures | None
) -> tuple[tuple[Namespace, ...], tuple[Pod, ...], tuple[NetworkPolicy, ...]]:
    """The suite's namespaces, pods and policies with those of its fixtures."""
    if fixtures is None:
        return namespaces, pods, ()
    declared = {namespace.name: namespace for namespace in namespaces}
    merged = list(namespaces)
    for namespace in fixtures.namespaces:
        mine = declared.get(namespace.name)
        if mine is None:
            declared[namespace.name] = namespace
            merged.append(namespace)
        elif mine.labels != namespace.labels and namespace.location is not None:
            raise LocatedError(
                namespace.location,
                f"namespace '{namespace.name}' has labels {namespace.labels} here but "
                f"{mine.labels} in the suite{_at(mine.location)}",
                "declare it in one place",
            )
    all_pods = [*pods, *fixtures.pods]
    _unique(all_pods, "pod")
    return tuple(merged), tuple(all_pods), fixtures.policies


def source_entries(field: Field) -> list[Field]:
    """The entries of a ``policies:``/``apply:`` field: its items, or itself alone."""
    return field.elements() if isinstance(field.value, list) else [field]


def resolve_source(entry: Field, base: Path) -> Path:
    """The file or folder a path entry names (relative to ``base``); it must exist."""
    text = entry.as_str()
    path = Path(text) if Path(text).is_absolute() else base / text
    if not path.exists():
        entry.fail(
            f"no such file or folder '{text}' (looked for {path})",
            hint="fixture paths are relative to the suite file",
        )
    return path


def _unique(items: Iterable[Pod | NetworkPolicy], kind: str) -> None:
    seen: dict[str, Location | None] = {}
    for item in items:
        name = str(item.ref)
        if name in seen:
            where = item.location or Location("<suite>")
            raise LocatedError(where, f"{kind} {name} is defined twice (also{_at(seen[name])})")
        seen[name] = item.location


def _at(location: Location | None) -> str:
    return f" at {location}" if location is not None else ""
