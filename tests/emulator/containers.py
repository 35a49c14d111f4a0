"""Container validation: ``validateContainers``, ``validateInitContainers``,
``validateEphemeralContainers`` and ``validateContainerCommon`` of
``pkg/apis/core/validation/validation.go``, Kubernetes 1.34 (with ``validateContainerPorts``,
``ValidateEnv``, ``ValidateVolumeMounts``, the probe handlers, ``ValidateSecurityContext``
and ``validateSeccompProfileField``). Resources and resize policies are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator import formats
from emulator.fielderrors import (
    Cause,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
)
from emulator.metadata import NEGATIVE, enum

Obj = Mapping[str, Any]

PORT_PROTOCOLS = ("SCTP", "TCP", "UDP")
"""``supportedPortProtocols.List()``: sorted."""
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
"""``sets.List(supportedPullPolicies)``: sorted."""
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
PROC_MOUNT_TYPES = ("Default", "Unmasked")
EPHEMERAL_ALLOWED = frozenset(
    {
        "name",
        "image",
        "command",
        "args",
        "workingDir",
        "envFrom",
        "env",
        "volumeMounts",
        "volumeDevices",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "securityContext",
        "stdin",
        "stdinOnce",
        "tty",
        "targetContainerName",
    }
)
"""``allowedEphemeralContainerFields`` (JSON names), plus targetContainerName, which is not
part of ``EphemeralContainerCommon``; resources ({}) counts as unset."""


def dns_label(value: str, path: str) -> list[Cause]:
    """``ValidateDNS1123Label``."""
    return [invalid(path, value, m) for m in formats.dns1123_label(value)]


def _port_num_or_name(port: Any, path: str) -> list[Cause]:
    """``ValidatePortNumOrName`` (an IntOrString)."""
    if isinstance(port, str):
        return [invalid(path, port, m) for m in formats.port_name(port)]
    return [invalid(path, port, m) for m in formats.port_number(int(port))]


def _container_ports(ports: list[Obj], path: str) -> list[Cause]:
    """``validateContainerPorts``."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        at = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            messages = formats.port_name(name)
            if messages:
                causes += [invalid(f"{at}.name", name, m) for m in messages]
            elif name in names:
                causes.append(duplicate(f"{at}.name", name))
            else:
                names.add(name)
        number = port.get("containerPort") or 0
        if number == 0:
            causes.append(required(f"{at}.containerPort"))
        else:
            causes += [
                invalid(f"{at}.containerPort", number, m) for m in formats.port_number(number)
            ]
        host = port.get("hostPort") or 0
        if host:
            causes += [invalid(f"{at}.hostPort", host, m) for m in formats.port_number(host)]
        protocol = port.get("protocol") or ""
        if not protocol:
            causes.append(required(f"{at}.protocol"))
        elif protocol not in PORT_PROTOCOLS:
            causes.append(not_supported(f"{at}.protocol", protocol, PORT_PROTOCOLS))
    return causes


def _env(env: list[Obj], path: str) -> list[Cause]:
    """``ValidateEnv`` (names only, relaxed as in 1.34)."""
    causes: list[Cause] = []
    for i, var in enumerate(env):
        name = var.get("name") or ""
        if not name:
            causes.append(required(f"{path}[{i}].name"))
        else:
            causes += [
                invalid(f"{path}[{i}].name", name, m) for m in formats.relaxed_env_var_name(name)
            ]
    return causes


def _volume_mounts(mounts: list[Obj], volumes: set[str], path: str) -> list[Cause]:
    """``ValidateVolumeMounts``: the name must be a volume of the pod, the path set."""
    causes: list[Cause] = []
    for i, mount in enumerate(mounts):
        at = f"{path}[{i}]"
        name = mount.get("name") or ""
        if not name:
            causes.append(required(f"{at}.name"))
        if name not in volumes:
            causes.append(not_found(f"{at}.name", name))
        if not mount.get("mountPath"):
            causes.append(required(f"{at}.mountPath"))
    return causes


def seccomp_profile(profile: Obj | None, path: str) -> list[Cause]:
    """``validateSeccompProfileField``."""
    if profile is None:
        return []
    kind = profile.get("type") or ""
    causes: list[Cause] = []
    if not kind:
        causes.append(required(f"{path}.type", "type is required when seccompProfile is set"))
    elif kind not in SECCOMP_TYPES:
        causes.append(not_supported(f"{path}.type", kind, SECCOMP_TYPES))
    if kind == "Localhost" and profile.get("localhostProfile") is None:
        detail = "must be set when seccomp type is Localhost"
        causes.append(required(f"{path}.localhostProfile", detail))
    elif kind != "Localhost" and profile.get("localhostProfile") is not None:
        detail = "can only be set when seccomp type is Localhost"
        causes.append(invalid(f"{path}.localhostProfile", profile, detail))
    return causes


def id_fields(context: Obj, path: str, keys: tuple[str, ...]) -> list[Cause]:
    causes: list[Cause] = []
    for key in keys:
        value = context.get(key)
        if value is not None:
            causes += [invalid(f"{path}.{key}", value, m) for m in formats.user_id(value)]
    return causes


def _container_security(context: Obj | None, path: str, host_users: bool) -> list[Cause]:
    """``ValidateSecurityContext`` (privileged containers are allowed, as kind's
    ``--allow-privileged=true`` does)."""
    if context is None:
        return []
    causes = id_fields(context, path, ("runAsUser", "runAsGroup"))
    proc_mount = context.get("procMount")
    if proc_mount is not None:
        if proc_mount not in PROC_MOUNT_TYPES:
            causes.append(not_supported(f"{path}.procMount", proc_mount, PROC_MOUNT_TYPES))
        if host_users and proc_mount == "Unmasked":
            detail = "`hostUsers` must be false to use `Unmasked`"
            causes.append(invalid(f"{path}.procMount", proc_mount, detail))
    causes += seccomp_profile(context.get("seccompProfile"), f"{path}.seccompProfile")
    if context.get("allowPrivilegeEscalation") is False:
        if context.get("privileged") is True:
            detail = "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
            causes.append(invalid(path, context, detail))
        for cap in (context.get("capabilities") or {}).get("add") or []:
            if cap == "CAP_SYS_ADMIN":
                detail = (
                    "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` "
                    "CAP_SYS_ADMIN"
                )
                causes.append(invalid(path, context, detail))
    return causes


def _handler(kind: str, action: Obj, path: str) -> list[Cause]:
    """``validateExecAction``, ``validateHTTPGetAction``, ``validateTCPSocketAction``,
    ``validateGRPCAction``."""
    if kind == "exec":
        return [] if action.get("command") else [required(f"{path}.command")]
    if kind != "httpGet":
        return _port_num_or_name(action.get("port", 0), f"{path}.port")
    causes = [] if action.get("path") else [required(f"{path}.path")]
    causes += _port_num_or_name(action.get("port", 0), f"{path}.port")
    scheme = action.get("scheme") or ""
    if scheme not in ("HTTP", "HTTPS"):
        causes.append(not_supported(f"{path}.scheme", scheme, ("HTTP", "HTTPS")))
    return causes


def _probe(probe: Obj | None, path: str, *, liveness_like: bool, readiness: bool) -> list[Cause]:
    """``validateProbe`` and its liveness/readiness/startup wrappers."""
    if probe is None:
        return []
    causes: list[Cause] = []
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(h) is not None]
    for index, handler in enumerate(handlers):
        if index:
            causes.append(
                forbidden(f"{path}.{handler}", "may not specify more than 1 handler type")
            )
        else:
            causes += _handler(handler, probe[handler], f"{path}.{handler}")
    if not handlers:
        causes.append(required(path, "must specify a handler type"))
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        value = probe.get(key) or 0
        if value < 0:
            causes.append(invalid(f"{path}.{key}", value, NEGATIVE))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and grace <= 0:
        causes.append(
            invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
        )
    if readiness and grace is not None:
        detail = "must not be set for readinessProbes"
        causes.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, detail))
    if liveness_like and (probe.get("successThreshold") or 0) != 1:
        causes.append(
            invalid(f"{path}.successThreshold", probe.get("successThreshold") or 0, "must be 1")
        )
    return causes


def _container_common(ctr: Obj, volumes: set[str], path: str, host_users: bool) -> list[Cause]:
    """``validateContainerCommon``."""
    causes: list[Cause] = []
    name = ctr.get("name") or ""
    causes += [required(f"{path}.name")] if not name else dns_label(name, f"{path}.name")
    if not ctr.get("image"):
        causes.append(required(f"{path}.image"))
    causes += enum(
        f"{path}.terminationMessagePolicy",
        ctr.get("terminationMessagePolicy"),
        TERMINATION_MESSAGE_POLICIES,
    )
    causes += _container_ports(ctr.get("ports") or [], f"{path}.ports")
    causes += _env(ctr.get("env") or [], f"{path}.env")
    causes += _volume_mounts(ctr.get("volumeMounts") or [], volumes, f"{path}.volumeMounts")
    causes += enum(f"{path}.imagePullPolicy", ctr.get("imagePullPolicy"), PULL_POLICIES)
    causes += _container_security(ctr.get("securityContext"), f"{path}.securityContext", host_users)
    return causes


def _host_port_conflicts(containers: list[Obj], path: str) -> list[Cause]:
    """``AccumulateUniqueHostPorts``."""
    causes: list[Cause] = []
    seen: set[str] = set()
    for ci, ctr in enumerate(containers):
        for pi, port in enumerate(ctr.get("ports") or []):
            host = port.get("hostPort") or 0
            if not host:
                continue
            key = f"{port.get('protocol', '')}/{port.get('hostIP', '')}/{host}"
            if key in seen:
                causes.append(duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key))
            seen.add(key)
    return causes


def validate_containers(containers: list[Obj], volumes: set[str], host_users: bool) -> list[Cause]:
    """``validateContainers``."""
    if not containers:
        return [required("spec.containers")]
    causes: list[Cause] = []
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        path = f"spec.containers[{i}]"
        causes += _container_common(ctr, volumes, path, host_users)
        name = ctr.get("name") or ""
        if name in names:
            causes.append(duplicate(f"{path}.name", name))
        names.add(name)
        causes += _probe(
            ctr.get("livenessProbe"), f"{path}.livenessProbe", liveness_like=True, readiness=False
        )
        causes += _probe(
            ctr.get("readinessProbe"), f"{path}.readinessProbe", liveness_like=False, readiness=True
        )
        causes += _probe(
            ctr.get("startupProbe"), f"{path}.startupProbe", liveness_like=True, readiness=False
        )
        if ctr.get("restartPolicy") is not None:
            causes.append(
                forbidden(f"{path}.restartPolicy", "may not be set for non-init containers")
            )
    return causes + _host_port_conflicts(containers, "spec.containers")


def validate_init_containers(spec: Obj, volumes: set[str], host_users: bool) -> list[Cause]:
    """``validateInitContainers`` (lifecycle and probes only with restartPolicy Always)."""
    causes: list[Cause] = []
    names = {c.get("name") for c in spec.get("containers") or []}
    for i, ctr in enumerate(spec.get("initContainers") or []):
        path = f"spec.initContainers[{i}]"
        causes += _container_common(ctr, volumes, path, host_users)
        policy = ctr.get("restartPolicy")
        if policy is not None and policy != "Always":
            causes.append(not_supported(f"{path}.restartPolicy", policy, ("Always",)))
        name = ctr.get("name") or ""
        if name in names:
            causes.append(duplicate(f"{path}.name", name))
        elif name:
            names.add(name)
        causes += _host_port_conflicts([ctr], "spec.initContainers")
        if policy == "Always":
            causes += _probe(
                ctr.get("livenessProbe"),
                f"{path}.livenessProbe",
                liveness_like=True,
                readiness=False,
            )
            causes += _probe(
                ctr.get("readinessProbe"),
                f"{path}.readinessProbe",
                liveness_like=False,
                readiness=True,
            )
            causes += _probe(
                ctr.get("startupProbe"), f"{path}.startupProbe", liveness_like=True, readiness=False
            )
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if ctr.get(key) is not None:
                    detail = "may not be set for init containers without restartPolicy=Always"
                    causes.append(forbidden(f"{path}.{key}", detail))
    return causes


def validate_ephemeral_containers(spec: Obj, volumes: set[str], host_users: bool) -> list[Cause]:
    """``validateEphemeralContainers``."""
    causes: list[Cause] = []
    others = {
        c.get("name") for key in ("containers", "initContainers") for c in spec.get(key) or []
    }
    names = set(others)
    for i, ctr in enumerate(spec.get("ephemeralContainers") or []):
        path = f"spec.ephemeralContainers[{i}]"
        causes += _container_common(ctr, volumes, path, host_users)
        causes += image_whitespace(ctr, path)
        name = ctr.get("name") or ""
        if name in names:
            causes.append(duplicate(f"{path}.name", name))
        else:
            names.add(name)
        target = ctr.get("targetContainerName") or ""
        if target and target not in others:
            causes.append(not_found(f"{path}.targetContainerName", target))
        for key, value in ctr.items():
            if key not in EPHEMERAL_ALLOWED and value not in (None, {}, [], "", 0, False):
                causes.append(
                    forbidden(f"{path}.{key}", "cannot be set for an Ephemeral Container")
                )
        for j, mount in enumerate(ctr.get("volumeMounts") or []):
            for key in ("subPath", "subPathExpr"):
                if mount.get(key):
                    at = f"{path}.volumeMounts[{j}].{key}"
                    causes.append(forbidden(at, "cannot be set for an Ephemeral Container"))
    return causes


def image_whitespace(ctr: Obj, path: str) -> list[Cause]:
    """``validateContainerOnlyForPod``."""
    image = ctr.get("image") or ""
    if image != image.strip():
        return [invalid(f"{path}.image", image, "must not have leading or trailing whitespace")]
    return []
