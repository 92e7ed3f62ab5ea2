"""The conformance app for the Python worker: the route contract of test/conformance/README.md
as a WSGI application (PEP 3333).

    python3 -m gatewire_wsgi conformance_app:application --socket "$GATEWIRE_SOCKET" \
        --threads 4 --chdir test/conformance/apps

The suite knows what each route does, so it can tell a worker bug from an app answer. Keep it in
step with conformance-app.ts, its fetch twin. WSGI has no API for upgrades or trailers: /tunnel
answers 426, and the suite skips those checks for this app with that reason.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs

# Ids /wait (and /bytes?id=) have seen, and those whose request was cancelled (SPEC §10).
_lock = threading.Lock()
_started: set[str] = set()
_cancelled: set[str] = set()

# Byte i of /bytes is i mod 251; a chunk of 251 * 256 bytes always starts at pattern offset 0.
_CHUNK = bytes(i % 251 for i in range(251 * 256))

# How long /wait waits when nobody cancels it (a bound, so that nothing hangs forever), and how
# often it lets the worker check for a cancellation.
_WAIT_LIMIT_S = 30.0
_TICK_S = 0.02

_READ_SIZE = 16384

# OPTIONS (the vectors' sequences send OPTIONS *) is an echo that ends its response only this long
# after the request body ended, so that the stream is still open when the script's next frames
# arrive (protocol/vectors/README.md, `requires`).
_OPTIONS_LINGER_S = 0.1


def _text(start_response, body: str, status: str = "200 OK"):
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


def _query(environ) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}


def _mark(collection: set[str], key: str) -> None:
    with _lock:
        collection.add(key)


def _echo(environ, start_response, linger: float = 0.0):
    stream = environ["wsgi.input"]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def body():
        while True:
            chunk = stream.read(_READ_SIZE)
            if not chunk:
                break
            yield chunk
        if linger:
            time.sleep(linger)

    return body()


def _bytes(start_response, n: int, ident: str | None):
    if ident:
        _mark(_started, ident)
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(n))])

    def body():
        sent = 0
        try:
            while sent < n:
                size = min(len(_CHUNK), n - sent)
                yield _CHUNK if size == len(_CHUNK) else _CHUNK[:size]
                sent += size
        finally:
            # The worker stops iterating and closes the iterable when the stream is reset.
            if sent < n and ident:
                _mark(_cancelled, ident)

    return body()


def _wait(start_response, ident: str):
    _mark(_started, ident)

    def body():
        finished = False
        try:
            deadline = time.monotonic() + _WAIT_LIMIT_S
            while time.monotonic() < deadline:
                time.sleep(_TICK_S)
                # An empty chunk sends nothing (PEP 3333) but lets the worker notice a RESET.
                yield b""
            finished = True
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            yield b"waited"
        finally:
            if not finished:
                _mark(_cancelled, ident)

    return body()


def _environ(environ, start_response):
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append([key[5:].lower().replace("_", "-"), value])
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append([key.lower().replace("_", "-"), value])
    port = environ.get("REMOTE_PORT")
    seen = {
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING"),
        "headers": headers,
        "client_addr": environ.get("REMOTE_ADDR"),
        "client_port": int(port) if port and port.isdigit() else port,
        "scheme": environ.get("wsgi.url_scheme"),
        "server_name": environ.get("SERVER_NAME"),
        "request_id": environ.get("gatewire.request_id"),
    }
    data = json.dumps(seen).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    query = _query(environ)
    if method == "OPTIONS":
        return _echo(environ, start_response, _OPTIONS_LINGER_S)
    if path == "/echo":
        return _echo(environ, start_response)
    if path == "/hello":
        return _text(start_response, "Hello, World!")
    if path == "/bytes":
        return _bytes(start_response, int(query.get("n", "0")), query.get("id"))
    if path == "/slow":
        ms = int(query.get("ms", "0"))
        time.sleep(ms / 1000)
        return _text(start_response, f"slept {ms} ms")
    if path == "/wait":
        return _wait(start_response, query.get("id", ""))
    if path == "/started":
        with _lock:
            answer = "yes" if query.get("id", "") in _started else "no"
        return _text(start_response, answer)
    if path == "/cancelled":
        with _lock:
            answer = "yes" if query.get("id", "") in _cancelled else "no"
        return _text(start_response, answer)
    if path == "/environ":
        return _environ(environ, start_response)
    if path == "/tunnel":
        return _text(start_response, "WSGI has no upgrade API", "426 Upgrade Required")
    if path == "/error":
        raise RuntimeError("the conformance app fails on purpose")
    return _text(start_response, "not found", "404 Not Found")
