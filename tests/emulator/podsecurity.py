"""Pod Security admission (the ``pod-security.kubernetes.io/enforce`` label) as
kube-apiserver 1.34 evaluates it, and the 403 message it refuses a pod with.

Mirrors ``staging/src/k8s.io/pod-security-admission/policy``: one function per check file
(``check_*.go``), run in the order the evaluator runs them (``registry.go``
``EvaluatePod``: the baseline checks that do not overlap, then, for ``baseline``, the
overlapping ones, for ``restricted``, the restricted ones; each group in the order of the
files' ``init()``, i.e. file names in byte order). A violation reads ``reason (detail)``, as
``AggregateCheckResult.ForbiddenDetail`` joins them; ``admission/admission.go``
``EvaluatePod`` prefixes ``violates PodSecurity "<level>:<version>": ``. Containers are
visited init, regular, ephemeral (``visitContainers``).

The user-namespace relaxation of runAsNonRoot/runAsUser/procMount (pods with
``hostUsers: false``) is not applied: upstream gates it (``RelaxPolicyForUserNamespacePods``)
and it is off unless the cluster opts in. The messages of the AppArmor *field* check
(1.30+) are not verified against upstream source (the annotation check's are); netprobe
never sets either. Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from emulator.psabaseline import (
    app_armor_profile,
    capabilities_baseline,
    host_namespaces,
    host_path_volumes,
    host_ports,
    host_probes_and_lifecycle,
    privileged,
    proc_mount,
    se_linux_options,
    seccomp_profile_baseline,
    sysctls,
    windows_host_process,
)
from emulator.psarestricted import (
    allow_privilege_escalation,
    capabilities_restricted,
    restricted_volumes,
    run_as_non_root,
    run_as_user,
    seccomp_profile_restricted,
)

Obj = Mapping[str, Any]
Check = Callable[[Obj, Obj, int], "tuple[str, str] | None"]

LEVELS = ("privileged", "baseline", "restricted")
MAX_MINOR = 34
"""The newest policy version this server knows: a newer label value is evaluated as 1.34."""

BASELINE: tuple[Check, ...] = (
    app_armor_profile,
    host_namespaces,
    host_ports,
    host_probes_and_lifecycle,
    privileged,
    proc_mount,
    se_linux_options,
    sysctls,
    windows_host_process,
)
OVERLAPPING_BASELINE: tuple[Check, ...] = (
    capabilities_baseline,
    host_path_volumes,
    seccomp_profile_baseline,
)
"""``Overlap: true`` checks: run at baseline only; restricted has stricter twins."""
RESTRICTED: tuple[Check, ...] = (
    allow_privilege_escalation,
    capabilities_restricted,
    restricted_volumes,
    run_as_non_root,
    run_as_user,
    seccomp_profile_restricted,
)


def parse_version(version: str) -> int:
    """The minor of a ``pod-security.kubernetes.io/*-version`` value, ``latest`` or
    ``v1.N`` (api/helpers.go ``ParseVersion``: the ``v`` is required), capped at the newest
    this server knows."""
    if version == "latest":
        return MAX_MINOR
    minor = version.removeprefix("v1.")
    if not version.startswith("v1.") or not minor.isdigit() or (minor != "0" and minor[0] == "0"):
        raise ValueError(f"not a Pod Security version: {version!r}")
    return min(int(minor), MAX_MINOR)


def violations(level: str, pod: Obj, version: str = "latest") -> list[str]:
    """Every ``reason (detail)`` that ``pod`` violates at ``level`` (privileged, baseline,
    restricted) of policy ``version``, in the evaluator's order; empty when admitted."""
    if level not in LEVELS:
        raise ValueError(f"not a Pod Security level: {level!r}")
    if level == "privileged":
        return []
    minor = parse_version(version)
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    checks = BASELINE + (OVERLAPPING_BASELINE if level == "baseline" else RESTRICTED)
    found = []
    for check in checks:
        result = check(meta, spec, minor)
        if result is not None:
            found.append(f"{result[0]} ({result[1]})")
    return found


def forbidden_message(pod_name: str, level: str, version: str, found: list[str]) -> str:
    """The 403's message: ``errors.NewForbidden(pods, name, "violates PodSecurity ...")``."""
    head = f'pods "{pod_name}" is forbidden: violates PodSecurity "{level}:{version}"'
    return f"{head}: {', '.join(found)}"
