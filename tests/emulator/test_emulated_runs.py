"""``netprobe run --backend kubernetes`` against the emulated cluster: the real CLI in its
own process, the real client over HTTPS and WebSocket, probe scripts run by real ``sh`` and
``nc`` in pod sandboxes, policies enforced by nftables. Then the same run again with the
API server misbehaving: every fault ends in results (ERROR ones retried) or a clean exit
3, never a traceback, and what netprobe created is gone afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator.cluster import EmulatedCluster
from emulator.server import Fault
from emulator.store import RESOURCES

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parents[2]
THREE_TIER = ROOT / "suites" / "three-tier.netprobe.yaml"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def statuses(self) -> list[str]:
        assert self.report is not None
        return [r["status"] for s in self.report["suites"] for r in s["results"]]


def netprobe(cluster: EmulatedCluster, tmp_path: Path, *args: str, timeout: float = 300) -> Run:
    report = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "netprobe",
            "run",
            *args,
            "--backend",
            "kubernetes",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        # the client the test process has (hack/client-versions.sh puts one first)
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
        },
    )
    loaded = json.loads(report.read_text()) if report.exists() else None
    return Run(done.returncode, done.stdout, done.stderr, loaded)


def netprobe_objects(cluster: EmulatedCluster) -> list[str]:
    """Everything in the store carrying netprobe's label but the lock namespace, which
    netprobe creates when missing and keeps for later runs."""
    found = []
    for resource in RESOURCES.values():
        for obj in cluster.store.objects(resource):
            labels = obj["metadata"].get("labels") or {}
            lock_namespace = resource.plural == "namespaces" and (
                obj["metadata"]["name"] == "netprobe-system"
            )
            if labels.get("app.kubernetes.io/managed-by") == "netprobe" and not lock_namespace:
                found.append(
                    f"{resource.kind} {obj['metadata'].get('namespace', '')}/"
                    f"{obj['metadata']['name']}"
                )
    return found


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr


def test_a_suite_runs_through_the_real_client_with_real_packets(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert run.code == 0, run.stdout + run.stderr
    assert set(run.statuses()) == {"pass"} and len(run.statuses()) == 9
    assert any(
        line.startswith("GET /api/v1/namespaces/") and line.endswith("/exec")
        for line in cluster.requests
    )
    assert netprobe_objects(cluster) == []


def exec_path(method: str, path: str) -> bool:
    return path.endswith("/exec")


@pytest.mark.parametrize("frames", [0, 1])
def test_exec_streams_dropped_mid_stream_are_retried(
    cluster: EmulatedCluster, tmp_path: Path, frames: int
) -> None:
    """Right after the handshake, or after the first output: no exit status either way."""
    dropped = cluster.faults.add(Fault(exec_path, drop_after=frames, times=4))
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert dropped.used == 4
    assert run.code == 0, run.stdout + run.stderr
    assert netprobe_objects(cluster) == []


def test_stalled_exec_handshakes_are_abandoned_and_retried(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    stalled = cluster.faults.add(Fault(exec_path, stall=8, times=2))
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert stalled.used == 2
    assert run.code == 0, run.stdout + run.stderr
    assert netprobe_objects(cluster) == []


def pod_writes(method: str, path: str) -> bool:
    return method in ("POST", "PATCH", "DELETE") and "/pods" in path


def pod_reads(method: str, path: str) -> bool:
    return method == "GET" and "/pods" in path and not path.endswith("/exec")


def deletes(method: str, path: str) -> bool:
    return method == "DELETE"


@pytest.mark.parametrize(
    ("code", "requests"), [(429, pod_writes), (500, pod_reads), (503, deletes)]
)
def test_answers_with_retry_after_are_retried_where_repeating_is_safe(
    cluster: EmulatedCluster, tmp_path: Path, code: int, requests: Any
) -> None:
    """429 on every verb (priority and fairness rejected it before acting), 5xx on reads
    and deletes: as client-go, and the run passes."""
    burst = cluster.faults.add(Fault(requests, status=code, retry_after=0, times=5))
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert burst.used == 5
    assert run.code == 0, run.stdout + run.stderr
    assert netprobe_objects(cluster) == []


@pytest.mark.parametrize("retry_after", [None, 0])
def test_a_create_answered_500_is_one_clean_error_and_the_run_is_cleaned_up(
    cluster: EmulatedCluster, tmp_path: Path, retry_after: int | None
) -> None:
    """Not repeated even with Retry-After: the create may have been done."""
    creates = cluster.faults.add(
        Fault(lambda m, p: m == "POST" and p.endswith("/pods"), status=500, retry_after=retry_after)
    )
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert creates.used == 1
    assert run.code == 3, run.stdout + run.stderr
    assert "API server error 500: injected fault" in run.stderr
    assert netprobe_objects(cluster) == []


def test_credentials_revoked_mid_run_end_in_exit_3_and_cleanup_finishes_later(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    seen: list[str] = []

    def after_first_exec(method: str, path: str) -> bool:
        if path.endswith("/exec"):
            seen.append(path)
        return bool(seen)

    cluster.faults.add(Fault(after_first_exec, status=401, times=0))
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert run.code == 3, run.stdout + run.stderr
    error, cleanup_note = run.stderr.strip().splitlines()
    assert error.startswith("netprobe: error: exec in pod ") and "(401)" in error
    assert "may be left (namespaces backend, database, frontend, outside)" in cleanup_note
    assert "`netprobe cleanup --backend kubernetes` removes it" in cleanup_note
    cluster.faults.clear()
    cleanup = subprocess.run(
        [
            sys.executable,
            "-m",
            "netprobe",
            "cleanup",
            "--backend",
            "kubernetes",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--all",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert netprobe_objects(cluster) == []


@pytest.mark.parametrize("protocol", ["v4.channel.k8s.io", "v5.channel.k8s.io"])
def test_a_run_whose_scripts_go_on_stdin_works_over_v4_and_v5(
    cluster: EmulatedCluster, tmp_path: Path, protocol: str
) -> None:
    """A source with hundreds of probes gets its script on stdin (execinput.QUERY_LIMIT);
    v4 cannot close stdin, v5 can (channel 255): both must end with the script's exit."""
    cluster.speak(protocol)
    cluster.execs.clear()
    pods = "\n".join(f"  wide/d{i}: {{labels: {{app: d}}, ports: [80, 81]}}" for i in range(40))
    suite = tmp_path / "wide.netprobe.yaml"
    suite.write_text(
        f"namespaces: {{wide: {{}}}}\npods:\n  wide/src: {{labels: {{app: src}}}}\n{pods}\n"
        "expect:\n  - allow: wide/src -> wide/app=d\n"
    )
    run = netprobe(cluster, tmp_path, str(suite))
    no_traceback(run)
    assert run.code == 0, run.stdout + run.stderr
    assert len(run.statuses()) == 80 and set(run.statuses()) == {"pass"}
    assert {p for p, _ in cluster.execs} == {protocol}
    assert all(stdin for _, stdin in cluster.execs)  # 80 probes: above the URL limit
    assert netprobe_objects(cluster) == []


def _foreign_lease(cluster: EmulatedCluster, namespace: str, seconds: int) -> None:
    from netprobe.backends.kubernetes.locks import format_time

    if cluster.store.find(RESOURCES["namespaces"], "", "netprobe-system") is None:
        cluster.store.create(RESOURCES["namespaces"], "", {"metadata": {"name": "netprobe-system"}})
    now = format_time(time.time())
    cluster.store.create(RESOURCES["leases"], "netprobe-system", {
        "metadata": {"name": f"netprobe-ns-{namespace}", "labels": {
            "app.kubernetes.io/managed-by": "netprobe", "netprobe.io/run-id": "0ther0run000"}},
        "spec": {"holderIdentity": "0ther0run000", "leaseDurationSeconds": seconds,
                 "acquireTime": now, "renewTime": now},
    })  # fmt: skip


def test_a_namespace_whose_lease_another_live_run_renews_is_refused(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    from netprobe.backends.kubernetes.locks import format_time

    _foreign_lease(cluster, "frontend", 4)
    leases = RESOURCES["leases"]

    stop = threading.Event()

    def renew() -> None:  # as a live run does, every second
        while not stop.wait(1.0):
            lease = cluster.store.get(leases, "netprobe-system", "netprobe-ns-frontend")
            lease["spec"]["renewTime"] = format_time(time.time())
            cluster.store.replace(leases, "netprobe-system", "netprobe-ns-frontend", lease)

    renewer = threading.Thread(target=renew)
    renewer.start()
    try:
        run = netprobe(cluster, tmp_path, str(THREE_TIER))
    finally:
        stop.set()
        renewer.join()
        cluster.store.remove(leases, "netprobe-system", "netprobe-ns-frontend")
    no_traceback(run)
    assert run.code == 3, run.stdout + run.stderr
    assert "namespace frontend is in use by another netprobe run (0ther0run000" in run.stderr
    assert netprobe_objects(cluster) == []


def test_a_lease_left_by_a_dead_run_is_taken_over_once_it_expires(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    _foreign_lease(cluster, "frontend", 2)
    run = netprobe(cluster, tmp_path, str(THREE_TIER))
    no_traceback(run)
    assert run.code == 0, run.stdout + run.stderr
    assert netprobe_objects(cluster) == []


def test_a_failed_run_reports_what_the_cluster_held(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    suite = tmp_path / "wrong.netprobe.yaml"
    suite.write_text(
        "namespaces: {shop: {}}\n"
        "pods:\n  shop/web: {labels: {app: web}, ports: [80]}\n"
        "  shop/client: {labels: {app: client}}\n"
        "policies:\n  - apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n"
        "    metadata: {name: deny-all, namespace: shop}\n    spec: {podSelector: {}}\n"
        "expect:\n  - allow: shop/client -> shop/web:80\n"
    )
    run = netprobe(cluster, tmp_path, str(suite), "--cni", "emulated")
    no_traceback(run)
    assert run.code == 1 and run.statuses() == ["policy"]
    assert run.report is not None
    (diagnostics,) = [s["diagnostics"] for s in run.report["suites"]]
    pods = {p["pod"]: p for p in diagnostics["pods"]}
    assert pods["shop/web"]["phase"] == "Running" and pods["shop/web"]["ips"]
    (policy,) = diagnostics["policies"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]  # as the API server stores it
    assert diagnostics["cni"] == "emulated"
    assert "why (" in run.stdout
