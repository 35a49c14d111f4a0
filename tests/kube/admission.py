"""The ValidatingAdmissionPolicies of ``deploy/`` evaluated as kube-apiserver evaluates
them, with cel-python (PyPI ``cel-python``, imported as ``celpy``), and a gateway in front
of the fake API server that submits every write netprobe makes to them first.

What is reproduced, from kube-apiserver's validating policy plugin
(staging/src/k8s.io/apiserver/pkg/admission/plugin/policy/validating/dispatcher.go and
validator.go): a policy applies when a binding with ``Deny`` names it, one of its
``resourceRules`` matches the request (group, resource/subresource, operation) and all its
``matchConditions`` are true; then its ``variables`` are bound in order under
``variables`` and its ``validations`` evaluated; the first false one denies the request
with "ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request:
<message>". An expression that fails is a denial too (``failurePolicy: Fail``), reported
here apart (``Decision.error``) so that a test can tell a rule that denies from one that
breaks. ``object`` is null for DELETE, ``oldObject`` for CREATE, ``namespaceObject`` for
cluster-scoped resources.

Not reproduced: the Kubernetes CEL libraries (the policies use none, so that this
evaluator can run them), type checking against the OpenAPI schemas (kube-apiserver does
that when the policy is created), and variables' laziness (all are evaluated here, so
each must be safe to evaluate on every request: stricter, not looser).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from fake_api import FakeApiServer

from netprobe.backends.base import ExecResult
from netprobe.backends.kubernetes.api import ForbiddenError, Obj

SERVICE_ACCOUNT = "system:serviceaccount:netprobe-system:netprobe"
NETWORKING = "networking.k8s.io"
_ENV = celpy.Environment()


@dataclass(frozen=True)
class Request:
    """One admission request, in the terms of ``request``, ``object``, ``oldObject`` and
    ``namespaceObject``."""

    operation: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    object: Obj | None = None
    old_object: Obj | None = None
    namespace_object: Obj | None = None
    username: str = SERVICE_ACCOUNT

    def cel_request(self) -> Obj:
        # AdmissionRequest's optional strings are omitempty
        request: Obj = {
            "operation": self.operation,
            "userInfo": {"username": self.username},
            "resource": {"group": self.group, "version": "v1", "resource": self.resource},
        }
        for key, value in (
            ("subResource", self.subresource),
            ("namespace", self.namespace),
            ("name", self.name),
        ):
            if value:
                request[key] = value
        return request


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy: str = ""
    message: str = ""
    """kube-apiserver's message for a denial."""
    error: str = ""
    """An expression that could not be evaluated (a denial under failurePolicy Fail)."""


@dataclass(frozen=True)
class _Expression:
    text: str
    program: Any


def _compiled(text: str) -> _Expression:
    return _Expression(text, _ENV.program(_ENV.compile(text)))


@dataclass(frozen=True)
class Policy:
    name: str
    binding: str
    rules: tuple[Obj, ...]
    conditions: tuple[_Expression, ...]
    variables: tuple[tuple[str, _Expression], ...]
    validations: tuple[tuple[_Expression, str], ...]

    def matches(self, request: Request) -> bool:
        resource = request.resource + (f"/{request.subresource}" if request.subresource else "")
        return any(
            _one_of(request.group, rule["apiGroups"])
            and _one_of(request.operation, rule["operations"])
            and _resource_matches(resource, rule["resources"])
            for rule in self.rules
        )

    def decide(self, request: Request) -> Decision:
        activation: dict[str, Any] = {
            "request": celpy.json_to_cel(request.cel_request()),
            "object": celpy.json_to_cel(request.object),
            "oldObject": celpy.json_to_cel(request.old_object),
            "namespaceObject": celpy.json_to_cel(request.namespace_object),
        }
        try:
            if not all(_true(c, activation) for c in self.conditions):
                return Decision(True)
            bound = {}
            for name, expression in self.variables:
                bound[celtypes.StringType(name)] = _evaluate(expression, activation)
                activation["variables"] = celtypes.MapType(bound)
            for expression, message in self.validations:
                if not _true(expression, activation):
                    return Decision(
                        False,
                        self.name,
                        f"ValidatingAdmissionPolicy '{self.name}' with binding "
                        f"'{self.binding}' denied request: {message}",
                    )
        except _Failed as exc:
            return Decision(False, self.name, error=str(exc))
        return Decision(True)


class _Failed(Exception):
    pass


def _evaluate(expression: _Expression, activation: Mapping[str, Any]) -> Any:
    try:
        return expression.program.evaluate(dict(activation))
    except celpy.CELEvalError as exc:
        raise _Failed(f"{expression.text}: {exc}") from exc


def _true(expression: _Expression, activation: Mapping[str, Any]) -> bool:
    value = _evaluate(expression, activation)
    if not isinstance(value, celtypes.BoolType):
        raise _Failed(f"{expression.text}: not a bool ({value!r})")
    return bool(value)


def _one_of(value: str, allowed: Sequence[str]) -> bool:
    return "*" in allowed or value in allowed


def _resource_matches(resource: str, patterns: Sequence[str]) -> bool:
    # NamedRuleWithOperations.resources: 'pods', 'pods/log', '*' (no subresources),
    # 'pods/*', '*/scale', '*/*'
    main, _, sub = resource.partition("/")
    for pattern in patterns:
        p_main, _, p_sub = pattern.partition("/")
        if p_main in ("*", main) and (p_sub == sub or (p_sub == "*" and sub)):
            return True
    return False


def load_policies(documents: Iterable[Obj]) -> tuple[Policy, ...]:
    """The policies that a ``Deny`` binding among ``documents`` puts in force."""
    documents = list(documents)
    bindings = {
        doc["spec"]["policyName"]: doc["metadata"]["name"]
        for doc in documents
        if doc.get("kind") == "ValidatingAdmissionPolicyBinding"
        and "Deny" in doc["spec"]["validationActions"]
    }
    out = []
    for doc in documents:
        if doc.get("kind") != "ValidatingAdmissionPolicy":
            continue
        spec = doc["spec"]
        name = doc["metadata"]["name"]
        if name not in bindings:
            continue
        out.append(
            Policy(
                name,
                bindings[name],
                tuple(spec["matchConstraints"]["resourceRules"]),
                tuple(_compiled(c["expression"]) for c in spec.get("matchConditions") or ()),
                tuple((v["name"], _compiled(v["expression"])) for v in spec.get("variables") or ()),
                tuple((_compiled(v["expression"]), v["message"]) for v in spec["validations"]),
            )
        )
    return tuple(out)


def admit(policies: Sequence[Policy], request: Request) -> Decision:
    """The first denial among the policies matching ``request``, else allowed."""
    for policy in policies:
        if policy.matches(request):
            decision = policy.decide(request)
            if not decision.allowed:
                return decision
    return Decision(True)


def namespace_object(namespace: Obj) -> Obj:
    """``namespaceObject`` as kube-apiserver builds it (cel.CreateNamespaceObject: the
    name, labels and annotations, spec and status)."""
    meta = namespace.get("metadata") or {}
    out: Obj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {k: meta[k] for k in ("name", "labels", "annotations") if k in meta},
    }
    for key in ("spec", "status"):
        if key in namespace:
            out[key] = namespace[key]
    return out


def _labelled(obj: Obj, labels: Mapping[str, str | None]) -> Obj:
    out = copy.deepcopy(obj)
    merged = dict(out["metadata"].get("labels") or {})
    for key, value in labels.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    out["metadata"]["labels"] = merged
    return out


class AdmittingApi:
    """The fake API server with the policies in front of its writes, as netprobe's
    ServiceAccount: a denied request raises the 403 kube-apiserver answers (the policies
    set ``reason: Forbidden``) and changes nothing; reads and Leases pass through.
    ``admitted`` and ``denied`` record every request the policies judged."""

    def __init__(self, api: FakeApiServer, policies: Sequence[Policy]) -> None:
        self._api = api
        self._policies = policies
        self.admitted: list[Request] = []
        self.denied: list[tuple[Request, Decision]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def _admit(self, request: Request) -> None:
        decision = admit(self._policies, request)
        if decision.allowed:
            self.admitted.append(request)
            return
        self.denied.append((request, decision))
        kind = request.resource + (f"/{request.subresource}" if request.subresource else "")
        raise ForbiddenError(
            f'{kind} "{request.name}" is forbidden: {decision.message or decision.error}', 403
        )

    def _in(self, namespace: str) -> Obj | None:
        stored = self._api.namespaces.get(namespace)
        return namespace_object(stored) if stored is not None else None

    def _namespaced(
        self, operation: str, resource: str, namespace: str, name: str, **kw: Any
    ) -> None:
        ns_obj = self._in(namespace)
        if ns_obj is None:  # the NamespaceLifecycle plugin answers first; the fake does here
            return
        group = NETWORKING if resource == "networkpolicies" else ""
        self._admit(
            Request(
                operation,
                resource,
                group,
                namespace=namespace,
                name=name,
                namespace_object=ns_obj,
                **kw,
            )
        )

    # -- namespaces -------------------------------------------------------------------
    def create_namespace(self, body: Obj) -> Obj:
        self._admit(Request("CREATE", "namespaces", name=body["metadata"]["name"], object=body))
        return self._api.create_namespace(body)

    def patch_namespace_labels(self, name: str, labels: Mapping[str, str | None]) -> Obj:
        old = self._api.namespaces.get(name)
        if old is not None:
            self._admit(
                Request(
                    "UPDATE", "namespaces", name=name, object=_labelled(old, labels), old_object=old
                )
            )
        return self._api.patch_namespace_labels(name, labels)

    def delete_namespace(self, name: str) -> bool:
        old = self._api.namespaces.get(name)
        if old is not None:
            self._admit(Request("DELETE", "namespaces", name=name, old_object=old))
        return self._api.delete_namespace(name)

    # -- pods -------------------------------------------------------------------------
    def create_pod(self, namespace: str, body: Obj) -> Obj:
        self._namespaced("CREATE", "pods", namespace, body["metadata"]["name"], object=body)
        return self._api.create_pod(namespace, body)

    def patch_pod_labels(self, namespace: str, name: str, labels: Mapping[str, str | None]) -> Obj:
        old = self._api.pods.get((namespace, name))
        if old is not None:
            self._namespaced(
                "UPDATE", "pods", namespace, name, object=_labelled(old, labels), old_object=old
            )
        return self._api.patch_pod_labels(namespace, name, labels)

    def delete_pod(self, namespace: str, name: str) -> bool:
        old = self._api.pods.get((namespace, name))
        if old is not None:
            self._namespaced("DELETE", "pods", namespace, name, old_object=old)
        return self._api.delete_pod(namespace, name)

    def add_ephemeral_container(self, namespace: str, name: str, container: Obj) -> Obj:
        old = self._api.pods.get((namespace, name))
        if old is not None:
            new = copy.deepcopy(old)
            added = new["spec"].setdefault("ephemeralContainers", [])
            if not any(c["name"] == container["name"] for c in added):
                added.append(copy.deepcopy(container))
            self._namespaced(
                "UPDATE",
                "pods",
                namespace,
                name,
                subresource="ephemeralcontainers",
                object=new,
                old_object=old,
            )
        return self._api.add_ephemeral_container(namespace, name, container)

    # -- policies ---------------------------------------------------------------------
    def create_policy(self, namespace: str, body: Obj) -> Obj:
        self._namespaced(
            "CREATE", "networkpolicies", namespace, body["metadata"]["name"], object=body
        )
        return self._api.create_policy(namespace, body)

    def replace_policy(self, namespace: str, name: str, body: Obj) -> Obj:
        old = self._api.policies.get((namespace, name))
        if old is not None:
            self._namespaced(
                "UPDATE", "networkpolicies", namespace, name, object=body, old_object=old
            )
        return self._api.replace_policy(namespace, name, body)

    def delete_policy(self, namespace: str, name: str) -> bool:
        old = self._api.policies.get((namespace, name))
        if old is not None:
            self._namespaced("DELETE", "networkpolicies", namespace, name, old_object=old)
        return self._api.delete_policy(namespace, name)

    # -- exec -------------------------------------------------------------------------
    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        options = {
            "apiVersion": "v1",
            "kind": "PodExecOptions",
            "container": container,
            "command": list(argv),
            "stdout": True,
            "stderr": True,
        }
        self._namespaced("CONNECT", "pods", namespace, pod, subresource="exec", object=options)
        return self._api.exec(namespace, pod, container, argv, timeout)
