"""Moving this test process into a private mount and network namespace (root only).

Whatever a test then creates (network namespaces under a fresh tmpfs ``/run``, their links,
nftables rules, a loopback API server) lives there and nowhere else, and dies with the
process: no test can see or touch the machine's own namespaces, links or records. The
move happens once per process, before any thread starts (``unshare(CLONE_NEWNS)`` refuses a
multithreaded caller: unshare(2), EINVAL), which is why the conftests that need it call
:func:`enter` at import.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

MISSING = [tool for tool in ("ip", "nft", "nc", "nsenter") if shutil.which(tool) is None]
SKIP_REASON = (
    "needs root" if os.geteuid() != 0 else f"needs {', '.join(MISSING)}" if MISSING else None
)

# linux/sched.h and linux/mount.h
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

_entered = False


def enter() -> bool:
    """Enter the private namespaces (once); False when this machine cannot (see
    :data:`SKIP_REASON`)."""
    global _entered
    if SKIP_REASON is not None:
        return False
    if _entered:
        return True
    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")

    check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    check(libc.mount(b"tmpfs", b"/run", b"tmpfs", 0, b"mode=755"), "mount tmpfs /run")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    _entered = True
    return True


def entered() -> bool:
    """Whether this process is in the private namespaces."""
    return _entered
