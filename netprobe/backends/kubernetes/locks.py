"""Mutual exclusion between concurrent runs: one Lease per suite namespace.

Two runs against one cluster must not create, relabel or delete each other's objects. A
run holds a ``coordination.k8s.io`` Lease named after each namespace it uses, in a
netprobe namespace (``netprobe-system`` by default), with its run id as holder. Taking a
Lease is a create (atomic) or, for an expired one, a replace guarded by resourceVersion,
so two runs racing for it cannot both win. The run renews its Leases as it works;
``netprobe cleanup`` treats a run whose Leases are all expired as dead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterable

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


def lease_expired(lease: Obj, now: float) -> bool:
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds") or 0
    return renewed is None or renewed + duration < now


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
        if holder and not lease_expired(current, now):
            raise BackendError(
                f"namespace {key} is in use by another netprobe run ({holder}; Lease "
                f"{self._namespace}/{name}, renewed {current['spec'].get('renewTime')}); "
                "wait for it to finish, or use other namespace names"
            )
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


def live_runs(gateway: KubeGateway, namespace: str, now: float) -> dict[str, str]:
    """Run ids holding an unexpired Lease -> the Lease's renew time."""
    if gateway.read_namespace(namespace) is None:
        return {}
    found: dict[str, str] = {}
    for lease in gateway.list_leases(namespace, f"{MANAGED_BY_KEY}={MANAGED_BY}"):
        holder = holder_of(lease)
        if holder and not lease_expired(lease, now):
            found[holder] = str(lease["spec"].get("renewTime"))
    return found
