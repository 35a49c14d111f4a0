"""Can the local dataplane run on this machine? Said up front, with what to do about it.

:func:`check_host` looks for root, its capabilities and the tools (fast, no side effects).
:func:`check_kernel` then tries, inside a throwaway namespace of the run (``np-<runid>-check``,
recorded like all a run creates, so ``netprobe cleanup`` finds it if the process dies
meanwhile), each kernel feature the dataplane needs: network namespaces, veth pairs,
bridges, nftables with conntrack. Each failure becomes a :class:`BackendError` naming the
missing piece and how to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from netprobe.backends.local.naming import Names
from netprobe.backends.local.netns import IP, NFT, Commands, in_netns
from netprobe.backends.local.ownership import Claim
from netprobe.errors import BackendError
from netprobe.interrupts import surely

TOOLS = (("ip", "iproute2"), ("nft", "nftables"), ("nc", "netcat-openbsd"))

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
    """Try every kernel feature the dataplane uses, inside a namespace of the run that
    ``claim`` records; BackendError on the first missing. Removes only what it created."""
    netns = f"{names.prefix}check"
    if claim.taken([netns]):
        raise BackendError(
            f"a network namespace named {netns} exists, and this run did not create it: "
            "use another NETPROBE_RUN_ID (`netprobe cleanup` removes it if an interrupted "
            "netprobe run left it)"
        )
    steps = (
        (
            [IP, "-n", netns, "link", "add", "c0", "type", "veth", "peer", "name", "c1"],
            "cannot create veth pairs (needs CONFIG_VETH: modprobe veth)",
        ),
        (
            [IP, "-n", netns, "link", "add", "cb", "type", "bridge"],
            "cannot create bridges (needs CONFIG_BRIDGE: modprobe bridge)",
        ),
    )
    try:
        with claim.creating([netns]):
            _try(commands, [IP, "netns", "add", netns], None, "cannot create a network namespace")
        for argv, problem in steps:
            _try(commands, argv, None, problem)
        _try(
            commands,
            in_netns(netns, [NFT, "-f", "-"]),
            _CHECK_RULESET,
            "cannot load nftables rules (needs nf_tables and nf_conntrack: "
            "modprobe nf_tables nf_conntrack)",
        )
    finally:
        surely(lambda: commands.ip_batch([f"netns del {n}" for n in claim.owned()], force=True))


def _try(commands: Commands, argv: list[str], stdin: str | None, problem: str) -> None:
    try:
        commands.run(argv, stdin=stdin)
    except BackendError as exc:
        raise BackendError(f"the local backend cannot run here: {problem}; {exc}") from exc


def is_openbsd_nc() -> bool:
    try:
        done = subprocess.run(["nc", "-h"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "OpenBSD" in done.stdout + done.stderr
