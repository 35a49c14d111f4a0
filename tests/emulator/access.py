"""Who may do what: bearer tokens and RBAC-style rules, as kube-apiserver's authenticator
and authorizer decide (an unknown token is 401 ``Unauthorized``; a denied request is 403
``Forbidden`` with the authorizer's message, k8s.io/apiserver pkg/endpoints/handlers/
responsewriters/errors.go ``ForbiddenStatusError``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALL = "*"


@dataclass(frozen=True)
class Rule:
    verbs: frozenset[str]
    resources: frozenset[str]
    """``pods``, ``pods/exec``, ``*``."""
    groups: frozenset[str] = frozenset({ALL})
    namespaces: frozenset[str] | None = None
    """None: every namespace and cluster-scoped requests; else only these namespaces."""

    def allows(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        return (
            (ALL in self.verbs or verb in self.verbs)
            and (ALL in self.groups or group in self.groups)
            and (ALL in self.resources or resource in self.resources)
            and (self.namespaces is None or namespace in self.namespaces)
        )


def rule(verbs: str, resources: str, namespaces: Sequence[str] | None = None) -> Rule:
    """``rule("get,list", "pods,pods/exec", ["a"])``."""
    return Rule(
        frozenset(verbs.split(",")),
        frozenset(resources.split(",")),
        namespaces=None if namespaces is None else frozenset(namespaces),
    )


ADMIN = (rule("*", "*"),)


@dataclass(frozen=True)
class User:
    name: str
    rules: tuple[Rule, ...] = ADMIN
    groups: tuple[str, ...] = ("system:authenticated",)

    def allowed(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        return any(r.allows(verb, group, resource, namespace) for r in self.rules)

    def denial(self, verb: str, group: str, resource: str, namespace: str, name: str) -> str:
        """The authorizer's 403 message (``User "x" cannot get resource "pods" ...``)."""
        plural, _, sub = resource.partition("/")
        what = f'resource "{plural}"' + (f' subresource "{sub}"' if sub else "")
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        target = (
            f'{plural}.{group} "{name}"'
            if group and name
            else f'{plural} "{name}"'
            if name
            else (f"{plural}.{group}" if group else plural)
        )
        return (
            f'{target} is forbidden: User "{self.name}" cannot {verb} {what} in API group '
            f'"{group}"{where}'
        )
