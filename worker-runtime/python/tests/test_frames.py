"""The frame layer on its own (SPEC §3, §4): header checks in order, any chunking, bounds first."""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest

from gatewire_wsgi.errors import ErrorCode, ProtocolError
from gatewire_wsgi.frames import (
    DATA,
    END_STREAM,
    HEADER,
    PING,
    PREFACE,
    REQUEST,
    TRAILERS,
    WINDOW,
    FrameDecoder,
    check_header,
    frame,
)


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[int, int, int, bytes]] = []
        self.data: dict[int, bytearray] = {}
        self.data_ends: list[tuple[int, int]] = []

    def on_frame(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> None:
        self.frames.append((frame_type, flags, stream_id, bytes(payload)))

    def on_data(self, stream_id: int, flags: int, chunk: bytes, start: int, end: int, last: bool) -> None:
        self.data.setdefault(stream_id, bytearray()).extend(chunk[start:end])
        if last:
            self.data_ends.append((stream_id, flags))


def decode(data: bytes, splits: list[int] | None = None, max_frame_size: int = 65536) -> Recorder:
    recorder = Recorder()
    decoder = FrameDecoder(recorder, max_frame_size)
    if splits is None:
        decoder.feed(data)
    else:
        position = 0
        for size in splits:
            decoder.feed(data[position : position + size])
            position += size
        decoder.feed(data[position:])
    return recorder


CONVERSATION = (
    PREFACE
    + frame(REQUEST, 0, 1, b"\x80")
    + frame(DATA, 0, 1, b"hello ")
    + frame(DATA, END_STREAM, 1, b"world" * 100)
    + frame(PING, 0, 0, b"12345678")
    + frame(DATA, END_STREAM, 3, b"")
    + frame(WINDOW, 0, 3, struct.pack(">I", 9))
)


def expected_shape(recorder: Recorder) -> Any:
    return recorder.frames, {key: bytes(value) for key, value in recorder.data.items()}, recorder.data_ends


def test_one_chunk_and_every_split_agree() -> None:
    whole = expected_shape(decode(CONVERSATION))
    assert whole[0][0] == (REQUEST, 0, 1, b"\x80")
    assert whole[1] == {1: b"hello " + b"world" * 100, 3: b""}
    assert whole[2] == [(1, 0), (1, END_STREAM), (3, END_STREAM)]
    for cut in range(1, len(CONVERSATION)):
        assert expected_shape(decode(CONVERSATION, [cut])) == whole, cut


def test_byte_by_byte_and_random_splits_agree() -> None:
    whole = expected_shape(decode(CONVERSATION))
    assert expected_shape(decode(CONVERSATION, [1] * (len(CONVERSATION) - 1))) == whole
    rng = random.Random(7)
    for _ in range(50):
        splits = [rng.randint(1, 40) for _ in range(40)]
        assert expected_shape(decode(CONVERSATION, splits)) == whole


def test_bad_preface_quotes_what_was_seen() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert caught.value.code == ErrorCode.BAD_PREFACE
    assert '"GET / HTTP/1.1\\r\\nHost: x' in caught.value.message


def test_bad_preface_detected_on_first_wrong_byte() -> None:
    decode(b"GAT", [1, 1])  # a correct prefix, split: no error yet
    with pytest.raises(ProtocolError) as caught:
        decode(b"GAX", [1, 1])
    assert caught.value.code == ErrorCode.BAD_PREFACE


def test_oversized_frame_refused_before_payload_arrives() -> None:
    recorder = Recorder()
    decoder = FrameDecoder(recorder, 65536)
    decoder.feed(PREFACE)
    with pytest.raises(ProtocolError) as caught:
        decoder.feed(HEADER.pack(65537, REQUEST, 0, 1))  # no payload sent at all
    assert caught.value.code == ErrorCode.FRAME_SIZE_ERROR
    # The decoder stopped: nothing more comes out.
    decoder.feed(frame(PING, 0, 0, b"12345678"))
    assert recorder.frames == []


def test_length_at_the_limit_is_accepted() -> None:
    recorder = decode(PREFACE + frame(DATA, 0, 1, b"x" * 65536))
    assert len(recorder.data[1]) == 65536


# SPEC §4.2: length, type, flags, stream id, fixed size — the first failing check decides.
@pytest.mark.parametrize(
    ("length", "frame_type", "flags", "stream_id", "code"),
    [
        (70000, 0x0E, 0xFF, 0, ErrorCode.FRAME_SIZE_ERROR),  # every check fails: length wins
        (70000, WINDOW, 0, 1, ErrorCode.FRAME_SIZE_ERROR),
        (0, 0x00, 0, 1, ErrorCode.UNKNOWN_FRAME_TYPE),
        (0, 0x0E, 0xFF, 0, ErrorCode.UNKNOWN_FRAME_TYPE),  # type before flags and stream id
        (0, 0xFF, 0, 0, ErrorCode.UNKNOWN_FRAME_TYPE),
        (8, PING, END_STREAM, 3, ErrorCode.PROTOCOL_ERROR),  # flags before stream id
        (0, DATA, 0x02, 1, ErrorCode.PROTOCOL_ERROR),
        (0, TRAILERS, 0, 1, ErrorCode.PROTOCOL_ERROR),  # TRAILERS must carry END_STREAM
        (3, WINDOW, END_STREAM, 1, ErrorCode.PROTOCOL_ERROR),  # flags before fixed size
        (3, WINDOW, 0, 0, ErrorCode.PROTOCOL_ERROR),  # stream id before fixed size
        (8, PING, 0, 1, ErrorCode.PROTOCOL_ERROR),
        (0, REQUEST, 0, 0, ErrorCode.PROTOCOL_ERROR),
        (3, WINDOW, 0, 1, ErrorCode.FRAME_SIZE_ERROR),
        (9, PING, 0, 0, ErrorCode.FRAME_SIZE_ERROR),
        (7, 0x0B, 0, 0, ErrorCode.FRAME_SIZE_ERROR),  # PONG
    ],
)
def test_header_check_order(length: int, frame_type: int, flags: int, stream_id: int, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as caught:
        check_header(length, frame_type, flags, stream_id, 65536)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("frame_type", "flags", "stream_id", "length"),
    [(REQUEST, END_STREAM, 1, 10), (DATA, 0, 2**32 - 1, 0), (TRAILERS, END_STREAM, 5, 1), (PING, 0, 0, 8), (WINDOW, 0, 9, 4)],
)
def test_valid_headers_pass(frame_type: int, flags: int, stream_id: int, length: int) -> None:
    check_header(length, frame_type, flags, stream_id, 65536)
