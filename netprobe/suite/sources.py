"""Namespaces, pods and policies from manifest files and from suites, merged by identity:
what ``netprobe diff`` and ``netprobe generate`` read their ``-f`` paths as."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from netprobe.manifests import LoadedObjects, load_paths
from netprobe.manifests.notes import Warn
from netprobe.model import Namespace, NetworkPolicy, Pod
from netprobe.suite import SUITE_SUFFIX

T = TypeVar("T", Namespace, Pod)


def load_objects(
    paths: Sequence[Path], warn: Warn, with_suite_policies: bool = True
) -> LoadedObjects:
    """Namespaces, pods and policies of manifest paths and of suites (``*.netprobe.yaml``:
    their namespaces, probe pods and, when asked, the policies of their first step)."""
    from netprobe.suite.loader import load_suite

    namespaces: list[Namespace] = []
    pods: list[Pod] = []
    policies: list[NetworkPolicy] = []
    for path in paths:
        if path.name.endswith(SUITE_SUFFIX):
            suite = load_suite(path, warn)
            found = LoadedObjects(
                suite.namespaces, suite.pods, suite.policies if with_suite_policies else ()
            )
        else:
            found = load_paths([path], warn)
        namespaces += found.namespaces
        pods += found.pods
        policies += found.policies
    return LoadedObjects(
        tuple(merge((namespaces,), namespace_name, "namespace", warn)),
        tuple(merge((pods,), pod_ref, "pod", warn)),
        tuple(policies),
    )


def merge(
    groups: Iterable[Iterable[T]], identity: Callable[[T], object], kind: str, warn: Warn
) -> list[T]:
    """Objects by identity, later definitions winning (a warning when they differ)."""
    found: dict[object, T] = {}
    for group in groups:
        for item in group:
            ident = identity(item)
            previous = found.get(ident)
            if previous is not None and previous != item:
                warn(f"{kind} {ident} is defined twice, differently; using {item.location}")
            found[ident] = item
    return list(found.values())


def namespace_name(namespace: Namespace) -> object:
    return namespace.name


def pod_ref(pod: Pod) -> object:
    return pod.ref
