"""``metadata`` validation: names, namespaces, labels, annotations, finalizers, and what an
update may not change.

Mirrors ``staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go``
(``ValidateObjectMetaAccessor``, ``validateObjectMetaAccessorWithOptsCommon``,
``ValidateAnnotations``, ``ValidateFinalizerName``, ``ValidateObjectMetaAccessorUpdate``),
``.../api/validation/generic.go`` (``NameIsDNSSubdomain``, ``NameIsDNSLabel``,
``maskTrailingDash``) and ``staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/
validation.go`` (``ValidateLabels``, ``ValidateLabelName``, ``ValidateLabelSelector``),
Kubernetes 1.34. Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from emulator import formats
from emulator.fielderrors import Cause, forbidden, invalid, not_supported, required, too_long

NameCheck = Callable[[str, bool], list[str]]

TOTAL_ANNOTATION_SIZE = 256 * (1 << 10)
"""``TotalAnnotationSizeLimitB``: keys plus values, in bytes."""
IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"


def _mask_trailing_dash(name: str) -> str:
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSSubdomain``: pods, network policies, leases."""
    return formats.dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSLabel``: namespaces (``ValidateNamespaceName``)."""
    return formats.dns1123_label(_mask_trailing_dash(name) if prefix else name)


def validate_labels(labels: Mapping[str, Any], path: str) -> list[Cause]:
    """``ValidateLabels``: every error is reported at ``path`` itself (not keyed)."""
    causes = []
    for key, value in labels.items():
        causes += [invalid(path, key, m) for m in formats.qualified_name(key)]
        causes += [invalid(path, value, m) for m in formats.label_value(str(value))]
    return causes


def validate_annotations(annotations: Mapping[str, Any], path: str) -> list[Cause]:
    """``ValidateAnnotations``: keys are qualified names compared lowercased; the total size
    of keys and values is at most 256 KiB."""
    causes = []
    for key in annotations:
        causes += [invalid(path, key, m) for m in formats.qualified_name(key.lower())]
    size = sum(formats.go_len(k) + formats.go_len(str(v)) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return causes


def validate_label_selector(selector: Mapping[str, Any] | None, path: str) -> list[Cause]:
    """``ValidateLabelSelector`` with ``AllowInvalidLabelValueInSelector: false`` (a create)."""
    if selector is None:
        return []
    causes = validate_labels(selector.get("matchLabels") or {}, f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        at = f"{path}.matchExpressions[{i}]"
        operator = expr.get("operator", "")
        values = expr.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                detail = "must be specified when `operator` is 'In' or 'NotIn'"
                causes.append(required(f"{at}.values", detail))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                causes.append(forbidden(f"{at}.values", detail))
        else:
            causes.append(invalid(f"{at}.operator", operator, "not a valid selector operator"))
        key = expr.get("key", "")
        causes += [invalid(f"{at}.key", key, m) for m in formats.qualified_name(key)]
        for j, value in enumerate(values):
            causes += [invalid(f"{at}.values[{j}]", value, m) for m in formats.label_value(value)]
    return causes


def validate_finalizer_name(value: str, path: str) -> list[Cause]:
    """``ValidateFinalizerName``."""
    return [invalid(path, value, m) for m in formats.qualified_name(value)]


def validate_object_meta(
    meta: Mapping[str, Any], namespaced: bool, name_check: NameCheck
) -> list[Cause]:
    """``ValidateObjectMetaAccessor`` on ``metadata`` (owner references and managed fields
    are not checked here)."""
    causes: list[Cause] = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        for m in name_check(generate_name, True):
            causes.append(invalid("metadata.generateName", generate_name, m))
    name = meta.get("name") or ""
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    else:
        causes += [invalid("metadata.name", name, m) for m in name_check(name, False)]
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            causes.append(required("metadata.namespace"))
        else:
            for m in name_is_dns_label(namespace, False):
                causes.append(invalid("metadata.namespace", namespace, m))
    elif namespace:
        causes.append(forbidden("metadata.namespace", "not allowed on this type"))
    generation = meta.get("generation") or 0
    if generation < 0:
        causes.append(invalid("metadata.generation", generation, NEGATIVE))
    causes += validate_labels(meta.get("labels") or {}, "metadata.labels")
    causes += validate_annotations(meta.get("annotations") or {}, "metadata.annotations")
    finalizers = meta.get("finalizers") or []
    for finalizer in finalizers:
        causes += validate_finalizer_name(finalizer, "metadata.finalizers")
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        detail = "finalizer orphan and foregroundDeletion cannot be both set"
        causes.append(invalid("metadata.finalizers", finalizers, detail))
    return causes


def validate_object_meta_update(
    new: Mapping[str, Any], old: Mapping[str, Any], *, resource_version_required: bool
) -> list[Cause]:
    """``ValidateObjectMetaAccessorUpdate``. ``resource_version_required``: False where the
    generic store has already filled in the stored resourceVersion (kinds whose strategy
    allows unconditional updates), so the check cannot fire there."""
    causes: list[Cause] = []
    if old.get("deletionTimestamp"):
        added = sorted(set(new.get("finalizers") or []) - set(old.get("finalizers") or []))
        if added:
            quoted = ", ".join(f'"{f}"' for f in added)
            detail = (
                "no new finalizers can be added if the object is being deleted, "
                f"found new finalizers []string{{{quoted}}}"
            )
            causes.append(forbidden("metadata.finalizers", detail))
    version = new.get("resourceVersion") or ""
    if resource_version_required and not version:
        causes.append(
            invalid("metadata.resourceVersion", version, "must be specified for an update")
        )
    if (new.get("generation") or 0) < (old.get("generation") or 0):
        causes.append(
            invalid("metadata.generation", new.get("generation") or 0, "must not be decremented")
        )
    for key in (
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ):
        if new.get(key) != old.get(key):
            causes.append(invalid(f"metadata.{key}", new.get(key), IMMUTABLE))
    causes += validate_labels(new.get("labels") or {}, "metadata.labels")
    causes += validate_annotations(new.get("annotations") or {}, "metadata.annotations")
    return causes


def enum(path: str, value: Any, valid: tuple[str, ...]) -> list[Cause]:
    """The common "required when empty, else one of" check (``validateRestartPolicy``,
    ``validateDNSPolicy``, ``validatePullPolicy``...)."""
    if value in valid:
        return []
    if value in (None, ""):
        return [required(path)]
    return [not_supported(path, value, valid)]
