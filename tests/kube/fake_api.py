"""An in-memory API server behind netprobe's KubeGateway seam.

It behaves like the real thing where the backend depends on it: objects get a
resourceVersion, creates conflict with what exists (409), replaces with a stale
resourceVersion conflict, namespaces carry ``kubernetes.io/metadata.name`` and go through
Terminating (taking their pods and policies with them; deleting one again then answers 409
as kube-apiserver does), NetworkPolicies are stored defaulted as kube-apiserver stores
them, pods go Pending -> Running with an IP after a few reads, label selectors filter
lists, RBAC denials answer both the SelfSubjectAccessReview and the request itself (403),
and exec is answered by a scripted dataplane that judges each probe with the analyzer on
the policies in force (read back from the stored objects), optionally lagging behind
changes or failing on purpose.

Failure modes are plain fields a test sets: ``bad_images``, ``unschedulable``,
``crashloop``, ``no_sctp``, ``restarts``, ``deny``, ``unreachable``, ``lag_execs``,
``lost_execs``, ``hung_execs``; ``events`` holds the Events a test puts in a namespace. A
crashing container goes through the states the kubelet reports, read by read (see
``_crash_status``).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netprobe.analyzer import evaluate
from netprobe.backends.base import ExecResult
from netprobe.backends.fake import _marker, _read_script
from netprobe.backends.kubernetes.api import (
    AccessCheck,
    AccessDecision,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    Obj,
    UnreachableError,
)
from netprobe.backends.kubernetes.readback import namespace_from_api, pod_from_api, policy_from_api
from netprobe.errors import BackendError
from netprobe.model import (
    ClusterState,
    Connection,
    NetworkPolicy,
    PodRef,
)
from netprobe.probes import DONE_MARKER, Outcome, Probe

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Crash:
    """How a container ends each time it starts."""

    exit_code: int = 2
    log: str = ""
    """What it wrote before exiting (the status message under FallbackToLogsOnError)."""


PROBED_AFTER = 2
"""Reads of a Running pod before a container's readiness probe has passed."""

NO_SCTP_CRASH = Crash(
    1, "2027/01/15 08:00:00 Failed to listen SCTP. error:protocol not supported\n"
)
"""agnhost porter on a node without SCTP: ``log.Fatal("Failed to listen SCTP. error:", err)``
(test/images/agnhost/porter/porter.go; ``fmt.Sprint`` puts no space after a string operand)
prints a line with the standard logger's date and time and exits 1."""
Dataplane = Callable[["FakeApiServer", PodRef, str, Sequence[str], float], ExecResult]


# -- label selectors in the API's query syntax -------------------------------------------

_TERM = re.compile(
    r"\s*(?:(?P<not>!)(?P<nkey>[\w./-]+)"
    r"|(?P<skey>[\w./-]+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)"
    r"|(?P<ekey>[\w./-]+)\s*(?P<eq>!=|==|=)\s*(?P<value>[\w.-]*)"
    r"|(?P<key>[\w./-]+))\s*(?:,|$)"
)


def selector_matches(query: str, labels: Mapping[str, str]) -> bool:
    """``a=b,c!=d,e,!f,g in (x,y),h notin (z)`` as the API server reads it."""
    position = 0
    query = query.strip()
    while position < len(query):
        match = _TERM.match(query, position)
        if match is None or match.end() == position:
            raise InvalidError(f"unable to parse requirement: {query[position:]!r}", 400)
        position = match.end()
        if match["nkey"]:
            ok = match["nkey"] not in labels
        elif match["skey"]:
            values = {v.strip() for v in match["values"].split(",")}
            present = match["skey"] in labels
            inside = present and labels[match["skey"]] in values
            ok = inside if match["op"] == "in" else not inside
        elif match["ekey"]:
            equal = labels.get(match["ekey"]) == match["value"]
            ok = equal if match["eq"] != "!=" else not equal
        else:
            ok = match["key"] in labels
        if not ok:
            return False
    return True


# -- NetworkPolicy objects: what the API server stores, and what the "CNI" enforces ------


def default_policy(body: Obj) -> Obj:
    """A NetworkPolicy as kube-apiserver stores it: defaulted by
    kubernetes/kubernetes pkg/apis/networking/v1/zz_generated.defaults.go
    SetObjectDefaults_NetworkPolicy, which calls SetDefaults_NetworkPolicy (defaults.go: an
    absent or empty ``policyTypes`` becomes [Ingress], plus Egress when ``egress`` is not
    empty) and SetDefaults_NetworkPolicyPort on every port of every ingress and egress rule
    (an absent ``protocol`` becomes TCP; ``port`` and ``endPort`` are left alone); then
    serialised by Go, whose ``omitempty`` drops the empty lists (k8s.io/api networking/v1
    types.go: ``ingress``, ``egress``, ``from``, ``to``, ``ports``, ``policyTypes``)."""
    obj = copy.deepcopy(body)
    spec = obj.setdefault("spec", {})
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        if not rules:
            spec.pop(direction, None)
            continue
        for rule in rules:
            for key in (peers_key, "ports"):
                if key in rule and not rule[key]:
                    del rule[key]
            for port in rule.get("ports") or ():
                port.setdefault("protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    return obj


def _validated(obj: Obj) -> NetworkPolicy:
    """The policy's model, or 422 as the API server's validation would answer."""
    try:
        return policy_from_api(obj)
    except BackendError as exc:
        raise InvalidError(f"NetworkPolicy is invalid: {exc}", 422) from exc


# -- the dataplane ----------------------------------------------------------------------


def analyzer_dataplane(
    api: FakeApiServer, source: PodRef, container: str, argv: Sequence[str], timeout: float
) -> ExecResult:
    """Answers the shared probe script as nc would, judging each probe with the analyzer
    on the state in force (which lags ``lag_execs`` execs behind policy changes)."""
    state = api.state_in_force()
    lines = []
    for index, probe in enumerate(_read_script(argv)):
        lines.append(_marker(index, probe, _outcome(state, source, probe)))
    lines.append(DONE_MARKER)
    return ExecResult(0, "\n".join(lines) + "\n", "")


def _outcome(state: ClusterState, source: PodRef, probe: Probe) -> Outcome:
    target = state.pod_at(probe.target)
    if target is None:
        return Outcome.TIMEOUT
    connection = Connection(source, target.ref, probe.port, probe.protocol)
    if not evaluate(connection, state).allowed:
        return Outcome.TIMEOUT
    served = any(p.port == probe.port and p.protocol is probe.protocol for p in target.ports)
    return Outcome.CONNECTED if served else Outcome.REFUSED


# -- the API server ---------------------------------------------------------------------


@dataclass
class FakeApiServer:
    """An API server in memory (see the module docstring)."""

    ready_after: int = 2
    """Reads of a pod before it is Running and Ready."""
    terminate_after: int = 1
    """Reads of a deleted namespace before it is gone."""
    bad_images: set[str] = field(default_factory=set)
    unschedulable: dict[PodRef, str] = field(default_factory=dict)
    crashloop: dict[PodRef, str] = field(default_factory=dict)
    """Pod -> the container that keeps crashing (exit code 2, nothing logged)."""
    no_sctp: bool = False
    """The nodes' kernels have no SCTP: every ``agnhost porter`` serving SCTP crashes."""
    restarts: dict[PodRef, int] = field(default_factory=dict)
    """Pod -> the restart count of its (running, ready) containers."""
    deny: set[tuple[str, str, str | None]] = field(default_factory=set)
    """(verb, resource[/subresource], namespace or None for everywhere) the caller lacks."""
    unreachable: bool = False
    lag_execs: int = 0
    """Policy changes reach the dataplane only after this many more execs."""
    lost_execs: int = 0
    """The next N execs lose their output (no markers, no exit code)."""
    hung_execs: int = 0
    """The next N execs hit their deadline."""
    stuck_namespaces: set[str] = field(default_factory=set)
    """Namespaces that never finish terminating."""
    node: str = "fake-node"
    """The node every pod is scheduled on (``spec.nodeName``, set with its IP)."""
    dataplane: Dataplane = analyzer_dataplane
    server: str = "https://fake-apiserver:6443 (test)"
    calls: list[tuple[str, ...]] = field(default_factory=list)
    terminated_ephemeral: set[str] = field(default_factory=set)
    """Ephemeral containers (by name) that have exited and stay so."""
    stand_ins: dict[tuple[str, str, str], PodRef] = field(default_factory=dict)
    """(namespace, pod, container) -> the workload a staging probe container stands for."""
    selectors: dict[str, list[tuple[str, Obj]]] = field(default_factory=dict)
    """Namespace -> the (kind, object) of its Services and controllers, as listed."""

    def __post_init__(self) -> None:
        self.namespaces: dict[str, Obj] = {}
        self.pods: dict[Key, Obj] = {}
        self.policies: dict[Key, Obj] = {}
        self.leases: dict[Key, Obj] = {}
        self.events: dict[str, list[Obj]] = {}
        """Namespace -> its core/v1 Events, as a test put them there."""
        self.submitted_policies: dict[Key, Obj] = {}
        """Each policy's last body as the client sent it (before defaulting)."""
        self.execs: list[tuple[str, str, str, tuple[str, ...], float]] = []
        self.closed = 0
        self._reads: dict[Key, int] = {}
        self._running_at: dict[Key, int] = {}
        """The read at which each pod first ran (its crashing containers count from it)."""
        self._terminating: dict[str, int] = {}
        self._version = 0
        self._next_ip = int(IPv4Address("10.244.0.10"))
        self._lock = threading.RLock()
        self._in_force: ClusterState | None = None
        self._pending_policies = 0

    # -- helpers ----------------------------------------------------------------------
    def _bump(self, obj: Obj) -> Obj:
        self._version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._version)
        return obj

    def _guard(self, verb: str, resource: str, namespace: str | None) -> None:
        self.calls.append((verb, resource, namespace or ""))
        if self.unreachable:
            raise UnreachableError(f"{verb} {resource}: cannot reach the API server (test)")
        if (verb, resource, None) in self.deny or (verb, resource, namespace) in self.deny:
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            raise ForbiddenError(
                f'{verb} {resource}: forbidden: User "tester" cannot {verb} resource '
                f'"{resource}"{where}',
                403,
            )

    def _namespace_exists(self, namespace: str) -> None:
        if namespace not in self.namespaces:
            raise NotFoundError(f'namespaces "{namespace}" not found', 404)

    def _policies_changed(self) -> None:
        self._pending_policies = self.lag_execs

    # -- access review ----------------------------------------------------------------
    def review_access(self, checks: Sequence[AccessCheck]) -> tuple[AccessDecision, ...]:
        self._guard("create", "selfsubjectaccessreviews", None)
        out = []
        for check in checks:
            resource = check.resource
            if check.subresource:
                resource = f"{resource}/{check.subresource}"
            denied = {(check.verb, resource, None), (check.verb, resource, check.namespace)}
            allowed = not denied & self.deny
            out.append(AccessDecision(check, allowed, "" if allowed else "no RBAC rule allows it"))
        return tuple(out)

    # -- namespaces -------------------------------------------------------------------
    def _tick_namespace(self, name: str) -> None:
        if name in self._terminating and name not in self.stuck_namespaces:
            self._terminating[name] -= 1
            if self._terminating[name] < 0:
                del self._terminating[name]
                del self.namespaces[name]
                for store in (self.pods, self.policies, self.leases):
                    for key in [k for k in store if k[0] == name]:
                        del store[key]
                self._policies_changed()

    def read_namespace(self, name: str) -> Obj | None:
        with self._lock:
            self._guard("get", "namespaces", None)
            self._tick_namespace(name)
            found = self.namespaces.get(name)
            return copy.deepcopy(found) if found else None

    def list_namespaces(self, label_selector: str) -> list[Obj]:
        with self._lock:
            self._guard("list", "namespaces", None)
            for name in list(self._terminating):
                self._tick_namespace(name)
            return [
                copy.deepcopy(o)
                for o in self.namespaces.values()
                if selector_matches(label_selector, o["metadata"].get("labels") or {})
            ]

    def create_namespace(self, body: Obj) -> Obj:
        with self._lock:
            self._guard("create", "namespaces", None)
            obj = copy.deepcopy(body)
            name = obj["metadata"]["name"]
            if name in self.namespaces:
                raise ConflictError(f'namespaces "{name}" already exists', 409)
            labels = obj["metadata"].setdefault("labels", {})
            labels["kubernetes.io/metadata.name"] = name
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
            self.namespaces[name] = self._bump(obj)
            return copy.deepcopy(obj)

    def patch_namespace_labels(self, name: str, labels: Mapping[str, str | None]) -> Obj:
        with self._lock:
            self._guard("patch", "namespaces", None)
            self._namespace_exists(name)
            obj = self.namespaces[name]
            _merge_labels(obj, labels)
            self._policies_changed()
            return copy.deepcopy(self._bump(obj))

    def delete_namespace(self, name: str) -> bool:
        with self._lock:
            self._guard("delete", "namespaces", None)
            if name not in self.namespaces:
                return False
            obj = self.namespaces[name]
            if obj["metadata"].get("deletionTimestamp"):
                # kubernetes/kubernetes pkg/registry/core/namespace/storage/storage.go
                # REST.Delete: once DeletionTimestamp is set, a delete while spec.finalizers
                # is not empty (the namespace controller has not finished) is refused with
                # apierrors.NewConflict (k8s.io/apimachinery pkg/api/errors/errors.go:
                # 409, reason Conflict, "Operation cannot be fulfilled on %s %q: %v").
                raise ConflictError(
                    f'Operation cannot be fulfilled on namespaces "{name}": The system is '
                    "ensuring all content is removed from this namespace.  Upon completion, "
                    "this namespace will automatically be purged by the system.",
                    409,
                )
            obj["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"
            obj["status"] = {"phase": "Terminating"}
            self._terminating.setdefault(name, self.terminate_after)
            return True

    # -- pods -------------------------------------------------------------------------
    def _advance(self, key: Key) -> None:
        """A pod's life: Pending, then (unless it is broken) Running and Ready."""
        obj = self.pods[key]
        ref = PodRef(*key)
        reads = self._reads[key] = self._reads.get(key, 0) + 1
        status: Obj = obj.setdefault("status", {})
        containers = obj["spec"]["containers"]
        if ref in self.unschedulable:
            status.update(
                phase="Pending",
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": self.unschedulable[ref],
                    }
                ],
            )
            return
        if reads < self.ready_after:
            status.setdefault("phase", "Pending")
            return
        bad = [c for c in containers if c["image"] in self.bad_images]
        if bad:
            status.update(
                phase="Pending",
                containerStatuses=[
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "waiting": {
                                "reason": "ImagePullBackOff",
                                "message": f'Back-off pulling image "{c["image"]}"',
                            }
                        },
                    }
                    for c in bad
                ],
            )
            return
        if "podIP" not in status:
            obj["spec"]["nodeName"] = self.node
            status["podIP"] = str(IPv4Address(self._next_ip))
            self._next_ip += 1
            self._policies_changed()
        since = reads - self._running_at.setdefault(key, reads)
        statuses = []
        for c in containers:
            crash = self._crash(ref, c)
            if crash is not None:
                statuses.append(_crash_status(obj, c, crash, since))
            else:
                statuses.append(
                    {
                        "name": c["name"],
                        "image": c["image"],
                        # A readiness probe passes on its first run, a period in.
                        "ready": "readinessProbe" not in c or since >= PROBED_AFTER,
                        "started": True,
                        "restartCount": self.restarts.get(ref, 0),
                        "state": {"running": {"startedAt": _STARTED}},
                    }
                )
        # pkg/kubelet/status/generate.go: ContainersReady, and with it Ready, is True only
        # when every container is ready; else ContainersNotReady naming them (Go's %s of a
        # []string: "[a b]").
        unready = [s["name"] for s in statuses if not s["ready"]]
        ready: Obj = {"status": "True"}
        if unready:
            ready = {
                "status": "False",
                "reason": "ContainersNotReady",
                "message": f"containers with unready status: [{' '.join(unready)}]",
            }
        # pkg/kubelet/kubelet_pods.go getPhase: a waiting container with a last termination
        # counts as stopped, so the pod stays Running while another container runs.
        status.update(
            phase="Running",
            containerStatuses=statuses,
            conditions=[
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", **ready},
                {"type": "ContainersReady", **ready},
            ],
        )
        for eph in obj["spec"].get("ephemeralContainers") or ():
            statuses_e = status.setdefault("ephemeralContainerStatuses", [])
            if not any(s["name"] == eph["name"] for s in statuses_e):
                statuses_e.append({"name": eph["name"], "state": {"waiting": {}}})
            else:
                for s in statuses_e:
                    if s["name"] == eph["name"] and eph["name"] not in self.terminated_ephemeral:
                        s["state"] = (
                            {"waiting": {"reason": "ImagePullBackOff"}}
                            if eph["image"] in self.bad_images
                            else {"running": {}}
                        )

    def _crash(self, ref: PodRef, container: Obj) -> Crash | None:
        if self.crashloop.get(ref) == container["name"]:
            return Crash()
        serves_sctp = any(
            e.get("name", "").startswith("SERVE_SCTP_PORT_") for e in container.get("env") or ()
        )
        if self.no_sctp and container.get("command", [])[1:2] == ["porter"] and serves_sctp:
            return NO_SCTP_CRASH
        return None

    def read_pod(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            self._guard("get", "pods", namespace)
            if (namespace, name) not in self.pods:
                return None
            self._advance((namespace, name))
            return copy.deepcopy(self.pods[(namespace, name)])

    def list_pods(self, namespace: str | None, label_selector: str) -> list[Obj]:
        with self._lock:
            self._guard("list", "pods", namespace)
            out = []
            for key in list(self.pods):
                if namespace is not None and key[0] != namespace:
                    continue
                if selector_matches(label_selector, self.pods[key]["metadata"].get("labels") or {}):
                    self._advance(key)
                    out.append(copy.deepcopy(self.pods[key]))
            return out

    def list_pod_selectors(self, namespace: str) -> list[tuple[str, Obj]]:
        with self._lock:
            self._guard("list", "services", namespace)
            return copy.deepcopy(self.selectors.get(namespace, []))

    def create_pod(self, namespace: str, body: Obj) -> Obj:
        with self._lock:
            self._guard("create", "pods", namespace)
            self._namespace_exists(namespace)
            if self.namespaces[namespace]["status"]["phase"] == "Terminating":
                raise ForbiddenError(f"namespace {namespace} is being terminated", 403)
            obj = copy.deepcopy(body)
            name = obj["metadata"]["name"]
            if (namespace, name) in self.pods:
                raise ConflictError(f'pods "{name}" already exists', 409)
            obj["metadata"]["namespace"] = namespace
            obj["status"] = {"phase": "Pending"}
            self.pods[(namespace, name)] = self._bump(obj)
            return copy.deepcopy(obj)

    def add_workload_pod(
        self, namespace: str, name: str, labels: Mapping[str, str], ports: Sequence[Obj] = ()
    ) -> None:
        """A pod someone else deployed (for staging tests); it is Running at once."""
        with self._lock:
            if namespace not in self.namespaces:
                self.namespaces[namespace] = self._bump(
                    {
                        "metadata": {
                            "name": namespace,
                            "labels": {"kubernetes.io/metadata.name": namespace},
                        },
                        "status": {"phase": "Active"},
                    }
                )
            body = {
                "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
                "spec": {"containers": [{"name": "app", "image": "app:1", "ports": list(ports)}]},
                "status": {"phase": "Pending"},
            }
            self.pods[(namespace, name)] = self._bump(body)
            self._reads[(namespace, name)] = self.ready_after
            self._advance((namespace, name))

    def patch_pod_labels(self, namespace: str, name: str, labels: Mapping[str, str | None]) -> Obj:
        with self._lock:
            self._guard("patch", "pods", namespace)
            if (namespace, name) not in self.pods:
                raise NotFoundError(f'pods "{name}" not found', 404)
            obj = self.pods[(namespace, name)]
            _merge_labels(obj, labels)
            self._policies_changed()
            return copy.deepcopy(self._bump(obj))

    def delete_pod(self, namespace: str, name: str) -> bool:
        with self._lock:
            self._guard("delete", "pods", namespace)
            self._policies_changed()
            return self.pods.pop((namespace, name), None) is not None

    def add_ephemeral_container(self, namespace: str, name: str, container: Obj) -> Obj:
        with self._lock:
            self._guard("patch", "pods/ephemeralcontainers", namespace)
            if (namespace, name) not in self.pods:
                raise NotFoundError(f'pods "{name}" not found', 404)
            obj = self.pods[(namespace, name)]
            spec = obj["spec"].setdefault("ephemeralContainers", [])
            if not any(c["name"] == container["name"] for c in spec):
                spec.append(copy.deepcopy(container))
            return copy.deepcopy(self._bump(obj))

    # -- policies ---------------------------------------------------------------------
    def read_policy(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            self._guard("get", "networkpolicies", namespace)
            found = self.policies.get((namespace, name))
            return copy.deepcopy(found) if found else None

    def list_policies(self, namespace: str | None, label_selector: str) -> list[Obj]:
        with self._lock:
            self._guard("list", "networkpolicies", namespace)
            return [
                copy.deepcopy(o)
                for k, o in self.policies.items()
                if (namespace is None or k[0] == namespace)
                and selector_matches(label_selector, o["metadata"].get("labels") or {})
            ]

    def create_policy(self, namespace: str, body: Obj) -> Obj:
        with self._lock:
            self._guard("create", "networkpolicies", namespace)
            self._namespace_exists(namespace)
            obj = default_policy(body)
            name = obj["metadata"]["name"]
            self.submitted_policies[(namespace, name)] = copy.deepcopy(body)
            if (namespace, name) in self.policies:
                raise ConflictError(f'networkpolicies "{name}" already exists', 409)
            obj["metadata"]["namespace"] = namespace
            _validated(obj)
            self.policies[(namespace, name)] = self._bump(obj)
            self._policies_changed()
            return copy.deepcopy(obj)

    def replace_policy(self, namespace: str, name: str, body: Obj) -> Obj:
        with self._lock:
            self._guard("update", "networkpolicies", namespace)
            current = self.policies.get((namespace, name))
            if current is None:
                raise NotFoundError(f'networkpolicies "{name}" not found', 404)
            _check_version(current, body)
            self.submitted_policies[(namespace, name)] = copy.deepcopy(body)
            obj = default_policy(body)
            obj["metadata"]["namespace"] = namespace
            _validated(obj)
            self.policies[(namespace, name)] = self._bump(obj)
            self._policies_changed()
            return copy.deepcopy(obj)

    def delete_policy(self, namespace: str, name: str) -> bool:
        with self._lock:
            self._guard("delete", "networkpolicies", namespace)
            gone = self.policies.pop((namespace, name), None) is not None
            self._policies_changed()
            return gone

    # -- events -----------------------------------------------------------------------
    def list_events(self, namespace: str) -> list[Obj]:
        with self._lock:
            self._guard("list", "events", namespace)
            return copy.deepcopy(self.events.get(namespace, []))

    # -- leases -----------------------------------------------------------------------
    def read_lease(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            self._guard("get", "leases", namespace)
            found = self.leases.get((namespace, name))
            return copy.deepcopy(found) if found else None

    def list_leases(self, namespace: str, label_selector: str) -> list[Obj]:
        with self._lock:
            self._guard("list", "leases", namespace)
            return [
                copy.deepcopy(o)
                for k, o in self.leases.items()
                if k[0] == namespace
                and selector_matches(label_selector, o["metadata"].get("labels") or {})
            ]

    def create_lease(self, namespace: str, body: Obj) -> Obj:
        with self._lock:
            self._guard("create", "leases", namespace)
            self._namespace_exists(namespace)
            name = body["metadata"]["name"]
            if (namespace, name) in self.leases:
                raise ConflictError(f'leases "{name}" already exists', 409)
            obj = self._bump(copy.deepcopy(body))
            self.leases[(namespace, name)] = obj
            return copy.deepcopy(obj)

    def replace_lease(self, namespace: str, name: str, body: Obj) -> Obj:
        with self._lock:
            self._guard("update", "leases", namespace)
            current = self.leases.get((namespace, name))
            if current is None:
                raise NotFoundError(f'leases "{name}" not found', 404)
            _check_version(current, body)
            obj = self._bump(copy.deepcopy(body))
            self.leases[(namespace, name)] = obj
            return copy.deepcopy(obj)

    def delete_lease(self, namespace: str, name: str) -> bool:
        with self._lock:
            self._guard("delete", "leases", namespace)
            return self.leases.pop((namespace, name), None) is not None

    # -- exec -------------------------------------------------------------------------
    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        with self._lock:
            self._guard("create", "pods/exec", namespace)
            self.execs.append((namespace, pod, container, tuple(argv), timeout))
            obj = self.pods.get((namespace, pod))
            if obj is None:
                raise NotFoundError(f'pods "{pod}" not found', 404)
            names = {c["name"] for c in obj["spec"]["containers"]}
            names |= {c["name"] for c in obj["spec"].get("ephemeralContainers") or ()}
            if container not in names:
                raise InvalidError(f"container {container} is not valid for pod {pod}", 400)
            if self._pending_policies > 0:
                self._pending_policies -= 1
            else:
                self._in_force = None
            if self.hung_execs > 0:
                self.hung_execs -= 1
                return ExecResult(None, "", "netprobe: exec abandoned at its deadline\n", True)
            if self.lost_execs > 0:
                self.lost_execs -= 1
                return ExecResult(None, "", "")
            source = self._source_ref(namespace, pod, container)
        return self.dataplane(self, source, container, argv, timeout)

    def _source_ref(self, namespace: str, pod: str, container: str) -> PodRef:
        """Staging probes stand for their workload: the analyzer sees the workload name."""
        return self.stand_ins.get((namespace, pod, container), PodRef(namespace, pod))

    def state(self) -> ClusterState:
        """The cluster as a CNI would see it now."""
        with self._lock:
            pods = tuple(
                pod_from_api(o, self._stand_in_for(k))
                for k, o in self.pods.items()
                if (o.get("status") or {}).get("podIP")
            )
            return ClusterState(
                tuple(namespace_from_api(o) for o in self.namespaces.values()),
                pods,
                tuple(policy_from_api(o) for o in self.policies.values()),
            )

    def _stand_in_for(self, key: Key) -> PodRef | None:
        for (namespace, pod, _), ref in self.stand_ins.items():
            if (namespace, pod) == key:
                return ref
        return None

    def state_in_force(self) -> ClusterState:
        """What the dataplane enforces: the state as of ``lag_execs`` execs ago."""
        with self._lock:
            if self._in_force is None or self._pending_policies == 0:
                self._in_force = self.state()
            return self._in_force

    def close(self) -> None:
        self.closed += 1


_STARTED = "2027-01-15T08:00:00Z"


def _crash_status(pod: Obj, container: Obj, crash: Crash, since: int) -> Obj:
    """A crashing container's status ``since`` reads after its pod first ran, as the kubelet
    reports it (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses): running at
    first (ready at once when it has no readiness probe: pkg/kubelet/prober/
    prober_manager.go, "no readinessProbe -> always ready"), then terminated (reason
    "Error" from the runtime for a non-zero exit; under FallbackToLogsOnError the log's
    tail as the message: pkg/kubelet/kuberuntime/kuberuntime_container.go), then waiting in
    CrashLoopBackOff with that exit as lastState (pkg/kubelet/kuberuntime/
    kuberuntime_manager.go doBackOff: "back-off 10s restarting failed container=NAME
    pod=NAME_NAMESPACE(UID)", doubling per restart up to 5m), one restart more per read."""
    name = container["name"]
    base: Obj = {"name": name, "image": container["image"]}
    if since == 0:
        return {
            **base,
            "ready": "readinessProbe" not in container,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": _STARTED}},
        }
    terminated: Obj = {
        "exitCode": crash.exit_code,
        "reason": "Error",
        "startedAt": _STARTED,
        "finishedAt": _STARTED,
        "containerID": f"containerd://{name}-{since}",
    }
    if crash.log and container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
        terminated["message"] = crash.log
    if since == 1:
        return {
            **base,
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {"terminated": terminated},
        }
    meta = pod["metadata"]
    delay = min(10 * 2 ** (since - 2), 300)
    go_delay = f"{delay // 60}m{delay % 60}s" if delay >= 60 else f"{delay}s"  # Go's Duration
    back_off = (
        f"back-off {go_delay} restarting failed container={name} "
        f"pod={meta['name']}_{meta['namespace']}(uid-{meta['name']})"
    )
    return {
        **base,
        "ready": False,
        "started": False,
        "restartCount": since - 1,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": back_off}},
        "lastState": {"terminated": terminated},
    }


def _merge_labels(obj: Obj, labels: Mapping[str, str | None]) -> None:
    current = obj["metadata"].setdefault("labels", {})
    for key, value in labels.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value


def _check_version(current: Obj, body: Obj) -> None:
    wanted = body.get("metadata", {}).get("resourceVersion")
    have = current["metadata"]["resourceVersion"]
    if wanted and wanted != have:
        raise ConflictError(
            "Operation cannot be fulfilled: the object has been modified; please apply your "
            "changes to the latest version and try again",
            409,
        )
