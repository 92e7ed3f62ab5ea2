"""Running one request: start_response, write(), the response iterable, close() (PEP 3333, SPEC §8).

Frames are queued and written together: the response head goes out with the first body chunk,
and when the last chunk is known (a list or tuple response, or Content-Length reached) it
carries END_STREAM, so a typical response is one RESPONSE + one DATA frame in one `sendall`.
Iterables of unknown length are flushed chunk by chunk (a streaming response must stream).
"""

from __future__ import annotations

import logging
import os
import stat
from http import HTTPStatus
from types import TracebackType
from typing import Any, Callable, Iterable

from .codec import encode_response_head
from .connection import Connection
from .errors import ErrorCode, StreamCancelled
from .file_wrapper import FileWrapper
from .frames import DATA, END_STREAM, RESPONSE, pack_header
from .stream import Stream

log = logging.getLogger("gatewire_wsgi")

FLUSH_THRESHOLD = 256 * 1024
_STANDARD_REASONS = {status.value: status.phrase for status in HTTPStatus}
_STATUS_CACHE: dict[str, tuple[int, str | None]] = {}
_STATUS_CACHE_LIMIT = 256
_ERROR_BODY = b"Internal Server Error\n"
_ERROR_HEAD = encode_response_head(
    500,
    [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(_ERROR_BODY)).encode())],
    None,
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def parse_status(status: str) -> tuple[int, str | None]:
    """'200 OK' → (200, None): the reason is kept only when it differs from the standard phrase."""
    parsed = _STATUS_CACHE.get(status)
    if parsed is not None:
        return parsed
    if type(status) is not str:
        raise TypeError(f"status must be a str like '200 OK', got {type(status).__name__}")
    code_text, _, reason = status.partition(" ")
    if len(code_text) != 3 or not code_text.isdigit():
        raise ValueError(f"status {status!r} does not start with a three-digit code")
    code = int(code_text)
    if not 200 <= code <= 599:
        # 1xx cannot be expressed through WSGI; 101 would need the upgrade feature (SPEC §13).
        raise ValueError(f"status {status!r} is not a final status 200…599")
    parsed = (code, None if reason == _STANDARD_REASONS.get(code) else reason)
    if len(_STATUS_CACHE) < _STATUS_CACHE_LIMIT:
        _STATUS_CACHE[status] = parsed
    return parsed


class Response:
    """The response side of one stream: what start_response stored and what was sent."""

    __slots__ = (
        "conn",
        "stream",
        "head_only",
        "status",
        "head",
        "content_length",
        "sent",
        "pending",
        "pending_size",
        "head_queued",
        "head_sent",
        "ended",
        "overflow_logged",
    )

    def __init__(self, conn: Connection, stream: Stream, head_only: bool) -> None:
        self.conn = conn
        self.stream = stream
        self.head_only = head_only
        self.status = 0
        self.head = b""
        self.content_length: int | None = None
        self.sent = 0
        self.pending: list[Any] = []
        self.pending_size = 0
        self.head_queued = False
        self.head_sent = False
        self.ended = False
        self.overflow_logged = False

    # -- PEP 3333 callables ---------------------------------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info:
            try:
                if self.head_queued:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status:
            raise AssertionError("start_response called a second time without exc_info")
        code, reason = parse_status(status)
        wire_headers = []
        content_length = None
        try:
            for name, value in headers:
                if len(name) == 14 and name.lower() == "content-length":
                    content_length = int(value)
                # Surrounding whitespace is not part of a field value (RFC 9110 §5.5); Django's
                # Set-Cookie values start with one.
                if value and (value[0] == " " or value[-1] == " "):
                    value = value.strip(" \t")
                wire_headers.append((name.encode("latin-1"), value.encode("latin-1")))
        except (AttributeError, TypeError, ValueError, UnicodeEncodeError) as error:
            raise TypeError(
                f"response headers must be a list of (str, str) pairs in ISO-8859-1 with a numeric "
                f"Content-Length: {error}"
            ) from None
        self.head = encode_response_head(code, wire_headers, reason)
        self.status = code
        self.content_length = content_length
        if code == 204 or code == 304:
            self.head_only = True
        return self.write

    def write(self, data: bytes) -> None:
        """The write() callable: the bytes are on their way before it returns."""
        if not self.status:
            raise AssertionError("write() called before start_response()")
        if data:
            self._body(data, False)
        self._flush()

    # -- sending --------------------------------------------------------------------------------

    def _queue_head(self, end: bool) -> None:
        self.head_queued = True
        head = self.head
        self.pending.append(pack_header(len(head), RESPONSE, END_STREAM if end else 0, self.stream.id))
        self.pending.append(head)
        self.pending_size += len(head) + 10

    def _body(self, chunk: bytes, last: bool) -> None:
        if self.ended:
            if chunk:
                self._overflow()
            return
        if chunk.__class__ is not bytes:
            if not isinstance(chunk, (bytearray, memoryview)):
                raise TypeError(f"response body chunks must be bytes, got {type(chunk).__name__}")
            chunk = bytes(chunk)
        if not self.head_queued:
            if self.head_only:
                self._queue_head(True)
                self.ended = True
                return
            self._queue_head(False)
        length = self.content_length
        if length is not None:
            remaining = length - self.sent
            if len(chunk) >= remaining:
                if len(chunk) > remaining:
                    self._overflow()
                    chunk = chunk[:remaining]
                last = True
            elif last:
                last = False  # short of Content-Length: finish() reports it
        self._data(chunk, last)
        if last:
            self.ended = True

    def _data(self, chunk: bytes, last: bool) -> None:
        conn = self.conn
        stream = self.stream
        stream_id = stream.id
        total = len(chunk)
        self.sent += total
        if total == 0:
            self.pending.append(pack_header(0, DATA, END_STREAM if last else 0, stream_id))
            return
        max_frame = conn.peer_max_frame_size
        offset = 0
        while offset < total:
            want = total - offset
            if want > max_frame:
                want = max_frame
            credit = conn.try_credit(stream, want)
            if not credit:
                self._flush()
                credit = conn.wait_credit(stream, want)
            piece = chunk if credit == total else memoryview(chunk)[offset : offset + credit]
            offset += credit
            pending = self.pending  # a flush above replaced the list
            pending.append(pack_header(credit, DATA, END_STREAM if last and offset == total else 0, stream_id))
            pending.append(piece)
            self.pending_size += credit + 10
            if self.pending_size >= FLUSH_THRESHOLD and offset < total:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            pending = self.pending
            self.pending = []
            self.pending_size = 0
            self.conn.send_stream_frames(self.stream, pending)
            self.head_sent = self.head_queued

    def _overflow(self) -> None:
        if not self.overflow_logged:
            self.overflow_logged = True
            log.warning(
                "application sent more than its Content-Length of %s; the excess was dropped",
                self.content_length,
                extra={"event": "content_length_exceeded", "request_id": self.stream.request_id},
            )

    def finish(self) -> None:
        """Ends the stream after the iterable is exhausted."""
        if not self.status:
            raise RuntimeError("the application returned without calling start_response()")
        if not self.head_queued:
            self._queue_head(True)
        elif not self.ended:
            if self.content_length is not None and self.sent < self.content_length and not self.head_only:
                self._flush()
                log.error(
                    "application sent %d bytes, less than its Content-Length of %d",
                    self.sent,
                    self.content_length,
                    extra={"event": "content_length_short", "request_id": self.stream.request_id},
                )
                self.conn.reset_stream(self.stream, ErrorCode.APP_ERROR, "body shorter than Content-Length")
                return
            self.pending.append(pack_header(0, DATA, END_STREAM, self.stream.id))
        self.ended = True
        pending = self.pending
        self.pending = []
        self.conn.finish_stream(self.stream, pending)
        self.head_sent = True

    def send_iterable(self, result: Iterable[bytes]) -> None:
        stream = self.stream
        if isinstance(result, (list, tuple)):
            last_index = len(result) - 1
            for index, chunk in enumerate(result):
                if stream.reset_code is not None:
                    raise StreamCancelled(stream.reset_code, stream.reset_message)
                if chunk:
                    self._body(chunk, index == last_index)
                    if self.ended:
                        break
        elif isinstance(result, FileWrapper) and self._send_file(result):
            return
        else:
            for chunk in result:
                if stream.reset_code is not None:
                    raise StreamCancelled(stream.reset_code, stream.reset_message)
                if chunk:
                    self._body(chunk, False)
                    if self.ended:
                        break
                    self._flush()
        self.finish()

    def _send_file(self, wrapper: FileWrapper) -> bool:
        """Sends a regular file with os.sendfile; False when the file has no usable descriptor."""
        if not self.status:
            return False
        filelike = wrapper.filelike
        try:
            fd = filelike.fileno()
            info = os.fstat(fd)
            offset = filelike.tell() if hasattr(filelike, "tell") else 0
        except (AttributeError, OSError, ValueError):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        size = max(info.st_size - offset, 0)
        if self.content_length is not None:
            size = min(size, self.content_length)
        if self.head_only or size == 0:
            self.finish()
            return True
        conn = self.conn
        stream = self.stream
        if not self.head_queued:
            self._queue_head(False)
        last_needed = self.content_length is None or size == self.content_length
        while size:
            want = min(size, conn.peer_max_frame_size)
            credit = conn.try_credit(stream, want)
            if not credit:
                self._flush()
                credit = conn.wait_credit(stream, want)
            end = last_needed and credit == size
            prefix = self.pending
            self.pending = []
            self.pending_size = 0
            conn.send_file_frames(stream, fd, offset, credit, end, prefix)
            self.head_sent = True
            offset += credit
            size -= credit
            self.sent += credit
            if end:
                self.ended = True
        self.finish()
        return True


def run_request(app: WsgiApp, conn: Connection, stream: Stream, environ: dict[str, Any]) -> bool:
    """Runs the application for one stream; True when it completed (for the requests count)."""
    if not conn.begin(stream):
        # Cancelled or recalled while it waited for a thread (a queued stream): never started (SPEC §6.4).
        return False
    response = Response(conn, stream, environ["REQUEST_METHOD"] == "HEAD")
    result: Any = None
    try:
        result = app(environ, response.start_response)
        response.send_iterable(result)
        return True
    except StreamCancelled as cancelled:
        log.debug(
            "request stopped: %s",
            cancelled,
            extra={"event": "request_cancelled", "request_id": stream.request_id},
        )
        return False
    except Exception as error:
        _app_error(response, error)
        return False
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception(
                    "application error in close()",
                    extra={"event": "app_error", "request_id": stream.request_id},
                )


def _app_error(response: Response, error: Exception) -> None:
    """SPEC §10: a 500 if no head was sent yet, else RESET APP_ERROR; a log line with the request id."""
    stream = response.stream
    if stream.reset_code is not None:
        log.debug(
            "application error after the stream ended: %r",
            error,
            extra={"event": "app_error_after_reset", "request_id": stream.request_id},
        )
        return
    log.error(
        "application error: %s: %s",
        type(error).__name__,
        error,
        exc_info=error,
        extra={"event": "app_error", "request_id": stream.request_id},
    )
    conn = response.conn
    try:
        if not response.head_sent:
            frames: list[Any] = [
                pack_header(len(_ERROR_HEAD), RESPONSE, 0, stream.id),
                _ERROR_HEAD,
                pack_header(len(_ERROR_BODY), DATA, END_STREAM, stream.id),
                _ERROR_BODY,
            ]
            # The 500 body is far below any initial window (≥ 1024), so credit is always there.
            if conn.try_credit(stream, len(_ERROR_BODY)) == len(_ERROR_BODY):
                conn.finish_stream(stream, frames)
                return
        conn.reset_stream(stream, ErrorCode.APP_ERROR, f"{type(error).__name__} in the application")
    except StreamCancelled:
        pass
