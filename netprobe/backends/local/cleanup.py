"""Finding and removing what local runs left, by their records alone (see :mod:`ownership`).

A leftover is a namespace whose identity a run's record proves, the processes inside it
(probe servers, probes), and the record itself. Removing a namespace removes its interfaces,
addresses, routes and nftables tables with it; runs never create anything in the host's own
namespace, so nothing there is touched. A namespace whose name a record lists but whose
identity does not match (or was never recorded) is left alone, and said so.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from netprobe.backends.local.naming import RUN_ID_PATTERN
from netprobe.backends.local.netns import Commands
from netprobe.backends.local.ownership import (
    NETNS_DIR,
    STATE_DIR,
    Identity,
    Record,
    identity,
    records,
)
from netprobe.errors import BackendError


class Kind(StrEnum):
    NETNS = "netns"
    PROCESS = "process"
    """A process inside one of the run's namespaces (a server, a probe)."""
    RECORD = "record"
    """The run's record in /run/netprobe."""


@dataclass(frozen=True, slots=True)
class Leftover:
    kind: Kind
    name: str
    run_id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Found:
    """What :func:`find` found: what to remove, and what it leaves alone (and why)."""

    leftovers: tuple[Leftover, ...]
    unproven: tuple[str, ...] = ()
    """Namespaces a record names that netprobe cannot prove it created."""


def find(
    run_id: str | None = None,
    include_live: bool = False,
    state_dir: Path = STATE_DIR,
    netns_dir: Path = NETNS_DIR,
) -> Found:
    """What the runs whose owner is gone (or ``run_id`` alone; live runs too with
    ``include_live``) left: the namespaces their records prove, the processes in them and
    the records themselves."""
    leftovers: list[Leftover] = []
    records_found: list[Leftover] = []
    unproven: list[str] = []
    proven: dict[Identity, str] = {}
    for record in records(state_dir):
        if not RUN_ID_PATTERN.match(record.run_id):
            continue
        if run_id is not None and record.run_id != run_id:
            continue
        if run_id is None and not include_live and record.is_live():
            continue
        for name, known in _namespaces(record, netns_dir):
            if known is None:
                unproven.append(name)
            else:
                proven[known] = name
                leftovers.append(Leftover(Kind.NETNS, name, record.run_id))
        records_found.append(Leftover(Kind.RECORD, str(record.path), record.run_id))
    for name, pids in sorted(pids_in(proven).items()):
        run = next(item.run_id for item in leftovers if item.name == name)
        leftovers += [Leftover(Kind.PROCESS, f"{pid} (in {name})", run) for pid in pids]
    return Found((*leftovers, *records_found), tuple(unproven))


def _namespaces(record: Record, netns_dir: Path) -> list[tuple[str, Identity | None]]:
    """Each namespace of the record that exists, with its identity if the record proves it."""
    found = []
    for name, known in record.namespaces.items():
        now = identity(netns_dir / name)
        if now is not None:
            found.append((name, known if known == now else None))
    return found


def remove(commands: Commands, found: Found, netns_dir: Path = NETNS_DIR) -> None:
    """Remove what :func:`find` found: the namespaces with the processes in them, then the
    records of runs none of whose namespaces is left."""
    namespaces = [item for item in found.leftovers if item.kind is Kind.NETNS]
    remove_namespaces(commands, [item.name for item in namespaces], netns_dir)
    kept = {item.run_id for item in namespaces if (netns_dir / item.name).exists()}
    for item in found.leftovers:
        if item.kind is Kind.RECORD and item.run_id not in kept:
            Path(item.name).unlink(missing_ok=True)


def remove_namespaces(
    commands: Commands, names: Sequence[str], netns_dir: Path = NETNS_DIR
) -> None:
    """Kill the processes inside namespaces ``names`` (proven netprobe's), then remove them."""
    proven = {}
    for name in names:
        known = identity(netns_dir / name)
        if known is not None:
            proven[known] = name
    for pids in pids_in(proven).values():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    commands.ip_batch([f"netns del {name}" for name in proven.values()], force=True)


def pids_in(namespaces: dict[Identity, str]) -> dict[str, list[int]]:
    """The processes inside each namespace, by its identity (what ``ip netns pids`` says,
    for many namespaces in one pass over /proc)."""
    found: dict[str, list[int]] = {}
    if not namespaces:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        known = identity(Path(f"/proc/{entry.name}/ns/net"))
        inside = namespaces.get(known) if known is not None else None
        if inside is not None:
            found.setdefault(inside, []).append(int(entry.name))
    return found


def clean(
    commands: Commands | None = None, dry_run: bool = False, include_live: bool = False
) -> Found:
    """Remove (or with ``dry_run`` only list) what interrupted local runs left."""
    if os.geteuid() != 0:
        raise BackendError(
            "cleaning up the local backend needs root (e.g. `sudo netprobe cleanup`)"
        )
    found = find(include_live=include_live)
    if not dry_run:
        remove(commands or Commands(), found)
    return found


def unproven_note(names: Sequence[str]) -> str:
    """What to tell the user about namespaces left alone."""
    return (
        f"left alone: {', '.join(names)}: named like a netprobe run's, but netprobe cannot "
        "prove it created them (remove them with `ip netns del NAME` if they are yours)"
    )
