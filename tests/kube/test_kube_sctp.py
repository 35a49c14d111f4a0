"""A node without SCTP: the SCTP servers crash-loop, only their expectations are skipped.

agnhost porter exits 1 when its SCTP listen fails (``log.Fatal``, test/images/agnhost/
porter/porter.go), and the kubelet restarts it with back-off for as long as the pod lives.
Before, deploy waited for every container of every pod and failed the whole suite (TCP and
UDP checks included) with "will not start"; these tests fail that way on that code.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import expect, ns, pod, suite
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.servers import down_servers
from netprobe.backends.kubernetes.waits import diagnose, fatal, is_ready, probe_pod_ready
from netprobe.clock import FakeClock
from netprobe.commands import run as run_command
from netprobe.errors import EXIT_OK, BackendError, Location
from netprobe.model import PodRef, Port, Protocol
from netprobe.results import Status
from netprobe.run.runner import RunOptions, run_suite
from netprobe.suite.model import Expectation

NAMESPACES = (ns("x"),)
TCP_AND_SCTP = ((80, Protocol.TCP), (9000, Protocol.SCTP))
PODS = (pod("x/a", app="a"), pod("x/b", TCP_AND_SCTP, app="b"))
NO_SCTP_ON_B = (
    "the node has no SCTP support (kernel module sctp not loaded): container cont-9000-sctp "
    "of pod x/b exited with code 1, restarted {n} (its log: Failed to listen SCTP. "
    "error:protocol not supported)"
)


def sctp(source: str, destination: str, allowed: bool = True) -> Expectation:
    return Expectation(
        PodRef.parse(source),
        PodRef.parse(destination),
        9000,
        Protocol.SCTP,
        allowed,
        Location("suite.yaml", 2),
    )


def test_a_node_without_sctp_skips_the_sctp_expectations_and_probes_the_rest(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.no_sctp = True
    the_suite = suite(
        NAMESPACES,
        PODS,
        (),
        [((), (expect("x/a", "x/b"), sctp("x/a", "x/b"), expect("x/b", "x/a")))],
    )
    result = run_suite(the_suite, make_backend(), options=RunOptions(), clock=clock)
    tcp_in, sctp_in, tcp_out = result.results
    assert tcp_in.status is Status.PASS and tcp_out.status is Status.PASS
    assert sctp_in.status is Status.SKIPPED and not sctp_in.failed
    assert sctp_in.skip == NO_SCTP_ON_B.format(n="2 times")
    assert not result.failed
    assert sum(clock.slept) < 10  # not the 180 s ready timeout
    assert {e[1] for e in api.execs} == {"a", "b"}  # both pods probed from
    assert "x" not in api.namespaces and not api.pods  # torn down


def test_the_pods_ready_condition_stays_false_so_the_old_wait_could_only_fail(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    # What deploy waited for before: the Ready condition, which the kubelet sets only when
    # every container is ready (pkg/kubelet/status/generate.go).
    api.no_sctp = True
    make_backend().deploy(NAMESPACES, PODS, ())
    (b,) = [o for o in api.list_pods("x", "") if o["metadata"]["name"] == "b"]
    conditions = {c["type"]: c for c in b["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["message"] == "containers with unready status: [cont-9000-sctp]"
    assert b["status"]["phase"] == "Running"
    assert not is_ready(b) and probe_pod_ready(b)


def test_the_reason_is_the_first_one_seen_in_every_step(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.no_sctp = True
    steps = [((), (sctp("x/a", "x/b"),)), ((), (sctp("x/a", "x/b", allowed=False),))]
    result = run_suite(suite(NAMESPACES, PODS, (), steps), make_backend(), clock=clock)
    assert {r.skip for r in result.results} == {NO_SCTP_ON_B.format(n="2 times")}


def test_a_crashing_tcp_server_next_to_sctp_still_stops_the_run(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.no_sctp = True
    api.crashloop[PodRef("x", "b")] = "cont-80-tcp"
    the_suite = suite(NAMESPACES, PODS, (), [((), (expect("x/a", "x/b"),))])
    with pytest.raises(BackendError, match="will not start") as caught:
        run_suite(the_suite, make_backend(), clock=clock)
    assert "container cont-80-tcp: CrashLoopBackOff (last exit code 2, Error" in str(caught.value)
    assert "x" not in api.namespaces


SUITE = """\
name: sctp-node
pods:
  x/a: {labels: {app: a}, ports: [80]}
  x/b: {labels: {app: b}, ports: [80, 9000/SCTP]}
expect:
  - allow: x/a -> x/b:80
  - allow: x/a -> x/b:9000/SCTP
"""


def test_reports_carry_the_reason_and_the_exit_code_is_that_of_a_skip(
    api: FakeApiServer,
    clock: FakeClock,
    make_backend,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api.no_sctp = True
    path = tmp_path / "sctp.netprobe.yaml"
    path.write_text(SUITE)
    request = run_command.RunRequest(
        paths=(path,),
        backend="kubernetes",
        junit=tmp_path / "junit.xml",
        json=tmp_path / "results.json",
    )
    code = run_command.execute(request, create=lambda *_, **__: make_backend(), clock=clock)
    assert code == EXIT_OK
    reason = NO_SCTP_ON_B.format(n="2 times")
    table = capsys.readouterr().out
    assert "skipped, and why:" in table and reason in table
    document = json.loads((tmp_path / "results.json").read_text())
    results = document["suites"][0]["results"]
    assert [(r["status"], r["skip"]) for r in results] == [("pass", None), ("skipped", reason)]
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    skipped = [c.find("skipped") for c in cases]
    assert skipped[0] is None
    assert skipped[1] is not None and skipped[1].get("message") == reason


# -- the status shapes, one container at a time -----------------------------------------


def probe_pod(sctp_status: dict, tcp_ready: bool = True) -> dict:  # type: ignore[type-arg]
    return {
        "metadata": {"name": "b", "namespace": "x"},
        "spec": {
            "containers": [
                {"name": "probe"},
                {"name": "cont-80-tcp", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "cont-9000-sctp", "ports": [{"containerPort": 9000, "protocol": "SCTP"}]},
            ]
        },
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.2",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "probe", "ready": True, "state": {"running": {}}},
                {"name": "cont-80-tcp", "ready": tcp_ready, "state": {"running": {}}},
                {"name": "cont-9000-sctp", **sctp_status},
            ],
        },
    }


EXIT_1 = {"exitCode": 1, "reason": "Error"}
BACK_OFF = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting"}}


@pytest.mark.parametrize(
    ("sctp_status", "ready", "down"),
    [
        ({"ready": True, "restartCount": 0, "state": {"running": {}}}, True, None),
        (
            {"ready": False, "restartCount": 0, "state": {"waiting": {"reason": "Created"}}},
            False,
            None,
        ),
        (
            {"ready": False, "restartCount": 0, "state": {"terminated": EXIT_1}},
            True,
            "the node likely has no SCTP support (kernel module sctp not loaded?): "
            "container cont-9000-sctp of pod x/b exited with code 1",
        ),
        (
            {
                "ready": False,
                "restartCount": 3,
                "state": BACK_OFF,
                "lastState": {
                    "terminated": {
                        **EXIT_1,
                        "message": "2027/01/15 08:00:00 Failed to listen SCTP. "
                        "error:protocol not supported\n",
                    }
                },
            },
            True,
            "the node has no SCTP support (kernel module sctp not loaded): container "
            "cont-9000-sctp of pod x/b exited with code 1, restarted 3 times (its log: "
            "Failed to listen SCTP. error:protocol not supported)",
        ),
    ],
    ids=["running", "not-started", "exited", "crash-loop"],
)
def test_an_sctp_server_is_waited_for_until_it_runs_or_has_exited(
    sctp_status: dict,  # type: ignore[type-arg]
    ready: bool,
    down: str | None,
) -> None:
    obj = probe_pod(sctp_status)
    assert probe_pod_ready(obj) is ready
    assert not fatal(obj)
    assert down_servers(obj) == ({Port(9000, Protocol.SCTP): down} if down else {})


@pytest.mark.parametrize(
    "sctp_status",
    [
        {  # running again for a moment after being killed for its memory
            "ready": True,
            "restartCount": 1,
            "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
        },
        {
            "ready": False,
            "restartCount": 1,
            "state": BACK_OFF,
            "lastState": {
                "terminated": {
                    **EXIT_1,
                    "message": "Failed to listen SCTP. error:address already in use",
                }
            },
        },
    ],
    ids=["oom-killed", "address-in-use"],
)
def test_an_sctp_server_that_exits_for_another_reason_stops_the_run(
    sctp_status: dict,  # type: ignore[type-arg]
) -> None:
    """Only a node without SCTP is forgiven: anything else is a broken server, as a TCP
    or UDP one would be, never a silent skip."""
    obj = probe_pod(sctp_status)
    assert fatal(obj) and not probe_pod_ready(obj)
    assert down_servers(obj) == {}
    assert "cont-9000-sctp: exited with code" in diagnose(obj) or "CrashLoopBackOff" in diagnose(
        obj
    )


def test_an_unready_tcp_server_keeps_the_pod_waiting_whatever_sctp_does() -> None:
    obj = probe_pod({"ready": False, "restartCount": 2, "state": BACK_OFF}, tcp_ready=False)
    assert not probe_pod_ready(obj)


def test_an_sctp_server_that_never_started_for_another_reason_is_fatal() -> None:
    pull = {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}
    obj = probe_pod({"ready": False, "restartCount": 0, "state": pull})
    assert fatal(obj) and not probe_pod_ready(obj)
