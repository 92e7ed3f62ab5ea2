"""The `queue` feature (SPEC §5.3, §6.4): run slots (`concurrency` = --threads) and queue slots
(--backlog), arrival order, and RECALL: a queued stream goes back to the proxy with RESET
REFUSED_STREAM and never runs; a started one ignores it."""

from __future__ import annotations

import queue
import shutil
import tempfile
import time
from collections.abc import Iterator

import pytest

import gwclient as g
from conftest import WorkerProcess, start_single
from gwclient import ProxyClient, make_environ

RECALL = 0x0D
Single = tuple[WorkerProcess, str]


def queue_client(path: str) -> ProxyClient:
    return ProxyClient(path, hello=g.proxy_hello(features=["trailers", "health", "queue"]))


def recall(client: ProxyClient, stream_id: int) -> None:
    client.send(g.frame(RECALL, 0, stream_id))


def reset_code(client: ProxyClient, stream_id: int) -> int:
    received = client.next_frame(stream_id)
    assert received.type == g.RESET, received
    return int(g.unpack(received.payload)["code"])


def still_alive(client: ProxyClient) -> None:
    client.ping(b"alive!!!")
    pong = client.next_control()
    assert (pong.type, pong.payload) == (g.PONG, b"alive!!!")


@pytest.fixture(scope="module")
def inline_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Single]:
    """--threads 1 --backlog 2: requests run on the connection's reader; two may wait."""
    directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
    worker, path = start_single(directory, tmp_path_factory.mktemp("queue-logs"), "--backlog", "2", threads=1)
    yield worker, path
    worker.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def pool_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Single]:
    """--threads 2 --backlog 1: requests run on the thread pool; one may wait."""
    directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
    worker, path = start_single(directory, tmp_path_factory.mktemp("queue-logs"), "--backlog", "1", threads=2)
    yield worker, path
    worker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_hello_lists_queue_and_concurrency(inline_worker: Single, pool_worker: Single) -> None:
    for (_worker, path), threads, backlog in ((inline_worker, 1, 2), (pool_worker, 2, 1)):
        with queue_client(path) as client:
            assert "queue" in client.worker_hello["features"]
            assert client.worker_hello["concurrency"] == threads
            assert client.max_streams == threads + backlog


def test_recall_of_a_queued_stream_is_refused_and_it_never_runs(inline_worker: Single) -> None:
    with queue_client(inline_worker[1]) as client:
        client.request("GET", "/order?reset=1")
        running = client.open_stream(make_environ("GET", "/order?s=1"), True)
        middle = client.open_stream(make_environ("GET", "/order"), True)
        newest = client.open_stream(make_environ("GET", "/order"), True)
        time.sleep(0.1)  # the first runs (for a second); the two others wait behind it
        recall(client, newest)
        assert reset_code(client, newest) == g.REFUSED_STREAM
        assert client.read_response(running).body == b"1"
        assert client.read_response(middle).body == b"2"  # arrival order kept
        assert client.request("GET", "/order").body == b"3"  # the recalled one never ran
        still_alive(client)


def test_recall_of_a_queued_stream_in_the_pool(pool_worker: Single) -> None:
    with queue_client(pool_worker[1]) as client:
        running = [client.open_stream(make_environ("GET", "/sleep?s=1"), True) for _ in range(2)]
        waiting = client.open_stream(make_environ("GET", "/set-event?name=recalled-from-pool"), True)
        time.sleep(0.1)
        recall(client, waiting)
        assert reset_code(client, waiting) == g.REFUSED_STREAM
        for stream_id in running:
            assert client.read_response(stream_id).body == b"slept"
        assert client.request("GET", "/event-is-set?name=recalled-from-pool").body == b"no"


def test_recall_of_a_queued_stream_whose_body_is_still_coming(inline_worker: Single) -> None:
    with queue_client(inline_worker[1]) as client:
        running = client.open_stream(make_environ("GET", "/sleep?s=1"), True)
        waiting = client.open_stream(make_environ("POST", "/echo", body_length=10), False)
        client.send_body(waiting, b"hello", end=False)
        time.sleep(0.1)
        recall(client, waiting)
        assert reset_code(client, waiting) == g.REFUSED_STREAM
        client.send_body(waiting, b"world", end=True)  # in flight when the RESET came: ignored (SPEC §6.1)
        assert client.read_response(running).body == b"slept"
        assert client.request("POST", "/echo", body=b"again").body == b"again"


def test_recall_of_a_started_stream_is_ignored(inline_worker: Single, pool_worker: Single) -> None:
    for _worker, path in (inline_worker, pool_worker):
        with queue_client(path) as client:
            running = client.open_stream(make_environ("GET", "/sleep?s=0.3"), True)
            time.sleep(0.1)  # started by now
            recall(client, running)
            response = client.read_response(running)
            assert (response.status, response.body, response.reset) == (200, b"slept", None)
            still_alive(client)


def test_recall_of_a_closed_stream_is_ignored(inline_worker: Single) -> None:
    with queue_client(inline_worker[1]) as client:
        client.request("GET", "/hello")
        recall(client, client.next_id - 2)
        still_alive(client)
        with pytest.raises(queue.Empty):
            client.next_frame(client.next_id - 2, timeout=0.2)


def test_recall_of_a_stream_never_opened_is_a_connection_error(inline_worker: Single) -> None:
    with queue_client(inline_worker[1]) as client:
        recall(client, 99)
        goaway = client.next_control()
        assert goaway.type == g.GOAWAY
        assert g.unpack(goaway.payload)["code"] == g.PROTOCOL_ERROR


def test_recall_without_the_queue_feature_is_an_unknown_frame_type(inline_worker: Single) -> None:
    with ProxyClient(inline_worker[1]) as client:  # the proxy's HELLO does not list `queue`
        stream_id = client.open_stream(make_environ("GET", "/hello"), True)
        assert client.read_response(stream_id).status == 200
        recall(client, stream_id)
        goaway = client.next_control()
        assert goaway.type == g.GOAWAY
        assert g.unpack(goaway.payload)["code"] == g.UNKNOWN_FRAME_TYPE


def test_recall_with_a_payload_is_a_frame_size_error(inline_worker: Single) -> None:
    with queue_client(inline_worker[1]) as client:
        stream_id = client.open_stream(make_environ("GET", "/hello"), True)
        client.read_response(stream_id)
        client.send(g.frame(RECALL, 0, stream_id, b"x"))
        goaway = client.next_control()
        assert goaway.type == g.GOAWAY
        assert g.unpack(goaway.payload)["code"] == g.FRAME_SIZE_ERROR
