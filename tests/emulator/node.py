"""The emulated cluster's one node: kubelet, container runtime and CNI in one.

Pod sandboxes are network namespaces of netprobe's local dataplane, made up front (a pool
of slots on one bridge, as a node has a pod CIDR): a pod the API server stores is bound to
a free slot, its servers start in that namespace, and NetworkPolicies are enforced there by
the local backend's nftables compiler (netprobe.backends.local.nftables, the implementation
that does not share the analyzer's code) from the objects the API server holds. ``exec``
runs the command for real inside the pod's namespace, so a probe script sends real packets
through real enforcement.

What containers do is read from their command, as the images would run it:
``/agnhost serve-hostname --tcp|--udp --port N`` serves N, ``/agnhost porter`` serves its
``SERVE_PORT_N`` (TCP) and ``SERVE_SCTP_PORT_N`` variables, ``/agnhost pause`` and
``registry.k8s.io/pause`` do nothing, CoreDNS's port 53 is a real DNS server (Debian's
dnsmasq: it drops datagrams shorter than a DNS header and answers queries, as CoreDNS does,
so a probe a real CoreDNS would not answer gets no answer here either), and any other image
serves its declared ``containerPorts`` (a workload's web server). An SCTP server on a node
without SCTP crash-loops, as agnhost porter does. Images outside :attr:`Node.images` fail to pull.
"""

from __future__ import annotations

import dataclasses
import queue
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.store import RESOURCES, Obj, Resource, Store, now_text
from netprobe.backends.kubernetes.readback import namespace_from_api, pod_from_api, policy_from_api
from netprobe.backends.local import ownership, servers, topology
from netprobe.backends.local.enforcer import Enforcer
from netprobe.backends.local.naming import Names
from netprobe.backends.local.netns import Commands, in_netns
from netprobe.backends.local.nftables import compile_rulesets
from netprobe.errors import BackendError
from netprobe.model import ClusterState, Pod, PodRef
from netprobe.selectors import Labels

PODS = RESOURCES["pods"]
NAMESPACES = RESOURCES["namespaces"]
POLICIES = RESOURCES["networkpolicies"]
NODE_NAME = "emulated-node"
HOST_IP = "192.0.2.10"  # TEST-NET-1: never routed anywhere
AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:"
PAUSE = "registry.k8s.io/pause:"
COREDNS = "registry.k8s.io/coredns/coredns:"


def sctp_available() -> bool:
    """Whether this kernel gives SCTP sockets (module ``sctp`` loaded or loadable)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    tcp: tuple[int, ...] = ()
    udp: tuple[int, ...] = ()
    sctp: tuple[int, ...] = ()
    dns: bool = False
    """Serves DNS on 53/UDP and 53/TCP (CoreDNS)."""
    pullable: bool = True
    probed: bool = False
    """Has a readiness probe (ready once its server listens, not merely running)."""


def plan_container(container: Obj, pullable: Callable[[str], bool]) -> ContainerPlan:
    name = container["name"]
    image = str(container.get("image", ""))
    command = [*(container.get("command") or ()), *(container.get("args") or ())]
    env = {e.get("name"): e.get("value") for e in container.get("env") or ()}
    probed = "readinessProbe" in container
    if not pullable(image):
        return ContainerPlan(name, pullable=False)
    if image.startswith(AGNHOST) and command[:1] == ["/agnhost"]:
        verb = command[1] if len(command) > 1 else ""
        if verb == "serve-hostname":
            port = int(command[command.index("--port") + 1]) if "--port" in command else 9376
            if "--udp" in command:
                return ContainerPlan(name, udp=(port,), probed=probed)
            return ContainerPlan(name, tcp=(port,), probed=probed)
        if verb == "porter":
            tcp = tuple(int(k[len("SERVE_PORT_") :]) for k in env if k.startswith("SERVE_PORT_"))
            sctp = tuple(
                int(k[len("SERVE_SCTP_PORT_") :]) for k in env if k.startswith("SERVE_SCTP_PORT_")
            )
            return ContainerPlan(name, tcp=tcp, sctp=sctp, probed=probed)
        return ContainerPlan(name, probed=probed)
    if image.startswith(PAUSE):
        return ContainerPlan(name)
    if image.startswith(COREDNS):
        metrics = tuple(
            p["containerPort"]
            for p in container.get("ports") or ()
            if p["containerPort"] != 53 and p.get("protocol", "TCP") == "TCP"
        )
        return ContainerPlan(name, tcp=metrics, dns=True, probed=probed)
    declared = container.get("ports") or ()
    by = {
        p: tuple(d["containerPort"] for d in declared if d.get("protocol", "TCP") == p)
        for p in ("TCP", "UDP", "SCTP")
    }
    return ContainerPlan(name, by["TCP"], by["UDP"], by["SCTP"], probed=probed)


@dataclass
class Sandbox:
    slot: topology.PodSlot
    containers: dict[str, ContainerPlan]
    server: servers.Server | None = None
    dns: subprocess.Popen[bytes] | None = None
    crashing: set[str] = field(default_factory=set)
    restarts: dict[str, int] = field(default_factory=dict)
    started: str = field(default_factory=now_text)


class Node:
    """Binds stored pods to sandboxes and keeps their status and rules current."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        slots: int = 48,
        images: Callable[[str], bool] | None = None,
        sctp: bool | None = None,
        start_delay: float = 0.05,
        grace_scale: float = 0.02,
        namespace_delay: float = 0.5,
    ) -> None:
        self._store = store
        self._images = images or (lambda image: image.startswith((AGNHOST, PAUSE, COREDNS)))
        self._sctp = sctp_available() if sctp is None else sctp
        self._start_delay = start_delay
        self._grace_scale = grace_scale
        self._namespace_delay = namespace_delay
        self._commands = Commands()
        self.names = Names(run_id)
        placeholders = [Pod(PodRef("emulator", f"slot-{i}"), Labels()) for i in range(slots)]
        self._topology = topology.plan(self.names, placeholders, ())
        self._claim: ownership.Claim | None = None
        self._free = list(self._topology.pods)
        self._bound: dict[tuple[str, str], Sandbox] = {}
        self._marked: dict[tuple[str, str], float] = {}
        self._last_restarts = 0.0
        """Pods marked for deletion -> when the node first saw it."""
        self._lock = threading.RLock()
        self._work: queue.Queue[tuple[str, tuple[str, str]] | None] = queue.Queue()
        self._enforcer = Enforcer(self._load)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    # -- life --------------------------------------------------------------------------
    def start(self) -> None:
        plan = self._topology
        self._claim = ownership.Claim(self.names.run_id, self.names.state_dir)
        self._claim.create(plan.namespaces)
        for batch in topology.link_batches(plan):
            self._commands.ip_batch(batch, what="veth pairs")
        self._commands.ip_batch(topology.node_commands(plan), self.names.node, "the node")
        self._commands.bridge_batch(topology.fdb_commands(plan), self.names.node, "the bridge")
        for files, value in (
            (topology.forwarding_files(plan), "1"),
            (topology.no_redirect_files(plan), "0"),
            (topology.no_dad_files(plan), "0"),
        ):
            if files:
                self._commands.run(in_netns(self.names.node, ["tee", *files]), f"{value}\n")
        for slot in plan.pods:
            self._commands.ip_batch(topology.pod_commands(plan, slot), slot.netns, str(slot.ref))
        self._store.watch(self._changed)
        for target in (self._worker, self._ticker):
            thread = threading.Thread(target=self._guard(target), daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        self._work.put(None)
        for thread in self._threads:
            thread.join(10)
        self._enforcer.close()
        with self._lock:
            servers.stop([s.server for s in self._bound.values() if s.server is not None])
            for sandbox in self._bound.values():
                stop_dns(sandbox.dns)
            self._bound.clear()
        if self._claim is not None:
            left = self._claim.release()
            self._claim = None
            if left:
                raise BackendError(f"the emulator's node left {left}")

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # surfaced by the emulator's tests
                self.errors.append(exc)
                raise

        return run

    # -- what the API server tells it ----------------------------------------------------
    def _changed(self, resource: Resource, before: Obj | None, after: Obj | None) -> None:
        obj = after or before
        assert obj is not None
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if resource.plural == "pods":
            if before is None:
                self._work.put(("schedule", key))
            elif after is None:
                self._work.put(("remove", key))
            else:
                new_ephemeral = _ephemeral_names(after) - _ephemeral_names(before)
                if new_ephemeral:
                    self._work.put(("ephemeral", key))
        if resource.plural in ("pods", "namespaces", "networkpolicies"):
            labels = (before or {}).get("metadata", {}).get("labels")
            if (
                resource.plural != "pods"
                or after is None
                or labels != after["metadata"].get("labels")
            ):
                self._work.put(("enforce", key))

    def _worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            action, (namespace, name) = item
            if action == "schedule":
                time.sleep(self._start_delay)
                self._run_pod(namespace, name)
            elif action == "remove":
                self._release(namespace, name)
                self._enforce()
            elif action == "ephemeral":
                self._ephemeral_started(namespace, name)
            elif action == "enforce":
                self._enforce()

    def _ticker(self) -> None:
        """The namespace controller and the kubelet's graceful termination, every 50 ms."""
        while not self._stop.wait(0.05):
            for ns in self._store.objects(NAMESPACES):
                name = ns["metadata"]["name"]
                if ns["metadata"].get("deletionTimestamp"):
                    # The namespace controller works through every resource type of the
                    # cluster first; on kind that takes a few seconds, here half of one.
                    seen = self._marked.setdefault(("", name), time.monotonic())
                    if time.monotonic() - seen >= self._namespace_delay:
                        self._empty_namespace(name)
            for pod in self._store.objects(PODS):
                meta = pod["metadata"]
                if meta.get("deletionTimestamp") and self._grace_over(pod):
                    self._release(meta["namespace"], meta["name"])
                    self._store.remove(PODS, meta["namespace"], meta["name"])
            self._restart_crashing()

    def _grace_over(self, pod: Obj) -> bool:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        marked = self._marked.setdefault(key, time.monotonic())
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds", 0))
        return time.monotonic() - marked >= grace * self._grace_scale

    def _empty_namespace(self, namespace: str) -> None:
        left = 0
        for resource in RESOURCES.values():
            if not resource.namespaced:
                continue
            for obj in self._store.list(resource, namespace)["items"]:
                left += 1
                if resource.plural == "pods" and obj["metadata"].get("deletionTimestamp"):
                    continue
                self._store.delete(resource, namespace, obj["metadata"]["name"])
        if left == 0:
            self._store.remove(NAMESPACES, "", namespace)
            self._marked.pop(("", namespace), None)

    # -- pods --------------------------------------------------------------------------
    def _run_pod(self, namespace: str, name: str) -> None:
        pod = self._store.find(PODS, namespace, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        with self._lock:
            if not self._free:
                self._store.update_status(PODS, namespace, name, _unschedulable)
                return
            slot = self._free.pop(0)
            plans = {c["name"]: plan_container(c, self._images) for c in pod["spec"]["containers"]}
            sandbox = Sandbox(slot, plans)
            self._bound[(namespace, name)] = sandbox
        self._store.update_status(PODS, namespace, name, _bind)
        tcp = sorted({port for c in plans.values() if c.pullable for port in c.tcp})
        udp = sorted({port for c in plans.values() if c.pullable for port in c.udp})
        if tcp or udp:
            spec = servers.ServerSpec(slot.netns, f"{namespace}/{name}", tuple(tcp), tuple(udp))
            (sandbox.server,) = servers.start([spec])
            servers.wait_ready([sandbox.server], 10)
        if any(c.dns and c.pullable for c in plans.values()):
            sandbox.dns = start_dns(slot)
        if not self._sctp:
            sandbox.crashing = {c.name for c in plans.values() if c.sctp}
        self._enforce()
        self._store.update_status(PODS, namespace, name, lambda p: self._running(p, sandbox))

    def _running(self, pod: Obj, sandbox: Sandbox) -> None:
        statuses = [self._container_status(c, sandbox) for c in pod["spec"]["containers"]]
        ready = all(s["ready"] for s in statuses)
        pulled = all(c.pullable for c in sandbox.containers.values())
        status = pod.setdefault("status", {})
        status.update(
            phase="Running" if pulled else "Pending",  # an image not pulled: nothing started
            podIP=str(sandbox.slot.ip),
            podIPs=[{"ip": str(ip)} for ip in sandbox.slot.addresses[:1]],
            hostIP=HOST_IP,
            hostIPs=[{"ip": HOST_IP}],
            startTime=sandbox.started,
            containerStatuses=statuses,
        )
        not_ready = [s["name"] for s in statuses if not s["ready"]]
        reason = (
            {}
            if ready
            else {
                "reason": "ContainersNotReady",
                "message": f"containers with unready status: [{' '.join(not_ready)}]",
            }
        )
        status["conditions"] = [
            _condition("PodReadyToStartContainers", True),
            _condition("Initialized", True),
            _condition("Ready", ready, **reason),
            _condition("ContainersReady", ready, **reason),
            _condition("PodScheduled", True),
        ]

    def _container_status(self, container: Obj, sandbox: Sandbox) -> Obj:
        plan = sandbox.containers[container["name"]]
        image = container.get("image", "")
        out: Obj = {
            "name": plan.name,
            "image": image,
            "imageID": "",
            "restartCount": sandbox.restarts.get(plan.name, 0),
            "ready": False,
            "started": False,
            "state": {},
        }
        if not plan.pullable:
            out["state"] = {
                "waiting": {
                    "reason": "ErrImagePull",
                    "message": f'failed to pull and unpack image "{image}": not found',
                }
            }
            return out
        out["imageID"] = (
            f"{image.split(':')[0]}@sha256:{uuid.uuid5(uuid.NAMESPACE_URL, image).hex * 2}"
        )
        out["containerID"] = f"containerd://{uuid.uuid5(uuid.NAMESPACE_OID, plan.name).hex * 2}"
        if plan.name in sandbox.crashing:
            # agnhost porter: log.Fatal("Failed to listen SCTP. error:", err) when the
            # listen fails, so exit code 1 after one line of Go's log (date and time first);
            # the kubelet copies the log's tail when the container asks for it.
            out["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 10s restarting failed container={plan.name}",
                }
            }
            terminated = {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": sandbox.started,
                "finishedAt": now_text(),
            }
            if container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
                stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime())
                terminated["message"] = (
                    f"{stamp} Failed to listen SCTP. error:protocol not supported\n"
                )
            out["lastState"] = {"terminated": terminated}
            return out
        out.update(ready=True, started=True, state={"running": {"startedAt": sandbox.started}})
        return out

    def _restart_crashing(self) -> None:
        """A crashing container is started again once a second (the kubelet backs off
        from 10 s to 5 min; the restart count is what matters here)."""
        with self._lock:
            crashing = [(key, s) for key, s in self._bound.items() if s.crashing]
        if not crashing or time.monotonic() - self._last_restarts < 1.0:
            return
        self._last_restarts = time.monotonic()
        for (namespace, name), sandbox in crashing:
            for container in sandbox.crashing:
                sandbox.restarts[container] = sandbox.restarts.get(container, 0) + 1
            self._store.update_status(
                PODS, namespace, name, lambda p, s=sandbox: self._running(p, s)
            )

    def _ephemeral_started(self, namespace: str, name: str) -> None:
        def started(pod: Obj) -> None:
            statuses = pod.setdefault("status", {}).setdefault("ephemeralContainerStatuses", [])
            known = {s["name"] for s in statuses}
            for container in pod["spec"].get("ephemeralContainers") or ():
                if container["name"] not in known:
                    statuses.append(
                        {
                            "name": container["name"],
                            "image": container.get("image", ""),
                            "ready": False,
                            "restartCount": 0,
                            "state": {"running": {"startedAt": now_text()}},
                        }
                    )

        self._store.update_status(PODS, namespace, name, started)

    def _release(self, namespace: str, name: str) -> None:
        with self._lock:
            sandbox = self._bound.pop((namespace, name), None)
            self._marked.pop((namespace, name), None)
        if sandbox is None:
            return
        if sandbox.server is not None:
            servers.stop([sandbox.server])
        stop_dns(sandbox.dns)
        with self._lock:
            self._free.append(sandbox.slot)

    # -- exec --------------------------------------------------------------------------
    def netns_of(self, namespace: str, name: str) -> str | None:
        with self._lock:
            sandbox = self._bound.get((namespace, name))
            return sandbox.slot.netns if sandbox else None

    def running(self, namespace: str, name: str, container: str) -> bool:
        with self._lock:
            sandbox = self._bound.get((namespace, name))
            if sandbox is None:
                return False
            plan = sandbox.containers.get(container)
            if plan is None:  # an ephemeral container: running once added
                return True
            return plan.pullable and container not in sandbox.crashing

    def spawn(
        self, namespace: str, name: str, argv: Sequence[str], stdin: bool
    ) -> subprocess.Popen[bytes]:
        netns = self.netns_of(namespace, name)
        if netns is None:
            raise LookupError(f"{namespace}/{name} has no sandbox")
        return subprocess.Popen(
            in_netns(netns, list(argv)),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    # -- the CNI -----------------------------------------------------------------------
    def _enforce(self) -> None:
        with self._lock:
            bound = dict(self._bound)
        namespaces = tuple(namespace_from_api(ns) for ns in self._store.objects(NAMESPACES))
        pods = []
        netns: dict[PodRef, str] = {}
        for pod in self._store.objects(PODS):
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            if key in bound:
                model = dataclasses.replace(pod_from_api(pod), ips=(bound[key].slot.ip,))
                pods.append(model)
                netns[model.ref] = bound[key].slot.netns
        policies = tuple(policy_from_api(p) for p in self._store.objects(POLICIES))
        state = ClusterState(namespaces, tuple(pods), policies)
        compiled = compile_rulesets(state, self._topology.gateways)
        self._enforcer.update({netns[ref]: text for ref, text in compiled.items()})

    def _load(self, netns: str, ruleset: str) -> None:
        self._commands.nft(netns, ruleset, what=f"rules of {netns}")


def start_dns(slot: topology.PodSlot) -> subprocess.Popen[bytes]:
    """dnsmasq on the pod's address, 53/UDP and 53/TCP, answering from nothing (no upstream,
    no hosts file): REFUSED or NXDOMAIN at once, which is a reply. Ready once it says so."""
    argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--port=53", "--bind-interfaces", f"--listen-address={slot.ip}",
            "--user=root", "--pid-file=", "--log-facility=-"]  # fmt: skip
    process = subprocess.Popen(
        in_netns(slot.netns, argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    if b"started" not in line:
        stop_dns(process)
        raise BackendError(f"dnsmasq did not start in {slot.netns}: {line!r}")
    return process


def stop_dns(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    if process.poll() is None:
        process.kill()
    process.wait(10)
    if process.stderr is not None:
        process.stderr.close()


def _ephemeral_names(pod: Obj) -> set[str]:
    return {c["name"] for c in pod.get("spec", {}).get("ephemeralContainers") or ()}


def _condition(kind: str, true: bool, **extra: Any) -> Obj:
    return {
        "type": kind,
        "status": "True" if true else "False",
        "lastTransitionTime": now_text(),
        **extra,
    }


def _bind(pod: Obj) -> None:
    pod["spec"]["nodeName"] = NODE_NAME
    pod.setdefault("status", {}).update(
        phase="Pending", hostIP=HOST_IP, conditions=[_condition("PodScheduled", True)]
    )


def _unschedulable(pod: Obj) -> None:
    pod.setdefault("status", {}).update(
        phase="Pending",
        conditions=[
            _condition(
                "PodScheduled",
                False,
                reason="Unschedulable",
                message="0/1 nodes are available: 1 Too many pods.",
            )
        ],
    )
