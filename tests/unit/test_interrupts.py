"""Ctrl-C and SIGTERM as one exception; held back, never lost, during a shielded block."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from netprobe import interrupts
from netprobe.interrupts import Interrupted, shielded, surely


@pytest.fixture
def installed() -> Iterator[None]:
    previous = {signum: signal.getsignal(signum) for signum in interrupts.HANDLED}
    interrupts.install()
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    signal.sigtimedwait([], 0)  # let the handler run here


@pytest.mark.usefixtures("installed")
def test_a_signal_during_a_shielded_block_takes_effect_after_it() -> None:
    finished = []
    with pytest.raises(Interrupted, match="SIGTERM"), shielded():
        deliver(signal.SIGTERM)
        finished.append(True)
    assert finished == [True]
    # the one interrupt is on its way: the next ones are ignored
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


@pytest.mark.usefixtures("installed")
def test_the_first_interrupt_ignores_the_rest() -> None:
    with pytest.raises(Interrupted, match="SIGINT"):
        deliver(signal.SIGINT)
    deliver(signal.SIGINT)  # ignored: no second exception
    deliver(signal.SIGTERM)


@pytest.mark.usefixtures("installed")
def test_surely_runs_a_cleanup_the_interrupt_landed_before() -> None:
    calls = []

    def cleanup() -> None:
        calls.append("cleanup")
        if len(calls) == 1:
            raise Interrupted(signal.SIGINT)  # as if it landed just before the shield

    with pytest.raises(Interrupted):
        surely(cleanup)
    assert calls == ["cleanup", "cleanup"]


def test_a_signal_the_process_was_started_ignoring_stays_ignored() -> None:
    # `netprobe run ... &` in a script: the shell starts it with SIGINT ignored
    script = (
        "import os, signal\n"
        "from netprobe import interrupts\n"
        "interrupts.install()\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "signal.sigtimedwait([], 0)\n"
        "print('still here')"
    )
    done = subprocess.run(
        ["sh", "-c", 'trap "" INT; exec "$0" -c "$1"', sys.executable, script],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "still here\n"
