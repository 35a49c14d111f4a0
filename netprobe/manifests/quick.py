"""Pod and Namespace documents in their common case, read straight from their values.

A cluster dump is mostly pods, and nearly all of them are valid; reading each through
:class:`~netprobe.documents.Field` (a field and a location for every value read) is most of
the time a large load takes. :class:`QuickReader` reads a document's plain values and
builds its Pod or Namespace when every check of the located parsers passes, asking the same
rules (:mod:`netprobe.manifests.names`, :func:`~netprobe.model.is_port_number`, the
protocols, ``ip_address``). For anything else (a check that fails, a warning to give, a
shape it does not read) it answers None, and the located parsers of
:mod:`netprobe.manifests.objects` read the document to say where and what: this module
never raises and never warns, so every error and warning keeps its one home. Tests hold it
to them: the same objects, and None wherever they raise or warn.

Nor does it ask where a value was written: a JSON item it reads
(:class:`~netprobe.jsontext.JsonObject`) never looks for the lines inside it.
"""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Address, ip_address
from typing import Any, TypeGuard

from netprobe.errors import Location
from netprobe.manifests import objects, policies
from netprobe.manifests.metadata import DEFAULT_NAMESPACE
from netprobe.manifests.names import (
    dns_label_problem,
    dns_subdomain_problem,
    label_key_problem,
    label_value_problem,
    port_name_problem,
)
from netprobe.manifests.quick_policies import QuickPolicyReader
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    IPAddress,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    Protocol,
    is_port_number,
)
from netprobe.selectors import Labels

_PROTOCOLS = {protocol.value: protocol for protocol in Protocol}
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}").fullmatch
"""The IPv4 addresses ``ip_address`` reads (four decimal octets, no leading zero), which
``inet_aton`` then reads to the same value several times faster."""
_CONTAINER_PORT_KEYS = frozenset(objects.CONTAINER_PORT_KEYS)


class QuickReader:
    """Reads documents of one load, remembering the names, label keys and values it found
    valid and the container ports it built (pods of one workload share them)."""

    def __init__(self) -> None:
        self._label_keys: set[str] = set()
        self._label_values: set[str] = set()
        self._label_sets: dict[tuple[tuple[str, str], ...], Labels] = {}
        self._namespaces: set[str] = {DEFAULT_NAMESPACE}
        self._ports: dict[tuple[Any, ...], ContainerPort] = {}
        self._port_lists: dict[tuple[ContainerPort, ...], tuple[ContainerPort, ...]] = {}
        self._policies = QuickPolicyReader(self.labels, self.label_value, self.metadata)

    def read(
        self, value: Any, location: Location, defaults: tuple[str, str] | None
    ) -> Pod | Namespace | NetworkPolicy | None:
        """The object that ``value`` (a document at ``location``) describes, when the
        located parsers would read it without a word; None otherwise. ``defaults`` are the
        apiVersion and kind a typed list's items may leave out."""
        if not isinstance(value, dict):
            return None
        api_version = value.get("apiVersion")
        kind = value.get("kind")
        if defaults is not None:
            api_version = defaults[0] if api_version is None else api_version
            kind = defaults[1] if kind is None else kind
        if api_version == objects.API_VERSION:
            if kind == "Pod":
                return self._pod(value, location)
            if kind == "Namespace":
                return self._namespace(value, location)
        elif api_version == policies.API_VERSION and kind == "NetworkPolicy":
            return self._policies.read(value, location)
        return None

    def metadata(self, metadata: Any) -> tuple[str, str, Labels] | None:
        """The name, namespace and labels of a namespaced object's ``metadata``, when
        valid (annotations too)."""
        if not isinstance(metadata, dict):
            return None
        name = metadata.get("name")
        if type(name) is not str or dns_subdomain_problem(name) is not None:
            return None
        namespace = metadata.get("namespace")
        if namespace is None or namespace == "":
            namespace = DEFAULT_NAMESPACE
        elif not self._valid_namespace(namespace):
            return None
        labels = self.labels(metadata.get("labels"))
        if labels is None or not _annotations_fit(metadata):
            return None
        return name, namespace, labels

    def _pod(self, value: dict[Any, Any], location: Location) -> Pod | None:
        status = value.get("status")
        if status is not None:
            if not isinstance(status, dict):
                return None
            phase = status.get("phase")
            if phase is not None and (type(phase) is not str or phase in objects.GONE_PHASES):
                return None
        meta = self.metadata(value.get("metadata"))
        if meta is None:
            return None
        name, namespace, labels = meta
        spec = value.get("spec")
        if spec is None:
            spec = {}
        elif not isinstance(spec, dict):
            return None
        host_network = spec.get("hostNetwork")
        if host_network is None:
            host_network = False
        elif type(host_network) is not bool:
            return None
        ports = self._container_ports(spec)
        ips = _pod_ips(status)
        if ports is None or ips is None:
            return None
        return Pod(PodRef(namespace, name), labels, ports, ips, host_network, location)

    def _namespace(self, value: dict[Any, Any], location: Location) -> Namespace | None:
        metadata = value.get("metadata")
        if not isinstance(metadata, dict):
            return None
        name = metadata.get("name")
        if not self._valid_namespace(name):
            return None
        labels = self.labels(metadata.get("labels"))
        if labels is None or not _annotations_fit(metadata):
            return None
        declared = labels.get(NAMESPACE_NAME_LABEL)
        if declared is not None and declared != name:
            return None  # a warning to give
        if declared is None:
            labels = labels.with_changes({NAMESPACE_NAME_LABEL: name})
        return Namespace(name, labels, location=location)

    def _valid_namespace(self, name: Any) -> TypeGuard[str]:
        if type(name) is not str:
            return False
        if name in self._namespaces:
            return True
        if dns_label_problem(name) is not None:
            return False
        self._namespaces.add(name)
        return True

    def labels(self, labels: Any) -> Labels | None:
        """A ``labels`` or ``matchLabels`` value (None: no labels), when every key and
        value is valid."""
        if labels is None:
            return Labels()
        if not isinstance(labels, dict):
            return None
        keys, values = self._label_keys, self._label_values
        for key, text in labels.items():
            if type(key) is not str or type(text) is not str:
                return None
            if text not in values and not self.label_value(text):
                return None
            if key not in keys:
                if label_key_problem(key) is not None:
                    return None
                keys.add(key)
        # Pods of one workload carry the same labels: they share one Labels.
        written = tuple(labels.items())
        found = self._label_sets.get(written)
        if found is None:
            found = self._label_sets[written] = Labels(labels)
        return found

    def label_value(self, text: Any) -> bool:
        """Whether ``text`` is a valid label value."""
        if type(text) is not str:
            return False
        if text in self._label_values:
            return True
        if label_value_problem(text) is not None:
            return False
        self._label_values.add(text)
        return True

    def _container_ports(self, spec: dict[Any, Any]) -> tuple[ContainerPort, ...] | None:
        ports: list[ContainerPort] = []
        for key in ("containers", "initContainers"):
            containers = spec.get(key)
            if containers is None:
                continue
            if not isinstance(containers, list):
                return None
            for container in containers:
                if not isinstance(container, dict):
                    return None
                if key == "initContainers":
                    restart = container.get("restartPolicy")
                    if restart is not None and type(restart) is not str:
                        return None
                    if restart != "Always":
                        continue  # only sidecars' ports are the pod's
                if not self._add_ports(container.get("ports"), ports):
                    return None
        found = tuple(ports)
        return self._port_lists.setdefault(found, found)

    def _add_ports(self, entries: Any, ports: list[ContainerPort]) -> bool:
        if entries is None:
            return True
        if not isinstance(entries, list):
            return False
        for entry in entries:
            if not isinstance(entry, dict) or not _CONTAINER_PORT_KEYS.issuperset(entry):
                return False
            number = entry.get("containerPort")
            protocol = entry.get("protocol")
            if protocol is None:
                protocol = "TCP"
            name = entry.get("name")
            if type(number) is not int or type(protocol) is not str:
                return False
            if name is not None and type(name) is not str:
                return False
            key = (number, protocol, name)
            port = self._ports.get(key)
            if port is None:
                if not is_port_number(number) or protocol not in _PROTOCOLS:
                    return False
                if name is not None and port_name_problem(name) is not None:
                    return False
                port = self._ports[key] = ContainerPort(number, _PROTOCOLS[protocol], name)
            ports.append(port)
        return True


def _annotations_fit(metadata: dict[Any, Any]) -> bool:
    annotations = metadata.get("annotations")
    if annotations is None:
        return True
    if not isinstance(annotations, dict):
        return False
    return all(type(key) is str and type(text) is str for key, text in annotations.items())


def _pod_ips(status: dict[Any, Any] | None) -> tuple[IPAddress, ...] | None:
    if status is None:
        return ()
    texts = []
    primary = status.get("podIP")
    if primary is not None:
        texts.append(primary)
    listed = status.get("podIPs")
    if listed is not None:
        if not isinstance(listed, list):
            return None
        for entry in listed:
            if not isinstance(entry, dict) or entry.get("ip") is None:
                return None
            texts.append(entry["ip"])
    ips: list[IPAddress] = []
    for text in texts:
        if type(text) is not str:
            return None
        if not text:
            continue
        try:
            address = IPv4Address(socket.inet_aton(text)) if _IPV4(text) else ip_address(text)
        except ValueError:
            return None
        if address not in ips:
            ips.append(address)
    return tuple(ips)
