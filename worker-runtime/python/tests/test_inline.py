"""--threads 1: requests whose body has arrived run on the connection's reader thread, and reading
moves to a new thread when such a request runs long or waits for credit (connection.py)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import gwclient as g
from conftest import WorkerProcess, start_single
from gwclient import ProxyClient, frame, make_environ, pack, proxy_hello

Single = tuple[WorkerProcess, str]


@pytest.fixture(scope="module")
def one_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Single]:
    import shutil
    import tempfile

    directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
    worker, path = start_single(directory, tmp_path_factory.mktemp("inline-logs"), threads=1)
    yield worker, path
    worker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_bodyless_and_small_body_requests_run_on_the_reader(one_thread: Single) -> None:
    with ProxyClient(one_thread[1]) as client:
        assert client.max_streams == 1
        assert client.request("GET", "/thread").body.startswith(b"conn-")
        # REQUEST and its whole body in one write: still inline.
        environ = make_environ("POST", "/thread", [("content-length", "5")], 5)
        stream_id = client.next_id
        client.next_id += 2
        client.send(frame(g.REQUEST, 0, stream_id, pack(environ)) + frame(g.DATA, g.END_STREAM, stream_id, b"hello"))
        assert client.read_response(stream_id).body.startswith(b"conn-")
        # A body that arrives later goes to the request thread, which can wait for it.
        stream_id = client.open_stream(make_environ("POST", "/thread", body_length=None), False)
        time.sleep(0.1)
        client.send(frame(g.DATA, g.END_STREAM, stream_id, b"late"))
        assert client.read_response(stream_id).body == b"request-0"


def test_ping_is_answered_while_a_long_inline_request_runs(one_thread: Single) -> None:
    with ProxyClient(one_thread[1]) as client:
        stream_id = client.open_stream(make_environ("GET", "/sleep?s=1"), True)
        time.sleep(0.1)
        sent = time.monotonic()
        client.ping()
        assert client.next_control(timeout=5).type == g.PONG
        assert time.monotonic() - sent < 0.9  # answered long before the request ends
        with pytest.raises(queue.Empty):
            client.next_frame(stream_id, timeout=0.01)  # …which is still running
        assert client.read_response(stream_id).body == b"slept"
        assert client.request("GET", "/hello").status == 200  # the new reader serves on


def test_cancel_reaches_a_long_inline_streaming_request(one_thread: Single) -> None:
    with ProxyClient(one_thread[1]) as client:
        before = int(client.request("GET", "/close-count").body)
        stream_id = client.open_stream(make_environ("GET", "/stream?n=400&size=10&delay=0.01"), True)
        assert client.next_frame(stream_id).type == g.RESPONSE
        client.reset(stream_id, g.CANCEL)
        deadline = time.monotonic() + 10
        while int(client.request("GET", "/close-count").body) != before + 1:
            assert time.monotonic() < deadline, "the iterable was never closed"
            time.sleep(0.05)


def test_a_response_larger_than_the_window_hands_reading_over(one_thread: Single) -> None:
    with ProxyClient(one_thread[1], hello=proxy_hello(initial_window=1024)) as client:
        response = client.request("GET", "/big?size=300000")
        assert response.status == 200 and len(response.body) == 300000
        assert client.request("GET", "/hello").status == 200


def test_one_thread_means_one_request_at_a_time_across_connections(one_thread: Single) -> None:
    results: list[bytes] = []

    def call() -> None:
        with ProxyClient(one_thread[1]) as client:
            results.append(client.request("GET", "/concurrency?s=0.2").body)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [b"1", b"1", b"1"]


def test_timeout_applies_to_inline_requests(short_dir: Callable[[], str], tmp_path: Path) -> None:
    worker, path = start_single(short_dir(), tmp_path, "--timeout", "0.5", "--grace", "1", threads=1)
    try:
        with ProxyClient(path) as client:
            assert client.request("GET", "/sleep?s=30", request_id="req-inline-stuck").reset == g.TIMEOUT
        assert worker.wait(15) == 0
        assert worker.events_named("harakiri")[0]["request_id"] == "req-inline-stuck"
    finally:
        worker.stop()
