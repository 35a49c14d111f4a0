"""Pod validation on create: ``ValidatePodCreate`` and ``ValidatePodSpec`` of
``pkg/apis/core/validation/validation.go``, Kubernetes 1.34, on a defaulted pod (as the API
server validates after defaulting). Containers are checked by ``emulator.containers``.

Covered besides containers: metadata, volume names, host ports with hostNetwork,
restartPolicy, dnsPolicy, nodeSelector, the pod security context (ids, sysctls, seccomp),
serviceAccountName, nodeName, activeDeadlineSeconds, hostname, subdomain, tolerations,
priorityClassName, preemptionPolicy, os. Not covered (accepted as is): volume sources,
affinity, topology spread, DNS config, resource claims, scheduling gates, Windows options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from emulator import formats
from emulator.containers import (
    dns_label,
    id_fields,
    image_whitespace,
    seccomp_profile,
    validate_containers,
    validate_ephemeral_containers,
    validate_init_containers,
)
from emulator.fielderrors import Cause, duplicate, forbidden, invalid, not_supported, required
from emulator.metadata import enum, name_is_dns_subdomain, validate_labels, validate_object_meta

Obj = Mapping[str, Any]

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
SYSCTL_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
SYSCTL_PATTERN = "^(" + SYSCTL_SEGMENT + "[\\./])*" + SYSCTL_SEGMENT + "$"
"""``sysctlContainSlashRegexp``, printed with its anchors by the ``%s`` of the message."""
_SYSCTL = re.compile(SYSCTL_PATTERN)
MAX_INT32 = 2147483647


def _sysctl_namespace(name: str) -> str:
    """``utilsysctl.GetNamespace``: which namespace a sysctl belongs to."""
    if name.startswith(("net.", "net/")):
        return "net"
    ipc = ("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.", "kernel/shm", "kernel/msg")
    if name.startswith(ipc) or name in ("kernel.sem", "kernel/sem"):
        return "ipc"
    return ""


def _pod_security(spec: Obj) -> list[Cause]:
    """``validatePodSpecSecurityContext``."""
    context = spec.get("securityContext")
    if context is None:
        return []
    path = "spec.securityContext"
    causes = id_fields(context, path, ("fsGroup", "runAsUser", "runAsGroup"))
    for g, gid in enumerate(context.get("supplementalGroups") or []):
        causes += [invalid(f"{path}.supplementalGroups[{g}]", gid, m) for m in formats.user_id(gid)]
    if context.get("shareProcessNamespace") and spec.get("hostPID"):
        detail = "ShareProcessNamespace and HostPID cannot both be enabled"
        causes.append(invalid("spec.shareProcessNamespace", True, detail))
    seen: set[str] = set()
    for i, sysctl in enumerate(context.get("sysctls") or []):
        at = f"{path}.sysctls[{i}].name"
        name = sysctl.get("name") or ""
        if not name:
            causes.append(required(at))
        elif formats.go_len(name) > 253 or not _SYSCTL.fullmatch(name):
            detail = f"must have at most 253 characters and match regex {SYSCTL_PATTERN}"
            causes.append(invalid(at, name, detail))
        elif name in seen:
            causes.append(duplicate(at, name))
        namespace = _sysctl_namespace(name)
        if spec.get("hostNetwork") and namespace == "net":
            causes.append(invalid(at, name, "may not be specified when 'hostNetwork' is true"))
        elif spec.get("hostIPC") and namespace == "ipc":
            causes.append(invalid(at, name, "may not be specified when 'hostIPC' is true"))
        seen.add(name)
    causes += seccomp_profile(context.get("seccompProfile"), f"{path}.seccompProfile")
    return causes


def validate_tolerations(tolerations: list[Obj]) -> list[Cause]:
    """``ValidateTolerations``."""
    causes: list[Cause] = []
    for i, tol in enumerate(tolerations):
        at = f"spec.tolerations[{i}]"
        key = tol.get("key") or ""
        operator = tol.get("operator") or ""
        effect = tol.get("effect") or ""
        if key:
            causes += [invalid(f"{at}.key", key, m) for m in formats.qualified_name(key)]
        if not key and operator != "Exists":
            detail = (
                "operator must be Exists when `key` is empty, which means "
                '"match all values and all keys"'
            )
            causes.append(invalid(f"{at}.operator", operator, detail))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            detail = "effect must be 'NoExecute' when `tolerationSeconds` is set"
            causes.append(invalid(f"{at}.effect", effect, detail))
        value = tol.get("value") or ""
        if operator in ("Equal", ""):
            messages = formats.label_value(value)
            if messages:
                causes.append(invalid(f"{at}.operator", value, ";".join(messages)))
        elif operator == "Exists":
            if value:
                detail = "value must be empty when `operator` is 'Exists'"
                causes.append(invalid(f"{at}.operator", value, detail))
        else:
            causes.append(not_supported(f"{at}.operator", operator, ("Equal", "Exists")))
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            valid = ("NoSchedule", "PreferNoSchedule", "NoExecute")
            causes.append(not_supported(f"{at}.effect", effect, valid))
    return causes


def _volume_names(spec: Obj) -> tuple[set[str], list[Cause]]:
    """The names part of ``ValidateVolumes``."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name") or ""
        if not name:
            causes.append(required(f"spec.volumes[{i}].name"))
        else:
            causes += dns_label(name, f"spec.volumes[{i}].name")
            if name in names:
                causes.append(duplicate(f"spec.volumes[{i}].name", name))
        names.add(name)
    return names, causes


def validate_pod_spec(spec: Obj) -> list[Cause]:
    """``ValidatePodSpec``, in upstream's order."""
    causes: list[Cause] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        causes.append(required("spec.terminationGracePeriodSeconds"))
    host_users = spec.get("hostUsers") is not False
    volumes, volume_causes = _volume_names(spec)
    causes += volume_causes
    causes += validate_containers(spec.get("containers") or [], volumes, host_users)
    causes += validate_init_containers(spec, volumes, host_users)
    causes += validate_ephemeral_containers(spec, volumes, host_users)
    if spec.get("hostNetwork"):
        for i, ctr in enumerate(spec.get("containers") or []):
            for j, port in enumerate(ctr.get("ports") or []):
                if port.get("hostPort", 0) != port.get("containerPort", 0):
                    detail = "must match `containerPort` when `hostNetwork` is true"
                    at = f"spec.containers[{i}].ports[{j}].hostPort"
                    causes.append(invalid(at, port.get("hostPort", 0), detail))
    causes += enum("spec.restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES)
    causes += enum("spec.dnsPolicy", spec.get("dnsPolicy"), DNS_POLICIES)
    causes += validate_labels(spec.get("nodeSelector") or {}, "spec.nodeSelector")
    causes += _pod_security(spec)
    account = spec.get("serviceAccountName") or ""
    if account:
        causes += [
            invalid("spec.serviceAccountName", account, m)
            for m in name_is_dns_subdomain(account, False)
        ]
    node = spec.get("nodeName") or ""
    if node:
        causes += [invalid("spec.nodeName", node, m) for m in name_is_dns_subdomain(node, False)]
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        causes.append(
            invalid(
                "spec.activeDeadlineSeconds", deadline, formats.inclusive_range_error(1, MAX_INT32)
            )
        )
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            causes += dns_label(spec[key], f"spec.{key}")
    causes += validate_tolerations(spec.get("tolerations") or [])
    priority_class = spec.get("priorityClassName") or ""
    if priority_class:
        for m in name_is_dns_subdomain(priority_class, False):
            causes.append(invalid("spec.priorityClassName", priority_class, m))
    if spec.get("preemptionPolicy") is not None:
        causes += enum("spec.preemptionPolicy", spec["preemptionPolicy"], PREEMPTION_POLICIES)
    os_ = spec.get("os")
    if os_ is not None:
        if not os_.get("name"):
            causes.append(required("spec.os.name", "cannot be empty"))
        elif os_["name"] not in ("linux", "windows"):
            causes.append(not_supported("spec.os", os_["name"], ("linux", "windows")))
    return causes


def metadata_and_spec(pod: Obj) -> list[Cause]:
    """``validatePodMetadataAndSpec``."""
    spec = pod.get("spec") or {}
    causes = validate_object_meta(pod.get("metadata") or {}, True, name_is_dns_subdomain)
    causes += validate_pod_spec(spec)
    for key in ("containers", "initContainers"):
        for i, ctr in enumerate(spec.get(key) or []):
            causes += image_whitespace(ctr, f"spec.{key}[{i}]")
    return causes


def validate_pod_create(pod: Obj) -> list[Cause]:
    """``ValidatePodCreate``."""
    causes = metadata_and_spec(pod)
    spec = pod.get("spec") or {}
    if spec.get("ephemeralContainers"):
        causes.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and spec.get("schedulingGates"):
        detail = "cannot be set until all schedulingGates have been cleared"
        causes.append(forbidden("spec.nodeName", detail))
    return causes
