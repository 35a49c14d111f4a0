"""The names the local dataplane gives to what it creates.

A run is named by six lowercase hex digits, ``<runid>``. Its network namespaces are files in
its own directory, ``/run/netprobe/<runid>/ns/`` (``node``, ``p<N>`` for pods, ``x<N>`` for
external hosts; see :mod:`ownership`): a namespace is known by that path, which is what
``nsenter --net=`` and ``ip link ... netns`` take. Interfaces in the node namespace are named
``np-<runid>-<what>``, within the kernel's 15 characters.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "np-"
RUN_ID_LENGTH = 6
RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{6}$")
STATE_DIR = Path("/run/netprobe")
"""Where runs keep their directories."""
NS = "ns"
"""The folder of a run's directory holding its namespaces."""
IFNAME_MAX = 15

POD_IFNAME = "eth0"
"""The interface name inside a pod or external-host namespace (each has its own)."""


def new_run_id() -> str:
    """A fresh random run id (six hex digits)."""
    return secrets.token_hex(RUN_ID_LENGTH // 2)


@dataclass(frozen=True, slots=True)
class Names:
    """The names of one run's namespaces and interfaces."""

    run_id: str
    state_dir: Path = field(default=STATE_DIR, compare=False)

    def __post_init__(self) -> None:
        if not RUN_ID_PATTERN.match(self.run_id):
            raise ValueError(
                f"run id must be {RUN_ID_LENGTH} lowercase hex digits: {self.run_id!r}"
            )

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.run_id}-"

    def netns(self, name: str) -> str:
        """The path of this run's namespace ``name``."""
        return str(self.state_dir / self.run_id / NS / name)

    @property
    def node(self) -> str:
        """The node namespace: the bridge, the gateway address, forwarding on."""
        return self.netns("node")

    @property
    def check(self) -> str:
        """The kernel check's namespace."""
        return self.netns("check")

    @property
    def bridge(self) -> str:
        return self._ifname("br")

    def pod(self, index: int) -> str:
        """The network namespace of pod number ``index``."""
        return self.netns(f"p{index}")

    def pod_veth(self, index: int) -> str:
        """The node-side end of pod ``index``'s veth pair (in the node namespace)."""
        return self._ifname(f"p{index}")

    def external(self, index: int) -> str:
        """The network namespace of external host number ``index``."""
        return self.netns(f"x{index}")

    def external_veth(self, index: int) -> str:
        return self._ifname(f"x{index}")

    def _ifname(self, suffix: str) -> str:
        name = self.prefix + suffix
        if len(name) > IFNAME_MAX:
            raise ValueError(f"interface name {name!r} is longer than {IFNAME_MAX} characters")
        return name
