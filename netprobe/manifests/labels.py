"""Labels and label selectors read from manifests, validated as the API server does.

Keys must be qualified names, values valid label values, ``matchExpressions`` operators one
of In, NotIn, Exists, DoesNotExist; In/NotIn need values and Exists/DoesNotExist take none
(apimachinery ``ValidateLabelSelector``). Matching lives in :mod:`netprobe.selectors`.
"""

from __future__ import annotations

from netprobe.documents import Field, describe
from netprobe.manifests.names import (
    LABEL_KEY_RULE,
    LABEL_VALUE_RULE,
    did_you_mean,
    fixed_label_key,
    fixed_label_value,
    label_key_problem,
    label_value_problem,
    try_hint,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

_OPERATORS = tuple(operator.value for operator in Operator)
_QUOTE_HINT = 'quote it, e.g. "1" or "true": label values are strings'


def parse_label_value(field: Field) -> str:
    """One label value: a string the API server accepts."""
    if not isinstance(field.value, str):
        field.fail(f"expected a string, got {describe(field.value)}", hint=_QUOTE_HINT)
    problem = label_value_problem(field.value)
    if problem:
        field.fail(
            f"label value '{field.value}' {problem}",
            hint=try_hint(fixed_label_value(field.value), LABEL_VALUE_RULE),
        )
    return field.value


def parse_labels(field: Field) -> Labels:
    """A ``labels`` or ``matchLabels`` mapping with valid keys and values."""
    labels: dict[str, str] = {}
    for key, child in field.items():
        problem = label_key_problem(key)
        if problem:
            child.fail(
                f"label key '{key}' {problem}", hint=try_hint(fixed_label_key(key), LABEL_KEY_RULE)
            )
        labels[key] = parse_label_value(child)
    return Labels(labels)


def parse_label_selector(field: Field) -> LabelSelector:
    """A ``matchLabels`` / ``matchExpressions`` selector; ``{}`` selects everything."""
    field.check_keys(("matchLabels", "matchExpressions"))
    match_labels = field.get("matchLabels")
    expressions = field.get("matchExpressions")
    return LabelSelector(
        match_labels=parse_labels(match_labels) if match_labels else Labels(),
        match_expressions=tuple(_parse_requirement(item) for item in expressions.elements())
        if expressions
        else (),
    )


def _parse_requirement(field: Field) -> Requirement:
    field.check_keys(("key", "operator", "values"))
    key_field = field.require("key")
    key = key_field.as_str()
    problem = label_key_problem(key)
    if problem:
        key_field.fail(
            f"label key '{key}' {problem}", hint=try_hint(fixed_label_key(key), LABEL_KEY_RULE)
        )
    operator = _parse_operator(field.require("operator"))
    values_field = field.get("values")
    values = (
        tuple(parse_label_value(item) for item in values_field.elements()) if values_field else ()
    )
    if operator in (Operator.IN, Operator.NOT_IN) and not values:
        (values_field or field).fail(
            f"operator {operator} needs at least one value",
            hint="list the values, or use Exists / DoesNotExist to test only the key",
        )
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
        (values_field or field).fail(
            f"operator {operator} takes no values",
            hint="remove 'values', or use In / NotIn to compare values",
        )
    return Requirement(key, operator, frozenset(values))


def _parse_operator(field: Field) -> Operator:
    text = field.as_str()
    try:
        return Operator(text)
    except ValueError:
        close = did_you_mean(text, _OPERATORS)
        hint = f"use one of {', '.join(_OPERATORS)}" + (f"; {close}" if close else "")
        field.fail(f"'{text}' is not a selector operator", hint=hint)
