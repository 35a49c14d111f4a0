"""Tearing a backend down on Ctrl-C and SIGTERM as well as on errors.

The runner wraps a run in :func:`teardown_on_signals`: inside it, SIGINT and SIGTERM raise
:class:`Interrupted` (a ``KeyboardInterrupt``, which the CLI maps to exit 130) in the main
thread, so the run unwinds; on the way out, whatever the cause, ``backend.teardown()`` runs
with both signals ignored, so a second Ctrl-C cannot cut the cleanup short. Works with any
backend that has ``teardown()``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

from netprobe.errors import NetprobeError

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Teardown(Protocol):
    def teardown(self) -> None: ...


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived during a run."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def teardown_on_signals(backend: Teardown) -> Iterator[None]:
    """Run the block; tear ``backend`` down when it ends, however it ends.

    When the block failed and the teardown fails too, the block's error is the one raised
    (it says why the run stopped) and the teardown's is added to it as a note.
    """
    # Signal handlers can only be installed from the main thread.
    main = threading.current_thread() is threading.main_thread()
    previous = {signum: signal.getsignal(signum) for signum in HANDLED} if main else {}
    for signum in previous:
        signal.signal(signum, _raise)
    failure: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        failure = exc
        raise
    finally:
        for signum in previous:
            signal.signal(signum, signal.SIG_IGN)
        try:
            _teardown(backend, failure)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _teardown(backend: Teardown, failure: BaseException | None) -> None:
    try:
        backend.teardown()
    except NetprobeError as exc:
        if failure is None:
            raise
        failure.add_note(f"cleanup failed too: {exc}")
