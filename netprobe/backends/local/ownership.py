"""Where a local run keeps what it creates: its own directory, ``/run/netprobe/<runid>/``.

Ownership is by place, not by name. A run claims its id by creating its directory (``mkdir``
is atomic and exclusive) and holds an exclusive lock on it while it lives (``flock``: it
ends with the process, however it ends, and works across pid namespaces and pid reuse).
Its network namespaces are files in ``ns/`` below it, created there by netprobe itself
(a bind mount of a fresh namespace onto a file it has just created exclusively), never in
``/run/netns``. So a namespace a user made, whatever its name, is never in a run's
directory. Removal goes through file descriptors opened without following links, holds
the run's lock, and takes only what netprobe puts there: namespace mounts, and the empty
files they are mounted on. Anything else found there is left alone, and said so.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netprobe.backends.local.naming import NS, RUN_ID_PATTERN, STATE_DIR
from netprobe.errors import BackendError
from netprobe.interrupts import shielded

__all__ = ["STATE_DIR", "Claim", "RunDir", "runs"]

# linux/sched.h, linux/mount.h
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class RunDir:
    """One run's directory."""

    run_id: str
    path: Path

    def namespaces(self) -> list[str]:
        """The names of the entries of its ``ns`` folder (not following links)."""
        try:
            fd = os.open(self.path / NS, _DIR_FLAGS)
        except OSError:
            return []
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def is_live(self) -> bool:
        """Whether the run's process still holds its lock."""
        with self.locked() as fd:
            return fd is None

    @contextmanager
    def locked(self, even_if_live: bool = False) -> Iterator[int | None]:
        """The directory, open and locked for the block; None if it is gone, or if its run
        holds the lock (is live) and not ``even_if_live`` (then it is open, not locked)."""
        try:
            fd = os.open(self.path, _DIR_FLAGS)
        except OSError:
            yield None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not even_if_live:
                os.close(fd)
                yield None
                return
        try:
            yield fd
        finally:
            os.close(fd)

    def remove(self, run_fd: int, only: Sequence[str] | None = None) -> list[str]:
        """Remove what netprobe made in the directory open at ``run_fd`` (the namespaces
        named ``only``, or all of them and then the directory); what is left, described."""
        try:
            ns_fd = os.open(NS, _DIR_FLAGS, dir_fd=run_fd)
        except FileNotFoundError:
            ns_fd = None
        except OSError:
            return [f"{self.path / NS} (not a folder netprobe made: left alone)"]
        left = []
        if ns_fd is not None:
            try:
                left = _remove_namespaces(ns_fd, self.path / NS, only)
                if only is None and not left:
                    left += _rmdir(self.path / NS, NS, run_fd)
            finally:
                os.close(ns_fd)
        if only is None and not left:
            left += _rmdir(self.path, str(self.path), None)
        return left


def _remove_namespaces(ns_fd: int, folder: Path, only: Sequence[str] | None) -> list[str]:
    nsfs = os.stat("/proc/self/ns/net").st_dev
    home = os.fstat(ns_fd).st_dev
    left = []
    for name in sorted(os.listdir(ns_fd)):
        if only is not None and name not in only:
            continue
        info = os.stat(name, dir_fd=ns_fd, follow_symlinks=False)
        mounted = info.st_dev == nsfs
        if not stat.S_ISREG(info.st_mode) or not (
            mounted or (info.st_dev, info.st_size) == (home, 0)
        ):
            left.append(f"{folder / name} (not netprobe's: left alone)")
            continue
        if mounted:
            # Through the open folder, so that no link on the way is followed.
            target = f"/proc/self/fd/{ns_fd}/{name}".encode()
            if _LIBC.umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) != 0:
                left.append(f"{folder / name} ({os.strerror(ctypes.get_errno())})")
                continue
        try:
            os.unlink(name, dir_fd=ns_fd)
        except OSError as exc:
            left.append(f"{folder / name} ({exc.strerror})")
    return left


def _rmdir(path: Path, name: str, dir_fd: int | None) -> list[str]:
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        return [f"{path} ({exc.strerror})"]
    return []


class Claim:
    """This process's run: its directory, locked, and the namespaces it creates there."""

    def __init__(self, run_id: str, state_dir: Path = STATE_DIR) -> None:
        self.run = RunDir(run_id, state_dir / run_id)
        self._left: list[str] = []
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
        try:
            self._fd: int | None = os.open(self.run.path, _DIR_FLAGS)
        except OSError as exc:
            raise _unusable(self.run.path, exc) from None
        try:
            # Not blocking: `netprobe cleanup` may have seen the directory before it was
            # locked, and be removing it.
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not self._still_mine():
                raise BlockingIOError
            os.mkdir(NS, 0o700, dir_fd=self._fd)
        except BlockingIOError:
            self._close()
            raise BackendError(
                f"run id {run_id} was being removed by `netprobe cleanup`; try again"
            ) from None
        except OSError as exc:
            self.release()
            raise _unusable(self.run.path / NS, exc) from None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def create(self, paths: Sequence[str]) -> None:
        """Create a network namespace at each of ``paths`` (in this run's ``ns`` folder).
        An interrupt waits until the thread making them is done, so teardown sees all."""
        folder = self.run.path / NS
        if any(Path(path).parent != folder for path in paths):
            raise ValueError(f"namespaces of run {self.run_id} are made in {folder}")
        failure: list[BaseException] = []
        worker = threading.Thread(target=_create, args=(paths, failure))
        with shielded():  # Thread.join() cut short would not wait for it (CPython 3.11)
            worker.start()
            worker.join()
        if failure:
            raise BackendError(f"cannot create network namespaces: {failure[0]}")

    def remove(self, paths: Sequence[str]) -> list[str]:
        """Remove some of this run's namespaces; what is left of them, described."""
        if self._fd is None or not self._still_mine():
            return []
        return self.run.remove(self._fd, [Path(path).name for path in paths])

    def release(self) -> list[str]:
        """Remove every namespace and, once none is left, the directory, and let go of the
        lock; what is left, described (the directory then stays, for `netprobe cleanup`).
        Done again after an interruption, it finishes the job or says what it found."""
        if self._fd is not None:
            self._left = self.run.remove(self._fd) if self._still_mine() else []
            self._close()
        return self._left

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

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
    try:
        for target in paths:
            if _LIBC.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"unshare: {os.strerror(ctypes.get_errno())}")
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_NOFOLLOW, 0o444))
            if _LIBC.mount(b"/proc/thread-self/ns/net", target.encode(), None, MS_BIND, None):
                errno = ctypes.get_errno()
                raise OSError(errno, f"mount --bind {target}: {os.strerror(errno)}")
    except Exception as exc:  # reported by the thread that waits for this one
        failure.append(exc)


def _safe_state_dir(state_dir: Path) -> None:
    """``state_dir`` exists and is a directory of this user's, not a link elsewhere."""
    try:
        try:
            info = state_dir.lstat()
        except FileNotFoundError:
            state_dir.mkdir(mode=0o755, parents=True)
            info = state_dir.lstat()
    except OSError as exc:
        raise _unusable(state_dir, exc) from None
    if not _is_own_dir(info):
        raise BackendError(
            f"{state_dir} is not a directory of this user's (a link, a file or another "
            "user's folder is in the way): netprobe keeps its runs there; remove or move it"
        )


def _is_own_dir(info: os.stat_result) -> bool:
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()


def _unusable(path: Path, exc: OSError) -> BackendError:
    return BackendError(f"cannot keep the run's state in {path}: {exc.strerror or exc}")


def runs(state_dir: Path = STATE_DIR) -> list[RunDir]:
    """Every run directory in ``state_dir``: this user's directories named as run ids, in
    a ``state_dir`` of this user's (no link is followed)."""
    try:
        if not _is_own_dir(state_dir.lstat()):
            return []
        entries = sorted(os.listdir(state_dir))
    except OSError:
        return []
    found = []
    for name in entries:
        path = state_dir / name
        with contextlib.suppress(OSError):
            if RUN_ID_PATTERN.match(name) and _is_own_dir(path.lstat()):
                found.append(RunDir(name, path))
    return found
