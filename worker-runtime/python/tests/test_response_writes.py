"""How responses are cut into writes: small responses must leave in one write (one syscall)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from gatewire_wsgi.errors import StreamCancelled
from gatewire_wsgi.frames import DATA, END_STREAM, HEADER, RESPONSE
from gatewire_wsgi.response import run_request
from gatewire_wsgi.stream import Stream


class FakeConnection:
    """Records what the response side writes; credit is plentiful unless told otherwise."""

    def __init__(self, window: int = 1 << 30, max_frame: int = 65536) -> None:
        self.peer_max_frame_size = max_frame
        self.window = window
        self.writes: list[tuple[str, bytes]] = []

    def begin(self, stream: Stream) -> bool:
        stream.started = stream.reset_code is None
        return stream.started

    def try_credit(self, stream: Stream, want: int) -> int:
        if stream.reset_code is not None:
            raise StreamCancelled(stream.reset_code)
        take = min(want, self.window)
        self.window -= take
        return take

    def wait_credit(self, stream: Stream, want: int) -> int:
        raise AssertionError("the test gave enough credit")

    def send_stream_frames(self, stream: Stream, buffers: list[Any]) -> None:
        self.writes.append(("send", b"".join(buffers)))

    def finish_stream(self, stream: Stream, buffers: list[Any]) -> None:
        if buffers:
            self.writes.append(("finish", b"".join(buffers)))
        else:
            self.writes.append(("finish-empty", b""))

    def reset_stream(self, stream: Stream, code: int, message: str = "", timeout: float | None = None) -> None:
        self.writes.append(("reset", bytes([code])))


def frames_in(data: bytes) -> list[tuple[int, int, int]]:
    out = []
    position = 0
    while position < len(data):
        length, frame_type, flags, _ = HEADER.unpack_from(data, position)
        out.append((frame_type, flags, length))
        position += 10 + length
    return out


def run(app: Any, method: str = "GET", **connection: Any) -> FakeConnection:
    conn = FakeConnection(**connection)
    stream = Stream(1, "req-test", 1 << 20, 1 << 20)
    stream.remote_ended = True
    run_request(app, conn, stream, {"REQUEST_METHOD": method})  # type: ignore[arg-type]
    return conn


def app_returning(result: Any, headers: list[tuple[str, str]] | None = None) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", headers or [("Content-Type", "text/plain")])
        return result() if callable(result) else result

    return app


class DjangoLike:
    """Like Django's HttpResponse: an iterable of unknown length, with a Content-Length header."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter([self.body])

    def close(self) -> None:
        self.closed = True


def test_list_response_is_one_write() -> None:
    conn = run(app_returning([b"Hello, World!"]))
    assert [kind for kind, _ in conn.writes] == ["finish"]
    assert frames_in(conn.writes[0][1]) == [(RESPONSE, 0, frames_in(conn.writes[0][1])[0][2]), (DATA, END_STREAM, 13)]


def test_known_length_iterable_is_one_write_and_closed_after() -> None:
    body = DjangoLike(b"x" * 5000)
    conn = run(app_returning(body, [("Content-Length", "5000")]))
    assert [kind for kind, _ in conn.writes] == ["finish"]
    assert [(t, f) for t, f, _ in frames_in(conn.writes[0][1])] == [(RESPONSE, 0), (DATA, END_STREAM)]
    assert body.closed


def test_many_small_list_chunks_are_one_write() -> None:
    conn = run(app_returning([b"chunk"] * 100))
    assert [kind for kind, _ in conn.writes] == ["finish"]
    frames = frames_in(conn.writes[0][1])
    assert len(frames) == 1 + 100 and frames[-1] == (DATA, END_STREAM, 5)  # the last chunk ends the stream


def test_empty_body_is_a_single_response_frame() -> None:
    conn = run(app_returning([]))
    assert [(t, f) for t, f, _ in frames_in(conn.writes[0][1])] == [(RESPONSE, END_STREAM)]
    assert len(conn.writes) == 1


def test_generator_streams_one_write_per_chunk() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        yield b""  # empty chunks send nothing
        yield b"b"

    conn = run(app_returning(chunks))
    assert [kind for kind, _ in conn.writes] == ["send", "send", "finish"]
    assert [(t, f) for t, f, _ in frames_in(conn.writes[0][1])] == [(RESPONSE, 0), (DATA, 0)]
    assert frames_in(conn.writes[2][1]) == [(DATA, END_STREAM, 0)]


def test_large_body_is_split_by_frame_size_and_flushed_in_bounded_batches() -> None:
    conn = run(app_returning([b"z" * 1_000_000], [("Content-Length", "1000000")]), max_frame=65536)
    frames = [frame for _, data in conn.writes for frame in frames_in(data)]
    assert all(length <= 65536 for t, _, length in frames if t == DATA)
    assert sum(length for t, _, length in frames if t == DATA) == 1_000_000
    assert frames[-1][:2] == (DATA, END_STREAM)
    assert 2 <= len(conn.writes) <= 6  # batches of about 256 KiB, not one write per frame


@pytest.mark.parametrize("method", ["HEAD"])
def test_head_sends_the_head_only(method: str) -> None:
    conn = run(app_returning([b"body"], [("Content-Length", "4")]), method=method)
    assert [(t, f) for t, f, _ in frames_in(conn.writes[0][1])] == [(RESPONSE, END_STREAM)]
