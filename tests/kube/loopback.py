"""A TCP server on 127.0.0.1 for tests that need the real client on a real socket: it
accepts until closed and hands each connection to :meth:`LoopbackServer.accepted`."""

from __future__ import annotations

import contextlib
import socket
import threading


class LoopbackServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def accepted(self, conn: socket.socket) -> None:
        """A new connection (on the accepting thread); it stays open until close()."""

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            self._conns.append(conn)
            self.accepted(conn)

    def close(self) -> None:
        self._stop.set()
        self._accept.join(5)
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
