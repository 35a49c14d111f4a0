"""Finding and removing what local runs created, by netprobe's naming alone.

A run's network namespaces are all named ``np-<runid>-...`` (see :mod:`naming`); removing
them removes their interfaces, addresses, routes and nftables tables with them. Before a
namespace goes, the processes inside it (probe servers, probes) are killed. Interfaces in
the host namespace named like netprobe's are removed too, although runs never leave any
there. Nothing whose name does not match :data:`naming.NAME_PATTERN` is touched.

Each run records its process id in ``/run/netprobe/<runid>.pid`` before it creates anything
and removes that file only once everything is gone. ``netprobe cleanup`` removes only runs
that have that file (a namespace named ``np-abc123-x`` by hand has none, and stays), and
leaves a run that is still going alone (unless told otherwise).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from netprobe.backends.local.naming import RUN_ID_PATTERN, run_id_of
from netprobe.backends.local.netns import IP, Commands
from netprobe.errors import BackendError

STATE_DIR = Path("/run/netprobe")
NETNS_DIR = Path("/run/netns")


class Kind(StrEnum):
    NETNS = "netns"
    PROCESS = "process"
    """A process inside one of the run's namespaces (a server, a probe)."""
    LINK = "link"
    """An interface in the host namespace (runs never leave one; an older one might)."""
    STATE = "state"
    """The run's owner file in /run/netprobe."""


@dataclass(frozen=True, slots=True)
class Leftover:
    kind: Kind
    name: str
    run_id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def owner_file(run_id: str, state_dir: Path = STATE_DIR) -> Path:
    return state_dir / f"{run_id}.pid"


def claim(run_id: str, state_dir: Path = STATE_DIR) -> None:
    """Record that this process owns run ``run_id``; BackendError when another run (live,
    or interrupted and not cleaned up) holds it. Atomic, so two runs started at once with
    one ``NETPROBE_RUN_ID`` cannot both own it (and tear down each other's namespaces)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(owner_file(run_id, state_dir), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as exc:
        state = "still running" if is_live(run_id, state_dir) else "interrupted"
        raise BackendError(
            f"run id {run_id} is taken by another netprobe run ({state}); use another "
            "NETPROBE_RUN_ID, or `netprobe cleanup` once that run is over"
        ) from exc
    with os.fdopen(fd, "w") as file:
        file.write(f"{os.getpid()}\n")


def release(run_id: str, state_dir: Path = STATE_DIR) -> None:
    owner_file(run_id, state_dir).unlink(missing_ok=True)


def is_live(run_id: str, state_dir: Path = STATE_DIR) -> bool:
    """Whether the process that owns ``run_id`` still runs (a process that reused its id
    later, or a zombie, does not count)."""
    path = owner_file(run_id, state_dir)
    try:
        pid = int(path.read_text().strip())
        claimed = path.stat().st_mtime
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True
    started = _start_time(pid)
    # /proc/stat's boot time has whole seconds: allow that much slack.
    return started is not None and started <= claimed + 1.0


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds); None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    if fields[0] == "Z":
        return None
    # fields[0] is stat field 3 (state); field 22 is the start time in clock ticks.
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def find(
    commands: Commands,
    run_id: str | None = None,
    include_live: bool = False,
    state_dir: Path = STATE_DIR,
) -> list[Leftover]:
    """What netprobe runs left: of one run (everything named with its id), or of every run
    that claimed its id (has an owner file) and whose owner is gone."""

    def wanted(run: str | None) -> bool:
        if run is None or (run_id is not None and run != run_id):
            return False
        if run_id is not None:
            return True
        # A run is netprobe's only if it claimed its id: a namespace someone named
        # np-<6 hex>-... by hand has no owner file and is never touched.
        if not owner_file(run, state_dir).is_file():
            return False
        return include_live or not is_live(run, state_dir)

    found: list[Leftover] = []
    namespaces = []
    for line in commands.run([IP, "netns", "list"], what="listing network namespaces").splitlines():
        name = line.split(" ", 1)[0]
        run = run_id_of(name)
        if wanted(run):
            namespaces.append(name)
            assert run is not None
            found.append(Leftover(Kind.NETNS, name, run))
    for name, pids in sorted(pids_in(namespaces).items()):
        run = run_id_of(name) or ""
        found += [Leftover(Kind.PROCESS, f"{pid} (in {name})", run) for pid in pids]
    for line in commands.run([IP, "-o", "link", "show"], what="listing links").splitlines():
        parts = line.split(": ", 2)
        if len(parts) < 2:
            continue
        name = parts[1].split("@", 1)[0]
        run = run_id_of(name)
        if wanted(run):
            assert run is not None
            found.append(Leftover(Kind.LINK, name, run))
    if state_dir.is_dir():
        for path in sorted(state_dir.glob("*.pid")):
            run = path.stem
            if RUN_ID_PATTERN.match(run) and wanted(run):
                found.append(Leftover(Kind.STATE, str(path), run))
    return found


def remove(commands: Commands, leftovers: Sequence[Leftover]) -> None:
    """Remove ``leftovers`` (as :func:`find` listed them): processes first, then links and
    namespaces, then the runs' state files."""
    for item in leftovers:
        if item.kind is Kind.PROCESS:
            pid = int(item.name.split(" ", 1)[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    lines = [f"link del {item.name}" for item in leftovers if item.kind is Kind.LINK]
    lines += [f"netns del {item.name}" for item in leftovers if item.kind is Kind.NETNS]
    if lines:
        commands.ip_batch(lines, force=True, what="removing netprobe's namespaces and links")
    for item in leftovers:
        if item.kind is Kind.STATE:
            Path(item.name).unlink(missing_ok=True)


def pids_in(namespaces: Sequence[str], netns_dir: Path = NETNS_DIR) -> dict[str, list[int]]:
    """The processes inside each named network namespace (what ``ip netns pids`` says, for
    many namespaces in one pass over /proc)."""
    wanted: dict[tuple[int, int], str] = {}
    for name in namespaces:
        try:
            info = (netns_dir / name).stat()
        except OSError:
            continue
        wanted[(info.st_dev, info.st_ino)] = name
    found: dict[str, list[int]] = {}
    if not wanted:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            info = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        inside = wanted.get((info.st_dev, info.st_ino))
        if inside is not None:
            found.setdefault(inside, []).append(int(entry.name))
    return found


def clean(
    commands: Commands | None = None, dry_run: bool = False, include_live: bool = False
) -> list[Leftover]:
    """Remove (or with ``dry_run`` only list) what interrupted local runs left."""
    if os.geteuid() != 0:
        raise BackendError(
            "cleaning up the local backend needs root (e.g. `sudo netprobe cleanup`)"
        )
    commands = commands or Commands()
    found = find(commands, include_live=include_live)
    if not dry_run:
        remove(commands, found)
    return found
