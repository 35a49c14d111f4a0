"""A bundle as a ConfigMap manifest (``netprobe bundle --configmap``), for the CronJob of
deploy/cronjob.yaml to mount at /suites.

The API server's limits are checked here, so that ``kubectl apply`` cannot fail on them
later: the name is a DNS subdomain and the namespace a DNS label; the key is a ConfigMap
key and, to be found in a mounted folder, a suite file name; the data is at most
:data:`MAX_CONFIGMAP_DATA` bytes.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from netprobe.errors import InputError
from netprobe.manifests.names import (
    configmap_key_problem,
    dns_label_problem,
    dns_subdomain_problem,
)
from netprobe.manifests.notes import Warn
from netprobe.suite import SUITE_SUFFIX

MAX_CONFIGMAP_DATA = 1 * 1024 * 1024
"""kube-apiserver refuses a ConfigMap whose data values add up to more bytes than
``core.MaxSecretSize`` (1 MiB): kubernetes pkg/apis/core/types.go ``MaxSecretSize = 1 *
1024 * 1024``, checked by ``ValidateConfigMap`` in pkg/apis/core/validation/validation.go
(``totalSize > core.MaxSecretSize``, summing ``len(value)`` of data and binaryData)."""
MAX_ANNOTATIONS = 256 * 1024
"""``TotalAnnotationSizeLimitB = 256 * (1 << 10)`` (apimachinery
pkg/api/validation/objectmeta.go). Client-side ``kubectl apply`` stores the whole object,
encoded, in the ``kubectl.kubernetes.io/last-applied-configuration`` annotation (kubectl
pkg/util/apply.go ``GetModifiedConfiguration``), so a larger object fails there."""
DEFAULT_KEY = f"suites{SUITE_SUFFIX}"


def render_configmap(name: str, namespace: str | None, key: str, data: str, warn: Warn) -> str:
    """The manifest of a ConfigMap holding ``data`` under ``key``.

    Raises:
        InputError: a name, namespace or key the API server would refuse, a key that a
            folder search would not find, or data larger than a ConfigMap holds.
    """
    _check("ConfigMap name", name, dns_subdomain_problem(name))
    if namespace is not None:
        _check("namespace", namespace, dns_label_problem(namespace))
    _check("ConfigMap key", key, configmap_key_problem(key))
    if not key.endswith(SUITE_SUFFIX) or key == SUITE_SUFFIX:
        raise InputError(
            f"ConfigMap key {key!r} does not end in {SUITE_SUFFIX}: netprobe run /suites "
            f"would not find it in the mounted folder (try '{DEFAULT_KEY}')"
        )
    size = len(data.encode("utf-8"))
    if size > MAX_CONFIGMAP_DATA:
        raise InputError(
            f"the bundle is {size} bytes, more than a ConfigMap holds ({MAX_CONFIGMAP_DATA} "
            "bytes, 1 MiB): bundle the suites into several ConfigMaps and mount them "
            "together in one projected volume"
        )
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {key: data}}
    if len(json.dumps(manifest, separators=(",", ":"))) > MAX_ANNOTATIONS:
        warn(
            f"ConfigMap {name} is larger than the {MAX_ANNOTATIONS >> 10} KiB annotations "
            "may hold, where client-side kubectl apply keeps a copy of it: apply it with "
            "kubectl apply --server-side (or kubectl create / replace)"
        )
    return str(yaml.dump(manifest, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True))


def _check(what: str, value: str, problem: str | None) -> None:
    if problem is not None:
        raise InputError(f"{what} {value!r} {problem}")


class _LiteralDumper(yaml.SafeDumper):
    """Writes text of several lines as a literal block (``|``), as a person would."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _represent_str)
