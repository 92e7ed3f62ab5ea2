"""PEP 3333 semantics through a real worker: environ, wsgi.input, start_response, write(),
iterables, close(), file_wrapper, errors (SPEC §7, §8, §10)."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

import gwclient as g
from conftest import WorkerProcess, wait_until
from gwclient import ProxyClient, frame, make_environ, proxy_hello, unpack

Shared = tuple[WorkerProcess, str]


@pytest.fixture
def client(shared_worker: Shared):
    with ProxyClient(shared_worker[1]) as connection:
        yield connection


def close_count(client: ProxyClient) -> int:
    return int(client.request("GET", "/close-count").body)


def test_environ(client: ProxyClient) -> None:
    response = client.request(
        "GET",
        b"/mnt/environ/a%2Fb/caf%C3%A9%FF?q=%20x&y",
        headers=[
            ("host", "example.test:8080"),
            ("accept", "text/html"),
            ("accept", "*/*"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
            ("x-forwarded-for", "198.51.100.7"),
            ("content-type", "text/plain"),
        ],
        script_name=b"/mnt",
        scheme="https",
        client_addr="198.51.100.7",
        client_port=50123,
        server_port=8443,
        request_id="req-environ-1",
    )
    environ = json.loads(response.body)
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == "/mnt"
    assert environ["PATH_INFO"] == "/environ/a/b/caf\u00c3\u00a9\u00ff"  # percent-decoded bytes, then latin-1
    assert environ["QUERY_STRING"] == "q=%20x&y"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_NAME"] == "example.test"
    assert environ["SERVER_PORT"] == "8443"
    assert environ["REMOTE_ADDR"] == "198.51.100.7"
    assert environ["REMOTE_PORT"] == "50123"
    assert environ["HTTP_HOST"] == "example.test:8080"
    assert environ["HTTP_ACCEPT"] == "text/html, */*"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.7"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert "CONTENT_LENGTH" not in environ
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    assert environ["wsgi.errors.has_write"] is True
    assert environ["has_file_wrapper"] is True
    assert environ["gatewire.request_id"] == "req-environ-1"


BODY = b"line one\nline two\n\nlast line without newline"


@pytest.mark.parametrize("mode", ["all", "chunks", "lines", "readlines", "iter"])
@pytest.mark.parametrize("framing", ["whole", "one-byte-frames", "chunked"])
def test_input_reading(client: ProxyClient, mode: str, framing: str) -> None:
    target = f"/echo?mode={mode}&size=7&n=3"
    chunked = framing == "chunked"
    headers = [] if chunked else [("content-length", str(len(BODY)))]
    stream_id = client.open_stream(make_environ("POST", target, headers, None if chunked else len(BODY)), False)
    if framing == "one-byte-frames":
        client.send(b"".join(frame(g.DATA, 0, stream_id, BODY[i : i + 1]) for i in range(len(BODY))))
        client.send(frame(g.DATA, g.END_STREAM, stream_id))
    else:
        client.send_body(stream_id, BODY)
    response = client.read_response(stream_id)
    assert response.status == 200
    if mode == "lines":
        assert response.body == b"line one\nline two\n\n|last line without newline"
    else:
        assert response.body == BODY
    assert response.header("x-content-length") == ("absent" if chunked else str(len(BODY)))


def test_large_bodies_both_ways(client: ProxyClient) -> None:
    body = os.urandom(1 << 20) * 4
    assert client.request("POST", "/echo", body=body).body == body
    assert client.request("POST", "/echo?mode=slow&size=300000&delay=0", body=body, chunked=True).body == body
    assert len(client.request("GET", "/big-generator?size=5000000").body) == 5_000_000


def test_empty_body_request(client: ProxyClient) -> None:
    response = client.request("POST", "/echo", body=b"")
    assert response.body == b"" and response.header("x-content-length") == "0"


def test_write_callable_then_iterable(client: ProxyClient) -> None:
    before = close_count(client)
    response = client.request("GET", "/write")
    assert response.body == b"written directly then iterated"
    wait_until(lambda: close_count(client) == before + 1, 10)  # close() runs right after the last frame


def test_exc_info_before_the_head_replaces_it(client: ProxyClient) -> None:
    response = client.request("GET", "/exc-info")
    assert response.status == 503
    assert response.header("retry-after") == "1"
    assert response.body == b"replaced"


def test_exc_info_after_the_head_resets(shared_worker: Shared, client: ProxyClient) -> None:
    response = client.request("GET", "/exc-info-late", request_id="req-exc-late")
    assert response.status == 200
    assert response.body == b"head is out"
    assert response.reset == g.APP_ERROR
    wait_until(lambda: any(e.get("request_id") == "req-exc-late" for e in shared_worker[0].events_named("app_error")))


def test_start_response_twice_is_an_error(client: ProxyClient) -> None:
    assert client.request("GET", "/start-twice").status == 500


def test_exception_before_head_is_a_500_with_a_log_line(shared_worker: Shared, client: ProxyClient) -> None:
    response = client.request("GET", "/error-before", request_id="req-boom-1")
    assert response.status == 500
    assert response.body == b"Internal Server Error\n"
    assert response.header("content-length") == str(len(response.body))

    def logged() -> list:
        return [e for e in shared_worker[0].events_named("app_error") if e.get("request_id") == "req-boom-1"]

    event = wait_until(logged)[0]
    assert event["level"] == "error"
    assert "RuntimeError: boom before the head" in event["exc"]


def test_exception_after_head_resets_app_error_and_closes(shared_worker: Shared, client: ProxyClient) -> None:
    before = close_count(client)
    response = client.request("GET", "/error-after", request_id="req-boom-2")
    assert response.status == 200
    assert response.body == b"first chunk"
    assert response.reset == g.APP_ERROR
    wait_until(lambda: close_count(client) == before + 1, 10)  # close() runs right after the last frame
    wait_until(lambda: any(e.get("request_id") == "req-boom-2" for e in shared_worker[0].events_named("app_error")))


@pytest.mark.parametrize("target", ["/no-start", "/bad-header", "/str-body", "/status?s=99+Odd", "/status?s=abc"])
def test_application_mistakes_are_500(client: ProxyClient, target: str) -> None:
    assert client.request("GET", target).status == 500


def test_streaming_response_frames(client: ProxyClient) -> None:
    before = close_count(client)
    response = client.request("GET", "/stream?n=3&size=5")
    assert response.body == b"AAAAABBBBBCCCCC"
    kinds = [(f.type, f.flags, len(f.payload)) for f in response.frames]
    assert kinds[0][:2] == (g.RESPONSE, 0)
    assert kinds[1:] == [(g.DATA, 0, 5)] * 3 + [(g.DATA, g.END_STREAM, 0)]
    wait_until(lambda: close_count(client) == before + 1, 10)  # close() runs right after the last frame


def test_known_length_response_is_two_frames(client: ProxyClient) -> None:
    response = client.request("GET", "/hello")
    assert [(f.type, f.flags) for f in response.frames] == [(g.RESPONSE, 0), (g.DATA, g.END_STREAM)]
    assert response.head == {"status": 200, "headers": [[b"Content-Type", b"text/plain"], [b"Content-Length", b"13"]]}


def test_headers_order_duplicates_latin1_and_reason(client: ProxyClient) -> None:
    response = client.request("GET", "/headers")
    assert response.headers == [(b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2"), (b"X-Latin", b"caf\xe9"), (b"Content-Length", b"0")]
    assert "reason" not in response.head
    assert [(f.type, f.flags) for f in response.frames] == [(g.RESPONSE, g.END_STREAM)]
    custom = client.request("GET", "/status?s=299+Custom+Reason")
    assert custom.status == 299 and custom.head["reason"] == "Custom Reason"


def test_head_request_sends_no_body(client: ProxyClient) -> None:
    response = client.request("HEAD", "/hello")
    assert response.status == 200
    assert response.header("content-length") == "13"
    assert [(f.type, f.flags) for f in response.frames] == [(g.RESPONSE, g.END_STREAM)]


def test_204_sends_no_body(client: ProxyClient) -> None:
    response = client.request("GET", "/empty")
    assert response.status == 204
    assert [(f.type, f.flags) for f in response.frames] == [(g.RESPONSE, g.END_STREAM)]


def test_content_length_short_is_app_error(shared_worker: Shared, client: ProxyClient) -> None:
    response = client.request("GET", "/cl-short", request_id="req-short")
    assert response.body == b"12345"
    assert response.reset == g.APP_ERROR
    wait_until(lambda: shared_worker[0].events_named("content_length_short"))


def test_content_length_long_is_truncated(client: ProxyClient) -> None:
    response = client.request("GET", "/cl-long")
    assert response.body == b"12345"
    assert response.reset is None
    assert response.frames[-1].flags & g.END_STREAM


@pytest.mark.parametrize("with_length", [True, False])
def test_file_wrapper_sendfile(client: ProxyClient, tmp_path: Path, with_length: bool) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    before = close_count(client)
    response = client.request("GET", f"/file?path={path}&cl={int(with_length)}")
    assert response.status == 200
    assert response.body == data
    assert all(len(f.payload) <= 262144 for f in response.frames if f.type == g.DATA)
    assert response.frames[-1].flags & g.END_STREAM
    assert close_count(client) == before  # close() here is the file's own close, not Tracked


def test_file_wrapper_respects_a_small_window(shared_worker: Shared, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    path = tmp_path / "small.bin"
    path.write_bytes(data)
    with ProxyClient(shared_worker[1], hello=proxy_hello(initial_window=4096), auto_window=False) as client:
        stream_id = client.open_stream(make_environ("GET", f"/file?path={path}"), True)
        assert client.next_frame(stream_id).type == g.RESPONSE
        received = b""
        while len(received) < 4096:
            received += client.next_frame(stream_id).payload
        assert len(received) == 4096
        client.send(frame(g.WINDOW, 0, stream_id, struct.pack(">I", 200_000)))
        while True:
            data_frame = client.next_frame(stream_id)
            received += data_frame.payload
            if data_frame.flags & g.END_STREAM:
                break
        assert received == data


def test_file_wrapper_without_descriptor_iterates(client: ProxyClient) -> None:
    response = client.request("GET", "/file-nofd?n=10000")
    assert response.body == b"0123456789" * 10000


def test_unknown_route_is_the_apps_404(client: ProxyClient) -> None:
    response = client.request("GET", "/nope")
    assert response.status == 404
    assert unpack(response.frames[0].payload)["status"] == 404
