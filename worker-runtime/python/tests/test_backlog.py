"""--backlog: a process accepts streams beyond its threads (max_streams = threads + backlog); they
wait in the process, in order, for a free thread, so that under load a process finds its next
request already there instead of idling for a round trip to the proxy."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator

import pytest

import gwclient as g
from conftest import WorkerProcess, start_single
from gwclient import ProxyClient, make_environ

Single = tuple[WorkerProcess, str]


@pytest.fixture(scope="module")
def queued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Single]:
    directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
    worker, path = start_single(directory, tmp_path_factory.mktemp("backlog-logs"), "--backlog", "2", threads=1)
    yield worker, path
    worker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_max_streams_counts_the_backlog(queued: Single) -> None:
    with ProxyClient(queued[1]) as client:
        assert client.max_streams == 3


def test_queued_requests_run_one_at_a_time(queued: Single) -> None:
    with ProxyClient(queued[1]) as client:
        streams = [client.open_stream(make_environ("GET", "/concurrency?s=0.2"), True) for _ in range(3)]
        for stream_id in streams:
            assert client.read_response(stream_id).body == b"1"  # never two in the app at once


def test_requests_arriving_together_all_run_on_the_reader(queued: Single) -> None:
    with ProxyClient(queued[1]) as client:
        first = client.next_id
        client.next_id += 6
        # Three REQUEST frames in one write: decoded from one chunk, run inline one after the other.
        environ = g.pack(make_environ("GET", "/thread"))
        client.send(b"".join(g.frame(g.REQUEST, g.END_STREAM, first + 2 * i, environ) for i in range(3)))
        for i in range(3):
            body = client.read_response(first + 2 * i).body
            assert body.startswith(b"conn-"), body  # the connection's reader thread: no pool handoff


def test_beyond_threads_plus_backlog_is_refused(queued: Single) -> None:
    with ProxyClient(queued[1]) as client:
        running = [client.open_stream(make_environ("GET", "/sleep?s=0.3"), True) for _ in range(3)]
        refused = client.open_stream(make_environ("GET", "/hello"), True)
        reset = client.next_frame(refused)
        assert reset.type == g.RESET and g.unpack(reset.payload)["code"] == g.REFUSED_STREAM
        for stream_id in running:
            assert client.read_response(stream_id).body == b"slept"


def test_a_queued_request_cancelled_before_it_starts_never_runs(queued: Single) -> None:
    with ProxyClient(queued[1]) as client:
        running = client.open_stream(make_environ("GET", "/sleep?s=0.5"), True)
        waiting = client.open_stream(make_environ("GET", "/set-event?name=cancelled-while-queued"), True)
        time.sleep(0.1)  # the first runs; the second waits behind it
        client.reset(waiting, g.CANCEL)
        assert client.read_response(running).body == b"slept"
        assert client.request("GET", "/event-is-set?name=cancelled-while-queued").body == b"no"
        assert client.request("GET", "/hello").status == 200


def test_requests_keep_their_order_when_a_long_one_moves_reading_to_a_new_thread(queued: Single) -> None:
    with ProxyClient(queued[1]) as client:
        client.request("GET", "/order?reset=1")
        first = client.next_id
        client.next_id += 4
        # A long request and one queued behind it, in one write; a third arrives while the first runs
        # (after reading moved to a new thread). They must run in arrival order: 1, 2, 3.
        environ = g.pack(make_environ("GET", "/order?s=0.3"))
        queued_environ = g.pack(make_environ("GET", "/order"))
        client.send(g.frame(g.REQUEST, g.END_STREAM, first, environ) + g.frame(g.REQUEST, g.END_STREAM, first + 2, queued_environ))
        time.sleep(0.1)
        third = client.open_stream(make_environ("GET", "/order"), True)
        assert client.read_response(first).body == b"1"
        assert client.read_response(first + 2).body == b"2"
        assert client.read_response(third).body == b"3"
