"""wsgi.input: the request body, streamed from DATA frames with flow control (SPEC §8.2, §9).

Reads block until DATA arrives. Credit goes back to the proxy as the application consumes bytes,
not as they arrive (a WINDOW once half the initial window has been read), so a slow reader slows
only its own stream. Body bytes are kept as ranges of the chunks the socket returned and copied
once, into the bytes a read returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import StreamCancelled
from .stream import Stream

if TYPE_CHECKING:
    from .connection import Connection


class InputStream:
    """A request body that arrives in DATA frames. Thread-safe against the connection's reader."""

    __slots__ = ("_conn", "_stream", "_pieces", "_unacked", "_threshold", "trailers")

    def __init__(self, conn: Connection, stream: Stream) -> None:
        self._conn = conn
        self._stream = stream
        self._pieces = stream.pieces
        self._unacked = 0
        self._threshold = conn.recv_window_threshold
        # Request trailers (SPEC §8.3) once the body has ended with a TRAILERS frame.
        self.trailers: list[tuple[bytes, bytes]] | None = None

    # -- plumbing -------------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Waits until a piece is buffered: True, or False at the end of the body."""
        stream = self._stream
        lock = self._conn.lock
        with lock:
            while True:
                if stream.reset_code is not None:
                    raise StreamCancelled(stream.reset_code, stream.reset_message)
                if self._pieces:
                    return True
                if stream.remote_ended:
                    return False
                # No credit is owed here: with nothing buffered, the proxy still holds more than
                # half the initial window, since we grant back every half window consumed.
                if stream.cond is None:
                    stream.cond = threading.Condition(lock)
                stream.cond.wait()

    def _consumed(self, count: int) -> None:
        self._unacked += count
        if self._unacked >= self._threshold and not self._stream.remote_ended:
            increment = self._unacked
            self._unacked = 0
            self._conn.grant(self._stream, increment)

    # -- the file-like API ----------------------------------------------------------------------

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._read_all()
        if size == 0:
            return b""
        pieces = self._pieces
        parts: list[bytes] = []
        need = size
        while need:
            if not pieces and not self._fill():
                break
            buf, start, end = pieces[0]
            available = end - start
            if available <= need:
                pieces.popleft()
                parts.append(buf if start == 0 and end == len(buf) else buf[start:end])
                need -= available
                self._consumed(available)
            else:
                pieces[0] = (buf, start + need, end)
                parts.append(buf[start : start + need])
                self._consumed(need)
                need = 0
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def _read_all(self) -> bytes:
        pieces = self._pieces
        parts: list[bytes] = []
        while pieces or self._fill():
            buf, start, end = pieces.popleft()
            parts.append(buf if start == 0 and end == len(buf) else buf[start:end])
            self._consumed(end - start)
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        if size is not None and size == 0:
            return b""
        limit = -1 if size is None or size < 0 else size
        pieces = self._pieces
        parts: list[bytes] = []
        total = 0
        while True:
            if not pieces and not self._fill():
                break
            buf, start, end = pieces[0]
            stop_at = end if limit < 0 else min(end, start + limit - total)
            newline = buf.find(b"\n", start, stop_at)
            stop = newline + 1 if newline >= 0 else stop_at
            parts.append(buf[start:stop])
            if stop == end:
                pieces.popleft()
            else:
                pieces[0] = (buf, stop, end)
            taken = stop - start
            total += taken
            self._consumed(taken)
            if newline >= 0 or total == limit:
                break
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        """Nothing to release: the connection owns the stream."""


class EmptyInput:
    """wsgi.input of a request without a body (REQUEST carried END_STREAM): shared, stateless."""

    __slots__ = ()
    trailers = None

    def read(self, size: int | None = -1) -> bytes:
        return b""

    def readline(self, size: int | None = -1) -> bytes:
        return b""

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return []

    def __iter__(self) -> Iterator[bytes]:
        return iter(())

    def close(self) -> None:
        pass


EMPTY_INPUT = EmptyInput()
