"""A WSGI app with one route per behaviour the tests check. Plain WSGI, no framework."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

IMPORTED_AT = time.time()
VERSION_FILE = os.environ.get("GW_TEST_VERSION_FILE")
VERSION = open(VERSION_FILE).read().strip() if VERSION_FILE else "none"

_close_calls = 0
_active = 0
_max_active = 0
_order = 0
_close_lock = threading.Lock()
_events: dict[str, threading.Event] = {}

StartResponse = Callable[..., Callable[[bytes], None]]


def _count_close() -> None:
    global _close_calls
    with _close_lock:
        _close_calls += 1


class Tracked:
    """An iterable whose close() is counted (PEP 3333: close() is always called)."""

    def __init__(self, chunks: Iterable[bytes], fail_at: int = -1, delay: float = 0.0) -> None:
        self.chunks = list(chunks)
        self.fail_at = fail_at
        self.delay = delay

    def __iter__(self):
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise RuntimeError("boom in the middle of the body")
            if self.delay:
                time.sleep(self.delay)
            yield chunk

    def close(self) -> None:
        _count_close()


def _query(environ: dict[str, Any]) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(environ["QUERY_STRING"]).items()}


def _text(start_response: StartResponse, body: bytes, status: str = "200 OK", extra: list | None = None) -> list[bytes]:
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))] + (extra or [])
    start_response(status, headers)
    return [body]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    query = _query(environ)

    if path == "/hello":
        return _text(start_response, b"Hello, World!")

    if path.startswith("/environ"):
        keys = {key: value for key, value in environ.items() if isinstance(value, (str, bool, int, tuple))}
        keys["wsgi.input.type"] = type(environ["wsgi.input"]).__name__
        keys["wsgi.errors.has_write"] = hasattr(environ["wsgi.errors"], "write")
        keys["has_file_wrapper"] = environ.get("wsgi.file_wrapper") is not None
        body = json.dumps(keys).encode()
        return _text(start_response, body, extra=[("Content-Type", "application/json")])

    if environ["REQUEST_METHOD"] == "OPTIONS":
        # The protocol vectors' sequences send OPTIONS * and require an echo app that has not
        # finished when a DATA sent right behind the REQUEST arrives: echo, a moment later.
        time.sleep(0.05)
        body = environ["wsgi.input"].read()
        return _text(start_response, body)

    if path == "/echo":
        mode = query.get("mode", "all")
        stream = environ["wsgi.input"]
        if mode == "all":
            body = stream.read()
        elif mode == "chunks":
            size = int(query.get("size", "1000"))
            parts = []
            while True:
                part = stream.read(size)
                if not part:
                    break
                assert len(part) <= size
                parts.append(part)
            body = b"".join(parts)
        elif mode == "lines":
            body = b"".join(stream.readline() for _ in range(int(query.get("n", "3"))))
            body += b"|" + stream.read()
        elif mode == "readlines":
            body = b"".join(stream.readlines())
        elif mode == "iter":
            body = b"".join(line for line in stream)
        elif mode == "slow":
            parts = []
            while True:
                part = stream.read(int(query.get("size", "65536")))
                if not part:
                    break
                parts.append(part)
                time.sleep(float(query.get("delay", "0.01")))
            body = b"".join(parts)
        else:
            raise ValueError(mode)
        trailers = getattr(stream, "trailers", None)
        extra = [("X-Content-Length", environ.get("CONTENT_LENGTH", "absent"))]
        if trailers:
            extra.append(("X-Trailers", ";".join(f"{n.decode()}={v.decode()}" for n, v in trailers)))
        return _text(start_response, body, extra=extra)

    if path == "/ignore-body":
        return _text(start_response, b"did not read")

    if path == "/stream":
        count = int(query.get("n", "3"))
        size = int(query.get("size", "5"))
        delay = float(query.get("delay", "0"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked([bytes([65 + i % 26]) * size for i in range(count)], delay=delay)

    if path == "/big":
        size = int(query["size"])
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        return [os.urandom(16) * (size // 16) + b"x" * (size % 16)]

    if path == "/big-generator":
        size = int(query["size"])
        chunk = int(query.get("chunk", "100000"))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def generate():
            sent = 0
            while sent < size:
                piece = min(chunk, size - sent)
                sent += piece
                yield b"z" * piece

        return generate()

    if path == "/sleep":
        time.sleep(float(query.get("s", "1")))
        return _text(start_response, b"slept")

    if path == "/wait-event":
        # Blocks until /set-event?name= is called (or 10 s pass).
        name = query["name"]
        event = _events.setdefault(name, threading.Event())
        event.wait(10)
        return _text(start_response, b"event " + name.encode())

    if path == "/set-event":
        _events.setdefault(query["name"], threading.Event()).set()
        return _text(start_response, b"set")

    if path == "/order":
        # Which request this is since ?reset=1 (after sleeping ?s=): the order requests start in.
        global _order
        with _close_lock:
            _order = 0 if "reset" in query else _order + 1
            position = _order
        time.sleep(float(query.get("s", "0")))
        return _text(start_response, str(position).encode())

    if path == "/event-is-set":
        return _text(start_response, b"yes" if _events.get(query["name"], threading.Event()).is_set() else b"no")

    if path == "/block-on-input":
        try:
            environ["wsgi.input"].read()
        except OSError as error:
            _events.setdefault("input-error", threading.Event()).set()
            environ["wsgi.errors"].write(f"input raised {type(error).__name__}: {error}\n")
            raise
        return _text(start_response, b"got input")

    if path == "/input-error-seen":
        seen = _events.setdefault("input-error", threading.Event()).wait(float(query.get("wait", "5")))
        return _text(start_response, b"yes" if seen else b"no")

    if path == "/error-before":
        raise RuntimeError("boom before the head")

    if path == "/error-after":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked([b"first chunk", b"never"], fail_at=1)

    if path == "/exc-info":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("recoverable")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")], sys.exc_info())
        return [b"replaced"]

    if path == "/exc-info-late":
        import sys

        def generate():
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"head is out"
            try:
                raise ValueError("too late")
            except ValueError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            yield b"unreachable"

        return generate()

    if path == "/start-twice":
        start_response("200 OK", [])
        start_response("200 OK", [])
        return [b"x"]

    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"directly ")
        return Tracked([b"then iterated"])

    if path == "/file":
        file = open(query["path"], "rb")
        size = os.fstat(file.fileno()).st_size
        headers = [("Content-Type", "application/octet-stream")]
        if query.get("cl", "1") == "1":
            headers.append(("Content-Length", str(size)))
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](file, 65536)

    if path == "/file-nofd":
        data = b"0123456789" * int(query.get("n", "1000"))
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))])
        return environ["wsgi.file_wrapper"](io.BytesIO(data), 4096)

    if path == "/close-count":
        return _text(start_response, str(_close_calls).encode())

    if path == "/cl-short":
        start_response("200 OK", [("Content-Length", "10")])
        return Tracked([b"12345"])

    if path == "/cl-long":
        start_response("200 OK", [("Content-Length", "5")])
        return [b"1234567890"]

    if path == "/no-start":
        return []

    if path == "/empty":
        start_response("204 No Content", [])
        return [b"ignored body"]

    if path == "/status":
        start_response(query.get("s", "200 OK"), [("Content-Length", "2")])
        return [b"ok"]

    if path == "/headers":
        start_response(
            "200 OK",
            [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Latin", "caf\u00e9"), ("Content-Length", "0")],
        )
        return []

    if path == "/bad-header":
        start_response("200 OK", [("X-Bad", "\u20ac")])
        return [b"x"]

    if path == "/str-body":
        start_response("200 OK", [])
        return ["not bytes"]

    if path == "/thread":
        environ["wsgi.input"].read()
        return _text(start_response, threading.current_thread().name.encode())

    if path == "/concurrency":
        # Sleeps while counting how many requests are in here at once.
        global _active, _max_active
        with _close_lock:
            _active += 1
            _max_active = max(_max_active, _active)
        time.sleep(float(query.get("s", "0.2")))
        with _close_lock:
            _active -= 1
        return _text(start_response, str(_max_active).encode())

    if path == "/version":
        return _text(start_response, f"{VERSION} {os.getpid()} {IMPORTED_AT}".encode())

    if path == "/pid":
        return _text(start_response, str(os.getpid()).encode())

    if path == "/wait-file":
        # Writes this process's pid to ?started= (a file), then blocks until the file ?release= exists
        # (at most 30 s): a request a test outside the process holds and releases deterministically.
        started, release = query["started"], query["release"]
        with open(started + ".tmp", "w") as marker:
            marker.write(str(os.getpid()))
        os.rename(started + ".tmp", started)
        deadline = time.monotonic() + 30
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.005)
        return _text(start_response, str(os.getpid()).encode())

    if path == "/spin":
        # Holds the GIL-free CPU in Python code: the in-process watchdog still runs.
        deadline = time.time() + float(query.get("s", "30"))
        while time.time() < deadline:
            pass
        return _text(start_response, b"spun")

    return _text(start_response, b"not found: " + path.encode("latin-1"), status="404 Not Found")
