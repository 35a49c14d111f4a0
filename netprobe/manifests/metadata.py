"""What every modelled object shares: its identity (``apiVersion``, ``kind``) and
``metadata`` (name, namespace, labels), validated as the API server does.

Only the metadata fields netprobe uses are checked, and annotations (strings only: backends
send them on); the rest (uid, resourceVersion, managedFields, ...) is tolerated, since
``kubectl get -o yaml`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from netprobe.documents import Field
from netprobe.manifests.labels import parse_labels
from netprobe.manifests.names import (
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RULE,
    dns_label_problem,
    dns_subdomain_problem,
    fixed_dns_label,
    fixed_dns_subdomain,
    try_hint,
)
from netprobe.selectors import Labels

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    name: str
    namespace: str
    """The object's namespace; empty for cluster-scoped kinds (Namespace)."""
    labels: Labels


def check_identity(document: Field, api_version: str, kind: str) -> None:
    """Fail when the document names another kind or apiVersion (absent is fine: list items)."""
    found_kind = document.get("kind")
    if found_kind is not None and found_kind.as_str() != kind:
        found_kind.fail(f"expected kind {kind}, got '{found_kind.value}'")
    found_version = document.get("apiVersion")
    if found_version is not None and found_version.as_str() != api_version:
        found_version.fail(
            f"{kind} is modelled for apiVersion {api_version}, got '{found_version.value}'",
            hint=f"write apiVersion: {api_version}",
        )


def parse_metadata(document: Field, kind: str, *, namespaced: bool) -> ObjectMeta:
    """``metadata.name`` (required), ``metadata.namespace`` (default ``default`` for
    namespaced kinds) and ``metadata.labels``."""
    metadata = document.get("metadata")
    if metadata is None:
        document.fail("'metadata' is required", hint="every object needs metadata.name")
    name_field = metadata.get("name")
    if name_field is None:
        metadata.fail("'name' is required", hint="every object needs metadata.name")
    name = name_field.as_str()
    problem = dns_label_problem(name) if kind == "Namespace" else dns_subdomain_problem(name)
    if problem:
        if kind == "Namespace":
            hint = try_hint(fixed_dns_label(name), DNS_LABEL_RULE)
        else:
            hint = try_hint(fixed_dns_subdomain(name), DNS_SUBDOMAIN_RULE)
        name_field.fail(f"'{name}' is not a valid {kind} name: it {problem}", hint=hint)
    namespace = ""
    if namespaced:
        namespace_field = metadata.get("namespace")
        namespace = (namespace_field.as_str() if namespace_field else "") or DEFAULT_NAMESPACE
        problem = dns_label_problem(namespace)
        if namespace_field is not None and problem:
            namespace_field.fail(
                f"'{namespace}' is not a valid namespace name: it {problem}",
                hint=try_hint(fixed_dns_label(namespace), DNS_LABEL_RULE),
            )
    labels_field = metadata.get("labels")
    labels = parse_labels(labels_field) if labels_field is not None else Labels()
    annotations = metadata.get("annotations")
    if annotations is not None and annotations.value is not None:
        annotations.as_str_map()  # the API server takes only strings; backends send them on
    return ObjectMeta(name, namespace, labels)
