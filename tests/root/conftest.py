"""Root-only tests of the local dataplane: they create network namespaces and nftables
rules, so they skip (with the reason) where that is impossible.

When they run, the whole test process first moves into a private mount and network
namespace with a fresh tmpfs on /run: every namespace (``/run/netns``) and run record
(``/run/netprobe``) a test makes, and every netprobe it starts, lives there, so no test can
see or touch the machine's own namespaces, links or records, whatever it does.
"""

from __future__ import annotations

import pytest
from private_host import SKIP_REASON, enter

enter()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if SKIP_REASON is None:
        return
    for item in items:
        if item.get_closest_marker("root"):
            item.add_marker(pytest.mark.skip(reason=f"local dataplane test: {SKIP_REASON}"))
