"""Root-only tests of the local dataplane: they create network namespaces and nftables
rules, so they skip (with the reason) where that is impossible."""

from __future__ import annotations

import os
import shutil

import pytest

MISSING = [tool for tool in ("ip", "nft", "nc") if shutil.which(tool) is None]
SKIP_REASON = (
    "needs root" if os.geteuid() != 0 else f"needs {', '.join(MISSING)}" if MISSING else None
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if SKIP_REASON is None:
        return
    for item in items:
        if item.get_closest_marker("root"):
            item.add_marker(pytest.mark.skip(reason=f"local dataplane test: {SKIP_REASON}"))
