"""The restricted checks of Pod Security admission: one function per
``staging/src/k8s.io/pod-security-admission/policy/check_*.go`` of Kubernetes 1.34 whose
level is restricted, each returning ``(reason, detail)`` or None.
"""

from __future__ import annotations

from emulator.psabaseline import (
    Obj,
    Result,
    bad_seccomp_setters,
    containers,
    join_quote,
    plural,
    seccomp_detail,
    security_context,
    setters_of,
    windows,
)

RESTRICTED_VOLUME_SOURCES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)


def allow_privilege_escalation(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_allowPrivilegeEscalation.go (Windows pods exempt since 1.25)."""
    if minor >= 25 and windows(spec):
        return None
    names = [
        c.get("name", "")
        for c in containers(spec)
        if security_context(c).get("allowPrivilegeEscalation") is not False
    ]
    if not names:
        return None
    who = f"{plural('container', 'containers', len(names))} {join_quote(names)}"
    return (
        "allowPrivilegeEscalation != false",
        f"{who} must set securityContext.allowPrivilegeEscalation=false",
    )


def capabilities_restricted(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_capabilities_restricted.go (Windows pods exempt since 1.25)."""
    if minor < 22 or (minor >= 25 and windows(spec)):
        return None
    missing, adding, added = [], [], set()
    for ctr in containers(spec):
        caps = security_context(ctr).get("capabilities")
        if caps is None:
            missing.append(ctr.get("name", ""))
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing.append(ctr.get("name", ""))
        extra = [c for c in caps.get("add") or [] if c != "NET_BIND_SERVICE"]
        if extra:
            adding.append(ctr.get("name", ""))
            added.update(extra)
    details = []
    if missing:
        who = f"{plural('container', 'containers', len(missing))} {join_quote(missing)}"
        details.append(f'{who} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        who = f"{plural('container', 'containers', len(adding))} {join_quote(adding)}"
        details.append(
            f"{who} must not include {join_quote(sorted(added))} "
            "in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def restricted_volumes(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_restrictedVolumes.go: the names print with Go's ``%q`` of a []string."""
    names = sorted(
        {
            v.get("name", "")
            for v in spec.get("volumes") or []
            if not any(v.get(k) is not None for k in RESTRICTED_VOLUME_SOURCES)
        }
    )
    if not names:
        return None
    quoted = " ".join(f'"{n}"' for n in names)
    return "restricted volume types", f"volumes [{quoted}] have restricted types"


def run_as_non_root(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_runAsNonRoot.go."""
    pod_value = (spec.get("securityContext") or {}).get("runAsNonRoot")
    explicit, implicit = [], []
    for ctr in containers(spec):
        value = security_context(ctr).get("runAsNonRoot")
        if value is False:
            explicit.append(ctr.get("name", ""))
        elif value is None and pod_value is not True:
            implicit.append(ctr.get("name", ""))
    setters = setters_of(pod_value is False, explicit)
    if setters:
        return (
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        who = f"{plural('container', 'containers', len(implicit))} {join_quote(implicit)}"
        return "runAsNonRoot != true", f"pod or {who} must set securityContext.runAsNonRoot=true"
    return None


def run_as_user(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_runAsUser.go (1.23+)."""
    if minor < 23:
        return None
    names = [
        c.get("name", "") for c in containers(spec) if security_context(c).get("runAsUser") == 0
    ]
    setters = setters_of((spec.get("securityContext") or {}).get("runAsUser") == 0, names)
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def seccomp_profile_restricted(meta: Obj, spec: Obj, minor: int) -> Result:
    """check_seccompProfile_restricted.go (Windows pods exempt since 1.25)."""
    if minor < 19 or (minor >= 25 and windows(spec)):
        return None
    setters, values, pod_good = bad_seccomp_setters(spec)
    if setters:
        detail = seccomp_detail(setters, values)
        return "seccompProfile", detail
    implicit = [
        c.get("name", "")
        for c in containers(spec)
        if security_context(c).get("seccompProfile") is None and not pod_good
    ]
    if implicit:
        who = f"{plural('container', 'containers', len(implicit))} {join_quote(implicit)}"
        return (
            "seccompProfile",
            f"pod or {who} must set securityContext.seccompProfile.type to "
            '"RuntimeDefault" or "Localhost"',
        )
    return None
