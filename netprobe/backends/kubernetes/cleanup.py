"""``netprobe cleanup --backend kubernetes``: remove what earlier runs left behind.

Leftovers are found by label only: namespaces, pods and NetworkPolicies carrying
``app.kubernetes.io/managed-by=netprobe`` and a run id. Namespaces go whole (only those
netprobe created carry the labels; a borrowed namespace never does); pods and policies
are deleted one by one where their namespace stays. Runs seen renewing a Lease are alive
and skipped unless ``include_live`` is set; Leases unchanged for their whole duration (as
observed here, see :mod:`.locks`) are expired, and removed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from netprobe.backends.kubernetes.api import KubeGateway
from netprobe.backends.kubernetes.bodies import MANAGED_SELECTOR, RUN_ID_KEY, run_id_of
from netprobe.backends.kubernetes.locks import LeaseCensus, watch_leases
from netprobe.backends.kubernetes.preflight import cleanup_checks, require_access
from netprobe.backends.kubernetes.teardown import CleanupOutcome, Leftovers, delete_and_wait
from netprobe.clock import Clock
from netprobe.model import PodRef, PolicyRef


@dataclass(frozen=True, slots=True)
class CleanupReport:
    found: Leftovers
    outcome: CleanupOutcome | None
    """None in a dry run."""
    live: dict[str, str] = field(default_factory=dict)
    """Runs skipped because they are alive: run id -> Lease renew time."""
    leases_removed: tuple[str, ...] = ()

    def items(self) -> list[str]:
        """One line per object found (removed, unless a dry run), then Leases removed."""
        found = self.found
        out = [f"namespace {n}" for n in found.namespaces]
        out += [f"pod {p}" for p in found.pods]
        out += [f"NetworkPolicy {p}" for p in found.policies]
        out += [f"expired Lease {name}" for name in self.leases_removed]
        return out

    def lines(self) -> list[str]:
        out = [f"found: {self.found}"]
        out += [f"skipped live run {run} (Lease renewed {when})" for run, when in self.live.items()]
        if self.outcome is None:
            out.append("dry run: nothing deleted")
        elif self.outcome.remaining or self.outcome.errors:
            out.append(f"still present: {self.outcome}")
        else:
            out.append("removed everything found")
        out += [f"removed expired Lease {name}" for name in self.leases_removed]
        return out


def find_leftovers(gateway: KubeGateway, live: Collection[str] = ()) -> Leftovers:
    """Every netprobe object of a run not in ``live``."""
    selector = f"{MANAGED_SELECTOR},{RUN_ID_KEY}"

    def dead(obj: dict[str, object]) -> bool:
        return run_id_of(obj) not in live

    namespaces = {o["metadata"]["name"] for o in gateway.list_namespaces(selector) if dead(o)}
    pods = {
        PodRef(o["metadata"]["namespace"], o["metadata"]["name"])
        for o in gateway.list_pods(None, selector)
        if dead(o) and o["metadata"]["namespace"] not in namespaces
    }
    policies = {
        PolicyRef(o["metadata"]["namespace"], o["metadata"]["name"])
        for o in gateway.list_policies(None, selector)
        if dead(o) and o["metadata"]["namespace"] not in namespaces
    }
    return Leftovers(tuple(sorted(namespaces)), tuple(sorted(pods)), tuple(sorted(policies)))


def clean_cluster(
    gateway: KubeGateway,
    lock_namespace: str,
    timeout: float,
    clock: Clock,
    *,
    include_live: bool = False,
    dry_run: bool = False,
) -> CleanupReport:
    require_access(gateway, cleanup_checks(lock_namespace))
    # Which runs are alive takes watching their Leases (up to a Lease's duration, 120 s by
    # default): a remote renewTime says nothing reliable against this machine's clock.
    census = LeaseCensus() if include_live else watch_leases(gateway, lock_namespace, clock)
    live = census.live
    found = find_leftovers(gateway, live)
    if dry_run:
        return CleanupReport(found, None, live)
    outcome = delete_and_wait(gateway, found, timeout, clock)
    removed: list[str] = []
    if gateway.read_namespace(lock_namespace) is not None:
        if include_live:
            names = [
                o["metadata"]["name"] for o in gateway.list_leases(lock_namespace, MANAGED_SELECTOR)
            ]
        else:
            names = list(census.dead)
        for name in names:
            if gateway.delete_lease(lock_namespace, name):
                removed.append(f"{lock_namespace}/{name}")
    return CleanupReport(found, outcome, live, tuple(removed))
