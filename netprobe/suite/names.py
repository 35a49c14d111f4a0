"""The API server's naming rules applied to what a suite declares, and suite tags.

A suite's pods and namespaces are created for real by the live backends, so a name the API
server would refuse must fail at load time, naming the field that holds it. The rules
themselves live once, in :mod:`netprobe.manifests.names`; this module words them for
suites.
"""

from __future__ import annotations

import re

from netprobe.documents import Field
from netprobe.manifests.labels import parse_label_value, parse_labels
from netprobe.manifests.names import (
    LABEL_KEY_RULE,
    LABEL_VALUE_RULE,
    dns_label_problem,
    dns_subdomain_problem,
    label_key_problem,
    label_value_problem,
    port_name_problem,
)

_TAG = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")


def namespace_error(name: str) -> str | None:
    """Why ``name`` cannot be a namespace name, or None."""
    problem = dns_label_problem(name)
    return f"namespace name '{name}' {problem}" if problem else None


def pod_name_error(name: str) -> str | None:
    """Why ``name`` cannot be a pod name, or None."""
    problem = dns_subdomain_problem(name)
    return f"pod name '{name}' {problem}" if problem else None


def port_name_error(name: str) -> str | None:
    """Why ``name`` cannot be a container port name, or None."""
    problem = port_name_problem(name)
    return f"port name '{name}' {problem}" if problem else None


def label_key_error(key: str) -> str | None:
    problem = label_key_problem(key)
    return f"label key '{key}' {problem} ({LABEL_KEY_RULE})" if problem else None


def label_value_error(value: str) -> str | None:
    problem = label_value_problem(value)
    return f"label value '{value}' {problem} ({LABEL_VALUE_RULE})" if problem else None


def parse_label_changes(field: Field) -> dict[str, str | None]:
    """Labels to set (``key: value``) or remove (``key: null``)."""
    changes: dict[str, str | None] = {}
    for key, child in field.items():
        error = label_key_error(key)
        if error:
            child.fail(error)
        changes[key] = None if child.value is None else parse_label_value(child)
    return changes


def parse_tags(field: Field) -> tuple[str, ...]:
    """A list of tags (or one tag as a string); each usable with ``pytest -k``."""
    items = [field] if isinstance(field.value, str) else field.elements()
    tags = []
    for item in items:
        tag = item.as_str()
        if not _TAG.match(tag):
            item.fail(f"'{tag}' is not a valid tag (letters, digits, '-', '_' and '.')")
        tags.append(tag)
    return tuple(dict.fromkeys(tags))


__all__ = [
    "label_key_error",
    "label_value_error",
    "namespace_error",
    "parse_label_changes",
    "parse_labels",
    "parse_tags",
    "pod_name_error",
    "port_name_error",
]
