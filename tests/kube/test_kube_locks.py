"""Two runs against one cluster: Leases keep them apart; cleanup spares live runs."""

from __future__ import annotations

import threading

import pytest
from conftest import ns, pod
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.api import ConflictError
from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.cleanup import clean_cluster
from netprobe.backends.kubernetes.locks import (
    LeaseLocks,
    RenewingClock,
    format_time,
    parse_time,
)
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.clock import FakeClock
from netprobe.errors import BackendError

NAMESPACES = (ns("x"),)
PODS = (pod("x/a"),)


class SkewedClock:
    """Another machine's clock: the same monotonic time, a wall clock ``offset`` away."""

    def __init__(self, clock: FakeClock, offset: float) -> None:
        self._clock = clock
        self._offset = offset

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def wall(self) -> float:
        return self._clock.wall() + self._offset

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)


def fresh(api: FakeApiServer, clock: FakeClock, name: str = "netprobe-ns-x") -> bool:
    renewed = parse_time(api.leases[("netprobe-system", name)]["spec"]["renewTime"])
    return renewed is not None and clock.wall() - renewed < 30


def test_a_second_run_on_the_same_namespaces_is_refused_while_the_first_holds_them(
    api: FakeApiServer, make_backend
) -> None:
    first = make_backend(run_id="first")
    first.deploy(NAMESPACES, PODS, ())
    lease = api.leases[("netprobe-system", "netprobe-ns-x")]
    assert lease["spec"]["holderIdentity"] == "first"
    assert lease["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netprobe"
    # The second run is stopped by the namespace check before it even asks for Leases ...
    with pytest.raises(BackendError, match="created by netprobe run first"):
        make_backend(run_id="second").deploy(NAMESPACES, PODS, ())
    first.teardown()
    # ... and once the first run is gone, it can go.
    make_backend(run_id="second").deploy(NAMESPACES, PODS, ())


def test_borrowed_namespaces_are_guarded_by_the_lease(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.add_workload_pod("x", "app", {"app": "prod"})
    first = make_backend(run_id="first", use_existing_namespaces=True)
    first.deploy(NAMESPACES, PODS, ())
    # The first run is alive: it renews its Lease while the second one watches it.
    second = KubernetesBackend(
        api,
        KubeOptions(run_id="second", use_existing_namespaces=True),
        clock=RenewingClock(clock, first._locks),
    )
    with pytest.raises(
        BackendError, match=r"namespace x is in use by another netprobe run \(first"
    ):
        second.deploy(NAMESPACES, PODS, ())
    assert api.pods[("x", "a")]["metadata"]["labels"]["netprobe.io/run-id"] == "first"


def test_an_expired_lease_is_taken_over(api: FakeApiServer, clock: FakeClock) -> None:
    dead = LeaseLocks(api, "locks", "dead", clock, duration=60)
    dead.acquire(["x"])
    clock.sleep(61)
    alive = LeaseLocks(api, "locks", "alive", clock, duration=60)
    alive.acquire(["x"])
    assert api.leases[("locks", "netprobe-ns-x")]["spec"]["holderIdentity"] == "alive"
    dead.release()  # the dead run waking up must not delete the new holder's Lease
    assert ("locks", "netprobe-ns-x") in api.leases


def test_a_takeover_race_is_lost_cleanly_through_resource_version(
    api: FakeApiServer, clock: FakeClock
) -> None:
    LeaseLocks(api, "locks", "dead", clock, duration=60).acquire(["x"])
    clock.sleep(61)
    racer = LeaseLocks(api, "locks", "racer", clock, duration=60)
    original = api.replace_lease

    def someone_else_wins_first(namespace: str, name: str, body):  # type: ignore[no-untyped-def]
        current = api.leases[(namespace, name)]
        current["spec"]["holderIdentity"] = "winner"
        api._bump(current)
        return original(namespace, name, body)

    api.replace_lease = someone_else_wins_first  # type: ignore[method-assign]
    with pytest.raises(BackendError, match=r"took its Lease .* at the same moment"):
        racer.acquire(["x"])
    assert api.leases[("locks", "netprobe-ns-x")]["spec"]["holderIdentity"] == "winner"


def test_leases_are_renewed_as_the_run_works(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    backend = make_backend(lease_seconds=30)
    backend.deploy(NAMESPACES, PODS, ())
    before = api.leases[("netprobe-system", "netprobe-ns-x")]["spec"]["renewTime"]
    clock.sleep(11)
    backend.exec(pod("x/a").ref, ["sh", "-c", "echo NETPROBE_DONE"], 1.0)
    after = api.leases[("netprobe-system", "netprobe-ns-x")]["spec"]
    assert after["renewTime"] == format_time(clock.wall()) != before
    assert after["leaseDurationSeconds"] == 30


def test_a_run_that_lost_its_lease_stops(api: FakeApiServer, clock: FakeClock) -> None:
    locks = LeaseLocks(api, "locks", "me", clock, duration=30)
    locks.acquire(["x"])
    api._bump(api.leases[("locks", "netprobe-ns-x")])  # someone else wrote it
    clock.sleep(20)
    with pytest.raises(BackendError, match="lost Lease locks/netprobe-ns-x"):
        locks.renew_if_due()


def test_racing_creates_let_exactly_one_run_win(api: FakeApiServer, clock: FakeClock) -> None:
    results: dict[str, str] = {}
    barrier = threading.Barrier(4)

    everyone: list[LeaseLocks] = []

    class AliveClock(SkewedClock):
        # every run is a live process: whoever holds Leases renews them while others wait
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            for locks in list(everyone):
                locks.renew_if_due()

    def run(run_id: str) -> None:
        locks = LeaseLocks(api, "locks", run_id, AliveClock(clock, 0.0))
        everyone.append(locks)
        barrier.wait()
        try:
            locks.acquire(["x", "y"])
            results[run_id] = "won"
        except (BackendError, ConflictError):
            results[run_id] = "lost"

    threads = [threading.Thread(target=run, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()).count("won") == 1


def test_time_format_round_trips() -> None:
    assert format_time(1_800_000_000.25) == "2027-01-15T08:00:00.250000Z"
    assert parse_time("2027-01-15T08:00:00.250000Z") == 1_800_000_000.25
    assert parse_time("garbage") is None


def test_cleanup_spares_live_runs_and_removes_dead_ones(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    make_backend(run_id="dead", lease_seconds=60).deploy((ns("d"),), (pod("d/a"),), ())
    clock.sleep(120)  # "dead" stopped renewing
    live = make_backend(run_id="live")
    live.deploy(NAMESPACES, PODS, ())
    # the live run renews its Leases while cleanup watches them
    report = clean_cluster(api, "netprobe-system", 60.0, RenewingClock(clock, live._locks))
    assert "d" not in api.namespaces and "x" in api.namespaces
    assert list(report.live) == ["live"]
    assert report.leases_removed == ("netprobe-system/netprobe-ns-d",)
    assert "netprobe-system" in api.namespaces  # the lock namespace is never removed
    assert any("skipped live run live" in line for line in report.lines())


def test_leases_stay_fresh_while_deploy_waits_longer_than_their_duration(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    # Pods that take longer to become ready than a Lease lasts (a slow image pull): a
    # cleanup meanwhile must not take the run for dead and delete its namespaces.
    api.ready_after = 200
    backend = make_backend(lease_seconds=30, ready_timeout=600)
    backend.deploy(NAMESPACES, PODS, ())
    assert clock.now - 1_800_000_000.0 > 30
    assert fresh(api, clock)
    report = clean_cluster(api, "netprobe-system", 10, RenewingClock(clock, backend._locks))
    assert not report.found
    backend.teardown()


def test_cleanup_waits_for_a_namespace_already_terminating_instead_of_failing(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    # An earlier teardown ran out of time: its namespace is still Terminating, and deleting
    # it again answers 409 (kube-apiserver's namespace REST.Delete). That is not a failure.
    api.terminate_after = 4
    make_backend(run_id="dead", lease_seconds=60).deploy((ns("d"),), (pod("d/a"),), ())
    clock.sleep(120)
    api.delete_namespace("d")
    with pytest.raises(ConflictError, match="ensuring all content is removed"):
        api.delete_namespace("d")
    report = clean_cluster(api, "netprobe-system", 60.0, clock)
    assert report.outcome is not None
    assert report.outcome.errors == () and not report.outcome.remaining
    assert "removed everything found" in report.lines()
    assert "d" not in api.namespaces


# -- expiry as observed here, never by comparing a remote renewTime with the local clock --


def test_a_live_run_whose_clock_is_behind_is_not_taken_for_dead(
    api: FakeApiServer, clock: FakeClock
) -> None:
    # Its renewTimes look an hour old here, yet it renews them: it is alive.
    first = LeaseLocks(api, "locks", "first", SkewedClock(clock, -3600), duration=60)
    first.acquire(["x"])
    second = LeaseLocks(api, "locks", "second", RenewingClock(clock, first), duration=60)
    with pytest.raises(BackendError, match=r"in use by another netprobe run \(first"):
        second.acquire(["x"])
    assert api.leases[("locks", "netprobe-ns-x")]["spec"]["holderIdentity"] == "first"
    assert clock.now - 1_800_000_000.0 < 60  # told within a renewal period, not a duration


def test_a_dead_run_whose_clock_is_ahead_is_taken_over_after_one_duration(
    api: FakeApiServer, clock: FakeClock
) -> None:
    # Its last renewTime lies an hour in the future here; it will never renew again.
    LeaseLocks(api, "locks", "dead", SkewedClock(clock, 3600), duration=60).acquire(["x"])
    start = clock.now
    LeaseLocks(api, "locks", "alive", clock, duration=60).acquire(["x"])
    assert api.leases[("locks", "netprobe-ns-x")]["spec"]["holderIdentity"] == "alive"
    assert 60 <= clock.now - start <= 62  # watched for exactly one Lease duration


def test_cleanup_judges_leases_by_what_it_observes_not_by_their_timestamps(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    # dead: crashed with a clock an hour ahead (its renewTime still "in the future");
    # live: running with a clock an hour behind (its renewTime "an hour old").
    dead = KubernetesBackend(
        api, KubeOptions(run_id="dead", lease_seconds=60), clock=SkewedClock(clock, 3600)
    )
    dead.deploy((ns("d"),), (pod("d/a"),), ())
    live = KubernetesBackend(
        api, KubeOptions(run_id="live", lease_seconds=60), clock=SkewedClock(clock, -3600)
    )
    live.deploy(NAMESPACES, PODS, ())
    report = clean_cluster(api, "netprobe-system", 60.0, RenewingClock(clock, live._locks))
    assert list(report.live) == ["live"]
    assert "d" not in api.namespaces and "x" in api.namespaces
    assert report.leases_removed == ("netprobe-system/netprobe-ns-d",)
