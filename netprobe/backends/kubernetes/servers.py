"""The SCTP servers of a probe pod, read from its status: which are down, and why.

An SCTP server (``agnhost porter`` with ``SERVE_SCTP_PORT_<n>``) needs the node's kernel to
speak SCTP, which netprobe cannot arrange: when the listen fails the container exits and
the kubelet restarts it with back-off for as long as the pod lives. That is a property of
the node, not a broken deployment, so such a pod is still used (its TCP and UDP servers
serve) and only the expectations probing its SCTP ports are skipped, with the reason built
here. A TCP or UDP server that fails is not forgiven: the pod never becomes ready
(:mod:`.waits`).

What the status looks like (kubernetes/kubernetes):

- porter's ``serveSCTPPort`` ends in ``log.Fatal("Failed to listen SCTP. error:", err)``
  when ``sctp.ListenSCTP`` fails (``test/images/agnhost/porter/porter.go``); Go's
  ``log.Fatal`` is Print to stderr then ``os.Exit(1)`` (golang/go ``src/log/log.go``), so
  the container exits with code 1. ``ListenSCTP`` returns the ``socket(AF_INET,
  SOCK_STREAM, IPPROTO_SCTP)`` error as is (ishidawataru/sctp ``sctp_linux.go``); without
  the sctp module the kernel answers EPROTONOSUPPORT once its two ``request_module``
  attempts fail (torvalds/linux ``net/ipv4/af_inet.c`` ``inet_create``), which Go spells
  "protocol not supported" (golang/go ``src/syscall/zerrors_linux_amd64.go``).
- Between an exit and the restart the container's ``state`` is ``terminated``
  (``exitCode``, ``reason`` from the runtime: "Error" for a non-zero exit in containerd,
  ``message``); while the kubelet backs off it is ``waiting`` with reason
  ``CrashLoopBackOff`` (``kubecontainer.ErrCrashLoopBackOff``) and message "back-off 10s
  restarting failed container=... pod=..." (``pkg/kubelet/kuberuntime/kuberuntime_manager.go``
  ``doBackOff``), the exit moved to ``lastState.terminated``; ``restartCount`` counts the
  restarts (``pkg/kubelet/kubelet_pods.go`` ``convertToAPIContainerStatuses``). The pod's
  phase stays Running while another container runs: a waiting container with a last
  termination counts as stopped, not waiting (``getPhase``, same file).
- The server containers ask for ``terminationMessagePolicy: FallbackToLogsOnError``, so the
  kubelet puts the tail of the log (at most 80 lines, 2048 bytes) in ``terminated.message``
  when the container exits with an error (``pkg/kubelet/kuberuntime/kuberuntime_container.go``
  ``convertToKubeContainerStatus``): porter's own words reach netprobe without the
  ``pods/log`` permission.

A server that has exited even once counts as down (a crash-looping container runs for a
moment after each restart, and a server that flickers cannot be probed either), but only
when the exit says the node has no SCTP (:func:`lacks_sctp`): porter's log naming
EPROTONOSUPPORT, or exit code 1 with no log. Any other exit (OOMKilled, an address in use,
a bad environment) is a broken server, and stops the run as a TCP or UDP one does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from netprobe.backends.base import Outages
from netprobe.backends.kubernetes.api import Obj
from netprobe.model import PodRef, Port, Protocol

NO_SCTP = "the node has no SCTP support (kernel module sctp not loaded)"
LIKELY_NO_SCTP = "the node likely has no SCTP support (kernel module sctp not loaded?)"
_NO_SCTP_ERROR = "protocol not supported"
"""EPROTONOSUPPORT as Go prints it: what porter logs when the kernel has no SCTP."""
_GO_LOG_PREFIX = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")
"""The date and time Go's standard logger puts before each line (``log.LstdFlags``)."""


def sctp_servers(obj: Obj) -> dict[str, Port]:
    """The pod's SCTP server containers (by name) and the port each serves, from its spec."""
    found: dict[str, Port] = {}
    for container in obj.get("spec", {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("protocol") == Protocol.SCTP and "containerPort" in port:
                found[str(container["name"])] = Port(int(port["containerPort"]), Protocol.SCTP)
    return found


def last_exit(status: Obj) -> Obj | None:
    """The container's most recent termination (``state`` or ``lastState``), if it has
    ever exited; ``{}`` when it has restarted but the record is gone."""
    terminated = (status.get("state") or {}).get("terminated")
    if terminated is None:
        terminated = (status.get("lastState") or {}).get("terminated")
    if terminated is None and status.get("restartCount", 0) > 0:
        return {}
    return terminated


def lacks_sctp(exit_: Mapping[str, object]) -> bool:
    """Whether a server's exit is the one porter makes on a node without SCTP."""
    log = _last_line(str(exit_.get("message") or ""))
    if log:
        return _NO_SCTP_ERROR in log.lower()
    return exit_.get("exitCode") in (1, None)  # log.Fatal's exit; None: record gone


def down_servers(obj: Obj) -> dict[Port, str]:
    """The pod's SCTP servers that exited because the node has no SCTP, each with why (see
    the module docstring)."""
    servers = sctp_servers(obj)
    down: dict[Port, str] = {}
    for status in (obj.get("status") or {}).get("containerStatuses") or ():
        name = status.get("name")
        if name not in servers:
            continue
        exit_ = last_exit(status)
        if exit_ is not None and lacks_sctp(exit_):
            down[servers[name]] = _reason(obj, name, status, exit_)
    return down


def outages_of(probe_pods: Iterable[Obj], known: Outages) -> Outages:
    """The SCTP servers down in ``probe_pods`` (API objects). A reason in ``known`` stays
    as first seen, though the restart count grows: one reason per outage in the reports."""
    down: dict[tuple[PodRef, Port], str] = {}
    for obj in probe_pods:
        ref = PodRef(obj["metadata"]["namespace"], obj["metadata"]["name"])
        for port, why in down_servers(obj).items():
            down[(ref, port)] = known.down.get((ref, port), why)
    return Outages(MappingProxyType(down))


def _reason(obj: Obj, container: str, status: Obj, exit_: Mapping[str, object]) -> str:
    meta = obj.get("metadata") or {}
    pod = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
    code = exit_.get("exitCode")
    restarts = status.get("restartCount", 0)
    log = _last_line(str(exit_.get("message") or ""))
    exited = f"exited with code {code}" if code is not None else "exited"
    if exit_.get("reason") not in (None, "", "Error"):  # "Error": any non-zero exit
        exited += f" ({exit_['reason']})"
    what = f"container {container} of pod {pod} {exited}"
    if restarts:
        what += f", restarted {'1 time' if restarts == 1 else f'{restarts} times'}"
    if log:
        return f"{NO_SCTP}: {what} (its log: {log})"
    return f"{LIKELY_NO_SCTP}: {what}"  # porter's log.Fatal, with no log to say why


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return _GO_LOG_PREFIX.sub("", lines[-1]) if lines else ""
