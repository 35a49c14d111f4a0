"""Finding and removing what local runs left, by their directories; `netprobe cleanup`;
teardown on signals. Namespaces are stood in for by plain files in a run's ns folder
(removing one is unmounting, which fails harmlessly here, and unlinking): no root needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from netprobe.backends.local import LocalOptions, cleanup, ownership
from netprobe.backends.registry import Cleanup
from netprobe.cli import main
from netprobe.commands import cleanup as cleanup_command
from netprobe.errors import BackendError
from netprobe.run.signals import Interrupted, teardown_on_signals

HOLD = """\
import sys, time
from pathlib import Path
from netprobe.backends.local import ownership
claim = ownership.Claim(sys.argv[1], Path(sys.argv[2]))
for name in sys.argv[3:]:
    (claim.run.path / "ns" / name).touch()
print("held", flush=True)
sys.stdin.read()  # until the test is done with it
"""


@contextmanager
def run_elsewhere(run_id: str, state: Path, *names: str) -> Iterator[None]:
    """Another process that claims ``run_id`` and makes (stand-ins of) its namespaces, and
    lives until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, run_id, str(state), *names],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline() == "held\n"
        yield
        process.stdin.close()


def dead_run(run_id: str, state: Path, *names: str) -> None:
    with run_elsewhere(run_id, state, *names):
        pass


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_finds_what_dead_runs_left_and_leaves_live_runs(state: Path) -> None:
    dead_run("dead00", state, "node", "p0")
    with run_elsewhere("1ffe00", state, "node"):
        found = cleanup.find(state_dir=state)
        assert [line for item in found for line in item.lines()] == [
            "netns node (run dead00)",
            "netns p0 (run dead00)",
            f"run {state / 'dead00'}",
        ]
        everything = cleanup.find(include_live=True, state_dir=state)
        assert [item.run.run_id for item in everything] == ["1ffe00", "dead00"]


def test_remove_empties_a_dead_runs_directory_and_removes_it(state: Path) -> None:
    dead_run("dead00", state, "node", "p0")
    cleanup.remove(cleanup.find(state_dir=state))
    assert list(state.iterdir()) == []


def test_only_run_directories_are_looked_at(state: Path, tmp_path: Path) -> None:
    state.mkdir()
    (state / "notes.txt").write_text("mine")
    (state / "abcdef").write_text("a file, not a run")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "ns").mkdir()
    (tmp_path / "elsewhere" / "ns" / "keep").touch()
    (state / "c0ffee").symlink_to(tmp_path / "elsewhere")
    assert cleanup.find(include_live=True, state_dir=state) == []
    assert (tmp_path / "elsewhere" / "ns" / "keep").exists()


def test_a_run_id_is_claimed_once(state: Path) -> None:
    mine = ownership.Claim("aaaaaa", state)
    try:
        with pytest.raises(BackendError, match=r"taken by another netprobe run \(still running\)"):
            ownership.Claim("aaaaaa", state)
    finally:
        mine.release()
    (state / "aaaaaa").mkdir()  # an interrupted run's, unlocked
    with pytest.raises(BackendError, match=r"\(interrupted\).*netprobe cleanup"):
        ownership.Claim("aaaaaa", state)


def test_a_state_directory_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(BackendError, match="cannot keep the run's state"):
        ownership.Claim("aaaaaa", tmp_path / "file" / "state")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    with pytest.raises(BackendError, match="is not a directory of this user's"):
        ownership.Claim("aaaaaa", tmp_path / "link")


def test_a_run_is_live_while_its_process_holds_the_lock_whatever_its_pid(state: Path) -> None:
    with run_elsewhere("1ffe00", state):
        (run,) = ownership.runs(state)
        assert run.is_live()
    assert not run.is_live()


@pytest.mark.parametrize(
    ("argv", "output"),
    [
        (["cleanup"], "removed netns node (run aaaaaa)\nremoved run /run/netprobe/aaaaaa\n"),
        (
            ["cleanup", "--dry-run"],
            "would remove netns node (run aaaaaa)\nwould remove run /run/netprobe/aaaaaa\n",
        ),
    ],
)
def test_cleanup_command_prints_what_it_removed(
    argv: list[str],
    output: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[Cleanup] = []

    def fake(name: str, options: object, cleanup: Cleanup) -> list[str]:
        assert name == "local" and isinstance(options, LocalOptions)
        calls.append(cleanup)
        return ["netns node (run aaaaaa)", "run /run/netprobe/aaaaaa"]

    monkeypatch.setattr(cleanup_command, "clean", fake)
    assert main(argv) == 0
    assert capsys.readouterr().out == output
    assert calls == [Cleanup(dry_run="--dry-run" in argv)]


def test_cleanup_command_says_when_there_is_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cleanup_command, "clean", lambda name, options, cleanup: [])
    assert main(["cleanup", "--backend", "local", "--all"]) == 0
    assert capsys.readouterr().out == "nothing to clean up (local backend)\n"


class Recorder:
    def __init__(self, interrupt_it: bool = False) -> None:
        self.teardowns = 0
        self.finished = 0
        self.interrupt_it = interrupt_it

    def teardown(self) -> None:
        self.teardowns += 1
        if self.interrupt_it:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again, during the teardown
            signal.sigtimedwait([], 0)
        self.finished += 1


def test_sigterm_unwinds_the_run_and_a_second_signal_cannot_cut_the_teardown_short() -> None:
    backend = Recorder(interrupt_it=True)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted, match="SIGTERM"), teardown_on_signals(backend):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # let the handler run here, not later
        pytest.fail("SIGTERM did not interrupt the block")
    assert (backend.teardowns, backend.finished) == (1, 1)
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize("error", [None, RuntimeError("boom")])
def test_teardown_runs_on_normal_exit_and_on_errors(error: Exception | None) -> None:
    backend = Recorder()
    try:
        with teardown_on_signals(backend):
            if error:
                raise error
    except RuntimeError:
        pass
    assert backend.teardowns == 1


class FailingTeardown:
    def teardown(self) -> None:
        raise BackendError("cannot reach the API server")


def test_a_failed_teardown_does_not_hide_why_the_run_stopped() -> None:
    stopped = pytest.raises(BackendError, match="pods never became ready")
    with stopped as info, teardown_on_signals(FailingTeardown()):
        raise BackendError("pods never became ready")
    assert info.value.__notes__ == ["cleanup failed too: cannot reach the API server"]
    # when nothing else went wrong, the teardown's error is the one to see
    with pytest.raises(BackendError, match="cannot reach"), teardown_on_signals(FailingTeardown()):
        pass
