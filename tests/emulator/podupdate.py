"""Pod updates: ``ValidatePodUpdate`` and ``ValidatePodEphemeralContainersUpdate`` of
``pkg/apis/core/validation/validation.go``, Kubernetes 1.34.

Upstream ends the "pod updates may not change fields other than ..." message with a
``cmp.Diff`` of two Go structs; that diff cannot be reproduced, so the text after the first
line is this module's own ``-old``/``+new`` listing. Everything before it is upstream's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from emulator import formats
from emulator.fielderrors import Cause, forbidden, go_quote, invalid, required
from emulator.metadata import validate_object_meta_update
from emulator.podvalidation import MAX_INT32, metadata_and_spec, validate_tolerations

Obj = Mapping[str, Any]

UPDATABLE_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
"""``updatablePodSpecFields``."""
POD_UPDATE_FORBIDDEN = "pod updates may not change fields other than " + ",".join(UPDATABLE_FIELDS)


def _spec_diff(old: Obj, new: Obj) -> str:
    """Stands in for upstream's ``cmp.Diff`` of two Go structs (not reproducible here): one
    ``-old``/``+new`` line per differing top-level field."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"-\t{key}: {json.dumps(old.get(key), sort_keys=True)}")
            lines.append(f"+\t{key}: {json.dumps(new.get(key), sort_keys=True)}")
    return "\n".join(lines)


def _container_updates(new: list[Obj], old: list[Obj], path: str) -> tuple[list[Cause], bool]:
    """``ValidateContainerUpdates``."""
    if len(new) != len(old):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    causes: list[Cause] = []
    for i, ctr in enumerate(new):
        image = ctr.get("image") or ""
        if not image:
            causes.append(required(f"{path}[{i}].image"))
        if image.strip() != image:
            detail = "must not have leading or trailing whitespace"
            causes.append(invalid(f"{path}[{i}].image", image, detail))
    return causes, False


def _tolerations_only_added(new: list[Obj], old: list[Obj]) -> list[Cause]:
    """``validateOnlyAddedTolerations``."""

    def same(a: Obj, b: Obj) -> bool:
        strip = ("tolerationSeconds",)
        return {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }

    for existing in old:
        if not any(same(existing, t) for t in new):
            detail = "existing toleration can not be modified except its tolerationSeconds"
            return [forbidden("spec.tolerations", detail)]
    return validate_tolerations(new)


def validate_pod_update(new: Obj, old: Obj) -> list[Cause]:
    """``ValidatePodUpdate``: only images, activeDeadlineSeconds (down), added tolerations
    and a negative grace period set to 1 may change. Call it on the object the store would
    validate (after ``defaulting.prepare_for_update``)."""
    causes = validate_object_meta_update(
        new.get("metadata") or {}, old.get("metadata") or {}, resource_version_required=False
    )
    causes += metadata_and_spec(new)
    new_spec, old_spec = dict(new.get("spec") or {}), old.get("spec") or {}
    for key in ("containers", "initContainers"):
        found, stop = _container_updates(
            new_spec.get(key) or [], old_spec.get(key) or [], f"spec.{key}"
        )
        causes += found
        if stop:
            return causes
    new_deadline, old_deadline = (
        new_spec.get("activeDeadlineSeconds"),
        old_spec.get("activeDeadlineSeconds"),
    )
    if new_deadline is not None:
        if not 0 <= new_deadline <= MAX_INT32:
            causes.append(
                invalid(
                    "spec.activeDeadlineSeconds",
                    new_deadline,
                    formats.inclusive_range_error(0, MAX_INT32),
                )
            )
            return causes
        if old_deadline is not None and old_deadline < new_deadline:
            detail = "must be less than or equal to previous value"
            causes.append(invalid("spec.activeDeadlineSeconds", new_deadline, detail))
            return causes
    elif old_deadline is not None:
        detail = "must not update from a positive integer to nil value"
        causes.append(invalid("spec.activeDeadlineSeconds", None, detail))
    causes += _tolerations_only_added(
        new_spec.get("tolerations") or [], old_spec.get("tolerations") or []
    )
    if new_spec == old_spec:
        return causes
    munged = dict(new_spec)
    for key in ("containers", "initContainers"):
        if key in munged:
            olds = old_spec.get(key) or []
            munged[key] = [{**c, "image": olds[i].get("image")} for i, c in enumerate(munged[key])]
    munged.pop("activeDeadlineSeconds", None)
    if old_deadline is not None:
        munged["activeDeadlineSeconds"] = old_deadline
    for key in ("schedulingGates", "tolerations"):
        munged.pop(key, None)
        if key in old_spec:
            munged[key] = old_spec[key]
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != old_spec:
        causes.append(forbidden("spec", f"{POD_UPDATE_FORBIDDEN}\n{_spec_diff(old_spec, munged)}"))
    return causes


def validate_ephemeral_containers_update(new: Obj, old: Obj) -> list[Cause]:
    """``ValidatePodEphemeralContainersUpdate`` (the ``ephemeralcontainers`` subresource):
    the pod is revalidated and existing ephemeral containers may be neither removed nor
    changed."""
    causes = validate_object_meta_update(
        new.get("metadata") or {}, old.get("metadata") or {}, resource_version_required=False
    )
    causes += metadata_and_spec(new)
    if "kubernetes.io/config.mirror" in ((old.get("metadata") or {}).get("annotations") or {}):
        return [forbidden("", "static pods do not support ephemeral containers")]
    current = {c.get("name"): c for c in (new.get("spec") or {}).get("ephemeralContainers") or []}
    for existing in (old.get("spec") or {}).get("ephemeralContainers") or []:
        name = existing.get("name")
        if name not in current:
            detail = f"existing ephemeral containers {go_quote(name)} may not be removed\n"
            causes.append(forbidden("spec.ephemeralContainers", detail))
        elif current[name] != existing:
            detail = f"existing ephemeral containers {go_quote(name)} may not be changed\n"
            causes.append(
                forbidden("spec.ephemeralContainers", detail + _spec_diff(existing, current[name]))
            )
    return causes
