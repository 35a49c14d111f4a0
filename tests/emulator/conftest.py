"""The emulated cluster for tests: one for this package (its node's sandboxes take a
while to make; gone before other packages' tests, which check that nothing of netprobe's is
left), faults and extra users reset after each test. Root only, inside the private
namespaces of tests/private_host.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from private_host import SKIP_REASON, enter

from emulator.cluster import EmulatedCluster
from emulator.websocket import PROTOCOLS

enter()


LACKING = [tool for tool in ("openssl", "dnsmasq") if shutil.which(tool) is None]
"""The CA's maker, and the DNS server of the emulated CoreDNS pods (Debian dnsmasq-base)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = SKIP_REASON or (f"needs {', '.join(LACKING)}" if LACKING else None)
    if reason is None:
        return
    for item in items:
        if "tests/emulator/" in str(item.path).replace("\\", "/") and item.get_closest_marker(
            "root"
        ):
            item.add_marker(pytest.mark.skip(reason=f"emulated cluster: {reason}"))


@pytest.fixture(scope="package")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedCluster]:
    with EmulatedCluster(tmp_path_factory.mktemp("emulated")) as cluster:
        yield cluster


@pytest.fixture
def cluster(emulated: EmulatedCluster) -> Iterator[EmulatedCluster]:
    users = dict(emulated.users)
    yield emulated
    emulated.faults.clear()
    emulated.forget_service_account()
    emulated.speak(*PROTOCOLS)
    emulated.users.clear()
    emulated.users.update(users)
    assert not emulated.errors, emulated.errors


@pytest.fixture
def kubeconfig(cluster: EmulatedCluster) -> Path:
    return cluster.kubeconfig
