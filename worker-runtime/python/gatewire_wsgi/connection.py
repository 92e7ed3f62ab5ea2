"""One proxy connection: handshake, frame dispatch, flow control, draining (SPEC §3–§12).

Threads: one reader thread per connection runs `run()`: it receives, decodes frames and answers
control frames itself (PONG, HEALTH, RESET REFUSED_STREAM, GOAWAY). Requests go to the process's
thread pool; those threads write their own RESPONSE/DATA frames. Writes from every thread go
through one send lock, each as a single `sendall` of joined frames (or `sendmsg` of several
buffers when large), so frames never interleave and small frames never cost a syscall each.

Inline requests (with --threads 1): a request whose body has fully arrived by the end of the chunk
that carried it runs on the reader thread itself, with no thread handoff (recv, app, sendall,
recv). Requests decoded from one chunk (with --backlog, the proxy may send more than one) run
there one after the other, in order. While one runs nobody reads the socket, so the process's
main thread hands the reading role to a new thread if the request runs longer than a few
milliseconds or waits for send credit (`hand_over_if_busy`): PING, RESET and WINDOW keep being
answered, and the requests still waiting go to the thread pool. The reading role is a token;
only its holder feeds the decoder, and the holder changes only between chunks.
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from . import SERVER_SOFTWARE
from .codec import (
    PROTOCOL_VERSION,
    Hello,
    decode_auth,
    decode_goaway,
    decode_hello,
    decode_reset,
    decode_trailers,
    encode_auth,
    encode_goaway,
    encode_hello,
    encode_reset,
    unpack_map,
)
from .environ import build_environ
from .errors import ErrorCode, ProtocolError, StreamCancelled, code_name
from .frames import (
    AUTH,
    DATA,
    END_STREAM,
    GOAWAY,
    HEALTH,
    HELLO,
    MAX_WINDOW,
    PING,
    PONG,
    PREFACE,
    RECALL,
    REQUEST,
    RESET,
    TRAILERS,
    WINDOW,
    FrameDecoder,
    frame,
    frame_name,
    pack_header,
    pack_window_increment,
    unpack_window_increment,
)
from .stream import Stream
from .wsgi_input import EMPTY_INPUT, InputStream

log = logging.getLogger("gatewire_wsgi")

RECV_SIZE = 256 * 1024
# Joined into one bytes object and sent with sendall below this size; sendmsg with a buffer list above.
JOIN_LIMIT = 64 * 1024
IOV_MAX = 1024
FEATURES = ("trailers", "health", "queue")

_AWAIT_HELLO = 0
_AWAIT_AUTH = 1
_OPEN = 2

LABEL_PROXY = b"gatewire-v1 proxy"
LABEL_WORKER = b"gatewire-v1 worker"

_WINDOW_HEADER_CACHE: dict[int, bytes] = {}


def auth_proof(secret: bytes, role: str, proxy_nonce: bytes, worker_nonce: bytes) -> bytes:
    """SPEC §5.4: proxy HMAC(S, label || Nw || Np); worker HMAC(S, label || Np || Nw)."""
    if role == "proxy":
        message = LABEL_PROXY + worker_nonce + proxy_nonce
    else:
        message = LABEL_WORKER + proxy_nonce + worker_nonce
    return hmac.new(secret, message, sha256).digest()


@dataclass(frozen=True)
class ConnectionSettings:
    """What this worker advertises in HELLO, and its handshake rules (SPEC §5)."""

    max_streams: int
    # SPEC §5.2, §6.4: streams run at once (the threads); the rest of max_streams wait in the process.
    concurrency: int | None = None
    max_frame_size: int = 262_144
    initial_window: int = 262_144
    name: str | None = None
    secret: bytes | None = None
    handshake_timeout: float = 10.0
    # Run requests whose body has arrived on the reader thread (see the module docstring).
    inline: bool = False


class ConnectionOwner:
    """What a connection needs from its process (implemented by server.WorkerServer)."""

    base_environ: dict[str, Any]

    def submit(self, conn: Connection, stream: Stream, environ: dict[str, Any]) -> None:
        raise NotImplementedError

    def try_run_inline(self, conn: Connection, stream: Stream, environ: dict[str, Any]) -> bool:
        """Runs the request on the calling (reader) thread if the process allows it; False if not."""
        return False

    def wake(self) -> None:
        """Wakes the process's main thread (it hands reading over to a new thread)."""

    def health(self) -> bytes:
        raise NotImplementedError

    def connection_closed(self, conn: Connection) -> None:
        raise NotImplementedError


class Connection:
    """One accepted proxy connection. Created by the server, run on its own reader thread."""

    def __init__(self, sock: socket.socket, owner: ConnectionOwner, settings: ConnectionSettings, label: str) -> None:
        self.sock = sock
        self.owner = owner
        self.settings = settings
        self.label = label
        self.lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.streams: dict[int, Stream] = {}
        self.highest_id = 0
        self.max_streams = settings.max_streams
        self.recv_window = settings.initial_window
        self.recv_window_threshold = settings.initial_window // 2
        self.peer_max_frame_size = 65_536
        self.peer_initial_window = 65_536
        self.features: frozenset[str] = frozenset()
        self.state = _AWAIT_HELLO
        self.draining = False
        self.peer_goaway = False
        self.closed = False
        self._closing = False
        self._goaway_error_sent = False
        self._nonce = os.urandom(32)
        self._peer_nonce = b""
        self._decoder = FrameDecoder(self, settings.max_frame_size)
        # The reading role (see the module docstring): bumped when a new thread takes it over.
        self._reader_token = 0
        # Requests that may run inline once the current chunk is decoded, in arrival order. Shared by
        # the reading threads (popleft is atomic): after a handover, whichever thread comes first takes
        # the oldest, so requests start in the order they arrived.
        self._candidates: deque[tuple[Stream, dict[str, Any]]] = deque()
        # The inline request running on the reader thread: (stream, environ, started) or None.
        self.inline_job: tuple[Stream, dict[str, Any], float] | None = None
        self._inline_thread = 0
        self._handover_wanted = False

    # -- reader thread --------------------------------------------------------------------------

    def run(self) -> None:
        """The first reader thread: sends preface and HELLO, then reads."""
        self._serve(0, greet=True)

    def _serve(self, token: int, greet: bool) -> None:
        sock = self.sock
        handed_over = False
        try:
            if greet:
                sock.settimeout(self.settings.handshake_timeout)
                self._write(PREFACE + frame(HELLO, 0, 0, encode_hello(self._hello())))
            handed_over = not self._read_loop(token)
        except ProtocolError as error:
            self._connection_error(error)
        except StreamCancelled:
            pass  # a write failed: the connection is gone
        except OSError as error:
            if not self._closing:
                log.info(
                    "connection lost: %s",
                    error,
                    extra={"event": "connection_lost", "peer": self.label},
                )
        except Exception:
            log.exception("internal error on a connection", extra={"event": "internal_error", "peer": self.label})
            self._connection_error(ProtocolError(ErrorCode.INTERNAL_ERROR, "internal error in the worker"))
        finally:
            if not handed_over:
                self._teardown()

    def _read_loop(self, token: int) -> bool:
        """Receives and dispatches until EOF (True), or until the reading role moved on (False)."""
        recv = self.sock.recv
        feed = self._decoder.feed
        while True:
            try:
                data = recv(RECV_SIZE)
            except TimeoutError:
                if self.state != _OPEN:
                    raise ProtocolError(
                        ErrorCode.HANDSHAKE_ERROR,
                        f"handshake not complete {self.settings.handshake_timeout:g} s after the connection opened",
                    ) from None
                raise
            if not data:
                return True
            feed(data)
            candidates = self._candidates
            while candidates:
                stream, environ = candidates.popleft()
                if not self._run_inline(token, stream, environ):
                    # Another thread reads now: what waits here goes to the pool.
                    while candidates:
                        self.owner.submit(self, *candidates.popleft())
                    return False

    def _run_inline(self, token: int, stream: Stream, environ: dict[str, Any]) -> bool:
        """Runs a request on this (reader) thread if it can; False if the reading role moved on."""
        if not stream.remote_ended or stream.reset_code is not None:
            self.owner.submit(self, stream, environ)
            return True
        started = time.monotonic()
        with self.lock:
            self.inline_job = (stream, environ, started)
            self._inline_thread = threading.get_ident()
        try:
            ran = self.owner.try_run_inline(self, stream, environ)
        finally:
            with self.lock:
                self.inline_job = None
                self._inline_thread = 0
                self._handover_wanted = False
                still_reader = self._reader_token == token
        if not ran:
            self.owner.submit(self, stream, environ)
        return still_reader

    def hand_over_if_busy(self, now: float, after: float) -> None:
        """Main thread: a new thread takes over reading if an inline request runs long or waits."""
        with self.lock:
            job = self.inline_job
            if job is None or self.closed or self._inline_thread == 0:
                return
            if not self._handover_wanted and now - job[2] < after:
                return
            self._reader_token += 1
            token = self._reader_token
            self._inline_thread = 0  # one handover per inline request
        log.debug(
            "reading handed to a new thread while a request runs",
            extra={"event": "reader_handover", "request_id": job[0].request_id, "peer": self.label},
        )
        threading.Thread(target=self._serve, args=(token, False), name=f"{self.label}-reader", daemon=True).start()

    def _hello(self) -> Hello:
        settings = self.settings
        return Hello(
            version=PROTOCOL_VERSION,
            role="worker",
            max_frame_size=settings.max_frame_size,
            initial_window=settings.initial_window,
            max_streams=settings.max_streams,
            concurrency=settings.concurrency,
            features=FEATURES,
            nonce=self._nonce,
            auth="hmac-sha256" if settings.secret is not None else None,
            server=SERVER_SOFTWARE,
            pid=os.getpid(),
            name=settings.name,
        )

    def _connection_error(self, error: ProtocolError) -> None:
        """SPEC §14.2: GOAWAY with the code, then close; a log line, never a crash."""
        log.warning(
            "connection error %s: %s",
            error.code.name,
            error.message,
            extra={"event": "connection_error", "code": error.code.name, "peer": self.label},
        )
        if self._goaway_error_sent or self.closed:
            return
        self._goaway_error_sent = True
        with self.lock:
            last = self.highest_id
        try:
            self._write(frame(GOAWAY, 0, 0, encode_goaway(last, error.code, error.message)), timeout=1.0)
            # Let the GOAWAY reach the peer before the socket goes: a close with unread input
            # can turn into a reset that discards it.
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(1.0)
            discarded = 0
            while discarded < 1 << 20:
                data = self.sock.recv(65536)
                if not data:
                    break
                discarded += len(data)
        except (OSError, StreamCancelled):
            pass

    def _teardown(self) -> None:
        with self.lock:
            self.closed = True
            streams = list(self.streams.values())
            self.streams.clear()
            for stream in streams:
                if stream.reset_code is None:
                    stream.reset_code = ErrorCode.CANCEL
                    stream.reset_message = "the connection to the proxy closed"
                stream.wake()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        # Closing under the send lock: no thread is inside a send on this descriptor.
        acquired = self._send_lock.acquire(timeout=5.0)
        try:
            self.sock.close()
        finally:
            if acquired:
                self._send_lock.release()
        self.owner.connection_closed(self)

    # -- frame dispatch (FrameHandler) ----------------------------------------------------------

    def on_frame(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self.state != _OPEN:
            self._handshake_frame(frame_type, payload)
        elif frame_type == REQUEST:
            self._on_request(flags, stream_id, payload)
        elif frame_type == WINDOW:
            self._on_window(stream_id, payload)
        elif frame_type == RESET:
            self._on_reset(stream_id, payload)
        elif frame_type == PING:
            self._on_ping(payload)
        elif frame_type == PONG:
            pass  # SPEC §12.1: we send no PING, so no PONG matches; ignored
        elif frame_type == GOAWAY:
            self._on_goaway(payload)
        elif frame_type == TRAILERS:
            self._on_trailers(stream_id, payload)
        elif frame_type == RECALL:
            self._on_recall(stream_id)
        elif frame_type == HELLO:
            raise ProtocolError(ErrorCode.HANDSHAKE_ERROR, "a second HELLO")
        elif frame_type == AUTH:
            raise ProtocolError(
                ErrorCode.PROTOCOL_ERROR,
                "AUTH frame, but this worker did not ask for authentication"
                if self.settings.secret is None
                else "a second AUTH frame",
            )
        else:
            raise ProtocolError(
                ErrorCode.PROTOCOL_ERROR, f"{frame_name(frame_type)} frame from the proxy; only a worker sends it"
            )

    def on_data(self, stream_id: int, flags: int, chunk: bytes, start: int, end: int, last: bool) -> None:
        if self.state != _OPEN:
            self._handshake_frame(DATA, b"")
        stream = self.streams.get(stream_id)
        if stream is None:
            self._check_known(stream_id, "DATA")
            return
        count = end - start
        with self.lock:
            if stream.remote_ended:
                stream_error = True
            else:
                stream_error = False
                remaining = stream.recv_remaining - count
                if remaining < 0:
                    raise ProtocolError(
                        ErrorCode.FLOW_CONTROL_ERROR,
                        f"proxy sent {-remaining} bytes of DATA beyond the window on stream {stream_id}",
                    )
                stream.recv_remaining = remaining
                if count:
                    stream.pieces.append((chunk, start, end))
                if last and flags & END_STREAM:
                    stream.remote_ended = True
                stream.wake()
        if stream_error:
            self._stream_error(stream, ErrorCode.STREAM_CLOSED, f"DATA on stream {stream_id} after END_STREAM")

    def _check_known(self, stream_id: int, what: str) -> None:
        """A frame for a stream not active: closed streams are ignored, unopened ones are an error (SPEC §6.1)."""
        if stream_id > self.highest_id:
            raise ProtocolError(
                ErrorCode.PROTOCOL_ERROR,
                f"{what} on stream {stream_id}, which was never opened (highest is {self.highest_id})",
            )

    def _handshake_frame(self, frame_type: int, payload: bytes) -> None:
        """SPEC §5.1: HELLO first; then, when authentication is required, AUTH."""
        if self.state == _AWAIT_HELLO:
            if frame_type != HELLO:
                raise ProtocolError(
                    ErrorCode.HANDSHAKE_ERROR, f"expected HELLO as the first frame, got {frame_name(frame_type)}"
                )
            hello = decode_hello(payload, "proxy")
            self.peer_max_frame_size = hello.max_frame_size
            self.peer_initial_window = hello.initial_window
            self._peer_nonce = hello.nonce
            self.features = frozenset(FEATURES).intersection(hello.features)
            if self.settings.secret is None:
                self._open()
            else:
                self.state = _AWAIT_AUTH
            return
        # _AWAIT_AUTH: only AUTH, GOAWAY, PING and PONG may come before the proxy's proof.
        if frame_type == HELLO:
            raise ProtocolError(ErrorCode.HANDSHAKE_ERROR, "a second HELLO (SPEC §5.1)")
        if frame_type == AUTH:
            secret = self.settings.secret
            assert secret is not None
            proof = decode_auth(payload)
            expected = auth_proof(secret, "proxy", self._peer_nonce, self._nonce)
            if not hmac.compare_digest(proof, expected):
                raise ProtocolError(
                    ErrorCode.AUTH_FAILED,
                    "the proxy's shared-secret proof does not match: the two sides have different secrets",
                )
            mine = auth_proof(secret, "worker", self._peer_nonce, self._nonce)
            self._write(frame(AUTH, 0, 0, encode_auth(mine)))
            self._open()
        elif frame_type == PING:
            self._write(frame(PONG, 0, 0, payload))
        elif frame_type == PONG:
            pass
        elif frame_type == GOAWAY:
            self._on_goaway(payload)
        else:
            raise ProtocolError(
                ErrorCode.AUTH_FAILED,
                f"{frame_name(frame_type)} frame before the proxy proved the shared secret (AUTH)",
            )

    def _open(self) -> None:
        self.state = _OPEN
        self.sock.settimeout(None)

    def _on_request(self, flags: int, stream_id: int, payload: bytes) -> None:
        with self.lock:
            if stream_id <= self.highest_id:
                raise ProtocolError(
                    ErrorCode.PROTOCOL_ERROR,
                    f"REQUEST on stream {stream_id}, not above the highest stream id seen ({self.highest_id})",
                )
            self.highest_id = stream_id
            if self.draining or self.peer_goaway or self.closed:
                refused = "the worker is draining (GOAWAY sent)" if self.draining else "the proxy sent GOAWAY"
            elif len(self.streams) >= self.max_streams:
                refused = f"{len(self.streams)} streams active, max_streams is {self.max_streams}"
            else:
                refused = ""
                # Reserve the slot now; the stream object replaces the placeholder below.
                stream = Stream(stream_id, "", self.peer_initial_window, self.recv_window)
                self.streams[stream_id] = stream
        if refused:
            # SPEC §6.3, §11: not processed at all; the proxy may retry it elsewhere.
            self._write(frame(RESET, 0, stream_id, encode_reset(ErrorCode.REFUSED_STREAM, refused)))
            return
        fields = unpack_map(payload, "environ")
        environ = build_environ(fields, self.owner.base_environ)
        stream.request_id = environ["gatewire.request_id"]
        if flags & END_STREAM:
            stream.remote_ended = True
            environ["wsgi.input"] = EMPTY_INPUT
        else:
            stream.input = InputStream(self, stream)
            environ["wsgi.input"] = stream.input
        if self.settings.inline:
            # Decided once the chunk is decoded: its body may still arrive in the same chunk.
            self._candidates.append((stream, environ))
        else:
            self.owner.submit(self, stream, environ)

    def _on_window(self, stream_id: int, payload: bytes) -> None:
        (increment,) = unpack_window_increment(payload)
        stream = self.streams.get(stream_id)
        if stream is None:
            self._check_known(stream_id, "WINDOW")
            return
        if increment == 0:
            raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, f"WINDOW increment 0 on stream {stream_id}")
        with self.lock:
            window = stream.send_window + increment
            if window <= MAX_WINDOW:
                stream.send_window = window
                stream.wake()
        if window > MAX_WINDOW:
            raise ProtocolError(
                ErrorCode.FLOW_CONTROL_ERROR,
                f"WINDOW on stream {stream_id} would raise the window to {window}, above {MAX_WINDOW}",
            )

    def _on_reset(self, stream_id: int, payload: bytes) -> None:
        code, message = decode_reset(payload)
        with self.lock:
            stream = self.streams.pop(stream_id, None)
            if stream is not None:
                stream.reset_code = code
                stream.reset_message = message
                stream.wake()
            idle = not self.streams
        if stream is None:
            self._check_known(stream_id, "RESET")
            return
        if code != ErrorCode.CANCEL and code != ErrorCode.NO_ERROR:
            log.info(
                "proxy reset stream %d: %s %s",
                stream_id,
                code_name(code),
                message,
                extra={"event": "stream_reset", "request_id": stream.request_id, "code": code_name(code)},
            )
        if idle and (self.draining or self.peer_goaway):
            self._close_gracefully()

    def _on_recall(self, stream_id: int) -> None:
        """SPEC §6.4: a queued stream goes back to the proxy (RESET REFUSED_STREAM); a started one goes on."""
        if "queue" not in self.features:
            raise ProtocolError(ErrorCode.UNKNOWN_FRAME_TYPE, "RECALL frame, but the queue feature is not in effect")
        with self.lock:
            stream = self.streams.get(stream_id)
            recalled = stream is not None and not stream.started
            if recalled:
                del self.streams[stream_id]
                stream.reset_code = ErrorCode.REFUSED_STREAM
                stream.reset_message = "recalled by the proxy before it started"
                stream.wake()
            idle = not self.streams
        if stream is None:
            self._check_known(stream_id, "RECALL")
            return
        if not recalled:
            return
        log.debug(
            "queued stream %d recalled by the proxy",
            stream_id,
            extra={"event": "stream_recalled", "request_id": stream.request_id},
        )
        self._write(frame(RESET, 0, stream_id, encode_reset(ErrorCode.REFUSED_STREAM, "recalled before it started")))
        if idle and (self.draining or self.peer_goaway):
            self._close_gracefully()

    def begin(self, stream: Stream) -> bool:
        """Marks a stream started, unless it was reset or recalled while it waited; False then."""
        with self.lock:
            if stream.reset_code is not None:
                return False
            stream.started = True
            return True

    def _on_ping(self, payload: bytes) -> None:
        out = frame(PONG, 0, 0, payload)
        if "health" in self.features:
            out += frame(HEALTH, 0, 0, self.owner.health())
        self._write(out)

    def _on_goaway(self, payload: bytes) -> None:
        last_stream, code, message = decode_goaway(payload)
        with self.lock:
            self.peer_goaway = True
            idle = not self.streams
        if code != ErrorCode.NO_ERROR:
            log.warning(
                "proxy closed the connection with %s: %s",
                code_name(code),
                message,
                extra={"event": "peer_goaway", "code": code_name(code), "peer": self.label},
            )
        if idle:
            self._close_gracefully()

    def _on_trailers(self, stream_id: int, payload: bytes) -> None:
        if "trailers" not in self.features:
            # SPEC §14.1 UNKNOWN_FRAME_TYPE: "a frame type that is not defined (or not negotiated)".
            raise ProtocolError(ErrorCode.UNKNOWN_FRAME_TYPE, "TRAILERS frame, but the trailers feature is not in effect")
        trailers = decode_trailers(payload)
        stream = self.streams.get(stream_id)
        if stream is None:
            self._check_known(stream_id, "TRAILERS")
            return
        with self.lock:
            closed = stream.remote_ended
            if not closed:
                if stream.input is not None:
                    stream.input.trailers = trailers
                stream.remote_ended = True
                stream.wake()
        if closed:
            self._stream_error(stream, ErrorCode.STREAM_CLOSED, f"TRAILERS on stream {stream_id} after END_STREAM")

    def _stream_error(self, stream: Stream, code: ErrorCode, message: str) -> None:
        """SPEC §14.3: RESET with the code; the connection and its other streams go on."""
        log.info(
            "stream error %s: %s",
            code.name,
            message,
            extra={"event": "stream_error", "code": code.name, "request_id": stream.request_id},
        )
        self.reset_stream(stream, code, message)

    # -- used by request threads ----------------------------------------------------------------

    def grant(self, stream: Stream, increment: int) -> None:
        """Gives the proxy `increment` more bytes of credit for the request body (SPEC §9)."""
        with self.lock:
            if stream.reset_code is not None or self.closed:
                return
            stream.recv_remaining += increment
        header = pack_header(4, WINDOW, 0, stream.id)
        self._write(header + pack_window_increment(increment))

    def try_credit(self, stream: Stream, want: int) -> int:
        """Takes up to `want` bytes of send credit without waiting; 0 if there is none."""
        with self.lock:
            if stream.reset_code is not None:
                raise StreamCancelled(stream.reset_code, stream.reset_message)
            window = stream.send_window
            if window <= 0:
                return 0
            take = want if want < window else window
            stream.send_window = window - take
            return take

    def wait_credit(self, stream: Stream, want: int) -> int:
        """Waits for send credit (a WINDOW from the proxy) and takes up to `want` bytes of it."""
        lock = self.lock
        with lock:
            while True:
                if stream.reset_code is not None:
                    raise StreamCancelled(stream.reset_code, stream.reset_message)
                window = stream.send_window
                if window > 0:
                    take = want if want < window else window
                    stream.send_window = window - take
                    return take
                if self._inline_thread == threading.get_ident() and not self._handover_wanted:
                    # Running inline on the reader: nobody reads the WINDOW we wait for. Hand over.
                    self._handover_wanted = True
                    self.owner.wake()
                if stream.cond is None:
                    stream.cond = threading.Condition(lock)
                stream.cond.wait()

    def send_stream_frames(self, stream: Stream, buffers: list[Any]) -> None:
        """Writes frames of an open stream; raises StreamCancelled if it was reset."""
        if stream.reset_code is not None:
            raise StreamCancelled(stream.reset_code, stream.reset_message)
        self._write_buffers(buffers)

    def finish_stream(self, stream: Stream, buffers: list[Any]) -> None:
        """Writes a stream's last frames (END_STREAM among them) and closes it (SPEC §6.2, §10)."""
        with self.lock:
            present = self.streams.pop(stream.id, None) is not None
            if present and not stream.remote_ended:
                # Early response: the body is still coming; tell the proxy to stop sending it.
                stream.reset_code = ErrorCode.NO_ERROR
                buffers.append(frame(RESET, 0, stream.id, encode_reset(ErrorCode.NO_ERROR)))
            idle = not self.streams
        if present and buffers:
            self._write_buffers(buffers)
        if idle and (self.draining or self.peer_goaway):
            self._close_gracefully()

    def reset_stream(self, stream: Stream, code: int, message: str = "", timeout: float | None = None) -> None:
        """Ends a stream with RESET (SPEC §10) unless it already ended."""
        with self.lock:
            present = self.streams.pop(stream.id, None) is not None
            if stream.reset_code is None:
                stream.reset_code = code
                stream.reset_message = message
            stream.wake()
            idle = not self.streams
        if present:
            try:
                self._write(frame(RESET, 0, stream.id, encode_reset(code, message)), timeout=timeout)
            except StreamCancelled:
                pass
        if idle and (self.draining or self.peer_goaway):
            self._close_gracefully()

    def send_file_frames(self, stream: Stream, fd: int, offset: int, size: int, end: bool, prefix: list[Any]) -> None:
        """DATA frames whose payload goes from a file straight to the socket with os.sendfile."""
        if stream.reset_code is not None:
            raise StreamCancelled(stream.reset_code, stream.reset_message)
        flags = END_STREAM if end else 0
        prefix.append(pack_header(size, DATA, flags, stream.id))
        with self._send_lock:
            if self.closed:
                raise StreamCancelled(ErrorCode.CANCEL, "the connection to the proxy closed")
            try:
                self._send_buffers_locked(prefix, more=True)
                sock_fd = self.sock.fileno()
                while size:
                    sent = os.sendfile(sock_fd, fd, offset, size)
                    if sent == 0:
                        raise OSError("file ended before its announced size")
                    offset += sent
                    size -= sent
            except OSError as error:
                self._write_failed(error)

    # -- draining -------------------------------------------------------------------------------

    def start_drain(self) -> None:
        """SPEC §11: GOAWAY NO_ERROR, finish streams up to last_stream, then close."""
        with self.lock:
            if self.draining or self.closed:
                return
            self.draining = True
            last = self.highest_id
            idle = not self.streams
        if self.state != _OPEN:
            self._close_gracefully()
            return
        try:
            self._write(frame(GOAWAY, 0, 0, encode_goaway(last, ErrorCode.NO_ERROR, "worker is draining")))
        except StreamCancelled:
            return
        if idle:
            self._close_gracefully()

    def _close_gracefully(self) -> None:
        """Half-closes: the peer reads what we sent, then EOF, and closes; our reader then sees EOF."""
        with self.lock:
            if self._closing or self.closed:
                return
            self._closing = True
        with self._send_lock:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def abort(self) -> None:
        """Closes at once (process exit after the grace period)."""
        self._closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- writing --------------------------------------------------------------------------------

    def _write(self, data: bytes, timeout: float | None = None) -> None:
        lock = self._send_lock
        if timeout is None:
            lock.acquire()
        elif not lock.acquire(timeout=timeout):
            raise StreamCancelled(ErrorCode.INTERNAL_ERROR, "could not write to the proxy in time")
        try:
            if self.closed:
                raise StreamCancelled(ErrorCode.CANCEL, "the connection to the proxy closed")
            self.sock.sendall(data)
        except OSError as error:
            self._write_failed(error)
        finally:
            lock.release()

    def _write_buffers(self, buffers: list[Any]) -> None:
        with self._send_lock:
            if self.closed:
                raise StreamCancelled(ErrorCode.CANCEL, "the connection to the proxy closed")
            try:
                self._send_buffers_locked(buffers)
            except OSError as error:
                self._write_failed(error)

    def _send_buffers_locked(self, buffers: list[Any], more: bool = False) -> None:
        count = len(buffers)
        if count == 1:
            data = buffers[0]
        else:
            data = b"".join(buffers) if sum(map(len, buffers)) <= JOIN_LIMIT else None
        if data is not None:
            if more:
                self.sock.sendall(data, socket.MSG_MORE)
            else:
                self.sock.sendall(data)
            return
        # Large: hand the kernel the list of buffers, no join (SPEC-neutral, saves a copy).
        sendmsg = self.sock.sendmsg
        views = [memoryview(buffer).cast("B") for buffer in buffers]
        index = 0
        flags = socket.MSG_MORE if more else 0
        while index < count:
            sent = sendmsg(views[index : index + IOV_MAX], (), flags)
            while sent:
                view = views[index]
                size = len(view)
                if sent >= size:
                    sent -= size
                    index += 1
                else:
                    views[index] = view[sent:]
                    sent = 0
            while index < count and not len(views[index]):
                index += 1

    def _write_failed(self, error: OSError) -> None:
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise StreamCancelled(ErrorCode.CANCEL, f"writing to the proxy failed: {error}") from None

    def active_streams(self) -> int:
        return len(self.streams)

