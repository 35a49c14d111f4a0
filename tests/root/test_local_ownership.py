"""A run's directory holds its namespaces, and nothing outside it is ever touched: the
kernel check, teardown and cleanup on real namespaces (in the tests' private /run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from netprobe.backends.local import cleanup, ownership, preflight
from netprobe.backends.local.naming import STATE_DIR, Names
from netprobe.backends.local.netns import Commands
from netprobe.errors import BackendError

pytestmark = pytest.mark.root


class FailingAt(Commands):
    """Runs commands for real, but fails the first one that mentions ``word``."""

    def __init__(self, word: str) -> None:
        self.word = word

    def run(self, argv: Sequence[str], stdin: str | None = None, what: str = "") -> str:
        if self.word in argv:
            raise BackendError(f"`{' '.join(argv)}` failed (exit 2): Error: Unknown device type.")
        return super().run(argv, stdin, what)


@pytest.mark.parametrize(
    ("word", "hint"),
    [
        ("veth", "modprobe veth"),
        ("bridge", "modprobe bridge"),
        ("nft", "modprobe nf_tables nf_conntrack"),
    ],
)
def test_kernel_check_names_the_missing_feature_and_removes_its_namespace(
    word: str, hint: str
) -> None:
    claim = ownership.Claim("abcdef")
    try:
        with pytest.raises(BackendError, match=hint) as caught:
            preflight.check_kernel(Names("abcdef"), FailingAt(word), claim)
        assert "Unknown device type" in str(caught.value)
        assert claim.run.namespaces() == []
    finally:
        assert claim.release() == []
    assert not (STATE_DIR / "abcdef").exists()


def test_a_users_namespaces_are_never_looked_at_whatever_their_names() -> None:
    names = ["np-abcdef-node", "np-abcdef-check", "abcdef"]
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        claim = ownership.Claim("abcdef")
        preflight.check_kernel(Names("abcdef"), Commands(), claim)
        claim.release()
        dead = subprocess.run(
            [sys.executable, "-c", KILLED_RUN], capture_output=True, text=True, check=True
        )
        assert dead.stdout == "created\n"
        found = cleanup.clean()
        assert [line for item in found for line in item.lines()] == [
            "netns node (run 00dead)",
            "netns p0 (run 00dead)",
            f"run {STATE_DIR / '00dead'}",
        ]
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == sorted(names)
        assert list(STATE_DIR.iterdir()) == []
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False)


KILLED_RUN = """\
import os
from netprobe.backends.local import ownership
from netprobe.backends.local.naming import Names
names = Names("00dead")
claim = ownership.Claim("00dead")
claim.create([names.node, names.pod(0)])
print("created", flush=True)
os._exit(0)  # as if killed: no teardown
"""


def test_cleanup_without_the_capabilities_says_so_and_keeps_the_run() -> None:
    subprocess.run([sys.executable, "-c", KILLED_RUN], check=True, capture_output=True)
    done = subprocess.run(
        [
            "setpriv",
            "--inh-caps=-all",
            "--bounding-set=-all",
            sys.executable,
            "-m",
            "netprobe",
            "cleanup",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3, done.stderr
    assert "cleaning up the local backend needs CAP_SYS_ADMIN" in done.stderr
    assert "Traceback" not in done.stderr
    assert [item.run.run_id for item in cleanup.find()] == ["00dead"]
    cleanup.remove(cleanup.find())
    assert list(STATE_DIR.iterdir()) == []


def test_ctrl_c_while_namespaces_are_made_leaves_none_of_them() -> None:
    # CPython 3.11's Thread.join() returns at once when interrupted, and a teardown then
    # raced the thread still making namespaces (the review left ~300 behind).
    names = Names("0c0c0c")
    claim = ownership.Claim("0c0c0c")

    def interrupt_once_making() -> None:  # not a fixed delay: a busy machine starts late
        folder = claim.run.path / "ns"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (folder.is_dir() and any(folder.iterdir())):
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt_once_making)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            claim.create([names.pod(index) for index in range(3000)])
            time.sleep(5)  # the interrupt came during create(): it is raised just after
        assert len(claim.run.namespaces()) == 3000  # all made, none still being made
    finally:
        timer.join()
        assert claim.release() == []
    assert not (STATE_DIR / "0c0c0c").exists()


def test_cleanup_does_not_follow_a_link_out_of_a_runs_directory() -> None:
    subprocess.run(["ip", "netns", "add", "mine"], check=True)
    try:
        (STATE_DIR / "dead01").mkdir(parents=True)
        (STATE_DIR / "dead01" / "ns").symlink_to("/run/netns")
        with pytest.raises(BackendError, match="not a folder netprobe made: left alone"):
            cleanup.clean()
        assert Path("/run/netns/mine").exists()
    finally:
        (STATE_DIR / "dead01" / "ns").unlink()
        (STATE_DIR / "dead01").rmdir()
        subprocess.run(["ip", "netns", "del", "mine"], check=False)


def test_a_claim_that_fails_half_way_leaves_no_directory(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    # room for the state folder and one run folder, not for the run's ns folder
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nr_inodes=3", "tmpfs", str(small)], check=True)
    try:
        (small / "state").mkdir()
        with pytest.raises(BackendError, match="cannot keep the run's state"):
            ownership.Claim("abcdef", small / "state")
        assert list((small / "state").iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)
