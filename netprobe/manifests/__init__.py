"""Kubernetes manifests -> netprobe's model, with the API server's validation.

The public face of the manifest loader::

    state = load_state([Path("manifests/")], warn=print_to_stderr)

Files and directories of YAML or JSON (multi-document files, ``kind: List``) are read;
Namespaces, Pods and NetworkPolicies are modelled; everything a user can get wrong raises a
:class:`~netprobe.errors.LocatedError` naming file, line, document and field path. Warnings
(skipped kinds, masked host bits, implicit namespaces) go to the ``warn`` callable.
"""

from netprobe.manifests.labels import parse_label_selector
from netprobe.manifests.loader import (
    LoadedObjects,
    load_paths,
    load_state,
    manifest_documents,
    manifest_files,
    parse_objects,
)
from netprobe.manifests.notes import Warn, drop_warning
from netprobe.manifests.objects import parse_namespace, parse_pod
from netprobe.manifests.policies import parse_network_policy

__all__ = [
    "LoadedObjects",
    "Warn",
    "drop_warning",
    "load_paths",
    "load_state",
    "manifest_documents",
    "manifest_files",
    "parse_label_selector",
    "parse_namespace",
    "parse_network_policy",
    "parse_objects",
    "parse_pod",
]
