"""A small gatewire client that plays the proxy, written from protocol/SPEC.md alone.

It deliberately shares no code with gatewire_wsgi (only msgpack and the stdlib), so the tests
check the worker against the SPEC, not against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import queue
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import msgpack

PREFACE = b"GATEWIRE"
HEADER = struct.Struct(">IBBI")

HELLO, AUTH, REQUEST, RESPONSE, DATA, TRAILERS, WINDOW, RESET, GOAWAY, PING, PONG, HEALTH = range(1, 13)
END_STREAM = 1

NO_ERROR = 0
PROTOCOL_ERROR = 1
FLOW_CONTROL_ERROR = 3
FRAME_SIZE_ERROR = 4
BAD_PREFACE = 5
UNSUPPORTED_VERSION = 6
HANDSHAKE_ERROR = 7
AUTH_FAILED = 8
UNKNOWN_FRAME_TYPE = 9
BAD_PAYLOAD = 10
REFUSED_STREAM = 11
CANCEL = 12
STREAM_CLOSED = 13
TIMEOUT = 14
APP_ERROR = 15

TIMEOUT_S = 15.0


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(len(payload), frame_type, flags, stream_id) + payload


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def unpack(payload: bytes) -> Any:
    return msgpack.unpackb(payload, raw=False)


def proxy_hello(**overrides: Any) -> dict[str, Any]:
    hello: dict[str, Any] = {
        "version": 1,
        "role": "proxy",
        "max_frame_size": 262144,
        "initial_window": 262144,
        "max_streams": 0,
        "features": ["trailers", "health"],
        "nonce": os.urandom(32),
    }
    hello.update(overrides)
    return {key: value for key, value in hello.items() if value is not None}


def make_environ(
    method: str = "GET",
    target: bytes | str = b"/",
    headers: Iterable[tuple[bytes | str, bytes | str]] = (),
    body_length: int | None = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """An environ in the canonical key order of SPEC §7.2."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    path, _, query = target.partition(b"?")
    pairs = [
        [n.encode("latin-1") if isinstance(n, str) else n, v.encode("latin-1") if isinstance(v, str) else v]
        for n, v in headers
    ]
    if not any(name == b"host" for name, _ in pairs):
        pairs.insert(0, [b"host", b"example.test"])
    environ: dict[str, Any] = {
        "method": method,
        "target": target,
        "path": path,
        "query": query,
        "version": "HTTP/1.1",
        "headers": pairs,
        "scheme": "http",
        "client_addr": "127.0.0.1",
        "client_port": 40000,
        "server_addr": "127.0.0.1",
        "server_port": 8080,
        "server_name": "example.test",
        "request_id": overrides.pop("request_id", f"req-{os.urandom(4).hex()}"),
        "body_length": body_length,
    }
    environ.update(overrides)
    return environ


@dataclass
class Frame:
    type: int
    flags: int
    stream_id: int
    payload: bytes


@dataclass
class Response:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    reset: int | None = None
    reset_message: str = ""
    trailers: list[tuple[bytes, bytes]] | None = None
    frames: list[Frame] = field(default_factory=list)
    head: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class ConnectionClosed(Exception):
    pass


def recv_exact(sock: socket.socket, count: int) -> bytes:
    chunks = []
    while count:
        data = sock.recv(count)
        if not data:
            raise ConnectionClosed(f"connection closed with {count} bytes still expected")
        chunks.append(data)
        count -= len(data)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> Frame:
    length, frame_type, flags, stream_id = HEADER.unpack(recv_exact(sock, 10))
    return Frame(frame_type, flags, stream_id, recv_exact(sock, length) if length else b"")


def connect(address: str | tuple[str, int], timeout: float = TIMEOUT_S) -> socket.socket:
    if isinstance(address, tuple):
        sock = socket.create_connection(address, timeout=timeout)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
    return sock


def read_until_close(sock: socket.socket, timeout: float = TIMEOUT_S) -> list[Frame]:
    """Reads frames until the peer closes (raw tests); the preface must already be consumed."""
    sock.settimeout(timeout)
    frames = []
    try:
        while True:
            frames.append(read_frame(sock))
    except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
        pass
    return frames


class ProxyClient:
    """One connection to a worker, with a reader thread that sorts frames by stream."""

    def __init__(
        self,
        address: str | tuple[str, int],
        *,
        secret: bytes | None = None,
        hello: dict[str, Any] | None = None,
        auto_window: bool = True,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.address = address
        self.secret = secret
        self.timeout = timeout
        self.auto_window = auto_window
        self.sock = connect(address, timeout)
        self.our_hello = hello or proxy_hello()
        self.worker_hello: dict[str, Any] = {}
        self.streams: dict[int, queue.Queue[Frame | None]] = {}
        self.control: queue.Queue[Frame | None] = queue.Queue()
        self.send_windows: dict[int, int] = {}
        self.reset_streams: set[int] = set()
        self.window_cond = threading.Condition()
        self.next_id = 1
        self.closed = threading.Event()
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._handshake()

    # -- setup --------------------------------------------------------------------------------

    def _handshake(self) -> None:
        self.sock.sendall(PREFACE + frame(HELLO, 0, 0, pack(self.our_hello)))
        preface = recv_exact(self.sock, 8)
        assert preface == PREFACE, preface
        first = read_frame(self.sock)
        assert first.type == HELLO, first
        self.worker_hello = unpack(first.payload)
        if self.worker_hello.get("auth") == "hmac-sha256":
            assert self.secret is not None, "worker asks for auth but the test has no secret"
            nw, np_ = self.worker_hello["nonce"], self.our_hello["nonce"]
            proof = hmac.new(self.secret, b"gatewire-v1 proxy" + nw + np_, hashlib.sha256).digest()
            self.sock.sendall(frame(AUTH, 0, 0, pack({"proof": proof})))
            answer = read_frame(self.sock)
            if answer.type != AUTH:
                raise ConnectionClosed(f"expected AUTH, got frame type {answer.type}: {unpack(answer.payload)}")
            expected = hmac.new(self.secret, b"gatewire-v1 worker" + np_ + nw, hashlib.sha256).digest()
            assert hmac.compare_digest(unpack(answer.payload)["proof"], expected), "worker proof mismatch"
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    @property
    def max_streams(self) -> int:
        return int(self.worker_hello["max_streams"])

    def _read_loop(self) -> None:
        try:
            while True:
                received = read_frame(self.sock)
                if received.type in (RESPONSE, DATA, TRAILERS, RESET, WINDOW) and received.stream_id:
                    if received.type == WINDOW:
                        with self.window_cond:
                            (increment,) = struct.unpack(">I", received.payload)
                            self.send_windows[received.stream_id] = self.send_windows.get(received.stream_id, 0) + increment
                            self.window_cond.notify_all()
                        continue
                    if received.type == DATA and self.auto_window and received.payload:
                        self.send(frame(WINDOW, 0, received.stream_id, struct.pack(">I", len(received.payload))))
                    if received.type == RESET:
                        with self.window_cond:
                            self.reset_streams.add(received.stream_id)
                            self.window_cond.notify_all()
                    self.streams.setdefault(received.stream_id, queue.Queue()).put(received)
                else:
                    self.control.put(received)
        except (ConnectionClosed, OSError):
            pass
        finally:
            # Like a proxy (and node's default allowHalfOpen: false): the peer's EOF closes our side too.
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.closed.set()
            self.control.put(None)
            for stream_queue in list(self.streams.values()):
                stream_queue.put(None)
            with self.window_cond:
                self.window_cond.notify_all()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self) -> "ProxyClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

    def open_stream(self, environ: dict[str, Any], end_stream: bool, stream_id: int | None = None) -> int:
        if stream_id is None:
            stream_id = self.next_id
        self.next_id = stream_id + 2
        self.streams.setdefault(stream_id, queue.Queue())
        with self.window_cond:
            self.send_windows[stream_id] = self.send_windows.get(stream_id, 0) + int(self.worker_hello["initial_window"])
        self.send(frame(REQUEST, END_STREAM if end_stream else 0, stream_id, pack(environ)))
        return stream_id

    def send_body(self, stream_id: int, body: bytes, end: bool = True, chunk: int = 65536) -> None:
        """DATA within the worker's window and max_frame_size, waiting for WINDOW frames."""
        limit = min(chunk, int(self.worker_hello["max_frame_size"]))
        offset = 0
        while offset < len(body):
            with self.window_cond:
                deadline = time.monotonic() + self.timeout
                while self.send_windows.get(stream_id, 0) <= 0:
                    if stream_id in self.reset_streams:
                        return
                    if self.closed.is_set() or not self.window_cond.wait(deadline - time.monotonic()):
                        raise TimeoutError(f"no send window on stream {stream_id}")
                size = min(limit, len(body) - offset, self.send_windows[stream_id])
                self.send_windows[stream_id] -= size
            piece = body[offset : offset + size]
            offset += size
            self.send(frame(DATA, END_STREAM if end and offset == len(body) else 0, stream_id, piece))
        if end and not body:
            self.send(frame(DATA, END_STREAM, stream_id))

    def reset(self, stream_id: int, code: int = CANCEL, message: str = "") -> None:
        self.send(frame(RESET, 0, stream_id, pack({"code": code, "message": message} if message else {"code": code})))

    def ping(self, opaque: bytes = b"12345678") -> None:
        self.send(frame(PING, 0, 0, opaque))

    def goaway(self) -> None:
        self.send(frame(GOAWAY, 0, 0, pack({"last_stream": 0, "code": 0})))

    # -- receiving ----------------------------------------------------------------------------

    def next_frame(self, stream_id: int, timeout: float | None = None) -> Frame:
        item = self.streams.setdefault(stream_id, queue.Queue()).get(timeout=timeout or self.timeout)
        if item is None:
            raise ConnectionClosed(f"connection closed while waiting on stream {stream_id}")
        return item

    def next_control(self, timeout: float | None = None) -> Frame:
        item = self.control.get(timeout=timeout or self.timeout)
        if item is None:
            raise ConnectionClosed("connection closed")
        return item

    def read_response(self, stream_id: int, timeout: float | None = None) -> Response:
        """Collects RESPONSE, DATA… until END_STREAM or RESET."""
        response = Response()
        body = []
        while True:
            received = self.next_frame(stream_id, timeout)
            response.frames.append(received)
            if received.type == RESPONSE:
                head = unpack(received.payload)
                response.head = head
                response.status = head["status"]
                response.headers = [(bytes(n), bytes(v)) for n, v in head["headers"]]
                if received.flags & END_STREAM:
                    break
            elif received.type == DATA:
                body.append(received.payload)
                if received.flags & END_STREAM:
                    break
            elif received.type == TRAILERS:
                response.trailers = [(bytes(n), bytes(v)) for n, v in unpack(received.payload)]
                break
            elif received.type == RESET:
                fields = unpack(received.payload)
                response.reset = fields["code"]
                response.reset_message = fields.get("message", "")
                break
        response.body = b"".join(body)
        return response

    def expect_reset_after(self, stream_id: int, timeout: float = 2.0) -> int | None:
        """A RESET that follows a complete response (early response, SPEC §10), or None."""
        try:
            received = self.next_frame(stream_id, timeout)
        except (queue.Empty, ConnectionClosed):
            return None
        assert received.type == RESET, received
        return int(unpack(received.payload)["code"])

    def request(
        self,
        method: str = "GET",
        target: str | bytes = "/",
        headers: Iterable[tuple[bytes | str, bytes | str]] = (),
        body: bytes | None = None,
        chunked: bool = False,
        **environ_overrides: Any,
    ) -> Response:
        headers = list(headers)
        if body is not None and not chunked:
            headers.append(("content-length", str(len(body))))
        if body is None:
            body_length: int | None = 0
        else:
            body_length = None if chunked else len(body)
        environ = make_environ(method, target, headers, body_length, **environ_overrides)
        stream_id = self.open_stream(environ, end_stream=body is None)
        if body is not None:
            sender = threading.Thread(target=self._send_quietly, args=(stream_id, body), daemon=True)
            sender.start()
        response = self.read_response(stream_id)
        if body is not None:
            sender.join(self.timeout)
        return response

    def _send_quietly(self, stream_id: int, body: bytes) -> None:
        try:
            self.send_body(stream_id, body)
        except (OSError, TimeoutError):
            pass  # the worker answered early or reset the stream
