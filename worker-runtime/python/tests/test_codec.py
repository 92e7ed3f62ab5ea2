"""MessagePack encoding rules (SPEC §1, §5.2, §7, §8.1): bin for wire bytes, str for the rest,
canonical (smallest, ordered) forms, and strict decoding."""

from __future__ import annotations

import struct

import msgpack
import pytest

from gatewire_wsgi.codec import (
    Hello,
    decode_goaway,
    decode_hello,
    decode_reset,
    encode_goaway,
    encode_health,
    encode_hello,
    encode_reset,
    encode_response_head,
    unpack_map,
)
from gatewire_wsgi.errors import ErrorCode, ProtocolError
from gatewire_wsgi.response import parse_status


def test_response_head_is_canonical() -> None:
    # map(2) "status" 200 "headers" [[bin "content-type", bin "text/plain"]]
    expected = (
        b"\x82"
        + b"\xa6status" + b"\xcc\xc8"
        + b"\xa7headers" + b"\x91\x92" + b"\xc4\x0ccontent-type" + b"\xc4\x0atext/plain"
    )
    assert encode_response_head(200, [(b"content-type", b"text/plain")], None) == expected


def test_response_head_reason_only_when_not_standard() -> None:
    assert parse_status("200 OK") == (200, None)
    assert parse_status("404 Not Found") == (404, None)
    assert parse_status("200 Fine Thanks") == (200, "Fine Thanks")
    head = msgpack.unpackb(encode_response_head(299, [], "Custom"), raw=True)
    assert list(head) == [b"status", b"headers", b"reason"]  # key order of SPEC §8.1
    assert head[b"reason"] == b"Custom"
    raw = encode_response_head(299, [], "Custom")
    assert raw.endswith(b"\xa6reason\xa6Custom")  # reason is str (0xa6), not bin


@pytest.mark.parametrize("status", ["99 Low", "600 High", "abc", "20 OK", "101 Switching Protocols", "100 Continue"])
def test_statuses_outside_final_range_are_refused(status: str) -> None:
    with pytest.raises(ValueError):
        parse_status(status)


def test_smallest_integer_forms() -> None:
    assert encode_response_head(404, [], None)[8:11] == b"\xcd\x01\x94"  # uint16 for 404
    assert encode_reset(11) == b"\x81\xa4code\x0b"  # positive fixint
    assert encode_goaway(70000, 0) == b"\x82\xablast_stream\xce\x00\x01\x11\x70\xa4code\x00"


def test_hello_encoding_types_and_order() -> None:
    nonce = bytes(range(32))
    payload = encode_hello(
        Hello(1, "worker", 262144, 262144, 4, ("trailers", "health"), nonce, None, "gatewire-wsgi/0.1.0", 42, "app")
    )
    fields = msgpack.unpackb(payload, raw=True)
    assert list(fields) == [
        b"version", b"role", b"max_frame_size", b"initial_window", b"max_streams",
        b"features", b"nonce", b"server", b"pid", b"name",
    ]
    assert b"\xc4\x20" + nonce in payload  # nonce is bin 8
    assert b"\xa4role\xa6worker" in payload  # role is str
    assert b"\x92\xa8trailers\xa6health" in payload  # features: array of str
    assert b"\xaemax_frame_size\xce\x00\x04\x00\x00" in payload


def proxy_hello(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "version": 1, "role": "proxy", "max_frame_size": 65536, "initial_window": 65536,
        "max_streams": 0, "features": ["trailers", "zstd-someday"], "nonce": b"n" * 16,
    }
    for key, value in changes.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    return msgpack.packb(fields)


def test_decode_hello_accepts_unknown_keys_and_features() -> None:
    hello = decode_hello(proxy_hello(extra={"nested": [1, 2]}), "proxy")
    assert hello.features == ("trailers", "zstd-someday")
    assert hello.max_streams == 0


@pytest.mark.parametrize(
    ("changes", "code", "mentions"),
    [
        ({"version": 2}, ErrorCode.UNSUPPORTED_VERSION, "version 2"),
        ({"version": None}, ErrorCode.HANDSHAKE_ERROR, "version"),
        ({"version": True}, ErrorCode.HANDSHAKE_ERROR, "version"),
        ({"role": "worker"}, ErrorCode.HANDSHAKE_ERROR, "role"),
        ({"max_frame_size": 65535}, ErrorCode.HANDSHAKE_ERROR, "max_frame_size"),
        ({"max_frame_size": 16777216}, ErrorCode.HANDSHAKE_ERROR, "max_frame_size"),
        ({"initial_window": 1023}, ErrorCode.HANDSHAKE_ERROR, "initial_window"),
        ({"initial_window": "big"}, ErrorCode.HANDSHAKE_ERROR, "initial_window"),
        ({"max_streams": None}, ErrorCode.HANDSHAKE_ERROR, "max_streams"),
        ({"features": ["x"] * 65}, ErrorCode.HANDSHAKE_ERROR, "features"),
        ({"features": [b"bin"]}, ErrorCode.HANDSHAKE_ERROR, "features"),
        ({"nonce": b"short"}, ErrorCode.HANDSHAKE_ERROR, "nonce"),
        ({"nonce": "n" * 16}, ErrorCode.HANDSHAKE_ERROR, "nonce"),  # str, not bin
        ({"pid": -1}, ErrorCode.HANDSHAKE_ERROR, "pid"),
    ],
)
def test_decode_hello_rejects(changes: dict[str, object], code: ErrorCode, mentions: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_hello(proxy_hello(**changes), "proxy")
    assert caught.value.code == code
    assert mentions in caught.value.message


def test_hello_that_is_not_msgpack_is_a_handshake_error() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_hello(b"\xc1", "proxy")
    assert caught.value.code == ErrorCode.HANDSHAKE_ERROR


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"\xd4\x05\x00", "extension type 5"),  # fixext 1
        (msgpack.packb({"a": msgpack.ExtType(3, b"x")}), "extension type 3"),
        (b"\x82\xa1a\x01\xa1a\x02", "twice"),  # duplicate key
        (b"\x81\xa1a\x01\x00", "invalid MessagePack"),  # bytes after the map
        (b"\x81\xa1a", "invalid MessagePack"),  # truncated
        (b"\x81\x01\x02", "invalid MessagePack"),  # integer key
        (b"\x81\xa1a\xa2\xff\xfe", "invalid MessagePack"),  # str that is not UTF-8
        (b"\x91\x01", "expected a map"),
    ],
)
def test_strict_map_decoding(payload: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        unpack_map(payload, "x")
    assert caught.value.code == ErrorCode.BAD_PAYLOAD
    assert problem in caught.value.message


def test_timestamp_extension_is_refused_too() -> None:
    # msgpack-python turns ext -1 into a Timestamp without asking ext_hook: checked separately.
    with pytest.raises(ProtocolError) as caught:
        decode_reset(msgpack.packb({"code": 1, "when": msgpack.Timestamp(1, 0)}))
    assert caught.value.code == ErrorCode.BAD_PAYLOAD
    assert "extension" in caught.value.message


def nested(levels: int, inner: object = 0) -> object:
    value: object = inner
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_limit_is_sixteen_levels_of_containers() -> None:
    from gatewire_wsgi.codec import check_nested

    check_nested(nested(16), "x", 1)  # scalars are no level
    check_nested({"a": nested(15)}, "x", 1)
    for too_deep in (nested(17), nested(16, []), {"a": nested(16)}):
        with pytest.raises(ProtocolError) as caught:
            check_nested(too_deep, "x", 1)
        assert "nesting" in caught.value.message


def test_reset_and_goaway_round_trip_and_truncation() -> None:
    assert decode_reset(encode_reset(12, "client left")) == (12, "client left")
    code, message = decode_reset(encode_reset(15, "é" * 2000))
    assert code == 15 and len(message.encode()) <= 1024
    assert decode_goaway(encode_goaway(7, 0, "draining")) == (7, 0, "draining")
    with pytest.raises(ProtocolError) as caught:
        decode_reset(msgpack.packb({"message": "no code"}))
    assert caught.value.code == ErrorCode.BAD_PAYLOAD


def test_health_payload_types() -> None:
    payload = encode_health(uptime_s=1.5, requests=5, rss=1000, in_flight=2, heap_used=None)
    assert list(msgpack.unpackb(payload)) == ["rss", "requests", "in_flight", "uptime_s"]  # SPEC order
    assert payload.endswith(b"\xa8uptime_s\xcb" + struct.pack(">d", 1.5))  # float 64
