"""Staging namespaces are locked like the namespaces a run creates or borrows: a second
run staging in the same namespace stops before it stages anything."""

from __future__ import annotations

import pytest
from fake_api import FakeApiServer
from test_kube_staging import BATCH, DB, WEB, staging, staging_suite  # noqa: F401

from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.locks import RenewingClock
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.clock import FakeClock
from netprobe.errors import BackendError
from netprobe.run.runner import run_suite


def test_a_second_run_cannot_stage_in_a_namespace_a_run_stages_in(
    staging: FakeApiServer,  # noqa: F811
    clock: FakeClock,
    make_backend,  # type: ignore[no-untyped-def]
) -> None:
    first = make_backend(run_id="first")
    first.use_workloads((WEB, DB, BATCH))
    first.deploy((), staging_suite().pods, ())
    # the first run is alive: it renews its Leases while the second one watches them
    second = KubernetesBackend(
        staging, KubeOptions(run_id="second"), clock=RenewingClock(clock, first._locks)
    )
    second.use_workloads((WEB, DB, BATCH))
    with pytest.raises(BackendError, match=r"prod.*first"):
        second.deploy((), staging_suite().pods, ())
    second.teardown()
    first.teardown()
    # once the first run is over, the namespace is free again
    third = make_backend(run_id="third")
    third.use_workloads((WEB, DB, BATCH))
    result = run_suite(staging_suite(), third, clock=clock)
    assert all(r.observation is not None for r in result.results)
