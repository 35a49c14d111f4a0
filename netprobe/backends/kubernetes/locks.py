"""Mutual exclusion between concurrent runs: one Lease per suite namespace.

Two runs against one cluster must not create, relabel or delete each other's objects. A
run holds a ``coordination.k8s.io`` Lease named after each namespace it uses, in a
netprobe namespace (``netprobe-system`` by default), with its run id as holder. Taking a
Lease is a create (atomic) or, for an expired one, a replace guarded by resourceVersion,
so two runs racing for it cannot both win. The run renews its Leases as it works;
``netprobe cleanup`` treats a run whose Leases are all expired as dead.

Expired means *not seen to change* for ``leaseDurationSeconds`` on this process's own
monotonic clock, never a remote ``renewTime`` compared with the local wall clock (which
another machine's clock skew would falsify either way: a live run taken for dead, or a dead
one alive forever). That is client-go's rule (kubernetes/kubernetes
staging/src/k8s.io/client-go/tools/leaderelection/leaderelection.go: tryAcquireOrRenew
stamps ``observedTime`` with the local clock whenever the record read differs from the one
observed before (setObservedRecord), and isLeaseValid holds while ``observedTime +
LeaseDurationSeconds`` is after now; "a client needs to wait a full LeaseDuration without
observing a change to the record before it can attempt to take over"). So a Lease held by
another run is watched: a change means that run is alive; no change for its duration means
it is dead. A live run renews every third of the duration, so it is recognised within that.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from netprobe.backends.kubernetes.api import ConflictError, KubeGateway, Obj
from netprobe.backends.kubernetes.bodies import (
    MANAGED_BY,
    MANAGED_BY_KEY,
    ROLE_KEY,
    RUN_ID_KEY,
)
from netprobe.clock import Clock
from netprobe.errors import BackendError

LOCK_ROLE = "locks"
WATCH_INTERVAL = 2.0
"""Seconds between reads of a Lease held by another run, while telling whether it is alive."""

log = logging.getLogger(__name__)


def lease_name(namespace: str) -> str:
    return f"netprobe-ns-{namespace}"[:253]


def format_time(seconds: float) -> str:
    """A Kubernetes MicroTime: RFC 3339 with microseconds, in UTC."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class LeaseObserver:
    """When each Lease was last seen to change, on the local monotonic clock (client-go's
    ``observedRecord``/``observedTime``; see the module docstring)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[str, tuple[Obj, float]] = {}

    def observe(self, name: str, lease: Obj) -> bool:
        """Record ``lease`` as read now; True when it changed since the last observation
        (the first observation is no change)."""
        record = dict(lease.get("spec") or {})
        seen = self._seen.get(name)
        if seen is None or seen[0] != record:
            self._seen[name] = (record, self._clock.monotonic())
            return seen is not None
        return False

    def expired(self, name: str) -> bool:
        """Unchanged for its ``leaseDurationSeconds`` since it was last seen to change."""
        record, observed_at = self._seen[name]
        duration = float(record.get("leaseDurationSeconds") or 0)
        return self._clock.monotonic() >= observed_at + duration


def holder_of(lease: Obj) -> str | None:
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return str(holder) if holder else None


def ensure_lock_namespace(gateway: KubeGateway, namespace: str) -> None:
    """Create the namespace holding the Leases if needed (never deleted by netprobe)."""
    if gateway.read_namespace(namespace) is not None:
        return
    body: Obj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {MANAGED_BY_KEY: MANAGED_BY, ROLE_KEY: LOCK_ROLE},
        },
    }
    with contextlib.suppress(ConflictError):  # another run created it first
        gateway.create_namespace(body)


class LeaseLocks:
    """The Leases one run holds."""

    def __init__(
        self,
        gateway: KubeGateway,
        namespace: str,
        run_id: str,
        clock: Clock,
        duration: int = 120,
    ) -> None:
        self._gateway = gateway
        self._namespace = namespace
        self._run_id = run_id
        self._clock = clock
        self._duration = duration
        self._held: dict[str, Obj] = {}
        self._renewed_at = 0.0
        self._mutex = threading.Lock()

    @property
    def held(self) -> tuple[str, ...]:
        return tuple(sorted(self._held))

    def _body(self, name: str, acquired: float, resource_version: str | None = None) -> Obj:
        now = format_time(self._clock.wall())
        metadata: Obj = {
            "name": name,
            "namespace": self._namespace,
            "labels": {MANAGED_BY_KEY: MANAGED_BY, RUN_ID_KEY: self._run_id},
        }
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self._run_id,
                "leaseDurationSeconds": self._duration,
                "acquireTime": format_time(acquired),
                "renewTime": now,
            },
        }

    def acquire(self, keys: Iterable[str]) -> None:
        """Take the Lease of every key (in sorted order, so two runs never deadlock-race);
        BackendError naming the run that holds one. Leases taken are kept on failure, for
        :meth:`release`."""
        ensure_lock_namespace(self._gateway, self._namespace)
        if not self._held:
            self._renewed_at = self._clock.monotonic()
        for key in sorted(set(keys)):
            name = lease_name(key)
            if name in self._held:
                continue
            self._held[name] = self._take(name, key)
        self._renewed_at = self._clock.monotonic()

    def _take(self, name: str, key: str) -> Obj:
        now = self._clock.wall()
        try:
            return self._gateway.create_lease(self._namespace, self._body(name, now))
        except ConflictError:
            pass
        current = self._gateway.read_lease(self._namespace, name)
        if current is None:  # released between our create and read: try once more
            return self._gateway.create_lease(self._namespace, self._body(name, now))
        holder = holder_of(current)
        if holder == self._run_id:
            return current
        if holder:
            watched = self._wait_out(name, key, current)
            if watched is None:  # released meanwhile
                return self._gateway.create_lease(self._namespace, self._body(name, now))
            current = watched
        version = current["metadata"].get("resourceVersion")
        try:
            return self._gateway.replace_lease(
                self._namespace, name, self._body(name, now, version)
            )
        except ConflictError as exc:
            raise BackendError(
                f"namespace {key}: another netprobe run took its Lease "
                f"{self._namespace}/{name} at the same moment; try again"
            ) from exc

    def _wait_out(self, name: str, key: str, lease: Obj) -> Obj | None:
        """Watch another run's Lease until it expires as observed here (returned, to be
        taken over) or changes (BackendError: that run is alive); None if it is deleted.
        The Leases this run already holds are renewed meanwhile."""
        observer = LeaseObserver(self._clock)
        observer.observe(name, lease)
        holder = holder_of(lease)
        duration = (lease.get("spec") or {}).get("leaseDurationSeconds") or 0
        if not observer.expired(name):
            log.warning(
                "namespace %s: its Lease %s/%s is held by netprobe run %s; watching it for "
                "up to %ss to tell whether that run is still alive",
                key,
                self._namespace,
                name,
                holder,
                duration,
            )
        current = lease
        while not observer.expired(name):
            self._clock.sleep(WATCH_INTERVAL)
            self.renew_if_due()
            found = self._gateway.read_lease(self._namespace, name)
            if found is None:
                return None
            current = found
            if observer.observe(name, current):
                raise BackendError(
                    f"namespace {key} is in use by another netprobe run "
                    f"({holder_of(current) or holder}; Lease {self._namespace}/{name}, "
                    f"renewed {(current.get('spec') or {}).get('renewTime')}); wait for it "
                    "to finish, or use other namespace names"
                )
        return current

    def renew_if_due(self) -> None:
        """Renew the Leases when a third of their duration has passed since the last
        renewal; cheap to call often (the backend calls it on every operation)."""
        with self._mutex:
            if not self._held:
                return
            if self._clock.monotonic() - self._renewed_at < self._duration / 3:
                return
            self._renewed_at = self._clock.monotonic()
            for name, lease in list(self._held.items()):
                acquired = parse_time(lease["spec"].get("acquireTime")) or self._clock.wall()
                version = lease["metadata"].get("resourceVersion")
                try:
                    self._held[name] = self._gateway.replace_lease(
                        self._namespace, name, self._body(name, acquired, version)
                    )
                except ConflictError as exc:
                    raise BackendError(
                        f"lost Lease {self._namespace}/{name} to another run (this run "
                        f"stalled longer than {self._duration}s); stopping"
                    ) from exc

    def release(self) -> None:
        """Delete the Leases this run holds (only if it still holds them)."""
        with self._mutex:
            for name in list(self._held):
                current = self._gateway.read_lease(self._namespace, name)
                if current is not None and holder_of(current) == self._run_id:
                    self._gateway.delete_lease(self._namespace, name)
                del self._held[name]


class RenewingClock:
    """``clock`` for the run's long waits (pods becoming ready, ephemeral containers
    starting): every sleep is followed by a renewal when one is due. A wait can last longer
    than a Lease (``--ready-timeout`` 180 s, Leases 120 s), and a run whose Leases expired
    looks dead to ``netprobe cleanup``, which would delete its namespaces under it."""

    def __init__(self, clock: Clock, locks: LeaseLocks) -> None:
        self._clock = clock
        self._locks = locks

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def wall(self) -> float:
        return self._clock.wall()

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)
        self._locks.renew_if_due()


@dataclass(frozen=True, slots=True)
class LeaseCensus:
    """What watching the Leases of a lock namespace found."""

    live: dict[str, str] = field(default_factory=dict)
    """Run ids seen renewing a Lease -> its latest renew time (as that run wrote it)."""
    dead: tuple[str, ...] = ()
    """Leases without a holder, or unchanged for their whole duration."""


def watch_leases(gateway: KubeGateway, namespace: str, clock: Clock) -> LeaseCensus:
    """Tell live runs from dead ones by watching their Leases (see the module docstring):
    a Lease that changes belongs to a live run; one unchanged for its duration, to a dead
    one. Returns as soon as every Lease is decided, at the latest after the longest
    ``leaseDurationSeconds`` among them."""
    if gateway.read_namespace(namespace) is None:
        return LeaseCensus()
    selector = f"{MANAGED_BY_KEY}={MANAGED_BY}"
    observer = LeaseObserver(clock)
    live: dict[str, str] = {}
    dead: list[str] = []
    pending: dict[str, str] = {}
    for lease in gateway.list_leases(namespace, selector):
        name, holder = lease["metadata"]["name"], holder_of(lease)
        if holder is None:
            dead.append(name)
        else:
            observer.observe(name, lease)
            pending[name] = holder
    while True:
        for name in [n for n in pending if observer.expired(n)]:
            dead.append(name)
            del pending[name]
        if not pending:
            break
        clock.sleep(WATCH_INTERVAL)
        now = {o["metadata"]["name"]: o for o in gateway.list_leases(namespace, selector)}
        for name in list(pending):
            if name not in pending:  # decided with another Lease of its run
                continue
            seen = now.get(name)
            if seen is None:  # released: that run finished
                del pending[name]
            elif observer.observe(name, seen):
                holders = {pending[name], holder_of(seen) or pending[name]}
                for holder in holders:
                    live[holder] = str((seen.get("spec") or {}).get("renewTime"))
                # A live run's other Leases are live too: no need to watch them out.
                for other in [n for n, h in pending.items() if h in holders]:
                    del pending[other]
    return LeaseCensus(live, tuple(sorted(dead)))
