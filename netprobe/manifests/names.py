"""The API server's rules for names, label keys, label values and port names.

Pure string checks (apimachinery's ``IsDNS1123Label``, ``IsDNS1123Subdomain``,
``IsQualifiedName``, ``IsValidLabelValue``, ``IsValidPortName`` and ``IsConfigMapKey``):
each returns what is wrong with the text, or None when the API server would accept it.
Callers turn the answer into a located error; nothing here knows about files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from netprobe.documents import suggest

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_PORT_NAME_CHARS = re.compile(r"[-a-z0-9]+")
_LETTER = re.compile(r"[a-z]")
_CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")

DNS_LABEL_RULE = (
    "at most 63 characters: lowercase letters, digits and '-', "
    "starting and ending with a letter or digit"
)
DNS_SUBDOMAIN_RULE = (
    "at most 253 characters: lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit"
)
LABEL_KEY_RULE = (
    "a key is an optional DNS subdomain prefix and '/', then a name of at most 63 "
    "characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
)
LABEL_VALUE_RULE = (
    "a value is empty or at most 63 characters: letters, digits, '-', '_' and '.', "
    "starting and ending with a letter or digit"
)
PORT_NAME_RULE = (
    "a port name has at most 15 characters: lowercase letters, digits and '-', "
    "at least one letter, no '-' at either end and no '--'"
)


def dns_label_problem(text: str) -> str | None:
    """What makes ``text`` an invalid DNS-1123 label (namespace names), if anything."""
    if len(text) > 63:
        return f"is {len(text)} characters long, the limit is 63"
    if not _DNS_LABEL.fullmatch(text):
        return (
            "must be lowercase letters, digits and '-', starting and ending with a letter or digit"
        )
    return None


def dns_subdomain_problem(text: str) -> str | None:
    """What makes ``text`` an invalid DNS-1123 subdomain (pod and policy names), if anything."""
    if len(text) > 253:
        return f"is {len(text)} characters long, the limit is 253"
    if not _DNS_SUBDOMAIN.fullmatch(text):
        return (
            "must be lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """What makes ``key`` an invalid label key (a qualified name), if anything."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            return "has an empty prefix before '/'"
        problem = dns_subdomain_problem(prefix)
        if problem:
            return f"has a prefix '{prefix}' that {problem}"
    if not name:
        return "has an empty name part"
    if len(name) > 63:
        return f"has a name part of {len(name)} characters, the limit is 63"
    problem = _qualified_part_problem(name)
    return f"has a name part '{name}' that {problem}" if problem else None


def label_value_problem(value: str) -> str | None:
    """What makes ``value`` an invalid label value, if anything (empty is valid)."""
    if len(value) > 63:
        return f"is {len(value)} characters long, the limit is 63"
    return _qualified_part_problem(value) if value else None


def _qualified_part_problem(text: str) -> str | None:
    if _QUALIFIED_PART.fullmatch(text):
        return None
    if _NOT_QUALIFIED.search(text):
        return "may hold only letters, digits, '-', '_' and '.'"
    return "must start and end with a letter or digit"


def port_name_problem(name: str) -> str | None:
    """What makes ``name`` an invalid port name (IANA_SVC_NAME), if anything."""
    if len(name) > 15:
        return f"is {len(name)} characters long, the limit is 15"
    if not _PORT_NAME_CHARS.fullmatch(name):
        return "may hold only lowercase letters, digits and '-'"
    if not _LETTER.search(name):
        return "must contain at least one letter"
    if "--" in name:
        return "must not contain '--'"
    if name.startswith("-") or name.endswith("-"):
        return "must not begin or end with '-'"
    return None


def configmap_key_problem(key: str) -> str | None:
    """What makes ``key`` an invalid ConfigMap data key, if anything (apimachinery's
    ``IsConfigMapKey``: at most 253 characters of ``[-._a-zA-Z0-9]``, not ``.``, ``..`` nor
    starting with ``..``)."""
    if not key:
        return "is empty"
    if len(key) > 253:
        return f"is {len(key)} characters long, the limit is 253"
    if not _CONFIGMAP_KEY.fullmatch(key):
        return "may hold only letters, digits, '-', '_' and '.'"
    if key.startswith(".."):
        return "must not start with '..'"
    if key == ".":
        return "must not be '.'"
    return None


def did_you_mean(text: str, choices: Sequence[str]) -> str | None:
    """'did you mean ...?' for a misspelt enum value, case slips included (``tcp``)."""
    for choice in choices:
        if choice.lower() == text.lower():
            return f"did you mean '{choice}'?"
    return suggest(text, choices)


_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_DNS_OR_DOT = re.compile(r"[^a-z0-9.-]+")
_NOT_QUALIFIED = re.compile(r"[^A-Za-z0-9_.-]+")


def _cut(text: str, limit: int, ends: str) -> str:
    return text[:limit].strip(ends)


def fixed_dns_label(text: str) -> str | None:
    """A valid DNS-1123 label close to ``text`` (for a hint), if one is easy to make."""
    return _valid(_cut(_NOT_DNS.sub("-", text.lower()), 63, "-"), dns_label_problem)


def fixed_dns_subdomain(text: str) -> str | None:
    """A valid DNS-1123 subdomain close to ``text`` (for a hint), if one is easy to make."""
    return _valid(_cut(_NOT_DNS_OR_DOT.sub("-", text.lower()), 253, "-."), dns_subdomain_problem)


def fixed_label_value(value: str) -> str | None:
    """A valid label value close to ``value`` (for a hint), if one is easy to make."""
    return _valid(_cut(_NOT_QUALIFIED.sub("-", value), 63, "-_."), label_value_problem)


def fixed_label_key(key: str) -> str | None:
    """A valid label key close to ``key`` (for a hint), if one is easy to make."""
    prefix, slash, name = key.rpartition("/")
    fixed_name = _cut(_NOT_QUALIFIED.sub("-", name.replace("/", "-")), 63, "-_.")
    fixed_prefix = fixed_dns_subdomain(prefix) or "" if slash else ""
    fixed = f"{fixed_prefix}/{fixed_name}" if fixed_prefix else fixed_name
    return _valid(fixed, label_key_problem)


def fixed_port_name(name: str) -> str | None:
    """A valid port name close to ``name`` (for a hint), if one is easy to make."""
    fixed = re.sub(r"-{2,}", "-", _NOT_DNS.sub("-", name.lower()))
    return _valid(_cut(fixed.strip("-"), 15, "-"), port_name_problem)


def _valid(fixed: str, problem: Callable[[str], str | None]) -> str | None:
    return fixed if fixed and problem(fixed) is None else None


def try_hint(fixed: str | None, rule: str) -> str:
    """``try 'fixed'`` when a fix was found, else the rule."""
    return f"try '{fixed}'" if fixed else rule
