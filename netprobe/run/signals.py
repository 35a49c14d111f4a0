"""Tearing a backend down on Ctrl-C and SIGTERM as well as on errors.

The runner wraps a run in :func:`teardown_on_signals`: inside it, SIGINT and SIGTERM raise
:class:`~netprobe.interrupts.Interrupted` (a ``KeyboardInterrupt``, which the CLI maps to
exit 130) in the main thread, so the run unwinds, whoever called it (the CLI installs the
same handling for the whole process; the pytest plugin does not). On the way out, whatever
the cause, ``backend.teardown()`` runs shielded (:func:`~netprobe.interrupts.surely`), so
no Ctrl-C can skip it or cut it short.
Works with any backend that has ``teardown()``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from netprobe.errors import NetprobeError
from netprobe.interrupts import HANDLED, Interrupted, install, on_main_thread, surely

__all__ = ["Interrupted", "teardown_on_signals"]


class Teardown(Protocol):
    def teardown(self) -> None: ...


@contextmanager
def teardown_on_signals(backend: Teardown) -> Iterator[None]:
    """Run the block; tear ``backend`` down when it ends, however it ends.

    When the block failed and the teardown fails too, the block's error is the one raised
    (it says why the run stopped) and the teardown's is added to it as a note.
    """
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    install()
    failure: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        failure = exc
        raise
    finally:
        try:
            surely(lambda: _teardown(backend, failure))
        finally:
            if on_main_thread():  # as they were: the caller may go on (pytest, a script)
                for signum, handler in previous.items():
                    signal.signal(signum, handler)


def _teardown(backend: Teardown, failure: BaseException | None) -> None:
    try:
        backend.teardown()
    except NetprobeError as exc:
        if failure is None:
            raise
        failure.add_note(f"cleanup failed too: {exc}")
