"""Per-stream state shared by a connection's reader thread and the thread running the request.

Every field that both threads touch is read and written under the connection's `lock`; a
Condition on that lock is created only when a thread actually has to wait (for request body
bytes or for send credit), so a request that never waits never allocates one.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .wsgi_input import InputStream


class Stream:
    """One request/response exchange on a connection (SPEC §6)."""

    __slots__ = (
        "id",
        "request_id",
        "send_window",
        "recv_remaining",
        "remote_ended",
        "reset_code",
        "reset_message",
        "cond",
        "pieces",
        "input",
        "started",
    )

    def __init__(self, stream_id: int, request_id: str, send_window: int, recv_window: int) -> None:
        self.id = stream_id
        self.request_id = request_id
        # SPEC §9: what we may still send (the proxy's initial_window, plus its WINDOWs) …
        self.send_window = send_window
        # … and what the proxy may still send us before we grant more.
        self.recv_remaining = recv_window
        self.remote_ended = False
        # Set when the stream was reset either way, or the connection went away (SPEC §10).
        self.reset_code: int | None = None
        self.reset_message = ""
        self.cond: threading.Condition | None = None
        # Request body pieces not yet read: (bytes, start, end) ranges of received chunks.
        self.pieces: deque[tuple[bytes, int, int]] = deque()
        self.input: InputStream | None = None
        # Set under the connection lock when the application is called: from then on a RECALL is
        # ignored (SPEC §6.4); before, a queued stream may be recalled and is never started.
        self.started = False

    def wake(self) -> None:
        """Wakes the request's thread if it waits; the caller holds the connection lock."""
        cond = self.cond
        if cond is not None:
            cond.notify_all()
