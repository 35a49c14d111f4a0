"""Worker threads for exec calls, each owning the client it execs with.

Separate from the gateway so the thread handling is plain Python: a worker keeps one
client for its whole life (``kubernetes.stream`` patches the client it is given, so a
client must never be shared between concurrent calls), and a call the caller gave up on is
abandoned: its stream closed from outside, its client thrown away. The workers are daemon
threads, because a worker stuck in a handshake must not keep the process alive at exit
(``ThreadPoolExecutor`` joins its threads).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from netprobe.backends.base import ExecResult


@dataclass
class Handle:
    """Lets the caller close a stream its worker is still blocked on."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    stream: Any = None
    abandoned: bool = False

    def attach(self, ws: Any) -> bool:
        with self.lock:
            if self.abandoned:
                return False
            self.stream = ws
            return True

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True
            ws, self.stream = self.stream, None
        if ws is not None:
            # Closing a broken socket may fail in many ways; the worker is abandoned anyway.
            # timeout=0: close and shut the socket down at once (which wakes a worker
            # blocked in recv) instead of waiting, in the caller's thread, for a close frame
            # from the server: websocket-client's ``WebSocket.close`` (websocket/_core.py,
            # 1.9.2) waits 3 s for it by default, and a server stalled mid-frame never
            # sends one (the wait then races the worker's own read and can last longer).
            with contextlib.suppress(Exception):
                ws.close(timeout=0)


@dataclass
class _Job:
    run: Callable[[Any, Handle], ExecResult]
    handle: Handle
    future: Future[ExecResult]
    stuck: bool = False
    """Abandoned while running: its worker may never return (a WebSocket handshake has no
    timeout), so another worker stands in for it."""


class ExecWorkers:
    """Daemon threads, each with its own exec ApiClient. Daemons, because a worker stuck
    in a handshake must not keep the process alive at exit (ThreadPoolExecutor joins)."""

    def __init__(self, make_api: Callable[[], Any], size: int) -> None:
        self._make_api = make_api
        self._size = max(1, size)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._stuck = 0
        self._started = 0
        self._lock = threading.Lock()

    def submit(self, run: Callable[[Any, Handle], ExecResult]) -> _Job:
        with self._lock:
            # Stand-ins for stuck workers, but never more than ``size`` of them: an API
            # server that hangs every handshake must not cost a thread per exec.
            if len(self._threads) < self._size + min(self._stuck, self._size):
                thread = threading.Thread(
                    target=self._loop, name=f"netprobe-exec-{self._started}", daemon=True
                )
                self._started += 1
                self._threads.append(thread)
                thread.start()
        job = _Job(run, Handle(), Future())
        self._queue.put(job)
        return job

    def abandon(self, job: _Job) -> None:
        """Give up on ``job``: close its stream, or cancel it if it has not started. A
        worker still inside it counts as stuck until it returns, and is replaced."""
        job.handle.abandon()
        with self._lock:
            if not job.future.cancel() and not job.future.done():
                job.stuck = True
                self._stuck += 1

    def _loop(self) -> None:
        api: Any = None
        while (job := self._queue.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue
            if api is None:
                api = self._make_api()
            try:
                job.future.set_result(job.run(api, job.handle))
            except BaseException as exc:  # handed to the waiting caller
                job.future.set_exception(exc)
            if job.handle.abandoned:
                api = None  # its socket was closed under it: start afresh
            with self._lock:
                if job.stuck:
                    # Back at last: another worker took this one's place, so it ends.
                    self._stuck -= 1
                    self._threads.remove(threading.current_thread())
                    return

    def close(self) -> None:
        with self._lock:
            count = len(self._threads)
        for _ in range(count):
            self._queue.put(None)
