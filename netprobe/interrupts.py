"""Ctrl-C and SIGTERM as one exception, and the moments they must wait.

:func:`install` (the CLI does it first thing) makes SIGINT and SIGTERM raise
:class:`Interrupted`, a ``KeyboardInterrupt``, in the main thread, so that every command
unwinds through its cleanup and exits 130 at any moment, loading included. Once one has
arrived, the process is on its way out: further ones are ignored, so a second Ctrl-C
cannot cut a cleanup short or end the process with a traceback. :func:`shielded` holds
signals back for a block that must finish once started; :func:`surely` runs such a block
even when the interrupt lands just before the shield is up.
Signal handlers exist only in the main thread; elsewhere both are no-ops.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

T = TypeVar("T")

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def interrupt(signum: int, frame: FrameType | None) -> None:
    """The handler: ignore what follows, then unwind."""
    ignore()
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` from now on; one this process was
    started with ignored (``netprobe run ... &`` in a script) stays ignored."""
    if on_main_thread():
        for signum in HANDLED:
            if signal.getsignal(signum) != signal.SIG_IGN:
                signal.signal(signum, interrupt)


def ignore() -> None:
    """Ignore SIGINT and SIGTERM from now on (the process is exiting)."""
    if on_main_thread():
        for signum in HANDLED:
            signal.signal(signum, signal.SIG_IGN)


@contextmanager
def shielded() -> Iterator[None]:
    """Run the block with SIGINT and SIGTERM held back: one that arrives meanwhile takes
    effect once the block is over (as if it had arrived then), never inside it."""
    if not on_main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    arrived: list[signal.Signals] = []
    for signum in HANDLED:
        signal.signal(signum, lambda number, frame: arrived.append(signal.Signals(number)))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if arrived:
        first = previous[arrived[0]]
        if callable(first):
            first(arrived[0], None)
        elif first == signal.SIG_DFL:
            os.kill(os.getpid(), arrived[0])


def surely(action: Callable[[], T]) -> T:
    """Run ``action`` shielded (removing what a run created, releasing its claim). An
    interrupt that lands before the shield is up cannot skip it: ``action`` then runs (again:
    it must be idempotent) and the interrupt goes on."""
    try:
        with shielded():
            return action()
    except KeyboardInterrupt:
        with shielded():
            action()
        raise
