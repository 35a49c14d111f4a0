"""The local backend's settings; ``apply_delay`` is also a flag of ``netprobe run`` (see
:mod:`netprobe.backends.options`). Importing this module loads nothing Linux-only, so
``netprobe run --backend kubernetes`` works on any machine."""

from __future__ import annotations

from dataclasses import dataclass

from netprobe.backends.local.topology import DEFAULT_POD_CIDRS
from netprobe.backends.options import option, seconds_or_zero
from netprobe.model import IPNetwork


@dataclass(frozen=True, slots=True)
class LocalOptions:
    pod_cidrs: tuple[IPNetwork, ...] = DEFAULT_POD_CIDRS
    """The first CIDR gives the pod IPs; a CIDR of the other family is used only to reach
    external addresses of that family."""
    apply_delay: float = option(
        0.0,
        "policy changes reach each pod after a random delay up to S seconds (exercises retries)",
        parse=seconds_or_zero,
        metavar="S",
        commands=("run",),
    )
    """Each pod's ruleset changes take effect after a random delay in [0, apply_delay] s."""
    seed: int | None = None
    """Seeds the apply-delay randomness, for reproducible runs."""
    ready_timeout: float = 10.0
    """Seconds ``deploy`` waits for every probe server to listen."""
    run_id: str | None = None
    """Six hex digits naming everything of this run; random when None."""
