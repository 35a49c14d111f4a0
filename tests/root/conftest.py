"""Root-only tests of the local dataplane: they create network namespaces and nftables
rules, so they skip (with the reason) where that is impossible.

When they run, the whole test process first moves into a private mount and network
namespace with a fresh tmpfs on /run: every namespace (``/run/netns``) and run record
(``/run/netprobe``) a test makes, and every netprobe it starts, lives there, so no test can
see or touch the machine's own namespaces, links or records, whatever it does.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest

MISSING = [tool for tool in ("ip", "nft", "nc") if shutil.which(tool) is None]
SKIP_REASON = (
    "needs root" if os.geteuid() != 0 else f"needs {', '.join(MISSING)}" if MISSING else None
)

# linux/sched.h and linux/mount.h
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


def _private_host() -> None:
    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")

    check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    check(libc.mount(b"tmpfs", b"/run", b"tmpfs", 0, b"mode=755"), "mount tmpfs /run")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


if SKIP_REASON is None:
    _private_host()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if SKIP_REASON is None:
        return
    for item in items:
        if item.get_closest_marker("root"):
            item.add_marker(pytest.mark.skip(reason=f"local dataplane test: {SKIP_REASON}"))
