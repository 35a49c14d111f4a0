"""Where a local run keeps what it creates: its own directory, ``/run/netprobe/<runid>/``.

Ownership is by place, not by name. A run claims its id by creating its directory (``mkdir``
is atomic and exclusive) and holds an exclusive lock on it while it lives (``flock``: it
ends with the process, however it ends, and works across pid namespaces and pid reuse).
Its network namespaces are files in ``ns/`` below it, created there by netprobe itself
(a bind mount of a fresh namespace onto a file it has just created exclusively), never in
``/run/netns``. So a namespace a user made, whatever its name, is never in a run's
directory, and everything in a run's directory is that run's: teardown and
``netprobe cleanup`` remove exactly that, and nothing else on the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netprobe.backends.local.naming import NS, RUN_ID_PATTERN, STATE_DIR
from netprobe.errors import BackendError

__all__ = ["STATE_DIR", "Claim", "RunDir", "runs"]

# linux/sched.h, linux/mount.h
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8


@dataclass(frozen=True, slots=True)
class RunDir:
    """One run's directory, as cleanup finds it."""

    run_id: str
    path: Path

    def namespaces(self) -> list[Path]:
        return _entries(self.path / NS)

    def is_live(self) -> bool:
        """Whether the run's process still holds its lock."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def remove_namespaces(self, names: Sequence[str] | None = None) -> list[str]:
        """Remove the run's namespaces (those named, or all); the names of those left."""
        chosen = [p for p in self.namespaces() if names is None or p.name in names]
        for path in chosen:
            _unmount(path)
            with contextlib.suppress(OSError):  # still mounted: said below
                path.unlink()
        return [path.name for path in chosen if os.path.lexists(path)]

    def remove(self) -> list[str]:
        """Remove the run's namespaces, then its directory; the names of what is left."""
        left = self.remove_namespaces()
        if not left:
            for folder in (self.path / NS, self.path):
                with contextlib.suppress(OSError):  # not empty: the caller sees it stay
                    folder.rmdir()
        return left


class Claim:
    """This process's run: its directory, locked, and the namespaces it creates there."""

    def __init__(self, run_id: str, state_dir: Path = STATE_DIR) -> None:
        self.run = RunDir(run_id, state_dir / run_id)
        _safe_state_dir(state_dir)
        try:
            os.mkdir(self.run.path, 0o700)
        except FileExistsError:
            state = "still running" if self.run.is_live() else "interrupted"
            raise BackendError(
                f"run id {run_id} is taken by another netprobe run ({state}); use another "
                "NETPROBE_RUN_ID, or `netprobe cleanup` once that run is over"
            ) from None
        except OSError as exc:
            raise _unusable(self.run.path, exc) from None
        self._fd: int | None = os.open(self.run.path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            os.mkdir(self.run.path / NS, 0o700)
        except OSError as exc:
            raise _unusable(self.run.path / NS, exc) from None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def create(self, paths: Sequence[str]) -> None:
        """Create a network namespace at each of ``paths`` (in this run's ``ns`` folder)."""
        folder = self.run.path / NS
        if any(Path(path).parent != folder for path in paths):
            raise ValueError(f"namespaces of run {self.run_id} are made in {folder}")
        failure: list[BaseException] = []
        worker = threading.Thread(target=_create, args=(paths, failure))
        worker.start()
        try:
            worker.join()
        finally:
            worker.join()  # interrupted: wait for the ones being made, so teardown sees all
        if failure:
            raise BackendError(f"cannot create network namespaces: {failure[0]}")

    def release(self) -> list[str]:
        """Remove every namespace and, once none is left, the directory and the lock; the
        names of what is left (the directory then stays, for `netprobe cleanup`)."""
        if self._fd is None:
            return []
        left = self.run.remove() if self._still_mine() else []
        os.close(self._fd)
        self._fd = None
        return left

    def _still_mine(self) -> bool:
        """Whether the run's path is still the directory this claim made (`netprobe cleanup
        --all` may have removed it, and another run made it again)."""
        assert self._fd is not None
        mine = os.fstat(self._fd)
        try:
            now = self.run.path.lstat()
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _create(paths: Sequence[str], failure: list[BaseException]) -> None:
    """In a thread of its own (a network namespace belongs to a thread): for each path,
    enter a new network namespace and bind it onto a file created for it."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        for target in paths:
            if libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"unshare: {os.strerror(ctypes.get_errno())}")
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_NOFOLLOW, 0o444))
            if libc.mount(b"/proc/thread-self/ns/net", target.encode(), None, MS_BIND, None):
                errno = ctypes.get_errno()
                raise OSError(errno, f"mount --bind {target}: {os.strerror(errno)}")
    except OSError as exc:
        failure.append(exc)


def _unmount(path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(str(path).encode(), MNT_DETACH | UMOUNT_NOFOLLOW)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _safe_state_dir(state_dir: Path) -> None:
    """``state_dir`` exists and is a directory of root's, not a link to somewhere else."""
    try:
        try:
            info = state_dir.lstat()
        except FileNotFoundError:
            state_dir.mkdir(mode=0o755, parents=True)
            info = state_dir.lstat()
    except OSError as exc:
        raise _unusable(state_dir, exc) from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise BackendError(
            f"{state_dir} is not a directory of this user's (a link or file is in the way): "
            "netprobe keeps its runs there; remove or move it"
        )


def _unusable(path: Path, exc: OSError) -> BackendError:
    return BackendError(f"cannot keep the run's state in {path}: {exc.strerror or exc}")


def runs(state_dir: Path = STATE_DIR) -> list[RunDir]:
    """Every run directory in ``state_dir`` (directories named as run ids, not links)."""
    try:
        if not stat.S_ISDIR(state_dir.lstat().st_mode):
            return []
    except OSError:
        return []
    found = []
    for path in _entries(state_dir):
        if not RUN_ID_PATTERN.match(path.name):
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(path.lstat().st_mode):
                found.append(RunDir(path.name, path))
    return found
