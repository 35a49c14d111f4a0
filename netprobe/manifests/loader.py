"""Files, directories and documents -> the modelled objects and a :class:`ClusterState`.

Dispatches each document by ``apiVersion`` and ``kind``: Namespaces, Pods and
NetworkPolicies are parsed; lists (``kind: List`` as ``kubectl get -o yaml`` prints it, and
typed lists such as ``PodList``) are expanded; anything else is skipped with a warning.
Objects defined twice are an error naming both places. Namespaces that pods or policies use
without declaring them exist implicitly (docs/semantics.md, "Objects").
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netprobe.documents import STDIN, Field, load_yaml_documents
from netprobe.errors import InputError, LocatedError, Location
from netprobe.manifests import objects, policies
from netprobe.manifests.notes import Warn, warn_at
from netprobe.manifests.quick import QuickReader
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    IPAddress,
    Namespace,
    NetworkPolicy,
    Pod,
)
from netprobe.selectors import Labels

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_MODELLED = {
    (objects.API_VERSION, "Namespace"),
    (objects.API_VERSION, "Pod"),
    (policies.API_VERSION, "NetworkPolicy"),
}


@dataclass(frozen=True, slots=True)
class LoadedObjects:
    """The objects read from manifests, in the order they were read."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()

    def to_state(self, warn: Warn) -> ClusterState:
        """A snapshot of these objects, adding each namespace a pod or policy uses without
        declaring it (with only its ``kubernetes.io/metadata.name`` label; one warning per
        namespace)."""
        declared = {namespace.name for namespace in self.namespaces}
        implicit: list[Namespace] = []
        users: Iterable[Pod | NetworkPolicy] = (*self.pods, *self.policies)
        for user in users:
            name = user.ref.namespace
            if name in declared:
                continue
            declared.add(name)
            implicit.append(Namespace(name, Labels({NAMESPACE_NAME_LABEL: name})))
            kind = "pod" if isinstance(user, Pod) else "NetworkPolicy"
            warn_at(
                warn,
                user.location,
                f"namespace '{name}' (used by {kind} {user.ref}) is not declared; "
                f"assuming it exists with only the label {NAMESPACE_NAME_LABEL}={name}",
            )
        _warn_shared_ips(self.pods, warn)
        return ClusterState(
            namespaces=(*self.namespaces, *implicit), pods=self.pods, policies=self.policies
        )


def _warn_shared_ips(pods: Sequence[Pod], warn: Warn) -> None:
    # hostNetwork pods share their node's address by design; any other shared address
    # makes "the pod at this IP" ambiguous for ipBlocks and for probes by address.
    owners: dict[IPAddress, Pod] = {}
    for pod in pods:
        if pod.host_network:
            continue
        for ip in pod.ips:
            first = owners.setdefault(ip, pod)
            if first is not pod:
                warn_at(
                    warn,
                    pod.location,
                    f"pods {first.ref} and {pod.ref} both have IP {ip}; "
                    f"netprobe attributes traffic from {ip} to one of them only",
                )


def load_state(paths: Sequence[Path], warn: Warn) -> ClusterState:
    """The cluster state described by the manifests under ``paths``."""
    with _collector_paused():
        return load_paths(paths, warn).to_state(warn)


def load_paths(paths: Sequence[Path], warn: Warn) -> LoadedObjects:
    """Load every manifest file under ``paths`` (files, or directories searched recursively
    for ``*.yaml``, ``*.yml`` and ``*.json`` in sorted order, hidden entries left out).

    Raises:
        InputError: a path that does not exist or cannot be read.
        LocatedError: a document that is not valid, or an object defined twice.
    """
    with _collector_paused():
        return parse_objects(manifest_documents(paths, warn), warn)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector. A load makes millions of objects and no
    reference cycle; the collector, run every few hundred allocations and over every
    object still young, finds nothing and took half the time of a large load."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def manifest_documents(paths: Sequence[Path], warn: Warn) -> Iterator[Field]:
    """The documents of every manifest file under ``paths``, in the order they are read."""
    for file in manifest_files(paths, warn):
        yield from load_yaml_documents(file)


def manifest_files(paths: Sequence[Path], warn: Warn) -> list[Path]:
    """The files ``paths`` name, directories expanded; each file once (:data:`STDIN`, ``-``,
    is standard input)."""
    files: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path == STDIN:
            found = [path]
        elif path.is_dir():
            found = sorted(_walk(path))
            if not found:
                warn(f"{path}: no {', '.join('*' + s for s in MANIFEST_SUFFIXES)} files here")
        elif path.exists():
            found = [path]
        else:
            raise InputError(f"{path}: no such file or directory")
        for file in found:
            key = file if file == STDIN else file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files


def _walk(directory: Path) -> Iterator[Path]:
    # Hidden entries (.git, .github/workflows/*.yml) are never Kubernetes manifests.
    for root, dirs, names in os.walk(directory):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in names:
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield Path(root, name)


def parse_objects(documents: Iterable[Field], warn: Warn) -> LoadedObjects:
    """Parse documents into the modelled objects.

    Raises:
        LocatedError: a document that is not valid, or an object defined twice.
    """
    collector = _Collector(warn)
    for document in documents:
        collector.add(document, defaults=None)
    return LoadedObjects(
        tuple(collector.namespaces), tuple(collector.pods), tuple(collector.policies)
    )


class _Collector:
    """Gathers objects from documents, remembering where each was defined."""

    def __init__(self, warn: Warn) -> None:
        self.warn = warn
        self.namespaces: list[Namespace] = []
        self.pods: list[Pod] = []
        self.policies: list[NetworkPolicy] = []
        self.defined: dict[tuple[str, str], Location] = {}
        self.quick = QuickReader()

    def add(self, document: Field, defaults: tuple[str, str] | None) -> None:
        """Add one document; ``defaults`` are the apiVersion and kind that items of a
        typed list (``PodList``) may leave out."""
        read = self.quick.read(document.value, document.location, defaults)
        if read is None:
            read = self._read_located(document, defaults)
        if isinstance(read, Pod):
            self._define("Pod", str(read.ref), read.location)
            self.pods.append(read)
        elif isinstance(read, Namespace):
            self._define("Namespace", read.name, read.location)
            self.namespaces.append(read)
        elif read is not None:
            if defaults is not None and read.manifest is not None:
                manifest = {"apiVersion": defaults[0], "kind": defaults[1], **read.manifest}
                read = dataclasses.replace(read, manifest=manifest)
            self._define("NetworkPolicy", str(read.ref), read.location)
            self.policies.append(read)

    def _read_located(
        self, document: Field, defaults: tuple[str, str] | None
    ) -> Pod | Namespace | NetworkPolicy | None:
        """What the located parsers read of a document (None: a list, added item by item,
        or a document skipped); they raise and warn, at the very place."""
        document.as_map()
        api_version = self._identity(document, "apiVersion", defaults and defaults[0])
        kind = self._identity(document, "kind", defaults and defaults[1])
        if kind.endswith("List") and document.has("items"):
            self._add_list(document, api_version, kind)
        elif (api_version, kind) not in _MODELLED:
            self._skip(document, api_version, kind)
        elif kind == "Namespace":
            return objects.parse_namespace(document, warn=self.warn)
        elif kind == "Pod":
            return self._read_pod(document)
        else:
            return policies.parse_network_policy(document, warn=self.warn)
        return None

    def _identity(self, document: Field, key: str, default: str | None) -> str:
        found = document.get(key)
        if found is not None:
            return found.as_str()
        if default:
            return default
        example = "apiVersion: networking.k8s.io/v1" if key == "apiVersion" else "kind: Pod"
        document.fail(
            f"'{key}' is required", hint=f"every Kubernetes object has one, e.g. {example}"
        )

    def _add_list(self, document: Field, api_version: str, kind: str) -> None:
        item_kind = kind.removesuffix("List")
        defaults = (api_version, item_kind) if item_kind else None
        for item in document.require("items").elements():
            self.add(item, defaults)

    def _read_pod(self, document: Field) -> Pod | None:
        phase = objects.pod_phase(document)
        if phase in objects.GONE_PHASES:
            warn_at(
                self.warn,
                document.location,
                f"skipping pod {_name_of(document)} in phase {phase}: it has no network any more",
            )
            return None
        return objects.parse_pod(document, warn=self.warn)

    def _skip(self, document: Field, api_version: str, kind: str) -> None:
        warn_at(
            self.warn,
            document.location,
            f"skipping {api_version} {kind} {_name_of(document)} "
            "(netprobe models v1 Namespace, v1 Pod and networking.k8s.io/v1 NetworkPolicy)",
        )

    def _define(self, kind: str, name: str, location: Location | None) -> None:
        """Remember where ``kind`` ``name`` (``ns/name`` when namespaced) is defined."""
        here = location or Location("<unknown>")
        first = self.defined.setdefault((kind, name), here)
        if first is not here:
            raise LocatedError(
                here,
                f"{kind} '{name}' is defined twice; the first definition is at {first}",
                hint="keep one of them",
            )


def _name_of(document: Field) -> str:
    metadata = document.value.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        return "(no name)"
    return f"'{namespace}/{name}'" if isinstance(namespace, str) else f"'{name}'"
