"""The baseline checks of Pod Security admission, and the helpers the restricted ones share:
one function per ``staging/src/k8s.io/pod-security-admission/policy/check_*.go`` of
Kubernetes 1.34, each returning ``(reason, detail)`` as upstream's ``CheckResult``
(``ForbiddenReason``, ``ForbiddenDetail``) or None. ``emulator.podsecurity`` runs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Obj = Mapping[str, Any]
Result = tuple[str, str] | None
"""A check's finding: ``(ForbiddenReason, ForbiddenDetail)``, or None when allowed."""

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
"""check_capabilities_baseline.go ``capabilities_allowed_1_0``."""
SYSCTLS = (
    (
        0,
        frozenset(
            {
                "kernel.shm_rmid_forced",
                "net.ipv4.ip_local_port_range",
                "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range",
                "net.ipv4.ip_unprivileged_port_start",
            }
        ),
    ),
    (27, frozenset({"net.ipv4.ip_local_reserved_ports"})),
    (
        29,
        frozenset(
            {
                "net.ipv4.tcp_keepalive_time",
                "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes",
            }
        ),
    ),
    (32, frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
)
"""check_sysctls.go: the safe set grows by version. ``net.ipv4.ip_unprivileged_port_start``
has been in the 1.0 set since the check was written (Kubernetes 1.22); 1.27, 1.29 and 1.32
added the rest (upstream commit 44c230b's list, as trivy's KSV026 cites it)."""
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
"""check_seLinuxOptions.go; 1.31 added ``container_engine_t``."""
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"


def join_quote(items: list[str]) -> str:
    """helpers.go ``joinQuote``."""
    return '"' + '", "'.join(items) + '"' if items else ""


def plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers(spec: Obj) -> Iterator[Obj]:
    """visitor.go ``visitContainers``: init, regular, ephemeral."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def security_context(ctr: Obj) -> Obj:
    return ctr.get("securityContext") or {}


def setters_of(pod_bad: bool, names: list[str]) -> list[str]:
    setters = ["pod"] if pod_bad else []
    if names:
        setters.append(f"{plural('container', 'containers', len(names))} {join_quote(names)}")
    return setters


def windows(spec: Obj) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


def app_armor_profile(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_appArmorProfile.go."""
    bad = []
    for key, value in (meta.get("annotations") or {}).items():
        allowed = not value or value == "runtime/default" or value.startswith("localhost/")
        if key.startswith(APPARMOR_PREFIX) and not allowed:
            bad.append(f'{key}="{value}"')
    bad.sort()
    if minor >= 30:

        def unconfined(context: Obj) -> bool:
            return (context.get("appArmorProfile") or {}).get("type") == "Unconfined"

        pod = unconfined(spec.get("securityContext") or {})
        names = [c.get("name", "") for c in containers(spec) if unconfined(security_context(c))]
        if pod or names:
            setters = " and ".join(setters_of(pod, names))
            bad.append(
                f'{setters} must not set securityContext.appArmorProfile.type to "Unconfined"'
            )
    if not bad:
        return None
    return plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad)), ", ".join(
        bad
    )


def host_namespaces(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_hostNamespaces.go."""
    used = sorted(k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k))
    return ("host namespaces", ", ".join(used)) if used else None


def host_ports(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_hostPorts.go: the ports are sorted as strings (``sets.String``)."""
    names, ports = [], set()
    for ctr in containers(spec):
        used = [str(p["hostPort"]) for p in ctr.get("ports") or [] if p.get("hostPort")]
        if used:
            names.append(ctr.get("name", ""))
            ports.update(used)
    if not names:
        return None
    detail = " ".join(
        (
            plural("container", "containers", len(names)),
            join_quote(names),
            plural("uses", "use", len(names)),
            plural("hostPort", "hostPorts", len(ports)),
            ", ".join(sorted(ports)),
        )
    )
    return "hostPort", detail


def host_probes_and_lifecycle(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_hostProbesAndhostLifecycle.go (new in 1.34)."""
    if minor < 34:
        return None
    names, hosts = set(), set()
    for ctr in containers(spec):
        handlers = [ctr.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [(ctr.get("lifecycle") or {}).get(k) for k in ("postStart", "preStop")]
        for handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = ((handler or {}).get(action) or {}).get("host")
                if host:
                    names.add(ctr.get("name", ""))
                    hosts.add(host)
    if not names:
        return None
    detail = " ".join(
        (
            plural("container", "containers", len(names)),
            join_quote(sorted(names)),
            plural("uses", "use", len(names)),
            plural("probe or lifecycle host", "probe or lifecycle hosts", len(hosts)),
            join_quote(sorted(hosts)),
        )
    )
    return "probe or lifecycle host", detail


def privileged(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_privileged.go."""
    names = [
        c.get("name", "") for c in containers(spec) if security_context(c).get("privileged") is True
    ]
    if not names:
        return None
    who = f"{plural('container', 'containers', len(names))} {join_quote(names)}"
    return "privileged", f"{who} must not set securityContext.privileged=true"


def proc_mount(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_procMount.go."""
    names, kinds = [], set()
    for ctr in containers(spec):
        value = security_context(ctr).get("procMount")
        if value is not None and value != "Default":
            names.append(ctr.get("name", ""))
            kinds.add(value)
    if not names:
        return None
    who = f"{plural('container', 'containers', len(names))} {join_quote(names)}"
    return (
        "procMount",
        f"{who} must not set securityContext.procMount to {join_quote(sorted(kinds))}",
    )


def se_linux_options(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_seLinuxOptions.go."""
    allowed = SELINUX_TYPES | ({"container_engine_t"} if minor >= 31 else set())
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(options: Obj) -> bool:
        ok = True
        if (options.get("type") or "") not in allowed:
            bad_types.add(options.get("type") or "")
            ok = False
        for key in ("user", "role"):
            if options.get(key):
                flags[key] = True
                ok = False
        return ok

    pod_options = (spec.get("securityContext") or {}).get("seLinuxOptions")
    pod_bad = pod_options is not None and not valid(pod_options)
    names = [
        c.get("name", "")
        for c in containers(spec)
        if security_context(c).get("seLinuxOptions") is not None
        and not valid(security_context(c)["seLinuxOptions"])
    ]
    setters = setters_of(pod_bad, names)
    if not setters:
        return None
    data = []
    # Upstream only reports user and role next to a bad type.
    if bad_types:
        data.append(f"{plural('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
        data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
    detail = (
        f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}"
    )
    return "seLinuxOptions", detail


def sysctls(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_sysctls.go."""
    allowed = frozenset().union(*(names for since, names in SYSCTLS if minor >= since))
    bad = [
        s.get("name", "")
        for s in (spec.get("securityContext") or {}).get("sysctls") or []
        if s.get("name") not in allowed
    ]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def windows_host_process(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_windowsHostProcess.go."""

    def host_process(context: Obj) -> bool:
        return (context.get("windowsOptions") or {}).get("hostProcess") is True

    names = [c.get("name", "") for c in containers(spec) if host_process(security_context(c))]
    setters = setters_of(host_process(spec.get("securityContext") or {}), names)
    if not setters:
        return None
    detail = f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"
    return "hostProcess", detail


def capabilities_baseline(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_capabilities_baseline.go."""
    names, added = [], set()
    for ctr in containers(spec):
        extra = [
            c
            for c in (security_context(ctr).get("capabilities") or {}).get("add") or []
            if c not in BASELINE_CAPABILITIES
        ]
        if extra:
            names.append(ctr.get("name", ""))
            added.update(extra)
    if not names:
        return None
    who = f"{plural('container', 'containers', len(names))} {join_quote(names)}"
    detail = (
        f"{who} must not include {join_quote(sorted(added))} in securityContext.capabilities.add"
    )
    return "non-default capabilities", detail


def host_path_volumes(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_hostPathVolumes.go."""
    names = [v.get("name", "") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if not names:
        return None
    return "hostPath volumes", f"{plural('volume', 'volumes', len(names))} {join_quote(names)}"


def bad_seccomp_setters(spec: Obj) -> tuple[list[str], set[str], bool]:
    """Who explicitly sets a seccomp type other than RuntimeDefault/Localhost, the bad
    types, and whether the pod level sets a good one."""
    good = ("RuntimeDefault", "Localhost")
    values: set[str] = set()
    pod_profile = (spec.get("securityContext") or {}).get("seccompProfile")
    pod_bad = False
    if pod_profile is not None and pod_profile.get("type") not in good:
        pod_bad = True
        values.add(pod_profile.get("type") or "")
    names = []
    for ctr in containers(spec):
        profile = security_context(ctr).get("seccompProfile")
        if profile is not None and profile.get("type") not in good:
            names.append(ctr.get("name", ""))
            values.add(profile.get("type") or "")
    return setters_of(pod_bad, names), values, pod_profile is not None and not pod_bad


def seccomp_detail(setters: list[str], values: set[str]) -> str:
    types = join_quote(sorted(values))
    return f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {types}"


def seccomp_profile_baseline(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_seccompProfile_baseline.go (the annotations before 1.19, the fields after)."""
    if minor < 19:
        annotations = meta.get("annotations") or {}

        def ok(value: str) -> bool:
            return value in ("runtime/default", "docker/default") or value.startswith("localhost/")

        keys = [SECCOMP_POD_ANNOTATION] + [
            SECCOMP_CONTAINER_PREFIX + c.get("name", "") for c in containers(spec)
        ]
        bad = sorted(
            {f'{k}="{annotations[k]}"' for k in keys if k in annotations and not ok(annotations[k])}
        )
        if not bad:
            return None
        return (
            "seccompProfile",
            f"forbidden {plural('annotation', 'annotations', len(bad))} {', '.join(bad)}",
        )
    setters, values, _ = bad_seccomp_setters(spec)
    if not setters:
        return None
    detail = seccomp_detail(setters, values)
    return "seccompProfile", detail
