"""Live tests against a real cluster: opt-in, skipped cleanly without one.

Run them with ``NETPROBE_LIVE_KUBECONFIG=~/.kube/config pytest tests/live`` or
``pytest tests/live --live`` (which uses ``$KUBECONFIG`` or ``~/.kube/config``);
``--kube-context`` picks a context, ``--cni`` (``$NETPROBE_LIVE_CNI``) names the cluster's
CNI for the suites' skips, ``--live-suites`` (``$NETPROBE_LIVE_SUITES``, comma-separated)
the suites to run (default: suites/). They create namespaces named ``np-live-*`` and the
suites' namespaces, and remove them; like ``make e2e`` they may borrow the cluster's own
namespaces (``--use-existing-namespaces``), so run them on a cluster made for testing.
``tests/emulator/test_live_tests.py`` runs them against the emulated cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netprobe-live")
    group.addoption("--live", action="store_true", help="run the live-cluster tests")
    group.addoption("--kube-context", default=None, help="kubeconfig context for live tests")
    group.addoption("--cni", default=os.environ.get("NETPROBE_LIVE_CNI"), help="the CNI")
    group.addoption(
        "--live-suites",
        default=os.environ.get("NETPROBE_LIVE_SUITES", "suites"),
        help="comma-separated suite files or folders for the live run (default: suites)",
    )


def live_kubeconfig(config: pytest.Config) -> Path | None:
    """The kubeconfig to use, or None when live tests are not enabled."""
    explicit = os.environ.get("NETPROBE_LIVE_KUBECONFIG")
    if explicit:
        return Path(explicit).expanduser()
    if not config.getoption("--live", default=False):
        return None
    found = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return Path(found.split(os.pathsep)[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = live_kubeconfig(config)
    if path is not None and path.is_file():
        return
    reason = (
        "live cluster tests: set NETPROBE_LIVE_KUBECONFIG or pass --live"
        if path is None
        else f"live cluster tests: no kubeconfig at {path}"
    )
    for item in items:
        if "live" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def kube_options(pytestconfig: pytest.Config):  # type: ignore[no-untyped-def]
    from netprobe.backends.kubernetes.options import KubeOptions

    return KubeOptions(
        kubeconfig=live_kubeconfig(pytestconfig),
        context=pytestconfig.getoption("--kube-context", default=None),
        ready_timeout=300.0,
    )
