"""tests/live, the opt-in tests for a real cluster, pass against the emulated one: run as a
user runs them, in a pytest of their own pointed at the cluster's kubeconfig."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cluster import EmulatedCluster

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parents[2]


def test_the_live_tests_pass_against_the_emulated_cluster(cluster: EmulatedCluster) -> None:
    env = {
        **os.environ,
        "NETPROBE_LIVE_KUBECONFIG": str(cluster.kubeconfig),
        "NETPROBE_LIVE_SUITES": "suites/three-tier.netprobe.yaml,suites/dns-egress.netprobe.yaml",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/live", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout and "skipped" not in done.stdout, done.stdout
