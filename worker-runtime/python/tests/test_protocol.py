"""The connection protocol against a real worker process (SPEC §3–§12, §14)."""

from __future__ import annotations

import queue
import socket
import struct
import time
import uuid
from typing import Any

import msgpack
import pytest

import gwclient as g
from conftest import WorkerProcess, wait_until
from gwclient import ProxyClient, frame, make_environ, pack, proxy_hello, unpack
from gatewire_wsgi.config import default_name

Shared = tuple[WorkerProcess, str]


def name() -> str:
    return uuid.uuid4().hex[:12]


def raw_session(path: str, hello: dict[str, Any] | None = None) -> socket.socket:
    """Preface + HELLO both ways, by hand; returns the socket positioned after the worker's HELLO."""
    sock = g.connect(path)
    sock.sendall(g.PREFACE + frame(g.HELLO, 0, 0, pack(hello or proxy_hello())))
    assert g.recv_exact(sock, 8) == g.PREFACE
    assert g.read_frame(sock).type == g.HELLO
    return sock


def goaway_of(frames: list[g.Frame]) -> dict[str, Any]:
    goaways = [unpack(f.payload) for f in frames if f.type == g.GOAWAY]
    assert goaways, f"no GOAWAY among {frames}"
    return goaways[-1]


def assert_still_serving(path: str) -> None:
    with ProxyClient(path) as client:
        assert client.request("GET", "/hello").body == b"Hello, World!"


# -- handshake ----------------------------------------------------------------------------------


def test_worker_sends_preface_and_hello_without_waiting(shared_worker: Shared) -> None:
    worker, path = shared_worker
    sock = g.connect(path)
    try:
        assert g.recv_exact(sock, 8) == b"GATEWIRE"  # we sent nothing yet
        hello = g.read_frame(sock)
        assert (hello.type, hello.flags, hello.stream_id) == (g.HELLO, 0, 0)
        fields = msgpack.unpackb(hello.payload, raw=True)
        assert fields[b"version"] == 1
        assert fields[b"role"] == b"worker"
        assert fields[b"max_streams"] == 4  # --threads 4, --backlog 0
        assert fields[b"concurrency"] == 4  # the threads: streams it runs at once (SPEC §6.4)
        assert 65536 <= fields[b"max_frame_size"] <= 16777215
        assert 1024 <= fields[b"initial_window"] <= 2147483647
        assert set(fields[b"features"]) >= {b"trailers", b"health"}
        assert 16 <= len(fields[b"nonce"]) <= 64
        assert fields[b"pid"] == worker.pid
        assert fields[b"name"] == default_name("testapp").encode()
        assert b"auth" not in fields  # Unix socket, no GATEWIRE_SECRET
        # wire types: nonce is bin, role/server str (raw=True keeps both as bytes, so check the bytes)
        assert b"\xa5nonce\xc4" in hello.payload
        assert b"\xa4role\xa6worker" in hello.payload
    finally:
        sock.close()


def test_nonce_is_fresh_per_connection(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as first, ProxyClient(path) as second:
        assert first.worker_hello["nonce"] != second.worker_hello["nonce"]


def test_ping_pong_and_health(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as client:
        client.request("GET", "/hello")
        client.ping(b"\x00\x01\x02\x03\x04\x05\x06\x07")
        pong = client.next_control()
        assert (pong.type, pong.payload) == (g.PONG, b"\x00\x01\x02\x03\x04\x05\x06\x07")
        health_frame = client.next_control()
        assert health_frame.type == g.HEALTH and health_frame.stream_id == 0
        health = unpack(health_frame.payload)
        assert health["rss"] > 1_000_000
        assert health["in_flight"] == 0
        assert health["uptime_s"] > 0
        assert set(health) <= {"rss", "heap_used", "loop_lag_ms", "requests", "in_flight", "uptime_s"}

        def counted() -> bool:
            # The count moves once the request thread is done (after close()), a moment after END_STREAM.
            client.ping()
            assert client.next_control().type == g.PONG
            return unpack(client.next_control().payload)["requests"] >= 1

        wait_until(counted, 10)


def test_no_health_frame_without_the_feature(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path, hello=proxy_hello(features=[])) as client:
        client.ping()
        assert client.next_control().type == g.PONG
        with pytest.raises(queue.Empty):
            client.next_control(timeout=0.3)


# -- connection errors: GOAWAY with the code, connection closed, a log line, process alive -------


def _bad_request_environ() -> bytes:
    environ = make_environ("GET", "/hello")
    environ["path"] = "/hello"  # str where the SPEC says bin
    return pack(environ)


HANDSHAKE_CASES: dict[str, tuple[bytes, int]] = {
    "http-client": (b"GET / HTTP/1.1\r\nHost: worker\r\n\r\n", g.BAD_PREFACE),
    "first-frame-not-hello": (g.PREFACE + frame(g.PING, 0, 0, b"12345678"), g.HANDSHAKE_ERROR),
    "hello-version-2": (g.PREFACE + frame(g.HELLO, 0, 0, pack(proxy_hello(version=2))), g.UNSUPPORTED_VERSION),
    "hello-role-worker": (g.PREFACE + frame(g.HELLO, 0, 0, pack(proxy_hello(role="worker", max_streams=1))), g.HANDSHAKE_ERROR),
    "hello-not-msgpack": (g.PREFACE + frame(g.HELLO, 0, 0, b"\xc1\xc1"), g.HANDSHAKE_ERROR),
    "hello-missing-nonce": (g.PREFACE + frame(g.HELLO, 0, 0, pack(proxy_hello(nonce=None))), g.HANDSHAKE_ERROR),
    # The worker sends its HELLO first thing, so its advertised limit (262144) applies at once.
    "hello-oversized": (g.PREFACE + g.HEADER.pack(262145, g.HELLO, 0, 0), g.FRAME_SIZE_ERROR),
}


@pytest.mark.parametrize("case", sorted(HANDSHAKE_CASES))
def test_handshake_errors(shared_worker: Shared, case: str) -> None:
    worker, path = shared_worker
    data, code = HANDSHAKE_CASES[case]
    sock = g.connect(path)
    try:
        sock.sendall(data)
        assert g.recv_exact(sock, 8) == g.PREFACE
        frames = g.read_until_close(sock)
    finally:
        sock.close()
    assert frames[0].type == g.HELLO
    goaway = goaway_of(frames)
    assert goaway["code"] == code, goaway
    if case == "http-client":
        assert "GET / HTTP/1.1" in goaway["message"]  # the message quotes what was seen
    assert_still_serving(path)
    wait_until(lambda: any(e.get("code") == goaway_name(code) for e in worker.events_named("connection_error")))


def goaway_name(code: int) -> str:
    from gatewire_wsgi.errors import ErrorCode

    return ErrorCode(code).name


OPEN_CASES: dict[str, tuple[bytes, int]] = {
    "unknown-frame-type": (g.HEADER.pack(0, 0x0E, 0, 0), g.UNKNOWN_FRAME_TYPE),
    "oversized-frame": (g.HEADER.pack(262145, g.DATA, 0, 1), g.FRAME_SIZE_ERROR),
    "ping-7-bytes": (frame(g.PING, 0, 0, b"1234567"), g.FRAME_SIZE_ERROR),
    "window-3-bytes": (frame(g.WINDOW, 0, 1, b"\x00\x00\x01"), g.FRAME_SIZE_ERROR),
    "reserved-flag": (frame(g.PING, 0x02, 0, b"12345678"), g.PROTOCOL_ERROR),
    "end-stream-on-ping": (frame(g.PING, g.END_STREAM, 0, b"12345678"), g.PROTOCOL_ERROR),
    "request-on-stream-0": (frame(g.REQUEST, 1, 0, pack(make_environ())), g.PROTOCOL_ERROR),
    "ping-on-stream-1": (frame(g.PING, 0, 1, b"12345678"), g.PROTOCOL_ERROR),
    "stream-id-not-increasing": (
        frame(g.REQUEST, 1, 3, pack(make_environ("GET", "/hello"))) + frame(g.REQUEST, 1, 3, pack(make_environ())),
        g.PROTOCOL_ERROR,
    ),
    "data-on-unopened-stream": (frame(g.DATA, 0, 5, b"x"), g.PROTOCOL_ERROR),
    "window-on-unopened-stream": (frame(g.WINDOW, 0, 5, b"\x00\x00\x00\x01"), g.PROTOCOL_ERROR),
    "response-from-proxy": (frame(g.RESPONSE, 1, 1, pack({"status": 200, "headers": []})), g.PROTOCOL_ERROR),
    "health-from-proxy": (frame(g.HEALTH, 0, 0, pack({})), g.PROTOCOL_ERROR),
    "second-hello": (frame(g.HELLO, 0, 0, pack(proxy_hello())), g.HANDSHAKE_ERROR),
    "auth-not-asked-for": (frame(g.AUTH, 0, 0, pack({"proof": b"p" * 32})), g.PROTOCOL_ERROR),
    "environ-not-msgpack": (frame(g.REQUEST, 1, 1, b"\x8f\xc1"), g.BAD_PAYLOAD),
    "environ-str-for-bin": (frame(g.REQUEST, 1, 1, _bad_request_environ()), g.BAD_PAYLOAD),
    "environ-ext-type": (frame(g.REQUEST, 1, 1, pack({**make_environ(), "x": msgpack.ExtType(1, b"")})), g.BAD_PAYLOAD),
    "environ-missing-key": (frame(g.REQUEST, 1, 1, pack({"method": "GET"})), g.BAD_PAYLOAD),
    "reset-bad-payload": (
        frame(g.REQUEST, 1, 1, pack(make_environ("GET", "/hello"))) + frame(g.RESET, 0, 1, b"\x91\x01"),
        g.BAD_PAYLOAD,
    ),
    "goaway-bad-payload": (frame(g.GOAWAY, 0, 0, pack({"code": "x"})), g.BAD_PAYLOAD),
}


@pytest.mark.parametrize("case", sorted(OPEN_CASES))
def test_connection_errors_after_handshake(shared_worker: Shared, case: str) -> None:
    worker, path = shared_worker
    data, code = OPEN_CASES[case]
    sock = raw_session(path)
    try:
        sock.sendall(data)
        frames = g.read_until_close(sock)
    finally:
        sock.close()
    goaway = goaway_of(frames)
    assert goaway["code"] == code, goaway
    assert isinstance(goaway["last_stream"], int)
    assert_still_serving(path)


def test_flow_control_errors(shared_worker: Shared) -> None:
    _, path = shared_worker
    event = name()
    for payload_builder, label in (
        (lambda: frame(g.WINDOW, 0, 1, struct.pack(">I", 0)), "increment 0"),
        (lambda: frame(g.WINDOW, 0, 1, struct.pack(">I", 2**31 - 1)), "window overflow"),
        (lambda: frame(g.DATA, 0, 1, b"x" * 262144) + frame(g.DATA, 0, 1, b"y"), "data beyond the window"),
    ):
        sock = raw_session(path)
        try:
            # The app waits on an event and never reads its body: the window stays as granted.
            sock.sendall(frame(g.REQUEST, 0, 1, pack(make_environ("POST", f"/wait-event?name={event}", body_length=None))))
            sock.sendall(payload_builder())
            frames = g.read_until_close(sock)
        finally:
            sock.close()
        assert goaway_of(frames)["code"] == g.FLOW_CONTROL_ERROR, label
        assert goaway_of(frames)["last_stream"] == 1
    with ProxyClient(path) as client:
        client.request("GET", f"/set-event?name={event}")


def test_hostile_bytes_never_kill_the_process(shared_worker: Shared) -> None:
    worker, path = shared_worker
    import random

    rng = random.Random(1234)
    for _ in range(30):
        sock = raw_session(path)
        try:
            sock.sendall(bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))))
            # Bytes that form a valid frame prefix leave the worker waiting for the rest: EOF ends it.
            sock.shutdown(socket.SHUT_WR)
            g.read_until_close(sock, timeout=5)
        finally:
            sock.close()
    assert worker.proc.poll() is None
    assert_still_serving(path)


# -- streams --------------------------------------------------------------------------------------


def test_refused_stream_beyond_max_streams(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as client:
        # Four streams (max_streams) whose app threads wait for the rest of their bodies.
        ids = [client.open_stream(make_environ("POST", "/echo", body_length=None), False) for _ in range(4)]
        extra = client.open_stream(make_environ("GET", "/hello"), True)
        refused = client.next_frame(extra)
        assert refused.type == g.RESET and unpack(refused.payload)["code"] == g.REFUSED_STREAM
        for stream_id in ids:
            client.send(frame(g.DATA, g.END_STREAM, stream_id, b"done"))
        for stream_id in ids:
            assert client.read_response(stream_id).body == b"done"
        # The connection is fine and the refused stream was never processed.
        assert client.request("GET", "/hello").status == 200


def test_concurrent_streams_multiplex(shared_worker: Shared) -> None:
    _, path = shared_worker
    event = name()
    with ProxyClient(path) as client:
        slow = client.open_stream(make_environ("GET", f"/wait-event?name={event}"), True)
        # Three more complete while the first one waits.
        for _ in range(3):
            assert client.request("GET", "/hello").status == 200
        client.request("GET", f"/set-event?name={event}")
        assert client.read_response(slow).body == f"event {event}".encode()


def test_cancel_makes_input_raise_and_nothing_more_is_sent(shared_worker: Shared) -> None:
    worker, path = shared_worker
    with ProxyClient(path) as client:
        stream_id = client.open_stream(make_environ("POST", "/block-on-input", body_length=None), False)
        client.send(frame(g.DATA, 0, stream_id, b"partial"))
        time.sleep(0.1)
        client.reset(stream_id, g.CANCEL, "client went away")
        assert client.request("GET", "/input-error-seen").body == b"yes"
        with pytest.raises(queue.Empty):
            client.next_frame(stream_id, timeout=0.3)  # SPEC §10: the worker sends nothing more
        assert client.request("GET", "/hello").status == 200


def test_cancel_stops_a_streaming_response_and_close_is_called(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as client:
        before = int(client.request("GET", "/close-count").body)
        stream_id = client.open_stream(make_environ("GET", "/stream?n=500&size=10&delay=0.01"), True)
        assert client.next_frame(stream_id).type == g.RESPONSE
        assert client.next_frame(stream_id).type == g.DATA
        client.reset(stream_id, g.CANCEL)
        wait_until(lambda: int(client.request("GET", "/close-count").body) == before + 1, 10)
        # Frames already in flight may still come; then the stream goes quiet, never reaching 500 chunks.
        received = 0
        try:
            while True:
                item = client.next_frame(stream_id, timeout=0.5)
                assert not item.flags & g.END_STREAM
                received += 1
        except queue.Empty:
            pass
        assert received < 100


def test_early_response_is_followed_by_reset_no_error(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as client:
        stream_id = client.open_stream(
            make_environ("POST", "/ignore-body", [("content-length", "1000000")], body_length=1000000), False
        )
        client.send(frame(g.DATA, 0, stream_id, b"x" * 1000))
        response = client.read_response(stream_id)
        assert response.body == b"did not read"
        assert client.expect_reset_after(stream_id) == g.NO_ERROR


def test_response_respects_our_window_and_frame_size(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path, hello=proxy_hello(initial_window=1024, max_frame_size=65536), auto_window=False) as client:
        stream_id = client.open_stream(make_environ("GET", "/big?size=200000"), True)
        head = client.next_frame(stream_id)
        assert head.type == g.RESPONSE
        received = 0
        while received < 1024:
            data = client.next_frame(stream_id)
            assert data.type == g.DATA
            received += len(data.payload)
        assert received == 1024
        with pytest.raises(queue.Empty):
            client.next_frame(stream_id, timeout=0.3)  # no credit, no DATA
        client.send(frame(g.WINDOW, 0, stream_id, struct.pack(">I", 200000)))
        while True:
            data = client.next_frame(stream_id)
            assert data.type == g.DATA and len(data.payload) <= 65536
            received += len(data.payload)
            if data.flags & g.END_STREAM:
                break
        assert received == 200000


def test_request_body_credit_is_granted_as_the_app_reads(shared_worker: Shared) -> None:
    _, path = shared_worker
    event = name()
    with ProxyClient(path) as client:
        initial = int(client.worker_hello["initial_window"])
        stream_id = client.open_stream(
            make_environ("POST", f"/wait-event?name={event}", [("content-length", str(initial * 3))], body_length=initial * 3),
            False,
        )
        client.send_body(stream_id, b"a" * initial, end=False)
        time.sleep(0.3)
        assert client.send_windows[stream_id] == 0  # the app has not read: no WINDOW
        client.request("GET", f"/set-event?name={event}")
        client.read_response(stream_id)
        # …and a body far larger than the window goes through when the app reads it.
        body = bytes(range(256)) * 4096 * 3  # 3 MiB
        response = client.request("POST", "/echo?mode=chunks&size=100000", body=body)
        assert response.body == body


def test_frames_for_closed_streams_are_ignored(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as client:
        first = client.open_stream(make_environ("GET", "/hello"), True)
        assert client.read_response(first).status == 200
        client.send(frame(g.WINDOW, 0, first, struct.pack(">I", 10)) + frame(g.RESET, 0, first, pack({"code": 12})))
        assert client.request("GET", "/hello").status == 200
        assert not client.closed.is_set()


def test_data_after_end_stream_is_a_stream_error(shared_worker: Shared) -> None:
    _, path = shared_worker
    event = name()
    with ProxyClient(path) as client:
        stream_id = client.open_stream(make_environ("GET", f"/wait-event?name={event}"), True)
        client.send(frame(g.DATA, 0, stream_id, b"late"))
        reset = client.next_frame(stream_id)
        assert reset.type == g.RESET and unpack(reset.payload)["code"] == g.STREAM_CLOSED
        client.request("GET", f"/set-event?name={event}")
        assert client.request("GET", "/hello").status == 200  # the connection goes on


def test_request_trailers_reach_the_input(shared_worker: Shared) -> None:
    _, path = shared_worker
    with ProxyClient(path) as client:
        stream_id = client.open_stream(make_environ("POST", "/echo", body_length=None), False)
        client.send(frame(g.DATA, 0, stream_id, b"chunked body"))
        client.send(frame(g.TRAILERS, g.END_STREAM, stream_id, pack([[b"x-checksum", b"abc"]])))
        response = client.read_response(stream_id)
        assert response.body == b"chunked body"
        assert response.header("x-trailers") == "x-checksum=abc"
        assert response.header("x-content-length") == "absent"


def test_trailers_without_the_feature_are_refused(shared_worker: Shared) -> None:
    _, path = shared_worker
    sock = raw_session(path, proxy_hello(features=[]))
    try:
        sock.sendall(frame(g.REQUEST, 0, 1, pack(make_environ("POST", "/echo", body_length=None))))
        sock.sendall(frame(g.TRAILERS, g.END_STREAM, 1, pack([])))
        frames = g.read_until_close(sock)
    finally:
        sock.close()
    assert goaway_of(frames)["code"] == g.UNKNOWN_FRAME_TYPE


def test_proxy_goaway_closes_when_idle(shared_worker: Shared) -> None:
    _, path = shared_worker
    event = name()
    with ProxyClient(path) as client:
        stream_id = client.open_stream(make_environ("GET", f"/wait-event?name={event}"), True)
        client.goaway()
        time.sleep(0.2)
        assert not client.closed.is_set()  # a stream is still active
        with ProxyClient(path) as other:
            other.request("GET", f"/set-event?name={event}")
        assert client.read_response(stream_id).status == 200
        assert client.closed.wait(10)
