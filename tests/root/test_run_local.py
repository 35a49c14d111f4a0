"""``netprobe run`` on the local dataplane (root): the example suites pass, a wrong
expectation fails, the analyzer and the dataplane agree on every pair of every scenario
folder, and an interrupted run leaves nothing behind."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netprobe import cli
from netprobe.backends.local.naming import STATE_DIR
from netprobe.model import ClusterState
from netprobe.results import Status
from netprobe.suite.model import Settings, Step, Suite

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(p for p in (ROOT / "tests" / "cases").iterdir() if (p / "manifests.yaml").exists())

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        os.geteuid() != 0 or any(shutil.which(t) is None for t in ("ip", "nft", "nc")),
        reason="needs root, iproute2, nftables and netcat-openbsd",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def local_dataplane() -> None:
    """Skip (saying what is missing) where the kernel or privileges do not allow it."""
    from netprobe.backends.local import LocalBackend
    from netprobe.errors import BackendError

    try:
        LocalBackend().preflight()
    except BackendError as exc:
        pytest.skip(str(exc))


WRONG = """\
name: wrong
namespaces: {shop: {}, db: {}}
pods:
  shop/web: {ports: [80]}
  db/pg: {ports: [5432]}
policies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny-all, namespace: db}
    spec: {podSelector: {}}
expect:
  - allow: shop/web -> db/pg:5432
  - allow: db/pg -> shop/web:80
settings: {settleTimeout: 2}
"""


def test_example_suites_pass(capsys: pytest.CaptureFixture[str]) -> None:
    # suites/conformance/ has a test of its own (test_conformance_local.py)
    examples = sorted(str(path) for path in (ROOT / "suites").glob("*.netprobe.yaml"))
    assert len(examples) >= 6
    code = cli.main(["run", *examples, "--backend", "local", "-v"])
    out = capsys.readouterr().out
    assert code == 0, out


def test_wrong_expectation_fails_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "wrong.netprobe.yaml"
    suite.write_text(WRONG)
    assert cli.main(["run", str(suite), "-o", "json"]) == 1
    out = capsys.readouterr().out
    assert '"status": "policy"' in out  # the dataplane did what the policy says


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_analyzer_and_local_dataplane_agree_on_every_pair(case: Path) -> None:
    from netprobe.backends.registry import create_backend
    from netprobe.manifests import load_state
    from netprobe.run import RunOptions, run_suite

    state: ClusterState = load_state([case / "manifests.yaml"], lambda message: None)
    # The backend assigns its own pod IPs; the analyzer judges the snapshot's, so ipBlocks
    # are compared on the addresses the packets really carry.
    suite = Suite(
        case.name,
        case / "manifests.yaml",
        state.namespaces,
        state.pods,
        state.policies,
        (Step("matrix", (), ()),),
        Settings(settle_timeout=3.0),
    )
    result = run_suite(suite, create_backend("local"), options=RunOptions(matrix=True))
    probed = [r for r in result.results if r.skip is None]
    disagree = [
        f"{r.expectation.id}: analyzer {r.verdict}, observed {r.observation}"
        for r in probed
        if r.status is not Status.PASS
    ]
    assert probed, "the scenario has no pod with a port to probe"
    assert not disagree, "\n".join(disagree)


def _ours(run_id: str) -> dict[str, set[str]]:
    def lines(*argv: str) -> list[str]:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()

    mark = f"np-{run_id}-"
    return {
        "netns": {str(path) for path in (STATE_DIR / run_id).glob("ns/*")},
        "links": {line for line in lines("ip", "-o", "link", "show") if mark in line},
        "nft tables": set(lines("nft", "list", "tables")),
    }


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_nothing_behind(signum: int) -> None:
    run_id = secrets.token_hex(3)
    before = _ours(run_id)
    env = {**os.environ, "NETPROBE_RUN_ID": run_id}
    argv = [sys.executable, "-m", "netprobe", "run", str(ROOT / "suites"), "--apply-delay", "4"]
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not _ours(run_id)["netns"]:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never created its namespaces"
            time.sleep(0.05)
        time.sleep(1.0)  # well into deploying or probing
        during = _ours(run_id)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert during["netns"], "nothing was running when the signal came"
    assert process.returncode == 130, stderr
    after = _ours(run_id)
    assert after["netns"] == before["netns"] == set()
    assert after["links"] == before["links"] == set()
    assert after["nft tables"] <= before["nft tables"]
