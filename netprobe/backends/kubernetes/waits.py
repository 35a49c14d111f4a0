"""When a probe pod is ready, and when it never will be: the diagnosis a user reads.

A probe pod is ready (:func:`probe_pod_ready`) when its phase is Running, it has a pod IP,
every container but the SCTP servers is ready (the probe container: running; each TCP
server: its tcpSocket readiness probe passed; UDP servers: running), and every SCTP server
is either ready (running: it has no readiness probe) or down (it has exited:
:mod:`.servers`). Upstream cyclonus and e2e wait for Running and an IP; the containers'
readiness adds the servers' readiness probes. The pod's own Ready condition is not used:
the kubelet sets it only when *all* containers are ready (``pkg/kubelet/status/
generate.go`` ``GeneratePodReadyCondition``, via ``GenerateContainersReadyCondition``), so
an SCTP server crash-looping on a node without SCTP would keep it False for the whole
ready timeout (and, since a container without a readiness probe is ready whenever it runs,
``pkg/kubelet/prober/prober_manager.go`` ``UpdatePodStatus``: "no readinessProbe -> always
ready", flip it True for a moment after each restart). Its down SCTP servers are reported
by the backend (:class:`~netprobe.backends.base.Outages`), not waited for.

Some states cannot heal within a run (an image that cannot be pulled, a crash loop of any
other container): those fail at once instead of at the deadline. :func:`is_ready` is the
plain rule (the Ready condition) for pods netprobe did not create.
"""

from __future__ import annotations

from collections.abc import Sequence

from netprobe.backends.kubernetes.api import KubeGateway, Obj
from netprobe.backends.kubernetes.bodies import run_selector
from netprobe.backends.kubernetes.servers import lacks_sctp, last_exit, sctp_servers
from netprobe.backends.kubernetes.timing import poll_until
from netprobe.clock import Clock
from netprobe.errors import BackendError
from netprobe.model import PodRef

FATAL_WAITING = frozenset(
    {
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
        "RunContainerError",
    }
)


def is_ready(obj: Obj) -> bool:
    """Any pod: Running, with an IP, and its Ready condition True."""
    status = obj.get("status") or {}
    if status.get("phase") != "Running" or not status.get("podIP"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )


def probe_pod_ready(obj: Obj) -> bool:
    """netprobe's probe pod: ready as the module docstring says (SCTP servers may be down)."""
    status = obj.get("status") or {}
    if status.get("phase") != "Running" or not status.get("podIP"):
        return False
    sctp = sctp_servers(obj)
    statuses = {cs.get("name"): cs for cs in status.get("containerStatuses") or ()}
    for container in obj.get("spec", {}).get("containers") or ():
        cs = statuses.get(container.get("name"))
        if cs is None:
            return False
        if container["name"] in sctp and last_exit(cs) is not None:
            if not _forgiven(cs):  # exited, and not for want of SCTP: broken
                return False
        elif not cs.get("ready"):
            return False
    return True


def _statuses(obj: Obj) -> list[Obj]:
    status = obj.get("status") or {}
    return [*(status.get("containerStatuses") or ()), *(status.get("initContainerStatuses") or ())]


def _image_of(obj: Obj, container: str) -> str:
    for spec in obj.get("spec", {}).get("containers") or ():
        if spec.get("name") == container:
            return str(spec.get("image", "?"))
    return "?"


def _describe_container(obj: Obj, cs: Obj) -> str | None:
    name = cs.get("name", "?")
    waiting = (cs.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    message = waiting.get("message") or ""
    if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"):
        image = cs.get("image") or _image_of(obj, name)
        hint = "check --image, the registry's reachability and pull secrets"
        detail = f": {message}" if message else ""
        return f"container {name}: {reason} for image {image}{detail} ({hint})"
    if reason == "CrashLoopBackOff":
        last = (cs.get("lastState") or {}).get("terminated") or {}
        code = last.get("exitCode", "?")
        why = last.get("reason") or ""
        restarts = cs.get("restartCount", 0)
        return (
            f"container {name}: CrashLoopBackOff (last exit code {code}"
            f"{', ' + why if why else ''}; {restarts} restart{'' if restarts == 1 else 's'})"
        )
    if reason:
        return f"container {name}: {reason}{': ' + message if message else ''}"
    exited = last_exit(cs)
    if exited:
        why = exited.get("reason") or ""
        return (
            f"container {name}: exited with code {exited.get('exitCode', '?')}"
            f"{' (' + str(why) + ')' if why else ''}, restarted {cs.get('restartCount', 0)} times"
        )
    if not cs.get("ready"):
        return f"container {name}: not ready"
    return None


def diagnose(obj: Obj) -> str:
    """Why a pod is not ready, in one line."""
    status = obj.get("status") or {}
    phase = status.get("phase", "Unknown")
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            message = condition.get("message") or condition.get("reason") or "not scheduled"
            return f"Pending: not scheduled: {message}"
    problems = [p for cs in _statuses(obj) if (p := _describe_container(obj, cs))]
    if problems:
        return f"{phase}: " + "; ".join(problems)
    if phase == "Running" and not status.get("podIP"):
        return "Running but no pod IP assigned yet (is a CNI installed?)"
    if status.get("reason") or status.get("message"):
        return f"{phase}: {status.get('reason', '')} {status.get('message', '')}".strip()
    return str(phase)


def fatal(obj: Obj) -> bool:
    """Whether the probe pod cannot become ready; an SCTP server that has exited because
    the node has no SCTP is down, not fatal (whatever its waiting reason: CrashLoopBackOff,
    mostly); one that exited for another reason is fatal at once."""
    status = obj.get("status") or {}
    if status.get("phase") in ("Failed", "Succeeded"):
        return True
    sctp = sctp_servers(obj)
    for cs in _statuses(obj):
        if cs.get("name") in sctp and last_exit(cs) is not None:
            if not _forgiven(cs):
                return True
            continue
        if ((cs.get("state") or {}).get("waiting") or {}).get("reason") in FATAL_WAITING:
            return True
    return False


def _forgiven(cs: Obj) -> bool:
    """An SCTP server container that exited as porter does on a node without SCTP."""
    exit_ = last_exit(cs)
    return exit_ is not None and lacks_sctp(exit_)


def wait_for_pods(
    gateway: KubeGateway,
    pods: Sequence[PodRef],
    run_id: str,
    timeout: float,
    clock: Clock,
) -> dict[PodRef, Obj]:
    """Wait until every probe pod in ``pods`` is ready (:func:`probe_pod_ready`); their API
    objects. One list call per namespace per round (not one read per pod). Raises
    BackendError naming each pod that is not ready and why, at once for a state that cannot
    heal, else at the deadline."""
    wanted = set(pods)
    namespaces = sorted({ref.namespace for ref in pods})
    last: dict[PodRef, Obj] = {}

    def check() -> dict[PodRef, Obj] | None:
        for namespace in namespaces:
            for obj in gateway.list_pods(namespace, run_selector(run_id)):
                ref = PodRef(namespace, obj["metadata"]["name"])
                if ref in wanted:
                    last[ref] = obj
        broken = [ref for ref in sorted(wanted) if ref in last and fatal(last[ref])]
        if broken:
            raise BackendError(_report(broken, last, "will not start"))
        if all(ref in last and probe_pod_ready(last[ref]) for ref in wanted):
            return dict(last)
        return None

    found = poll_until(check, timeout, clock)
    if found is None:
        late = [ref for ref in sorted(wanted) if ref not in last or not probe_pod_ready(last[ref])]
        raise BackendError(_report(late, last, f"not ready after {timeout:g}s"))
    return found


def _report(refs: Sequence[PodRef], last: dict[PodRef, Obj], what: str) -> str:
    lines = [
        f"  {ref}: {diagnose(last[ref]) if ref in last else 'not found (was it deleted?)'}"
        for ref in refs
    ]
    return f"{len(refs)} probe pod(s) {what}:\n" + "\n".join(lines)
