"""Proof of what a local run created: its record in ``/run/netprobe/<runid>.run``.

A name proves nothing (anyone can run ``ip netns add np-abc123-node``), so a run records
what it creates. Before it creates anything, a run claims its id by creating its record
exclusively, with its process id and start time (so a later process that reuses the pid does
not keep the run alive). It writes each namespace's name before creating it and the
namespace's identity (the device and inode of ``/run/netns/<name>``, the kernel's own id of
that namespace) right after. ``netprobe cleanup`` and teardown remove a namespace only when
its identity is recorded and matches: a namespace a user made with a netprobe-like name,
or made again after netprobe's was removed, is never touched. The record goes only once
everything it lists is gone.

Record lines (later lines for the same name win)::

    pid <pid> <start time in clock ticks>
    netns <name>                    about to be created
    netns <name> <device> <inode>   created
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from netprobe.errors import BackendError

STATE_DIR = Path("/run/netprobe")
NETNS_DIR = Path("/run/netns")
SUFFIX = ".run"


@dataclass(frozen=True, slots=True)
class Identity:
    """The kernel's identity of a network namespace: device and inode of its nsfs file."""

    device: int
    inode: int


@dataclass(frozen=True, slots=True)
class Record:
    """What one run's record says."""

    run_id: str
    path: Path
    pid: int | None = None
    started: int | None = None
    """The owner's start time (clock ticks since boot, /proc/<pid>/stat field 22)."""
    namespaces: Mapping[str, Identity | None] = field(default_factory=dict)
    """Every namespace the run meant to create; None where it never recorded creating it."""

    def is_live(self) -> bool:
        """Whether the process that wrote this record still runs (not a zombie, and not a
        later process that reused its pid)."""
        return (
            self.pid is not None
            and self.started is not None
            and (start_time(self.pid) == self.started)
        )


def record_path(run_id: str, state_dir: Path = STATE_DIR) -> Path:
    return state_dir / f"{run_id}{SUFFIX}"


def identity(path: Path) -> Identity | None:
    """The identity of the namespace at ``path`` (``/run/netns/<name>``, or a process's
    ``/proc/<pid>/ns/net``); None if there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return Identity(info.st_dev, info.st_ino)


def start_time(pid: int) -> int | None:
    """Process ``pid``'s start time in clock ticks since boot; None if gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is stat field 3 (state); field 22 (the start time) is fields[19].
    if not fields or fields[0] == "Z" or len(fields) < 20 or not fields[19].isdigit():
        return None
    return int(fields[19])


class Claim:
    """This process's claim on a run id: writes the run's record as it creates things."""

    def __init__(self, run_id: str, state_dir: Path = STATE_DIR, netns_dir: Path = NETNS_DIR):
        self.path = record_path(run_id, state_dir)
        self.run_id = run_id
        self._netns_dir = netns_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            held = read(self.path)
            state = "still running" if held.is_live() else "interrupted"
            raise BackendError(
                f"run id {run_id} is taken by another netprobe run ({state}); use another "
                "NETPROBE_RUN_ID, or `netprobe cleanup` once that run is over"
            ) from None
        except OSError as exc:
            raise BackendError(f"cannot record the run in {self.path}: {exc.strerror}") from None
        self._file = os.fdopen(fd, "a")
        pid = os.getpid()
        self._write([f"pid {pid} {start_time(pid)}"])
        self.namespaces: dict[str, Identity | None] = {}

    @contextmanager
    def creating(self, names: Sequence[str]) -> Iterator[None]:
        """Around the creation of namespaces ``names``, none of which exists (see
        :meth:`taken`): note them first, record the identity of those that exist after (for
        `netprobe cleanup`, should this process die)."""
        fresh = [name for name in names if name not in self.namespaces]
        self.namespaces.update(dict.fromkeys(fresh))
        self._write(f"netns {name}" for name in fresh)
        try:
            yield
        finally:
            # Also when creation failed or was cut short: whatever exists of them now was
            # created by this run, since none existed a moment ago.
            self._created(names)

    def _created(self, names: Iterable[str]) -> None:
        lines = []
        for name in names:
            found = identity(self._netns_dir / name)
            if found is not None:
                self.namespaces[name] = found
                lines.append(f"netns {name} {found.device} {found.inode}")
        self._write(lines)

    def taken(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` a namespace already has (this run's or anyone's)."""
        return [name for name in names if identity(self._netns_dir / name) is not None]

    def owned(self) -> list[str]:
        """The namespaces of this run that exist and are the ones it created: recorded, or
        (an interrupt cut the record short) created by :meth:`creating` in this process."""
        owned = []
        for name, known in self.namespaces.items():
            now = identity(self._netns_dir / name)
            if now is not None and known in (now, None):
                owned.append(name)
        return owned

    def release(self) -> None:
        """Give up the claim: everything the record lists is gone."""
        self._file.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop writing, keeping the record (something it lists is still there)."""
        self._file.close()

    def _write(self, lines: Iterable[str]) -> None:
        text = "".join(f"{line}\n" for line in lines)
        if text:
            self._file.write(text)
            self._file.flush()


def read(path: Path) -> Record:
    """The record at ``path``; lines it cannot read are ignored (a torn last line, or a
    file written by hand), so they prove nothing."""
    run_id = path.name.removesuffix(SUFFIX)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return Record(run_id, path)
    pid = started = None
    namespaces: dict[str, Identity | None] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "pid" and words[1].isdigit() and words[2].isdigit():
            pid, started = int(words[1]), int(words[2])
        elif len(words) == 2 and words[0] == "netns":
            namespaces.setdefault(words[1], None)
        elif len(words) == 4 and words[0] == "netns" and words[2].isdigit() and words[3].isdigit():
            namespaces[words[1]] = Identity(int(words[2]), int(words[3]))
    return Record(run_id, path, pid, started, namespaces)


def records(state_dir: Path = STATE_DIR) -> list[Record]:
    """Every run record in ``state_dir``."""
    if not state_dir.is_dir():
        return []
    return [read(path) for path in sorted(state_dir.glob(f"*{SUFFIX}")) if path.is_file()]
