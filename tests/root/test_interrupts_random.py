"""Randomized interrupts of real local runs, counted: SIGINT, SIGTERM and SIGKILL at random
moments (seeded), once or twice, to netprobe or to its whole process group, with decoys
named like netprobe's objects beside them. After every trial (after a SIGKILL: once its
probes reached their deadline, and `netprobe cleanup`) nothing of netprobe's is left, no
process of it runs, and every decoy is as it was. The budget is fixed
so CI stays fast; the summary line is printed (``pytest -s``)."""

from __future__ import annotations

import ctypes
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netprobe.backends.local.naming import STATE_DIR

NETNS_DIR = Path("/run/netns")


def identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


pytestmark = pytest.mark.root

TRIALS = 24
SEED = 20261203
SUITE = """\
name: interrupted
namespaces: {a: {}, b: {}}
pods:
  a/client: {labels: {app: client}}
  a/server: {labels: {app: server}, ports: [80, 53/UDP]}
  b/other: {labels: {app: other}, ports: [80]}
policies:
  - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy,
     metadata: {name: deny, namespace: b}, spec: {podSelector: {}}}
expect:
  - allow: a/client -> a/server:80
  - allow: a/client -> a/server:53/UDP
  - deny: a/client -> b/other:80
  - allow: a/client -> 192.0.2.7:443
"""
DECOY_NAMESPACES = ("np-decoy0-node", "np-abcdef-node", "np-abcdef-p0")
DECOY_LINK = "np-abcdef-p1"
DECOY_TABLE = "netprobe_check"
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def become_subreaper() -> None:
    """Orphans of the processes this test starts become its children (prctl(2)
    PR_SET_CHILD_SUBREAPER), so a process netprobe left behind cannot hide."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())


def strays() -> list[str]:
    """Every process below this test: once a trial is over, there is none."""
    while True:  # reap what was reparented here and has exited
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    described = []
    for pid in found:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            argv = "(gone)"
        described.append(f"{pid}: {argv.strip() or '(zombie)'}")
    return described


def decoys() -> object:
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return (
        {name: identity(NETNS_DIR / name) for name in DECOY_NAMESPACES},
        DECOY_LINK in links,
        DECOY_TABLE in tables,
    )


def make_decoys() -> None:
    for name in DECOY_NAMESPACES:
        subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(
        ["ip", "link", "add", DECOY_LINK, "type", "veth", "peer", "name", "decoypeer"], check=True
    )
    subprocess.run(["nft", "add", "table", "inet", DECOY_TABLE], check=True)


def remove_decoys() -> None:
    for name in DECOY_NAMESPACES:
        subprocess.run(["ip", "netns", "del", name], check=False)
    subprocess.run(["ip", "link", "del", DECOY_LINK], check=False)
    subprocess.run(["nft", "delete", "table", "inet", DECOY_TABLE], check=False)


def run_once(suite: Path) -> subprocess.Popen[str]:
    """A run, returned once it handles SIGTERM: before that, the interpreter is still
    starting (Python's own few milliseconds, before any of netprobe's code runs)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "netprobe", "run", str(suite), "--backend", "local"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not catches_sigterm(process.pid) and process.poll() is None:
        assert time.monotonic() < deadline, "netprobe never installed its signal handling"
        time.sleep(0.001)
    return process


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (SigCgt in /proc/<pid>/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def test_random_interrupts_leave_nothing_and_no_traceback(tmp_path: Path) -> None:
    suite = tmp_path / "interrupted.netprobe.yaml"
    suite.write_text(SUITE)
    rng = random.Random(SEED)
    become_subreaper()
    make_decoys()
    try:
        before = decoys()
        started = time.monotonic()
        whole = run_once(suite)
        _, stderr = whole.communicate(timeout=120)
        assert whole.returncode == 0, stderr
        duration = time.monotonic() - started
        counts = {"trials": 0, "leftovers": 0, "tracebacks": 0, "cleanups": 0}
        problems = []
        for trial in range(TRIALS):
            signums = rng.choice(
                [
                    [signal.SIGINT],
                    [signal.SIGTERM],
                    [signal.SIGKILL],
                    [signal.SIGINT, signal.SIGINT],
                    [signal.SIGTERM, signal.SIGINT],
                ]
            )
            to_group = rng.random() < 0.5
            # half of them early: start-up, loading and the kernel check are short
            delay = rng.uniform(0.0, rng.choice([0.5, duration]))
            process = run_once(suite)
            time.sleep(delay)
            for signum in signums:
                with_pid = os.killpg if to_group else os.kill
                try:
                    with_pid(process.pid, signum)
                except ProcessLookupError:
                    break
                time.sleep(rng.uniform(0.0, 0.2))
            _, stderr = process.communicate(timeout=120)
            what = (
                f"trial {trial}: {'+'.join(s.name for s in signums)} to "
                f"{'group' if to_group else 'process'} after {delay:.2f}s"
            )
            counts["trials"] += 1
            if "Traceback" in stderr:
                counts["tracebacks"] += 1
                problems.append(f"{what}: traceback\n{stderr}")
            killed = signal.SIGKILL in signums and process.returncode == -signal.SIGKILL
            if not killed and process.returncode not in (0, 130):
                problems.append(f"{what}: exit {process.returncode}\n{stderr}")
            if killed:
                counts["cleanups"] += 1
                cleanup = subprocess.run(
                    [sys.executable, "-m", "netprobe", "cleanup"], capture_output=True, text=True
                )
                if cleanup.returncode != 0:
                    problems.append(f"{what}: cleanup exit {cleanup.returncode}\n{cleanup.stderr}")
            # A killed run's probe servers see their stdin close, its probes reach their
            # deadline (1 s here): each ends by itself, soon.
            deadline = time.monotonic() + 5
            while strays() and time.monotonic() < deadline:
                time.sleep(0.05)
            left = [
                *sorted(set(p.name for p in NETNS_DIR.glob("*")) - set(DECOY_NAMESPACES)),
                *sorted(str(p) for p in STATE_DIR.glob("*")),
                *strays(),
            ]
            if left:
                counts["leftovers"] += len(left)
                problems.append(f"{what}: left {left}")
            if decoys() != before:
                problems.append(f"{what}: a decoy changed")
        print(
            f"\nrandom interrupts: {counts['trials']} trials ({counts['cleanups']} SIGKILLed, "
            f"then cleanup), leftovers {counts['leftovers']}, tracebacks {counts['tracebacks']}, "
            f"a whole run {duration:.2f}s"
        )
        print(*problems, sep="\n")
        assert problems == []
    finally:
        remove_decoys()
        subprocess.run([sys.executable, "-m", "netprobe", "cleanup", "--all"], check=False)
