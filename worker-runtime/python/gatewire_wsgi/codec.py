"""MessagePack payloads: the one place msgpack is configured (SPEC §1, §5, §8, §10–§12).

Standard MessagePack only. Wire bytes (header names and values, target, path, query) are `bin`
(Python ``bytes``); everything else is `str`. msgpack-python writes every value in its smallest
form, which is the canonical encoding of SPEC §7.2. Decoding is strict: no extension types (the
timestamp extension included), map keys must be str, at most 16 levels of nesting, a map may not
repeat a key, no bytes after the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from .errors import ErrorCode, ProtocolError
from .frames import (
    MAX_FEATURES,
    MAX_MAX_FRAME_SIZE,
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    MAX_NONCE_SIZE,
    MAX_STREAM_ID,
    MAX_STREAMS,
    MAX_WINDOW,
    MIN_INITIAL_WINDOW,
    MIN_MAX_FRAME_SIZE,
    MIN_NONCE_SIZE,
    PROOF_SIZE,
)

PROTOCOL_VERSION = 1

# msgpack-python has no type hints: its packer, typed once here.
_packb: Callable[[Any], bytes] = msgpack.packb

_SCALARS = (type(None), bool, int, float, str, bytes)


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"extension type {code} is not allowed")


def _map_entry_count(payload: bytes) -> int:
    """Entry count a map header announces (-1 if the payload does not start with a map)."""
    if not payload:
        return -1
    first = payload[0]
    if 0x80 <= first <= 0x8F:
        return first & 0x0F
    if first == 0xDE and len(payload) >= 3:
        return (payload[1] << 8) | payload[2]
    if first == 0xDF and len(payload) >= 5:
        return int.from_bytes(payload[1:5], "big")
    return -1


def check_nested(value: object, what: str, depth: int, code: ErrorCode = ErrorCode.BAD_PAYLOAD) -> None:
    """Refuses extension values and more than 16 levels of containers (SPEC §1, §15).

    Levels count arrays and maps only: the payload's top-level map is level 1 and scalars are no
    level (protocol/vectors/README.md). `depth` is the level `value` would have if a container.
    """
    kind = type(value)
    if kind in _SCALARS:
        return
    if depth > MAX_NESTING_DEPTH:
        raise ProtocolError(code, f"{what}: nesting deeper than {MAX_NESTING_DEPTH} levels")
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            check_nested(item, what, depth + 1, code)
    elif kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            check_nested(key, what, depth + 1, code)
            check_nested(item, what, depth + 1, code)
    else:
        raise ProtocolError(code, f"{what}: extension type ({kind.__name__}) is not allowed")


def unpack_map(payload: bytes, what: str, code: ErrorCode = ErrorCode.BAD_PAYLOAD) -> dict[str, Any]:
    """Decodes a payload that must be one MessagePack map with str keys."""
    try:
        value = msgpack.unpackb(payload, raw=False, strict_map_key=True, ext_hook=_refuse_ext)
    except Exception as error:  # msgpack raises ValueError subclasses, TypeError, UnicodeDecodeError…
        raise ProtocolError(code, f"{what}: invalid MessagePack ({error})") from None
    if type(value) is not dict:
        raise ProtocolError(code, f"{what}: expected a map, got {describe(value)}")
    first = payload[0]
    # A repeated key leaves fewer entries than the map header announced (fixmap inline, the usual case).
    if len(value) != (first & 0x0F if first <= 0x8F else _map_entry_count(payload)):
        raise ProtocolError(code, f"{what}: a key appears twice")
    return value


def describe(value: object) -> str:
    kind = type(value)
    return {
        type(None): "nil",
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        bytes: "bin",
        list: "array",
        dict: "map",
    }.get(kind, "an extension type")


def is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _uint(fields: dict[str, Any], key: str, what: str, code: ErrorCode, low: int, high: int) -> int:
    value = fields.get(key)
    if value is None:
        raise ProtocolError(code, f"{what}.{key}: missing")
    if type(value) is not int:
        raise ProtocolError(code, f"{what}.{key}: expected an integer, got {describe(value)}")
    if not low <= value <= high:
        raise ProtocolError(code, f"{what}.{key}: {value} is not in {low}…{high}")
    return value


def _optional_str(fields: dict[str, Any], key: str, what: str, code: ErrorCode) -> str | None:
    value = fields.get(key)
    if value is not None and type(value) is not str:
        raise ProtocolError(code, f"{what}.{key}: expected str, got {describe(value)}")
    return value


def _check_unknown(fields: dict[str, Any], known: frozenset[str], what: str, code: ErrorCode) -> None:
    for key, value in fields.items():
        if key not in known:
            check_nested(value, f"{what}.{key}", 2, code)


def truncate_message(message: str) -> str:
    """Cuts a RESET/GOAWAY message to 1024 UTF-8 bytes (SPEC §10, §11)."""
    encoded = message.encode("utf-8")
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return message
    return encoded[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore")


# -- HELLO (SPEC §5.2) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    version: int
    role: str
    max_frame_size: int
    initial_window: int
    max_streams: int
    features: tuple[str, ...]
    nonce: bytes
    auth: str | None = None
    server: str | None = None
    pid: int | None = None
    name: str | None = None
    # Worker only (SPEC §5.2, §6.4): streams run at once, 1 … max_streams; None means max_streams.
    concurrency: int | None = None


_HELLO_KEYS = frozenset(
    {"version", "role", "max_frame_size", "initial_window", "max_streams", "features", "nonce"}
    | {"auth", "server", "pid", "name", "concurrency"}
)


def encode_hello(hello: Hello) -> bytes:
    """Canonical order: the keys in the order of the SPEC §5.2 table."""
    fields: dict[str, Any] = {
        "version": hello.version,
        "role": hello.role,
        "max_frame_size": hello.max_frame_size,
        "initial_window": hello.initial_window,
        "max_streams": hello.max_streams,
    }
    if hello.concurrency is not None:
        fields["concurrency"] = hello.concurrency
    fields["features"] = list(hello.features)
    fields["nonce"] = hello.nonce
    if hello.auth is not None:
        fields["auth"] = hello.auth
    if hello.server is not None:
        fields["server"] = hello.server
    if hello.pid is not None:
        fields["pid"] = hello.pid
    if hello.name is not None:
        fields["name"] = hello.name
    return _packb(fields)


def decode_hello(payload: bytes, expected_role: str | None) -> Hello:
    """Decodes and validates a peer's HELLO (SPEC §5.2): HANDSHAKE_ERROR or UNSUPPORTED_VERSION.

    `expected_role` None accepts either role (a stateless decoder, as in protocol/vectors).
    """
    code = ErrorCode.HANDSHAKE_ERROR
    fields = unpack_map(payload, "hello", code)
    version = fields.get("version")
    if type(version) is not int or version < 0:
        raise ProtocolError(code, f"hello.version: expected a uint, got {describe(version)}")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"peer speaks gatewire version {version}; this side speaks version {PROTOCOL_VERSION}",
        )
    role = fields.get("role")
    if role not in ("proxy", "worker"):
        raise ProtocolError(code, f'hello.role: expected "proxy" or "worker", got {role!r}')
    if expected_role is not None and role != expected_role:
        raise ProtocolError(code, f"hello.role: peer says it is a {role}; expected a {expected_role}")
    max_frame_size = _uint(fields, "max_frame_size", "hello", code, MIN_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE)
    initial_window = _uint(fields, "initial_window", "hello", code, MIN_INITIAL_WINDOW, MAX_WINDOW)
    max_streams = _uint(fields, "max_streams", "hello", code, 1 if role == "worker" else 0, MAX_STREAMS)
    concurrency = None
    if role == "worker" and fields.get("concurrency") is not None:
        concurrency = _uint(fields, "concurrency", "hello", code, 1, max_streams)
    features = fields.get("features")
    if type(features) is not list:
        raise ProtocolError(code, f"hello.features: expected an array, got {describe(features)}")
    if len(features) > MAX_FEATURES:
        raise ProtocolError(code, f"hello.features: more than {MAX_FEATURES} entries")
    for feature in features:
        if type(feature) is not str:
            raise ProtocolError(code, f"hello.features: expected str entries, got {describe(feature)}")
    nonce = fields.get("nonce")
    if type(nonce) is not bytes:
        raise ProtocolError(code, f"hello.nonce: expected bin, got {describe(nonce)}")
    if not MIN_NONCE_SIZE <= len(nonce) <= MAX_NONCE_SIZE:
        raise ProtocolError(code, f"hello.nonce: {len(nonce)} bytes is not in {MIN_NONCE_SIZE}…{MAX_NONCE_SIZE}")
    auth = _optional_str(fields, "auth", "hello", code)
    if auth is not None and auth != "hmac-sha256":
        raise ProtocolError(code, f'hello.auth: unknown method {auth!r} (only "hmac-sha256" is defined)')
    server = _optional_str(fields, "server", "hello", code)
    name = _optional_str(fields, "name", "hello", code)
    pid = fields.get("pid")
    if pid is not None and not is_uint(pid):
        raise ProtocolError(code, f"hello.pid: expected a uint, got {describe(pid)}")
    _check_unknown(fields, _HELLO_KEYS, "hello", code)
    return Hello(
        version=version,
        role=role,
        max_frame_size=max_frame_size,
        initial_window=initial_window,
        max_streams=max_streams,
        features=tuple(features),
        nonce=nonce,
        auth=auth,
        server=server,
        pid=pid,
        name=name,
        concurrency=concurrency,
    )


# -- AUTH (SPEC §5.4) ----------------------------------------------------------------------------


def encode_auth(proof: bytes) -> bytes:
    return _packb({"proof": proof})


def decode_auth(payload: bytes) -> bytes:
    code = ErrorCode.AUTH_FAILED
    fields = unpack_map(payload, "auth", code)
    proof = fields.get("proof")
    if type(proof) is not bytes or len(proof) != PROOF_SIZE:
        raise ProtocolError(code, f"auth.proof: expected bin of {PROOF_SIZE} bytes")
    _check_unknown(fields, frozenset({"proof"}), "auth", code)
    return proof


# -- RESET and GOAWAY (SPEC §10, §11) -----------------------------------------------------------


def encode_reset(code: int, message: str = "") -> bytes:
    if message:
        return _packb({"code": code, "message": truncate_message(message)})
    return _packb({"code": code})


def decode_reset(payload: bytes) -> tuple[int, str]:
    fields = unpack_map(payload, "reset")
    code = _uint(fields, "code", "reset", ErrorCode.BAD_PAYLOAD, 0, 0xFFFFFFFF)
    message = _optional_str(fields, "message", "reset", ErrorCode.BAD_PAYLOAD) or ""
    _check_unknown(fields, frozenset({"code", "message"}), "reset", ErrorCode.BAD_PAYLOAD)
    return code, truncate_message(message)


def encode_goaway(last_stream: int, code: int, message: str = "") -> bytes:
    fields: dict[str, Any] = {"last_stream": last_stream, "code": code}
    if message:
        fields["message"] = truncate_message(message)
    return _packb(fields)


def decode_goaway(payload: bytes) -> tuple[int, int, str]:
    fields = unpack_map(payload, "goaway")
    last_stream = _uint(fields, "last_stream", "goaway", ErrorCode.BAD_PAYLOAD, 0, MAX_STREAM_ID)
    code = _uint(fields, "code", "goaway", ErrorCode.BAD_PAYLOAD, 0, 0xFFFFFFFF)
    message = _optional_str(fields, "message", "goaway", ErrorCode.BAD_PAYLOAD) or ""
    _check_unknown(fields, frozenset({"last_stream", "code", "message"}), "goaway", ErrorCode.BAD_PAYLOAD)
    return last_stream, code, truncate_message(message)


# -- HEALTH (SPEC §12.2) ------------------------------------------------------------------------


HEALTH_KEYS = ("rss", "heap_used", "loop_lag_ms", "requests", "in_flight", "uptime_s")


def encode_health(**values: int | float | None) -> bytes:
    """The keys present, in the order of the SPEC §12.2 table; floats as float 64."""
    fields = {key: values[key] for key in HEALTH_KEYS if values.get(key) is not None}
    return _packb(fields)


# -- RESPONSE and TRAILERS (SPEC §8.1, §8.3) ----------------------------------------------------

def encode_response_head(status: int, headers: list[tuple[bytes, bytes]], reason: str | None) -> bytes:
    """Canonical order: status, headers, then reason if present."""
    if reason is None:
        return _packb({"status": status, "headers": headers})
    return _packb({"status": status, "headers": headers, "reason": reason})


def decode_header_pairs(value: object, what: str) -> list[tuple[bytes, bytes]]:
    """An array of [bin, bin] pairs (SPEC §7.2, §8.3), at most 4096 of them."""
    from .frames import MAX_HEADER_PAIRS

    if type(value) is not list:
        raise ProtocolError(ErrorCode.BAD_PAYLOAD, f"{what}: expected an array, got {describe(value)}")
    if len(value) > MAX_HEADER_PAIRS:
        raise ProtocolError(
            ErrorCode.BAD_PAYLOAD, f"{what}: {len(value)} header pairs exceed the limit of {MAX_HEADER_PAIRS}"
        )
    pairs = []
    for index, pair in enumerate(value):
        if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not bytes or type(pair[1]) is not bytes:
            raise ProtocolError(ErrorCode.BAD_PAYLOAD, f"{what}: pair {index} is not a [bin, bin] array")
        pairs.append((pair[0], pair[1]))
    return pairs


def decode_trailers(payload: bytes) -> list[tuple[bytes, bytes]]:
    try:
        value = msgpack.unpackb(payload, raw=False, strict_map_key=True, ext_hook=_refuse_ext)
    except Exception as error:
        raise ProtocolError(ErrorCode.BAD_PAYLOAD, f"trailers: invalid MessagePack ({error})") from None
    return decode_header_pairs(value, "trailers")
