"""A child → master pipe of one-byte messages: ready, draining on its own, heartbeat."""

from __future__ import annotations

import os

READY = ord("r")  # the app is loaded and the socket is in place
DRAINING = ord("d")  # draining on its own (max-requests, timeout): spawn a replacement now
HEARTBEAT = ord("h")  # still alive (sent every second when --timeout is set)


class StatusPipe:
    """The child's end."""

    def __init__(self, fd: int, master_pid: int) -> None:
        self.fd = fd
        self.master_pid = master_pid

    def _send(self, message: int) -> None:
        try:
            os.write(self.fd, bytes((message,)))
        except OSError:
            pass  # the master is gone; heartbeat() notices

    def ready(self) -> None:
        self._send(READY)

    def draining(self) -> None:
        self._send(DRAINING)

    def heartbeat(self, send: bool) -> bool:
        """Sends a heartbeat if asked; False when the master process is gone."""
        if os.getppid() != self.master_pid:
            return False
        if send:
            self._send(HEARTBEAT)
        return True
