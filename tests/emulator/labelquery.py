"""``labelSelector`` query strings, as kube-apiserver reads them (k8s.io/apimachinery
pkg/labels/selector.go ``Parse``): terms joined by commas, each ``key``, ``!key``,
``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)`` or ``key notin (a,b)``;
``!=`` and ``notin`` also match objects without the key (``Requirement.Matches``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Matcher = Callable[[Mapping[str, str]], bool]

_TERM = re.compile(
    r"\s*(?:(?P<absent>!)\s*(?P<akey>[^\s,!=()]+)"
    r"|(?P<skey>[^\s,!=()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)"
    r"|(?P<ekey>[^\s,!=()]+)\s*(?P<eq>!=|==|=)\s*(?P<value>[^\s,!=()]*)"
    r"|(?P<key>[^\s,!=()]+))\s*(?:,|$)"
)


class SelectorError(ValueError):
    pass


def parse(text: str) -> Matcher:
    terms: list[Matcher] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None or match.end() == position:
            raise SelectorError(f"unable to parse requirement: {text[position:]!r}")
        terms.append(_term(match))
        position = match.end()
    return lambda labels: all(term(labels) for term in terms)


def _term(match: re.Match[str]) -> Matcher:
    if match["absent"]:
        key = match["akey"]
        return lambda labels: key not in labels
    if match["op"]:
        key = match["skey"]
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match["eq"]:
        key, value = match["ekey"], match["value"]
        if match["eq"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    key = match["key"]
    return lambda labels: key in labels
