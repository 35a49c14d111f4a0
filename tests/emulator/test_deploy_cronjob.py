"""deploy/cronjob.yaml's command, run as the CronJob runs it, against the emulated cluster:
in-cluster config (the ServiceAccount token, CA and environment the kubelet gives the pod),
the rights of deploy/rbac.yaml and nothing else, the suites of a ConfigMap made by the
command its comment documents and mounted as the kubelet mounts one. Only the mount points
differ (/suites and /reports are folders of the test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from configmap_volume import configmap_volume

from emulator.cluster import EmulatedCluster
from emulator.rbac import service_account_user
from emulator.store import RESOURCES
from emulator.test_emulated_runs import netprobe_objects

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SUITES = ("suites/three-tier.netprobe.yaml", "suites/dns-egress.netprobe.yaml")


def cronjob() -> dict:  # type: ignore[type-arg]
    docs = yaml.safe_load_all((DEPLOY / "cronjob.yaml").read_text())
    (found,) = [d for d in docs if d and d["kind"] == "CronJob"]
    return found  # type: ignore[no-any-return]


def test_the_nightly_cronjob_command_runs_green_in_cluster_with_the_shipped_rbac(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    pod = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    script = container["args"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    namespace = "netprobe-system"
    user = service_account_user(namespace, pod["serviceAccountName"], [DEPLOY / "rbac.yaml"])
    if cluster.store.find(RESOURCES["namespaces"], "", namespace) is None:
        cluster.store.create(RESOURCES["namespaces"], "", {"metadata": {"name": namespace}})

    bundle = subprocess.run(
        [sys.executable, "-m", "netprobe", "bundle", *SUITES, "--configmap", "netprobe-suites",
         "-n", namespace],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    configmap = yaml.safe_load(bundle.stdout)
    suites = configmap_volume(tmp_path / "suites", configmap["data"])
    reports = tmp_path / "reports"
    reports.mkdir()
    script = script.replace(mounts["suites"], str(suites)).replace(mounts["reports"], str(reports))
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),  # no ~/.kube/config: in-cluster config it is
        "PYTHONPATH": str(ROOT),
        "NETPROBE_RUN_ID": "3f2b6c1e-8d4a-4f0e-9b7c-2a1d5e6f7a8b",  # metadata.uid
        **cluster.service_account(user),
    }
    done = subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    latest = json.loads((reports / "latest.json").read_text())
    statuses = [r["status"] for s in latest["suites"] for r in s["results"]]
    assert statuses and set(statuses) <= {"pass", "skipped"}, statuses
    assert (reports / "latest.xml").read_text().startswith("<?xml")
    assert any(r.startswith("POST /apis/authorization.k8s.io") for r in cluster.requests)
    assert netprobe_objects(cluster) == []
