"""Against a real cluster (kind + Calico/Cilium in CI): what only a cluster can show —
RBAC as the API server sees it, the exec handshake and channels, readiness, the example
suites end to end, and cleanup leaving nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from netprobe.model import NAMESPACE_NAME_LABEL, ContainerPort, Namespace, Pod, PodRef, Protocol
from netprobe.selectors import Labels

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]


def test_the_runner_identity_has_every_permission_a_run_needs(kube_options) -> None:  # type: ignore[no-untyped-def]
    from netprobe.backends.kubernetes import connect
    from netprobe.backends.kubernetes.preflight import cleanup_checks, require_access, run_checks

    gateway = connect(kube_options)
    try:
        require_access(gateway, run_checks(["np-live-a"], [], [], kube_options.lock_namespace))
        require_access(gateway, cleanup_checks(kube_options.lock_namespace))
    finally:
        gateway.close()


def test_exec_keeps_stdout_stderr_and_exit_code_apart(kube_options) -> None:  # type: ignore[no-untyped-def]
    from netprobe.backends.kubernetes import create_backend

    backend = create_backend(kube_options)
    namespace = Namespace("np-live-exec", Labels({NAMESPACE_NAME_LABEL: "np-live-exec"}))
    pod = Pod(PodRef("np-live-exec", "a"), Labels({"app": "a"}), (ContainerPort(80, Protocol.TCP),))
    try:
        state = backend.deploy([namespace], [pod], [])
        assert state.pod(pod.ref) is not None and state.pod(pod.ref).ip is not None  # type: ignore[union-attr]
        done = backend.exec(pod.ref, ["sh", "-c", "echo out; echo err >&2; exit 3"], 20.0)
        assert (done.stdout, done.stderr, done.exit_code, done.timed_out) == (
            "out\n",
            "err\n",
            3,
            False,
        )
        slow = backend.exec(pod.ref, ["sh", "-c", "echo started; sleep 30"], 3.0)
        assert slow.timed_out
    finally:
        backend.teardown()


def test_the_example_suites_pass_and_leave_nothing_behind(  # type: ignore[no-untyped-def]
    kube_options, pytestconfig: pytest.Config, tmp_path: Path
) -> None:
    from netprobe.backends.kubernetes import connect
    from netprobe.backends.kubernetes.bodies import MANAGED_SELECTOR, RUN_ID_KEY
    from netprobe.cli import main

    suites = [str(ROOT / s) for s in pytestconfig.getoption("--live-suites").split(",") if s]
    argv = ["run", *suites, "--backend", "kubernetes", "--use-existing-namespaces"]
    argv += ["--junit", str(tmp_path / "junit.xml")]
    if pytestconfig.getoption("--cni"):
        argv += ["--cni", pytestconfig.getoption("--cni")]
    if kube_options.kubeconfig:
        argv += ["--kubeconfig", str(kube_options.kubeconfig)]
    if kube_options.context:
        argv += ["--context", kube_options.context]
    assert main(argv) == 0
    gateway = connect(kube_options)
    try:
        left = gateway.list_namespaces(f"{MANAGED_SELECTOR},{RUN_ID_KEY}")
        assert not [n["metadata"]["name"] for n in left]
    finally:
        gateway.close()
