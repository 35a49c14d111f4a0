"""The Kubernetes backend: a suite's namespaces and probe pods in a real cluster.

It talks to the cluster only through an injected :class:`KubeGateway` and keeps to one
rule above all: it never modifies or deletes what it did not create. Everything it
creates carries the ownership labels of :mod:`.manifests`; a suite namespace that exists
and is not netprobe's stops the run unless ``use_existing_namespaces`` allows borrowing it
(then only netprobe's pods and policies are created there, and only those removed).
Concurrent runs are kept apart by Leases (:mod:`.locks`). Teardown finds what to delete
both from what this run recorded and by its run-id label (a create whose answer was lost
still gets cleaned up).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import assert_never

from netprobe.backends.base import NO_OUTAGES, Backend, Capabilities, ExecResult, Outages
from netprobe.backends.kubernetes.api import KubeGateway, Obj
from netprobe.backends.kubernetes.bodies import (
    DEFAULT_IMAGE,
    OWNERSHIP_KEYS,
    PROBE_CONTAINER,
    is_managed,
    namespace_manifest,
    ownership_labels,
    pod_manifest,
    policy_manifest,
    run_id_of,
    run_selector,
)
from netprobe.backends.kubernetes.diagnose import gather
from netprobe.backends.kubernetes.locks import LeaseLocks, RenewingClock
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.backends.kubernetes.preflight import require_access, run_checks
from netprobe.backends.kubernetes.readback import (
    container_ports,
    namespace_from_api,
    pod_from_api,
    pod_selector,
    policy_from_api,
)
from netprobe.backends.kubernetes.servers import outages_of
from netprobe.backends.kubernetes.staging import (
    StagedPod,
    check_ports,
    choose_pod,
    probe_container_name,
    stage,
)
from netprobe.backends.kubernetes.teardown import Leftovers, delete_and_wait
from netprobe.backends.kubernetes.waits import wait_for_pods
from netprobe.clock import SYSTEM_CLOCK, Clock
from netprobe.diagnostics import Diagnostics, Involved
from netprobe.errors import BackendError
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    IPAddress,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    Protocol,
)
from netprobe.selectors import Labels
from netprobe.suite.model import (
    Action,
    ApplyPolicy,
    DeletePolicy,
    SetNamespaceLabels,
    SetPodLabels,
    Workload,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Target:
    namespace: str
    pod: str
    container: str


class KubernetesBackend(Backend):
    """A :class:`~netprobe.backends.base.Backend` on a cluster reached through ``gateway``."""

    name = "kubernetes"
    capabilities = Capabilities(
        protocols=frozenset({Protocol.TCP, Protocol.UDP}),
        unsupported=MappingProxyType(
            {
                Protocol.SCTP: "SCTP servers are deployed (agnhost porter), but the shared "
                "probe engine's nc cannot speak SCTP"
            }
        ),
        externals="netprobe creates no hosts outside the pods in a cluster: an address "
        "there answers (or not) as the cluster's network routes it, which says nothing "
        "about the policy",
        workloads=True,
    )

    def __init__(
        self,
        gateway: KubeGateway,
        options: KubeOptions | None = None,
        *,
        clock: Clock | None = None,
        workloads: Sequence[Workload] = (),
    ) -> None:
        self._gateway = gateway
        self._options = options or KubeOptions()
        self._clock = clock or SYSTEM_CLOCK
        self._run_id = self._options.run_id
        self._workloads = {w.ref: w for w in workloads}
        self._sources: frozenset[PodRef] | None = None
        self._locks = LeaseLocks(
            gateway,
            self._options.lock_namespace,
            self._run_id,
            self._clock,
            self._options.lease_seconds,
        )
        self._waiting_clock = RenewingClock(self._clock, self._locks)
        self._suite_namespaces: tuple[str, ...] = ()
        self._creating = False
        """Whether a create has been sent: until then, nothing can carry the run id."""
        self._created_namespaces: list[str] = []
        self._borrowed: set[str] = set()
        self._pods: dict[PodRef, _Target] = {}
        self._created_pods: set[PodRef] = set()
        self._policies: dict[PolicyRef, NetworkPolicy] = {}
        self._created_policies: set[PolicyRef] = set()
        self._chosen: dict[PodRef, str] = {}
        """Workload -> the name of the real pod standing in for it."""
        self._staged: dict[PodRef, StagedPod] = {}
        self._outages = NO_OUTAGES
        """The probe pods' SCTP servers that are down, as of the last snapshot."""
        self._mutex = threading.Lock()
        self._torn_down = False

    @property
    def run_id(self) -> str:
        return self._run_id

    def use_workloads(
        self, workloads: Sequence[Workload], sources: Collection[PodRef] | None = None
    ) -> None:
        """Staging mode: these suite "pods" are existing workloads (call before deploy).
        Only ``sources`` (default: all) get the probe container, which cannot be removed
        again; the others are only probed to."""
        self._workloads = {w.ref: w for w in workloads}
        self._sources = None if sources is None else frozenset(sources)

    # -- deploy ---------------------------------------------------------------------
    def deploy(
        self, namespaces: Sequence[Namespace], pods: Sequence[Pod], externals: Sequence[IPAddress]
    ) -> ClusterState:
        """Externals are left alone: in a cluster, an address outside the pods is whatever
        the network routes it to."""
        probe_pods = [p for p in pods if p.ref not in self._workloads]
        staged_ns = {ref.namespace for ref in self._workloads}
        pod_ns = {p.namespace for p in probe_pods}
        wanted = {ns.name: ns for ns in namespaces}
        for name in sorted(pod_ns - wanted.keys()):
            wanted[name] = Namespace(name, Labels({NAMESPACE_NAME_LABEL: name}))
        self._suite_namespaces = tuple(sorted({*wanted, *staged_ns}))
        to_create = [
            ns for name, ns in sorted(wanted.items()) if name in pod_ns or name not in staged_ns
        ]
        created, borrowed = self._classify(to_create)
        require_access(
            self._gateway,
            run_checks(
                [ns.name for ns in created],
                borrowed,
                staged_ns,
                self._locks_namespace,
                destinations_only=staged_ns - self._probed_from_namespaces(),
            ),
        )
        _refuse_selected(
            self._gateway, [p for p in probe_pods if p.namespace in borrowed], self._run_id
        )
        # Staging namespaces too: two runs must not stage probe containers and policies in
        # one namespace at once (the Leases live in the lock namespace, not in theirs).
        self._locks.acquire([*(ns.name for ns in created), *borrowed, *staged_ns])
        self._borrowed = set(borrowed)
        stamp = int(self._clock.wall())
        self._creating = True
        for ns in created:
            self._gateway.create_namespace(namespace_manifest(ns, self._run_id, stamp))
            self._created_namespaces.append(ns.name)
        for pod in probe_pods:
            self._create_pod(pod)
        if probe_pods:
            wait_for_pods(
                self._gateway,
                [p.ref for p in probe_pods],
                self._run_id,
                self._options.ready_timeout,
                self._waiting_clock,
            )
        for ref, workload in sorted(self._workloads.items()):
            self._stage(workload, self._sources is None or ref in self._sources)
        state = self.snapshot()
        for reason in self._outages.down.values():
            log.warning("%s; the expectations probing that port are skipped", reason)
        return state

    def _probed_from_namespaces(self) -> set[str]:
        """Namespaces of the workloads probes start from (all, when not told)."""
        return {
            ref.namespace
            for ref in self._workloads
            if self._sources is None or ref in self._sources
        }

    @property
    def _locks_namespace(self) -> str:
        return self._options.lock_namespace

    def _classify(self, namespaces: Sequence[Namespace]) -> tuple[list[Namespace], list[str]]:
        created: list[Namespace] = []
        borrowed: list[str] = []
        for ns in namespaces:
            existing = self._gateway.read_namespace(ns.name)
            if existing is None:
                created.append(ns)
            elif is_managed(existing):
                owner = run_id_of(existing) or "unknown"
                raise BackendError(
                    f"namespace {ns.name} already exists, created by netprobe run {owner}: "
                    "another run is using it, or an interrupted run left it behind "
                    "(remove leftovers with: netprobe cleanup --backend kubernetes)"
                )
            elif self._options.use_existing_namespaces:
                borrowed.append(ns.name)
                self._warn_foreign_policies(ns.name)
                have = namespace_from_api(existing).labels
                if have != ns.labels:
                    log.warning(
                        "namespace %s is used as it is (labels %s), not with the suite's "
                        "labels (%s): netprobe does not relabel namespaces it did not create",
                        ns.name,
                        have,
                        ns.labels,
                    )
            else:
                raise BackendError(
                    f"namespace {ns.name} already exists and was not created by netprobe; "
                    "netprobe never modifies what it did not create. Rename the suite's "
                    "namespace, or pass --use-existing-namespaces to create only netprobe's "
                    "pods and policies in it"
                )
        return created, borrowed

    def _warn_foreign_policies(self, namespace: str) -> None:
        foreign = [p for p in self._gateway.list_policies(namespace, "") if not is_managed(p)]
        if foreign:
            names = ", ".join(sorted(p["metadata"]["name"] for p in foreign))
            log.warning(
                "namespace %s has NetworkPolicies netprobe did not create (%s): they are "
                "enforced but not part of the analyzer's snapshot",
                namespace,
                names,
            )

    def _create_pod(self, pod: Pod) -> None:
        if pod.namespace in self._borrowed:
            existing = self._gateway.read_pod(pod.namespace, pod.name)
            if existing is not None:
                raise BackendError(
                    f"pod {pod.ref} already exists in borrowed namespace {pod.namespace} "
                    f"({'a netprobe leftover' if is_managed(existing) else 'not netprobe'}'s); "
                    "netprobe will not replace it"
                )
        self._gateway.create_pod(
            pod.namespace, pod_manifest(pod, self._run_id, self._options.image)
        )
        self._created_pods.add(pod.ref)
        self._pods[pod.ref] = _Target(pod.namespace, pod.name, PROBE_CONTAINER)

    def _stage(self, workload: Workload, probe_from: bool) -> None:
        chosen = choose_pod(self._gateway, workload)
        check_ports(workload, chosen, container_ports(chosen))
        self._chosen[workload.ref] = str(chosen["metadata"]["name"])
        if not probe_from:
            return
        staged = stage(
            self._gateway,
            workload,
            chosen,
            probe_container_name(chosen, self._options.image, self._run_id),
            self._options.image,
            self._options.ready_timeout,
            self._waiting_clock,
        )
        self._staged[workload.ref] = staged
        self._pods[workload.ref] = _Target(workload.ref.namespace, staged.name, staged.container)

    # -- changes --------------------------------------------------------------------
    def perform(self, action: Action) -> None:
        match action:
            case ApplyPolicy(policy):
                self.apply_policy(policy)
            case DeletePolicy(ref):
                self.delete_policy(ref)
            case SetPodLabels(pod, labels):
                self.set_pod_labels(pod, labels)
            case SetNamespaceLabels(namespace, labels):
                self.set_namespace_labels(namespace, labels)
            case _:
                assert_never(action)

    def apply_policy(self, policy: NetworkPolicy) -> None:
        self._locks.renew_if_due()
        ref = policy.ref
        body = policy_manifest(policy, self._run_id)
        existing = self._gateway.read_policy(ref.namespace, ref.name)
        if existing is None:
            self._require_writable(ref.namespace, f"create NetworkPolicy {ref}")
            self._creating = True
            self._gateway.create_policy(ref.namespace, body)
            self._created_policies.add(ref)
        elif run_id_of(existing) == self._run_id:
            body["metadata"]["resourceVersion"] = existing["metadata"].get("resourceVersion")
            self._gateway.replace_policy(ref.namespace, ref.name, body)
        elif _same_policy(existing, body):
            log.info("NetworkPolicy %s is already in force as written; not netprobe's", ref)
        else:
            raise BackendError(
                f"NetworkPolicy {ref} already exists with another spec and was not created "
                "by this netprobe run; netprobe never replaces what it did not create"
            )
        self._policies[ref] = policy

    def delete_policy(self, ref: PolicyRef) -> None:
        self._locks.renew_if_due()
        if ref not in self._created_policies:
            if ref in self._policies:
                raise BackendError(
                    f"NetworkPolicy {ref} was not created by netprobe; it will not delete it"
                )
            raise BackendError(f"NetworkPolicy {ref} was not applied by this run")
        self._gateway.delete_policy(ref.namespace, ref.name)
        self._created_policies.discard(ref)
        self._policies.pop(ref, None)

    def set_pod_labels(self, pod: PodRef, labels: Labels) -> None:
        self._locks.renew_if_due()
        if pod not in self._created_pods:
            raise BackendError(f"pod {pod} was not created by netprobe; it will not relabel it")
        current = self._gateway.read_pod(pod.namespace, pod.name)
        if current is None:
            raise BackendError(f"probe pod {pod} is gone")
        if pod.namespace in self._borrowed:  # relabelled, it must not be selected either
            _refuse_selected(self._gateway, [Pod(pod, labels)], self._run_id)
        self._gateway.patch_pod_labels(pod.namespace, pod.name, _label_patch(current, labels))

    def set_namespace_labels(self, namespace: str, labels: Labels) -> None:
        self._locks.renew_if_due()
        if namespace not in self._created_namespaces:
            raise BackendError(
                f"namespace {namespace} was not created by netprobe; it will not relabel it"
            )
        current = self._gateway.read_namespace(namespace)
        if current is None:
            raise BackendError(f"namespace {namespace} is gone")
        wanted = {k: v for k, v in labels.items() if k != NAMESPACE_NAME_LABEL}
        patch = _label_patch(current, Labels(wanted), keep=(NAMESPACE_NAME_LABEL,))
        self._gateway.patch_namespace_labels(namespace, patch)

    def _require_writable(self, namespace: str, what: str) -> None:
        if namespace in self._created_namespaces or namespace in self._borrowed:
            return
        if self._options.use_existing_namespaces and namespace in self._suite_namespaces:
            return
        raise BackendError(
            f"cannot {what}: namespace {namespace} was not created by netprobe "
            "(pass --use-existing-namespaces to let netprobe add its own policies there)"
        )

    # -- reading --------------------------------------------------------------------
    def snapshot(self) -> ClusterState:
        """Namespaces, pods and IPs as the API server reports them now; the policies are
        the ones netprobe applied."""
        namespaces = []
        for name in self._suite_namespaces:
            obj = self._gateway.read_namespace(name)
            if obj is None:
                raise BackendError(f"namespace {name} disappeared during the run")
            namespaces.append(namespace_from_api(obj))
        probe_pods: list[Obj] = []
        for name in sorted({ref.namespace for ref in self._created_pods}):
            probe_pods += self._gateway.list_pods(name, run_selector(self._run_id))
        pods = [pod_from_api(obj) for obj in probe_pods]
        for ref, name in sorted(self._chosen.items()):
            obj = self._gateway.read_pod(ref.namespace, name)
            if obj is None:
                raise BackendError(f"workload {ref}: pod {ref.namespace}/{name} disappeared")
            pods.append(pod_from_api(obj, ref))
        missing = self._created_pods - {p.ref for p in pods}
        if missing:
            raise BackendError(f"probe pods disappeared: {', '.join(map(str, sorted(missing)))}")
        self._outages = outages_of(probe_pods, self._outages)
        return ClusterState(tuple(namespaces), tuple(pods), tuple(self._policies.values()))

    def outages(self) -> Outages:
        """The probe pods' SCTP servers that have exited (a node without SCTP, mostly: see
        :mod:`.servers`), as of the last snapshot; the rest of each pod is probed."""
        return self._outages

    def diagnose(self, involved: Involved, cni: str | None) -> Diagnostics:
        names = {ref: (t.namespace, t.pod) for ref, t in self._pods.items()}
        names |= {ref: (ref.namespace, name) for ref, name in self._chosen.items()}
        return gather(self._gateway, involved, names, self._suite_namespaces, cni)

    def nc_origin(self, pod: PodRef) -> str:
        return (
            f"the probe image {self._options.image} (pod {pod}; choose another with "
            f"--image, e.g. the default {DEFAULT_IMAGE})"
        )

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        target = self._pods.get(pod)
        if target is None:
            raise BackendError(f"no probe pod {pod} in this run")
        self._locks.renew_if_due()
        return self._gateway.exec(target.namespace, target.pod, target.container, argv, timeout)

    # -- teardown -------------------------------------------------------------------
    def teardown(self) -> None:
        """Delete this run's namespaces, and its pods and policies in namespaces it did
        not create; wait until they are gone (``cleanup_timeout``); release the Leases.
        Staging pods keep their ephemeral container: Kubernetes cannot remove one."""
        with self._mutex:
            if self._torn_down:
                return
            self._torn_down = True
        failure: BackendError | None = None
        try:
            try:
                # Before any create, there is nothing to look for: no calls (a run stopped
                # by an unresponsive API server must not wait for it once more).
                found = self._leftovers() if self._creating else Leftovers(run_id=self._run_id)
                outcome = delete_and_wait(
                    self._gateway, found, self._options.cleanup_timeout, self._clock
                )
                if outcome.remaining:
                    failure = BackendError(
                        f"cleanup did not finish within {self._options.cleanup_timeout:g}s; "
                        f"still present: {outcome}; run: netprobe cleanup --backend kubernetes"
                    )
            except BackendError as exc:
                failure = BackendError(
                    f"what run {self._run_id} created may be left ({self._recorded()}), as "
                    f"{exc}; `netprobe cleanup --backend kubernetes` removes it once the "
                    "cluster can be used again"
                )
            try:
                self._locks.release()
            except BackendError as exc:
                if failure is None:
                    raise
                failure.add_note(f"releasing the run's Leases failed too: {exc}")
        finally:
            self._gateway.close()
        if failure is not None:
            raise failure

    def _recorded(self) -> str:
        parts = (
            [f"namespaces {', '.join(self._created_namespaces)}"]
            if self._created_namespaces
            else []
        )
        borrowed = sorted(str(ref) for ref in self._created_pods if ref.namespace in self._borrowed)
        if borrowed:
            parts.append(f"pods {', '.join(borrowed)}")
        return "; ".join(parts) or "nothing recorded"

    def _leftovers(self) -> Leftovers:
        """What this run created: recorded, plus anything else carrying its run id."""
        selector = run_selector(self._run_id)
        namespaces = set(self._created_namespaces)
        namespaces |= {o["metadata"]["name"] for o in self._gateway.list_namespaces(selector)}
        keep = namespaces.__contains__
        pods = {ref for ref in self._created_pods if not keep(ref.namespace)}
        policies = {ref for ref in self._created_policies if not keep(ref.namespace)}
        for name in sorted(self._borrowed | {r.namespace for r in self._workloads}):
            pods |= {
                PodRef(name, o["metadata"]["name"]) for o in self._gateway.list_pods(name, selector)
            }
            policies |= {
                PolicyRef(name, o["metadata"]["name"])
                for o in self._gateway.list_policies(name, selector)
            }
        return Leftovers(
            namespaces=tuple(sorted(namespaces)),
            pods=tuple(sorted(pods)),
            policies=tuple(sorted(policies)),
            run_id=self._run_id,
        )


def _refuse_selected(gateway: KubeGateway, pods: Sequence[Pod], run_id: str) -> None:
    """BackendError when an object netprobe did not create would select one of ``pods``
    (probe pods about to be created in namespaces it borrows): a Service would send its
    clients' traffic to the probe pod (kube-system's kube-dns selects any pod labelled
    k8s-app=kube-dns), a ReplicationController, ReplicaSet, StatefulSet or DaemonSet would
    adopt it (relabelled pods are checked again before the patch). Namespaces
    netprobe creates are its own, so nothing else is in them."""
    found: dict[str, list[tuple[str, Obj]]] = {}
    for pod in pods:
        if pod.namespace not in found:
            found[pod.namespace] = gateway.list_pod_selectors(pod.namespace)
        labels = {**pod.labels, **ownership_labels(run_id)}  # as pod_manifest labels it
        for kind, obj in found[pod.namespace]:
            if is_managed(obj):
                continue
            selector = pod_selector(kind, obj)
            if selector is not None and selector.matches(labels):
                name = f"{pod.namespace}/{obj['metadata']['name']}"
                raise BackendError(
                    f"pod {pod.ref} would be selected by {kind} {name} (selector "
                    f"{selector}), which netprobe did not create: it would "
                    f"{'send its traffic to' if kind == 'Service' else 'adopt'} netprobe's "
                    "probe pod. netprobe never creates a pod that someone else's object "
                    "selects: give the suite pod other labels, or a namespace of its own"
                )


def _same_policy(existing: Obj, body: Obj) -> bool:
    """Whether the stored policy ``existing`` is the one ``body`` would create. The API
    server stores a body defaulted (``policyTypes``, ``ports[].protocol``) and without its
    empty lists, so the raw specs of the two never match: both are read by the manifest
    parser, which applies the same defaulting (:func:`.readback.policy_from_api`), and the
    models are compared. A stored policy netprobe cannot read is not the same."""
    try:
        return policy_from_api(existing) == policy_from_api(body)
    except BackendError:
        return False


def _label_patch(current: Obj, labels: Labels, keep: tuple[str, ...] = ()) -> dict[str, str | None]:
    """A merge patch making an object's labels ``labels``, keeping ownership labels."""
    have = dict(current.get("metadata", {}).get("labels") or {})
    kept = OWNERSHIP_KEYS.union(keep)
    patch: dict[str, str | None] = {k: None for k in have if k not in labels and k not in kept}
    patch.update({k: v for k, v in labels.items() if k not in kept and have.get(k) != v})
    return patch
