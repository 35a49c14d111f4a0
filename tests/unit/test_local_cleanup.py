"""Finding and removing leftovers by the runs' records; `netprobe cleanup`; teardown on
signals. Namespaces are stood in for by files in a temporary folder (a namespace's identity
is the device and inode of its file, as for /run/netns/<name>): nothing here needs root."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from netprobe.backends.local import cleanup, ownership
from netprobe.backends.local.netns import Commands
from netprobe.cli import main
from netprobe.commands import cleanup as cleanup_command
from netprobe.errors import BackendError
from netprobe.run.signals import Interrupted, teardown_on_signals


class FakeCommands(Commands):
    """Removes the stand-in files of the namespaces it is told to delete."""

    def __init__(self, netns_dir: Path) -> None:
        self.netns_dir = netns_dir
        self.batches: list[list[str]] = []

    def ip_batch(
        self, lines: Sequence[str], netns: str | None = None, what: str = "", force: bool = False
    ) -> None:
        self.batches.append(list(lines))
        for line in lines:
            (self.netns_dir / line.removeprefix("netns del ")).unlink()


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    state, netns = tmp_path / "state", tmp_path / "netns"
    state.mkdir()
    netns.mkdir()
    return state, netns


def make_run(
    run_id: str, names: Sequence[str], dirs: tuple[Path, Path], created: bool = True
) -> ownership.Claim:
    """A run that created namespaces ``names`` (stand-in files) and recorded them."""
    state, netns = dirs
    claim = ownership.Claim(run_id, state, netns)
    with claim.creating(names):
        if created:
            for name in names:
                (netns / name).touch()
    claim.close()
    return claim


def dead(run_id: str, state: Path) -> None:
    """Make the record's owner a process that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    path = ownership.record_path(run_id, state)
    lines = path.read_text().splitlines()
    lines[0] = f"pid {done.stdout.strip()} 1"
    path.write_text("\n".join(lines) + "\n")


def test_finds_what_dead_runs_recorded_and_leaves_live_runs(dirs: tuple[Path, Path]) -> None:
    state, netns = dirs
    make_run("aaaaaa", ["np-aaaaaa-node", "np-aaaaaa-p0"], dirs)
    make_run("bbbbbb", ["np-bbbbbb-node"], dirs)  # this process: live
    dead("aaaaaa", state)
    found = cleanup.find(state_dir=state, netns_dir=netns)
    assert [str(item) for item in found.leftovers] == [
        "netns np-aaaaaa-node",
        "netns np-aaaaaa-p0",
        f"record {state / 'aaaaaa.run'}",
    ]
    live = cleanup.find(include_live=True, state_dir=state, netns_dir=netns)
    assert "netns np-bbbbbb-node" in [str(item) for item in live.leftovers]


def test_a_namespace_named_like_netprobe_by_hand_is_never_found(dirs: tuple[Path, Path]) -> None:
    state, netns = dirs
    (netns / "np-cccccc-x").touch()  # no record at all
    found = cleanup.find(include_live=True, state_dir=state, netns_dir=netns)
    assert found == cleanup.Found(())


def test_a_record_written_by_hand_proves_nothing(dirs: tuple[Path, Path]) -> None:
    # The adversarial run: an owner file naming the user's own namespaces.
    state, netns = dirs
    for name in ("np-dddddd-node", "np-dddddd-p0", "np-dddddd-x"):
        (netns / name).touch()
    (state / "dddddd.run").write_text(
        "pid 999999999 1\nnetns np-dddddd-node\nnetns np-dddddd-p0 1 2\n"
    )
    found = cleanup.find(state_dir=state, netns_dir=netns)
    assert [item.kind for item in found.leftovers] == [cleanup.Kind.RECORD]
    assert found.unproven == ("np-dddddd-node", "np-dddddd-p0")
    commands = FakeCommands(netns)
    cleanup.remove(commands, found, netns)
    assert sorted(path.name for path in netns.iterdir()) == [
        "np-dddddd-node",
        "np-dddddd-p0",
        "np-dddddd-x",
    ]
    assert commands.batches == [[]]


def test_a_namespace_made_again_after_netprobe_removed_its_own_is_not_netprobes(
    dirs: tuple[Path, Path],
) -> None:
    state, netns = dirs
    make_run("eeeeee", ["np-eeeeee-node"], dirs)
    dead("eeeeee", state)
    (netns / "new").touch()  # the user's, made while netprobe's still existed
    os.replace(netns / "new", netns / "np-eeeeee-node")  # ... and put under the same name
    found = cleanup.find(state_dir=state, netns_dir=netns)
    assert found.unproven == ("np-eeeeee-node",)
    assert [item.kind for item in found.leftovers] == [cleanup.Kind.RECORD]


def test_remove_deletes_the_proven_namespaces_then_the_record(dirs: tuple[Path, Path]) -> None:
    state, netns = dirs
    make_run("aaaaaa", ["np-aaaaaa-node", "np-aaaaaa-p0"], dirs)
    dead("aaaaaa", state)
    (netns / "np-aaaaaa-p1").touch()  # named like the run's, not in its record
    commands = FakeCommands(netns)
    cleanup.remove(commands, cleanup.find(state_dir=state, netns_dir=netns), netns)
    assert commands.batches == [["netns del np-aaaaaa-node", "netns del np-aaaaaa-p0"]]
    assert [path.name for path in netns.iterdir()] == ["np-aaaaaa-p1"]
    assert list(state.iterdir()) == []


def test_a_run_id_is_claimed_once(dirs: tuple[Path, Path]) -> None:
    state, netns = dirs
    make_run("aaaaaa", [], dirs)
    with pytest.raises(BackendError, match="taken by another netprobe run \\(still running\\)"):
        ownership.Claim("aaaaaa", state, netns)
    dead("aaaaaa", state)
    with pytest.raises(BackendError, match=r"\(interrupted\).*netprobe cleanup"):
        ownership.Claim("aaaaaa", state, netns)


def test_a_process_that_reused_the_owner_pid_does_not_keep_a_run_alive(
    dirs: tuple[Path, Path],
) -> None:
    state, _ = dirs
    make_run("cccccc", [], dirs)
    record = ownership.read(ownership.record_path("cccccc", state))
    assert record.pid == os.getpid() and record.is_live()
    # the same pid with another start time is another process
    path = record.path
    path.write_text(f"pid {os.getpid()} {record.started + 1 if record.started else 0}\n")
    assert not ownership.read(path).is_live()


@pytest.mark.parametrize(
    ("argv", "output"),
    [
        (["cleanup"], "removed netns np-aaaaaa-node\nremoved process 42 (in np-aaaaaa-node)\n"),
        (
            ["cleanup", "--dry-run"],
            "would remove netns np-aaaaaa-node\nwould remove process 42 (in np-aaaaaa-node)\n",
        ),
    ],
)
def test_cleanup_command_prints_what_it_removed(
    argv: list[str],
    output: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[cleanup_command.CleanupOptions] = []

    def fake(options: cleanup_command.CleanupOptions) -> list[str]:
        calls.append(options)
        return ["netns np-aaaaaa-node", "process 42 (in np-aaaaaa-node)"]

    monkeypatch.setitem(cleanup_command.CLEANERS, "local", fake)
    assert main(argv) == 0
    assert capsys.readouterr().out == output
    assert calls == [cleanup_command.CleanupOptions(dry_run="--dry-run" in argv)]


def test_cleanup_command_says_when_there_is_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cleanup_command.CLEANERS, "local", lambda options: [])
    assert main(["cleanup", "--backend", "local", "--all"]) == 0
    assert capsys.readouterr().out == "nothing to clean up (local backend)\n"


class Recorder:
    def __init__(self) -> None:
        self.teardowns = 0
        self.handler_during_teardown: object = None

    def teardown(self) -> None:
        self.teardowns += 1
        self.handler_during_teardown = signal.getsignal(signal.SIGINT)


def test_sigterm_unwinds_the_run_and_tears_down_with_signals_ignored() -> None:
    backend = Recorder()
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted, match="SIGTERM"), teardown_on_signals(backend):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # let the handler run here, not later
        pytest.fail("SIGTERM did not interrupt the block")
    assert backend.teardowns == 1
    assert backend.handler_during_teardown == signal.SIG_IGN
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
