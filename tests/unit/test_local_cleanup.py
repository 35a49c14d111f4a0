"""Finding and removing leftovers by netprobe's naming; `netprobe cleanup`; teardown on
signals. Host commands are faked: nothing here needs root."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest

from netprobe.backends.local import cleanup
from netprobe.backends.local.netns import Commands
from netprobe.cli import main
from netprobe.commands import cleanup as cleanup_command
from netprobe.errors import BackendError
from netprobe.run.signals import Interrupted, teardown_on_signals

NETNS_LIST = """\
np-aaaaaa-node (id: 3)
np-aaaaaa-p0 (id: 4)
np-bbbbbb-node (id: 5)
np-cccccc-x (id: 6)
npexp-a
cni-1234
np-aaaaaa
"""
LINKS = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN
4: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP
9: np-aaaaaa-p3@if2: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN
10: np-other@if2: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN
"""


class FakeCommands(Commands):
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def run(self, argv: Sequence[str], stdin: str | None = None, what: str = "") -> str:
        return NETNS_LIST if list(argv[1:3]) == ["netns", "list"] else LINKS

    def ip_batch(
        self, lines: Sequence[str], netns: str | None = None, what: str = "", force: bool = False
    ) -> None:
        self.batches.append(list(lines))


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    (tmp_path / "bbbbbb.pid").write_text(f"{os.getpid()}\n")  # a live run: this process
    (tmp_path / "aaaaaa.pid").write_text("999999999\n")  # no such process
    return tmp_path


def test_finds_only_netprobe_names_of_dead_runs(state_dir: Path) -> None:
    found = cleanup.find(FakeCommands(), state_dir=state_dir)
    assert [str(item) for item in found] == [
        "netns np-aaaaaa-node",
        "netns np-aaaaaa-p0",
        "link np-aaaaaa-p3",
        f"state {state_dir / 'aaaaaa.pid'}",
    ]


def test_a_namespace_named_like_netprobe_by_hand_is_never_found(state_dir: Path) -> None:
    # np-cccccc-x matches the naming, but no run claimed cccccc (no owner file).
    for include_live in (False, True):
        found = cleanup.find(FakeCommands(), include_live=include_live, state_dir=state_dir)
        assert not [item for item in found if item.run_id == "cccccc"]


def test_live_runs_are_included_only_when_asked(state_dir: Path) -> None:
    found = cleanup.find(FakeCommands(), include_live=True, state_dir=state_dir)
    assert "netns np-bbbbbb-node" in [str(item) for item in found]
    one = cleanup.find(FakeCommands(), run_id="bbbbbb", state_dir=state_dir)
    assert [str(item) for item in one] == [
        "netns np-bbbbbb-node",
        f"state {state_dir / 'bbbbbb.pid'}",
    ]


def test_remove_deletes_links_and_namespaces_in_one_batch_and_the_state_file(
    state_dir: Path,
) -> None:
    commands = FakeCommands()
    cleanup.remove(commands, cleanup.find(commands, state_dir=state_dir))
    assert commands.batches == [
        ["link del np-aaaaaa-p3", "netns del np-aaaaaa-node", "netns del np-aaaaaa-p0"]
    ]
    assert not (state_dir / "aaaaaa.pid").exists()
    assert (state_dir / "bbbbbb.pid").exists()


@pytest.mark.parametrize(
    ("argv", "output"),
    [
        (["cleanup"], "removed netns np-aaaaaa-node\nremoved link np-aaaaaa-p3\n"),
        (
            ["cleanup", "--dry-run"],
            "would remove netns np-aaaaaa-node\nwould remove link np-aaaaaa-p3\n",
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
        return ["netns np-aaaaaa-node", "link np-aaaaaa-p3"]

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


def test_a_process_that_reused_the_owner_pid_does_not_keep_a_run_alive(tmp_path: Path) -> None:
    owner = tmp_path / "cccccc.pid"
    owner.write_text(f"{os.getppid()}\n")  # a live process that started before the claim
    assert cleanup.is_live("cccccc", tmp_path)
    os.utime(owner, (0, 0))  # claimed long before that process started: pid reused
    assert not cleanup.is_live("cccccc", tmp_path)
    assert not cleanup.is_live("dddddd", tmp_path)  # no owner file
