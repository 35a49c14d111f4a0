"""Waiting for probe pods: ready under a deadline, and a diagnosis when they are not."""

from __future__ import annotations

import pytest
from conftest import ns, pod
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.timing import Backoff, poll_until
from netprobe.backends.kubernetes.waits import diagnose, is_ready
from netprobe.clock import FakeClock
from netprobe.errors import BackendError
from netprobe.model import PodRef

NAMESPACES = (ns("x"),)
PODS = (pod("x/a", app="a"), pod("x/b", app="b"))


def test_pods_that_take_a_while_are_waited_for_with_backoff(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.ready_after = 6
    make_backend().deploy(NAMESPACES, PODS, ())
    assert len(clock.slept) >= 4
    assert clock.slept[0] == 0.5 and max(clock.slept) <= 2.0
    assert clock.slept == sorted(clock.slept)  # growing intervals, capped


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda api: api.bad_images.add("bad/agnhost:0"),
            r"x/a: Pending: container probe: ImagePullBackOff for image bad/agnhost:0",
        ),
        (
            lambda api: api.crashloop.__setitem__(PodRef("x", "b"), "cont-80-tcp"),
            r"x/b: Running: container cont-80-tcp: CrashLoopBackOff "
            r"\(last exit code 2, Error; 1 restart\)",
        ),
    ],
    ids=["image-pull", "crashloop"],
)
def test_states_that_cannot_heal_fail_at_once_naming_the_cause(
    api: FakeApiServer, clock: FakeClock, make_backend, breakage, message: str
) -> None:
    breakage(api)
    backend = make_backend(image="bad/agnhost:0") if api.bad_images else make_backend()
    with pytest.raises(BackendError, match=message) as caught:
        backend.deploy(NAMESPACES, PODS, ())
    assert "will not start" in str(caught.value)
    assert sum(clock.slept) < 10  # long before the 180 s deadline


def test_an_unschedulable_pod_is_reported_with_the_schedulers_message_at_the_deadline(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.unschedulable[PodRef("x", "b")] = "0/3 nodes are available: 3 Insufficient cpu."
    start = clock.now
    with pytest.raises(BackendError) as caught:
        make_backend(ready_timeout=20.0).deploy(NAMESPACES, PODS, ())
    text = str(caught.value)
    assert "1 probe pod(s) not ready after 20s" in text
    assert "x/b: Pending: not scheduled: 0/3 nodes are available: 3 Insufficient cpu." in text
    assert "x/a" not in text
    assert clock.now - start == pytest.approx(20.0)


def test_a_pod_deleted_while_waiting_is_named(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.ready_after = 100
    backend = make_backend(ready_timeout=5.0)
    original = api.list_pods

    def list_without_b(namespace, selector):  # type: ignore[no-untyped-def]
        return [o for o in original(namespace, selector) if o["metadata"]["name"] != "b"]

    api.list_pods = list_without_b  # type: ignore[method-assign]
    with pytest.raises(BackendError, match=r"x/b: not found \(was it deleted\?\)"):
        backend.deploy(NAMESPACES, PODS, ())


@pytest.mark.parametrize(
    ("status", "ready", "text"),
    [
        ({"phase": "Pending"}, False, "Pending"),
        (
            {
                "phase": "Running",
                "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True"}],
            },
            True,
            "Running",
        ),
        (
            {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            False,
            "no pod IP assigned yet (is a CNI installed?)",
        ),
        (
            {
                "phase": "Running",
                "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "cont-80-tcp", "ready": False, "state": {"running": {}}}
                ],
            },
            False,
            "container cont-80-tcp: not ready",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "probe",
                        "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}},
                    }
                ],
            },
            False,
            "container probe: ErrImagePull for image img:1: not found",
        ),
    ],
)
def test_readiness_and_diagnosis(status: dict, ready: bool, text: str) -> None:  # type: ignore[type-arg]
    obj = {
        "metadata": {"name": "a"},
        "spec": {"containers": [{"name": "probe", "image": "img:1"}]},
        "status": status,
    }
    assert is_ready(obj) is ready
    assert text in diagnose(obj)


def test_poll_until_checks_once_more_at_the_deadline(clock: FakeClock) -> None:
    seen: list[float] = []

    def check() -> None:
        seen.append(clock.now)

    assert poll_until(check, 3.0, clock, Backoff(first=1.0, factor=2.0, maximum=10.0)) is None
    assert [t - seen[0] for t in seen] == [0.0, 1.0, 3.0]
