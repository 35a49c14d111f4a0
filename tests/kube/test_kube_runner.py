"""Whole suites through the shared runner on the Kubernetes backend, against the in-memory
API server: the same probe scripts, retries and comparison as the local backend."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import allow_from, deny_all_ingress, expect, ns, pod, suite
from fake_api import FakeApiServer
from stand_in_nc import NC_1_130, probe_path

from netprobe.backends.base import ExecResult
from netprobe.backends.kubernetes.bodies import DEFAULT_IMAGE
from netprobe.clock import FakeClock
from netprobe.errors import BackendError, Location
from netprobe.model import PodRef, Protocol
from netprobe.results import Status
from netprobe.run.runner import RunOptions, run_suite
from netprobe.selectors import Labels
from netprobe.suite.model import ApplyPolicy, DeletePolicy, Expectation, SetPodLabels

NAMESPACES = (ns("x"),)
PODS = (pod("x/a", app="a"), pod("x/b", app="b"), pod("x/c", app="c"))
ALLOW_A_TO_B = allow_from("x", "allow-a", {"app": "b"}, {"app": "a"})


def run(api: FakeApiServer, clock: FakeClock, make_backend, the_suite, **options):  # type: ignore[no-untyped-def]
    backend = make_backend()
    return run_suite(
        the_suite,
        backend,
        options=RunOptions(**options),
        clock=clock,
    )


def test_a_suite_passes_and_everything_is_removed(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    the_suite = suite(
        NAMESPACES,
        PODS,
        (ALLOW_A_TO_B,),
        [((), (expect("x/a", "x/b"), expect("x/c", "x/b", allowed=False), expect("x/b", "x/c")))],
    )
    result = run(api, clock, make_backend, the_suite)
    assert [r.status for r in result.results] == [Status.PASS] * 3
    assert result.backend == "kubernetes"
    assert "x" not in api.namespaces and not api.pods and not api.policies and not api.leases
    assert len({e[:2] for e in api.execs}) == 3  # one exec per source pod per round


def test_steps_change_policies_and_labels_in_the_cluster(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    the_suite = suite(
        NAMESPACES,
        PODS,
        (deny_all_ingress("x"),),
        [
            ((), (expect("x/a", "x/b", allowed=False),)),
            (
                (ApplyPolicy(ALLOW_A_TO_B),),
                (expect("x/a", "x/b"), expect("x/c", "x/b", allowed=False)),
            ),
            ((SetPodLabels(PodRef("x", "c"), Labels({"app": "a"})),), (expect("x/c", "x/b"),)),
            ((DeletePolicy(ALLOW_A_TO_B.ref),), (expect("x/a", "x/b", allowed=False),)),
        ],
    )
    result = run(api, clock, make_backend, the_suite)
    assert [r.status for r in result.results] == [Status.PASS] * 5, [
        (r.expectation.id, r.status, r.observation) for r in result.results
    ]


def test_a_lagging_dataplane_settles_with_retries_recorded(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.lag_execs = 3
    the_suite = suite(
        NAMESPACES,
        PODS,
        (),
        [
            ((), (expect("x/a", "x/b"),)),
            ((ApplyPolicy(deny_all_ingress("x")),), (expect("x/a", "x/b", allowed=False),)),
        ],
    )
    result = run(api, clock, make_backend, the_suite)
    late = result.results[1]
    assert late.status is Status.PASS
    assert late.observation is not None and late.observation.attempts > 1
    assert late.observation.settled_after is not None and late.observation.settled_after > 0


def test_a_lost_exec_is_retried_and_does_not_count_as_blocked(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    the_suite = suite(NAMESPACES, PODS, (), [((), (expect("x/a", "x/b"),))])
    api.lost_execs = 1
    result = run(api, clock, make_backend, the_suite)
    (only,) = result.results
    assert only.status is Status.PASS and only.observation is not None
    assert only.observation.attempts >= 2


def test_a_hung_exec_is_an_error_not_a_deny(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    the_suite = suite(NAMESPACES, PODS, (), [((), (expect("x/a", "x/b", allowed=False),))])
    api.hung_execs = 1000
    result = run(api, clock, make_backend, the_suite, settle_timeout=3.0)
    (only,) = result.results
    assert only.status is Status.ERROR and only.failed


def test_a_wrong_expectation_fails(api: FakeApiServer, clock: FakeClock, make_backend) -> None:
    the_suite = suite(NAMESPACES, PODS, (ALLOW_A_TO_B,), [((), (expect("x/c", "x/b"),))])
    result = run(api, clock, make_backend, the_suite, settle_timeout=2.0)
    (only,) = result.results
    assert only.failed and only.status is Status.POLICY


def test_sigterm_during_a_run_still_cleans_up(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    the_suite = suite(NAMESPACES, PODS, (), [((), (expect("x/a", "x/b"),))])
    original = api.exec

    def exec_then_sigterm(*args, **kwargs):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    api.exec = exec_then_sigterm  # type: ignore[method-assign]
    backend = make_backend()
    with pytest.raises(KeyboardInterrupt):
        run_suite(the_suite, backend, clock=clock, options=RunOptions(workers=1))
    assert "x" not in api.namespaces and not api.pods and not api.leases


def test_a_deploy_failure_is_raised_after_cleanup(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    from netprobe.errors import BackendError

    api.crashloop[PodRef("x", "b")] = "cont-80-tcp"
    the_suite = suite(NAMESPACES, PODS, (), [((), (expect("x/a", "x/b"),))])
    with pytest.raises(BackendError, match="CrashLoopBackOff"):
        run(api, clock, make_backend, the_suite)
    assert "x" not in api.namespaces and not api.pods


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_an_image_whose_nc_lacks_minus_w_stops_the_run_with_one_error_naming_it(
    api: FakeApiServer, clock: FakeClock, make_backend, tmp_path: Path
) -> None:
    # The exec runs the real probe script with the real sh, on an nc that answers -h as
    # Alpine 3.16's netcat-openbsd 1.130 (agnhost 2.52) does: no -W.
    env = probe_path(tmp_path / "bin", NC_1_130)

    def real_sh(api, source, container, argv, timeout):  # type: ignore[no-untyped-def]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
        return ExecResult(done.returncode, done.stdout, done.stderr)

    api.dataplane = real_sh
    udp_pods = tuple(pod(ref, ((53, Protocol.UDP), (80, Protocol.TCP))) for ref in ("x/a", "x/b"))
    udp = [
        Expectation(PodRef.parse(s), PodRef.parse(d), 53, Protocol.UDP, True, Location("s", 1))
        for s, d in (("x/a", "x/b"), ("x/b", "x/a"))
    ]
    the_suite = suite(NAMESPACES, udp_pods, (), [((), (*udp, expect("x/a", "x/b")))])
    backend = make_backend(image="old/agnhost:2.52")
    with pytest.raises(BackendError) as raised:
        run_suite(the_suite, backend, options=RunOptions(), clock=clock)
    message = str(raised.value)
    assert message.startswith("cannot probe with the probe image old/agnhost:2.52 (pod x/")
    assert "--image" in message and DEFAULT_IMAGE in message
    assert "its nc has no -W" in message
    assert not Path(env["NCLOG"]).exists()  # no probe was sent
    assert "x" not in api.namespaces and not api.pods  # torn down
