"""Can the local dataplane run on this machine? Said up front, with what to do about it.

:func:`check_host` looks for root, its capabilities and the tools (fast, no side effects).
:func:`check_kernel` then tries, inside a throwaway namespace in the run's own directory
(``netprobe cleanup`` finds it there if the process dies meanwhile), each kernel feature the
dataplane needs: network namespaces, veth pairs, bridges, nftables with conntrack. Each
failure becomes a :class:`BackendError` naming the missing piece and how to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import partial
from pathlib import Path

from netprobe.backends.local.naming import Names
from netprobe.backends.local.netns import IP, NFT, Commands, in_netns
from netprobe.backends.local.ownership import Claim
from netprobe.errors import BackendError
from netprobe.interrupts import surely

TOOLS = (
    ("ip", "iproute2"),
    ("bridge", "iproute2"),
    ("nft", "nftables"),
    ("nc", "netcat-openbsd"),
    ("nsenter", "util-linux"),
)

_CHECK_RULESET = """\
table inet netprobe_check {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t}
}
"""


CAPABILITIES = (("CAP_SYS_ADMIN", 21), ("CAP_NET_ADMIN", 12))
"""What creating namespaces (a mount) and configuring their networks need; bit numbers as in
linux/capability.h."""


def check_host() -> None:
    """BackendError naming every missing privilege or tool."""
    problems = []
    if os.geteuid() != 0:
        problems.append("run as root (e.g. `sudo netprobe ...`): it creates network namespaces")
    else:
        missing = missing_capabilities()
        if missing:
            problems.append(
                f"netprobe runs as root but without {' and '.join(missing)} (dropped by a "
                "container runtime, setpriv or capsh): grant them (e.g. `docker run "
                "--cap-add SYS_ADMIN --cap-add NET_ADMIN`)"
            )
    for tool, package in TOOLS:
        if shutil.which(tool) is None:
            problems.append(f"`{tool}` not found: apt-get install {package}")
    if not Path("/proc/self/ns/net").exists():
        problems.append("this kernel has no network namespaces (needs CONFIG_NET_NS)")
    if shutil.which("nc") is not None and not is_openbsd_nc():
        problems.append("`nc` is not OpenBSD netcat: apt-get install netcat-openbsd")
    if problems:
        raise BackendError("the local backend cannot run here: " + "; ".join(problems))


def missing_capabilities(status: Path = Path("/proc/self/status")) -> list[str]:
    """The capabilities of :data:`CAPABILITIES` this process does not have in effect."""
    try:
        line = next(x for x in status.read_text().splitlines() if x.startswith("CapEff:"))
        effective = int(line.split()[1], 16)
    except (OSError, StopIteration, IndexError, ValueError):
        return []  # not Linux's /proc: the kernel check will say what fails
    return [name for name, bit in CAPABILITIES if not effective >> bit & 1]


def check_kernel(names: Names, commands: Commands, claim: Claim) -> None:
    """Try every kernel feature the dataplane uses, inside a namespace of the run ``claim``
    holds; BackendError on the first missing. Removes its namespace again."""
    netns = names.check
    steps = (
        (
            [IP, "link", "add", "c0", "type", "veth", "peer", "name", "c1"],
            None,
            "cannot create veth pairs (needs CONFIG_VETH: modprobe veth)",
        ),
        (
            [IP, "link", "add", "cb", "type", "bridge"],
            None,
            "cannot create bridges (needs CONFIG_BRIDGE: modprobe bridge)",
        ),
        (
            [NFT, "-f", "-"],
            _CHECK_RULESET,
            "cannot load nftables rules (needs nf_tables and nf_conntrack: "
            "modprobe nf_tables nf_conntrack)",
        ),
    )
    try:
        try:
            claim.create([netns])
        except BackendError as exc:
            raise BackendError(f"the local backend cannot run here: {exc}") from exc
        for argv, stdin, problem in steps:
            try:
                commands.run(in_netns(netns, argv), stdin=stdin)
            except BackendError as exc:
                raise BackendError(f"the local backend cannot run here: {problem}; {exc}") from exc
    finally:
        surely(partial(claim.remove, [netns]))


def is_openbsd_nc() -> bool:
    try:
        done = subprocess.run(["nc", "-h"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "OpenBSD" in done.stdout + done.stderr
