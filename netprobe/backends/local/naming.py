"""The names the local dataplane gives to what it creates.

Everything netprobe creates on a host (network namespaces, interfaces) is named
``np-<runid>-<what>``, with ``<runid>`` six lowercase hex digits. That naming is the only
thing ``netprobe cleanup`` trusts: a name that does not match :data:`NAME_PATTERN` is never
touched. Interface names stay within the kernel's 15 characters.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

PREFIX = "np-"
RUN_ID_LENGTH = 6
NAME_PATTERN = re.compile(r"^np-(?P<run>[0-9a-f]{6})-[a-z0-9.-]+$")
RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{6}$")
IFNAME_MAX = 15

POD_IFNAME = "eth0"
"""The interface name inside a pod or external-host namespace (each has its own)."""


def new_run_id() -> str:
    """A fresh random run id (six hex digits)."""
    return secrets.token_hex(RUN_ID_LENGTH // 2)


def run_id_of(name: str) -> str | None:
    """The run id of a netprobe-created name, or None when ``name`` is not netprobe's."""
    found = NAME_PATTERN.match(name)
    return found.group("run") if found else None


@dataclass(frozen=True, slots=True)
class Names:
    """The names of one run's namespaces and interfaces."""

    run_id: str

    def __post_init__(self) -> None:
        if not RUN_ID_PATTERN.match(self.run_id):
            raise ValueError(
                f"run id must be {RUN_ID_LENGTH} lowercase hex digits: {self.run_id!r}"
            )

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.run_id}-"

    @property
    def node(self) -> str:
        """The node namespace: the bridge, the gateway address, forwarding on."""
        return f"{self.prefix}node"

    @property
    def bridge(self) -> str:
        return self._ifname("br")

    def pod(self, index: int) -> str:
        """The network namespace of pod number ``index``."""
        return f"{self.prefix}p{index}"

    def pod_veth(self, index: int) -> str:
        """The node-side end of pod ``index``'s veth pair (in the node namespace)."""
        return self._ifname(f"p{index}")

    def external(self, index: int) -> str:
        """The network namespace of external host number ``index``."""
        return f"{self.prefix}x{index}"

    def external_veth(self, index: int) -> str:
        return self._ifname(f"x{index}")

    def owns(self, name: str) -> bool:
        """Whether ``name`` was made by this run."""
        return run_id_of(name) == self.run_id

    def _ifname(self, suffix: str) -> str:
        name = self.prefix + suffix
        if len(name) > IFNAME_MAX:
            raise ValueError(f"interface name {name!r} is longer than {IFNAME_MAX} characters")
        return name
