"""Finding and removing what local runs left: the directories of runs whose process is gone
(see :mod:`ownership`), with the namespaces in them, each under the run's lock. Removing a
namespace removes its interfaces, addresses, routes and nftables tables with it; its own
processes (probe servers watch their stdin, probes have deadlines) end by themselves once
netprobe is gone. Nothing outside netprobe's directory is looked at, so nothing else on
the machine is touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netprobe.backends.local.ownership import STATE_DIR, RunDir, runs
from netprobe.backends.local.preflight import missing_capabilities
from netprobe.errors import BackendError


@dataclass(frozen=True, slots=True)
class Leftover:
    run: RunDir
    namespaces: tuple[str, ...]

    def lines(self) -> list[str]:
        return [f"netns {name} (run {self.run.run_id})" for name in self.namespaces] + [
            f"run {self.run.path}"
        ]


def find(include_live: bool = False, state_dir: Path = STATE_DIR) -> list[Leftover]:
    """What the runs whose process is gone (live ones too with ``include_live``) left."""
    return [
        Leftover(run, tuple(run.namespaces()))
        for run in runs(state_dir)
        if include_live or not run.is_live()
    ]


def remove(leftovers: list[Leftover], include_live: bool = False) -> None:
    """Remove what :func:`find` found, each run under its lock (a run that became live
    meanwhile is left to itself); BackendError naming what could not be removed."""
    left = []
    for item in leftovers:
        with item.run.locked(even_if_live=include_live) as fd:
            if fd is not None:
                left += item.run.remove(fd)
    if left:
        raise BackendError(f"could not remove {', '.join(left)}")


def clean(dry_run: bool = False, include_live: bool = False) -> list[Leftover]:
    """Remove (or with ``dry_run`` only list) what interrupted local runs left."""
    if os.geteuid() != 0:
        raise BackendError(
            "cleaning up the local backend needs root (e.g. `sudo netprobe cleanup`)"
        )
    missing = missing_capabilities()
    if missing:
        raise BackendError(f"cleaning up the local backend needs {' and '.join(missing)}")
    found = find(include_live=include_live)
    if not dry_run:
        remove(found, include_live)
    return found
