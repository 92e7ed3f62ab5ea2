"""protocol/vectors/ (SPEC §18): every vector that applies to a worker.

- preface.json, errors.json: through this package's frame decoder and payload decoders.
- frames.json: decoded with the package's decoders where a worker decodes that type, encoded with
  its encoders (byte for byte, canonical vectors) where a worker sends that type.
- sequences.json: the worker sequences played against live worker processes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from typing import Any, Callable, Iterator

import msgpack
import pytest

import gwclient as g
from conftest import REPO_ROOT, start_single
from gatewire_wsgi.codec import (
    Hello,
    decode_auth,
    decode_goaway,
    decode_hello,
    decode_reset,
    decode_trailers,
    encode_auth,
    encode_goaway,
    encode_health,
    encode_hello,
    encode_reset,
    encode_response_head,
    unpack_map,
)
from gatewire_wsgi.environ import base_environ, build_environ
from gatewire_wsgi.errors import ErrorCode, ProtocolError
from gatewire_wsgi.frames import FRAME_NAMES, FrameDecoder, frame, pack_window_increment

VECTORS = REPO_ROOT / "protocol" / "vectors"
TYPES = {name: code for code, name in FRAME_NAMES.items()}
BASE = base_environ(False, False)

if not (VECTORS / "frames.json").exists():
    pytest.skip("protocol/vectors/ is not there", allow_module_level=True)


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def to_json(value: Any) -> Any:
    """The JSON form of the vectors README: bin → {"$bin": latin-1 text}."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bin": bytes(value).decode("latin-1")}
    if isinstance(value, dict):
        return {(k.decode("latin-1") if isinstance(k, bytes) else k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return value["$bin"].encode("latin-1")
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


class Collector:
    def __init__(self) -> None:
        self.frames: list[tuple[int, int, int, bytes]] = []
        self.data = bytearray()

    def on_frame(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> None:
        self.frames.append((frame_type, flags, stream_id, bytes(payload)))

    def on_data(self, stream_id: int, flags: int, chunk: bytes, start: int, end: int, last: bool) -> None:
        self.data += chunk[start:end]
        if last:
            self.frames.append((TYPES["DATA"], flags, stream_id, bytes(self.data)))
            self.data = bytearray()


def decode_one(hex_bytes: str, decoder_setup: dict[str, Any]) -> tuple[int, int, int, bytes]:
    collector = Collector()
    decoder = FrameDecoder(collector, decoder_setup["max_frame_size"], decoder_setup["expect_preface"])
    decoder.feed(bytes.fromhex(hex_bytes))
    assert len(collector.frames) == 1, collector.frames
    return collector.frames[0]


# What a worker decodes, per frame type: payload → JSON form (raises ProtocolError).
def _decode_payload(frame_type: str, payload: bytes) -> Any:
    if frame_type == "HELLO":
        hello = decode_hello(payload, None)
        fields = {key: getattr(hello, key) for key in Hello.__dataclass_fields__}
        fields["features"] = list(hello.features)
        return to_json({key: value for key, value in fields.items() if value is not None})
    if frame_type == "AUTH":
        return to_json({"proof": decode_auth(payload)})
    if frame_type == "REQUEST":
        fields = unpack_map(payload, "environ")
        build_environ(fields, BASE)  # the full schema check
        known = {key: value for key, value in fields.items() if key in KNOWN_ENVIRON}
        for optional in ("script_name", "upgrade"):
            if known.get(optional) in (b"", ""):
                del known[optional]
        return to_json(known)
    if frame_type == "TRAILERS":
        return to_json([list(pair) for pair in decode_trailers(payload)])
    if frame_type == "RESET":
        code, message = decode_reset(payload)
        return {"code": code, **({"message": message} if message else {})}
    if frame_type == "GOAWAY":
        last, code, message = decode_goaway(payload)
        return {"last_stream": last, "code": code, **({"message": message} if message else {})}
    if frame_type in ("DATA", "PING", "PONG"):
        return to_json(payload)
    if frame_type == "WINDOW":
        return {"increment": struct.unpack(">I", payload)[0]}
    if frame_type == "RECALL":
        return None  # always empty (the header check enforces it)
    raise LookupError(frame_type)  # RESPONSE, HEALTH: a worker sends these, never decodes them


KNOWN_ENVIRON = {
    "method", "target", "path", "query", "version", "headers", "scheme", "client_addr", "client_port",
    "server_addr", "server_port", "server_name", "request_id", "body_length", "script_name", "upgrade",
}


# What a worker encodes, per frame type: (flags, stream id, JSON payload) → whole frame bytes.
def _encode_frame(frame_type: str, flags: int, stream_id: int, payload: Any) -> bytes:
    value = from_json(payload)
    if frame_type == "HELLO":
        fields = dict(value)
        fields["features"] = tuple(fields["features"])
        body = encode_hello(Hello(**fields))
    elif frame_type == "AUTH":
        body = encode_auth(value["proof"])
    elif frame_type == "RESPONSE":
        headers = [(name, val) for name, val in value["headers"]]
        body = encode_response_head(value["status"], headers, value.get("reason"))
    elif frame_type == "RESET":
        body = encode_reset(value["code"], value.get("message", ""))
    elif frame_type == "GOAWAY":
        body = encode_goaway(value["last_stream"], value["code"], value.get("message", ""))
    elif frame_type == "HEALTH":
        body = encode_health(**value)
    elif frame_type in ("DATA", "PING", "PONG"):
        body = value
    elif frame_type == "WINDOW":
        body = pack_window_increment(value["increment"])
    else:
        raise LookupError(frame_type)  # REQUEST, TRAILERS: only a proxy sends these
    return frame(TYPES[frame_type], flags, stream_id, body)


FRAMES = load("frames.json")


@pytest.mark.parametrize("vector", FRAMES["vectors"], ids=lambda v: v["name"])
def test_frames_decode(vector: dict[str, Any]) -> None:
    expected = vector["frame"]
    frame_type, flags, stream_id, payload = decode_one(vector["hex"], FRAMES["decoder"])
    assert (FRAME_NAMES[frame_type], flags, stream_id) == (expected["type"], expected["flags"], expected["stream_id"])
    try:
        decoded = _decode_payload(expected["type"], payload)
    except LookupError:
        # A worker never decodes RESPONSE or HEALTH; still, the bytes are standard msgpack.
        decoded = to_json(msgpack.unpackb(payload, raw=False))
        decoded = {k: v for k, v in decoded.items() if k in expected["payload"]}
    assert decoded == expected["payload"]


@pytest.mark.parametrize("vector", [v for v in FRAMES["vectors"] if v["canonical"]], ids=lambda v: v["name"])
def test_frames_encode_canonically(vector: dict[str, Any]) -> None:
    expected = vector["frame"]
    try:
        encoded = _encode_frame(expected["type"], expected["flags"], expected["stream_id"], expected["payload"])
    except LookupError:
        pytest.skip(f"a worker never sends {expected['type']}")
    assert encoded.hex() == vector["hex"]


ERRORS = load("errors.json")
WORKER_NEVER_DECODES = {"RESPONSE", "HEALTH"}


def _decode_error(vector: dict[str, Any]) -> str:
    try:
        frame_type, _flags, _stream_id, payload = decode_one(vector["hex"], ERRORS["decoder"])
    except ProtocolError as error:
        return error.code.name
    name = FRAME_NAMES[frame_type]
    if name in WORKER_NEVER_DECODES:
        pytest.skip(f"a worker does not decode {name} payloads (it sends them)")
    try:
        _decode_payload(name, payload)
    except ProtocolError as error:
        return error.code.name
    return "no error"


@pytest.mark.parametrize("vector", ERRORS["vectors"], ids=lambda v: v["name"])
def test_errors(vector: dict[str, Any]) -> None:
    assert _decode_error(vector) == vector["error"]


PREFACES = load("preface.json")


@pytest.mark.parametrize("vector", PREFACES["vectors"], ids=lambda v: v["name"])
def test_preface(vector: dict[str, Any]) -> None:
    decoder = FrameDecoder(Collector(), 65536, True)
    data = bytes.fromhex(vector["hex"])
    if "error" not in vector:
        decoder.feed(data)
    else:
        with pytest.raises(ProtocolError) as caught:
            for index in range(len(data)):  # byte by byte: the error comes on the first wrong byte
                decoder.feed(data[index : index + 1])
        assert caught.value.code == ErrorCode.BAD_PREFACE


# -- sequences against live workers -------------------------------------------------------------

SEQUENCES = load("sequences.json")
SECRETS = {"secret": from_json(SEQUENCES["secret"]), "wrong_secret": from_json(SEQUENCES["wrong_secret"])}
SKIPPABLE = {TYPES[name] for name in SEQUENCES["skippable"]}


@pytest.fixture(scope="module")
def vector_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[bool], str]]:
    """Workers advertising the limits the sequences assume: frame 65536, window 1024, 2 streams."""
    import shutil
    import tempfile

    started: dict[bool, tuple[Any, str, str]] = {}

    def get(auth: bool) -> str:
        if auth not in started:
            directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
            env = {"GATEWIRE_SECRET": SECRETS["secret"].decode()} if auth else None
            worker, path = start_single(
                directory, tmp_path_factory.mktemp("vector-logs"), "--max-frame-size", "65536",
                "--initial-window", "1024", threads=2, env=env,
            )
            started[auth] = (worker, path, directory)
        return started[auth][1]

    yield get
    for worker, _path, directory in started.values():
        worker.stop()
        shutil.rmtree(directory, ignore_errors=True)


def matches(pattern: Any, actual: Any) -> bool:
    if isinstance(pattern, dict) and "$bin" not in pattern:
        return isinstance(actual, dict) and all(key in actual and matches(value, actual[key]) for key, value in pattern.items())
    return pattern == actual


def _payload_json(frame_type: int, payload: bytes) -> Any:
    name = FRAME_NAMES.get(frame_type)
    if name in ("DATA", "PING", "PONG"):
        return to_json(payload)
    if name == "WINDOW":
        return {"increment": struct.unpack(">I", payload)[0]}
    return to_json(msgpack.unpackb(payload, raw=False)) if payload else None


def play(sequence: dict[str, Any], path: str) -> None:
    sock = g.connect(path, timeout=5)
    proxy_nonce = worker_nonce = b""
    pending: list[bytes] = []
    try:
        for step in sequence["steps"]:
            if "send" in step:
                data = bytes.fromhex(step["hex"])
                sent = step["send"]
                if sent.get("type") == "HELLO":
                    proxy_nonce = from_json(sent["payload"])["nonce"]
                if "proof" in step:  # recompute with the nonces of this live connection
                    key = SECRETS[step["proof"]["secret"]]
                    label = b"gatewire-v1 proxy" + worker_nonce + proxy_nonce
                    data = frame(TYPES["AUTH"], 0, 0, msgpack.packb({"proof": hmac.new(key, label, hashlib.sha256).digest()}))
                pending.append(data)
                continue
            if pending:
                sock.sendall(b"".join(pending))  # consecutive sends in one write
                pending = []
            expected = step["expect"]
            if expected["type"] == "PREFACE":
                assert g.recv_exact(sock, 8) == g.PREFACE
                continue
            while True:
                try:
                    received = g.read_frame(sock)
                except (g.ConnectionClosed, ConnectionResetError):
                    assert expected["type"] == "CLOSE", f"connection closed, expected {expected}"
                    break
                if expected["type"] != "CLOSE" and received.type == TYPES[expected["type"]]:
                    break
                assert received.type in SKIPPABLE, f"unexpected {FRAME_NAMES.get(received.type)} while expecting {expected}"
            if expected["type"] == "CLOSE":
                continue
            payload = _payload_json(received.type, received.payload)
            if expected["type"] == "HELLO":
                worker_nonce = msgpack.unpackb(received.payload)["nonce"]
            if "proof" in step:  # the worker's proof over this connection's nonces
                key = SECRETS[step["proof"]["secret"]]
                label = b"gatewire-v1 worker" + proxy_nonce + worker_nonce
                expected = {**expected, "payload": to_json({"proof": hmac.new(key, label, hashlib.sha256).digest()})}
            for field in ("flags", "stream_id"):
                if field in expected:
                    assert getattr(received, field) == expected[field], (field, received)
            if "payload" in expected:
                assert matches(expected["payload"], payload), (expected["payload"], payload)
        if pending:
            sock.sendall(b"".join(pending))
    finally:
        sock.close()


WORKER_SEQUENCES = [s for s in SEQUENCES["sequences"] if s["subject"] == "worker"]


@pytest.mark.parametrize("sequence", WORKER_SEQUENCES, ids=lambda s: s["name"])
def test_worker_sequences(sequence: dict[str, Any], vector_workers: Callable[[bool], str]) -> None:
    hello = sequence["subject_hello"]
    path = vector_workers(hello.get("auth") == "hmac-sha256")
    play(sequence, path)
