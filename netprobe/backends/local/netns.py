"""Running ``ip`` and ``nft`` for the local dataplane, safely and fast.

Commands are argv lists, never shell strings; the only text fed to a tool's stdin is what
netprobe generated itself (``ip -batch`` lines, an nft ruleset). Failures become
:class:`BackendError` naming the command and what the tool said. :class:`Commands` is the
seam tests replace to check what would be run without root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from netprobe.backends.base import ExecResult
from netprobe.errors import BackendError

IP = "ip"
BRIDGE = "bridge"
NFT = "nft"
NSENTER = "nsenter"
KILL_GRACE = 5.0
"""Seconds to wait for killed processes to go; nothing waits on a process without bound."""


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside the network namespace at path ``netns`` (``nsenter`` enters it
    and execs in place, so the process id is the command's own)."""
    return [NSENTER, f"--net={netns}", "--", *argv]


@dataclass(frozen=True, slots=True)
class CommandFailure:
    argv: tuple[str, ...]
    returncode: int
    stderr: str

    def __str__(self) -> str:
        said = self.stderr.strip().replace("\n", "; ") or "no message"
        return f"`{' '.join(self.argv)}` failed (exit {self.returncode}): {said}"


class Commands:
    """Runs host commands for the local backend."""

    def run(self, argv: Sequence[str], stdin: str | None = None, what: str = "") -> str:
        """Run ``argv`` to completion; its stdout, or BackendError saying ``what`` failed."""
        try:
            done = subprocess.run(
                list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=60
            )
        except FileNotFoundError as exc:
            raise BackendError(f"{what or argv[0]}: {argv[0]} is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise BackendError(f"{what or argv[0]}: `{' '.join(argv)}` hung for 60 s") from exc
        if done.returncode != 0:
            failure = CommandFailure(tuple(argv), done.returncode, done.stderr)
            raise BackendError(f"{what}: {failure}" if what else str(failure))
        return done.stdout

    def ip_batch(self, lines: Sequence[str], netns: str | None = None, what: str = "") -> None:
        """Run ``ip`` commands (one per line, without the leading ``ip``) in one process,
        inside the namespace at path ``netns`` when given."""
        self._batch(IP, lines, netns, what)

    def bridge_batch(self, lines: Sequence[str], netns: str, what: str = "") -> None:
        """Run ``bridge`` commands (one per line, without the leading ``bridge``) in one
        process, inside the namespace at path ``netns``."""
        self._batch(BRIDGE, lines, netns, what)

    def _batch(self, tool: str, lines: Sequence[str], netns: str | None, what: str) -> None:
        if lines:
            argv = [tool, "-batch", "-"]
            stdin = "\n".join(lines) + "\n"
            self.run(in_netns(netns, argv) if netns else argv, stdin=stdin, what=what)

    def nft(self, netns: str, ruleset: str, what: str = "") -> None:
        """Load ``ruleset`` (one atomic nft transaction) inside ``netns``."""
        self.run(in_netns(netns, [NFT, "-f", "-"]), stdin=ruleset, what=what)

    def exec(self, argv: Sequence[str], timeout: float) -> ExecResult:
        """Run ``argv``; at the deadline kill its whole process group."""
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise BackendError(f"could not start `{' '.join(argv)}`: {exc}") from exc
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            try:
                out, err = process.communicate(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                # Something outside the process group still holds the pipes: give up on them.
                _abandon(process)
                return ExecResult(None, "", "output lost: the pipes stayed open", timed_out=True)
            return ExecResult(None, _text(out), _text(err), timed_out=True)
        except BaseException:
            kill_group(process.pid)
            _abandon(process)
            raise
        return ExecResult(process.returncode, _text(out), _text(err))


def _abandon(process: subprocess.Popen[bytes]) -> None:
    """Close a killed process's pipes and reap it if it goes within the grace period."""
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE)


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
