"""The frame layer: preface, 10-byte frame header, incremental decoder (SPEC §3, §4, §15).

Pure: no I/O. The decoder is fed whatever `recv` returned and calls its handler once per frame;
DATA payloads are handed out as ``(chunk, start, end)`` ranges of the received bytes, never
buffered or copied here.
"""

from __future__ import annotations

import struct
from typing import Protocol

from .errors import ErrorCode, ProtocolError

# SPEC §3
PREFACE = b"GATEWIRE"
PREFACE_SIZE = 8

# SPEC §4.1: length u32, type u8, flags u8, stream id u32, big-endian.
HEADER = struct.Struct(">IBBI")
HEADER_SIZE = 10
pack_header = HEADER.pack

# SPEC §4.2
HELLO = 0x01
AUTH = 0x02
REQUEST = 0x03
RESPONSE = 0x04
DATA = 0x05
TRAILERS = 0x06
WINDOW = 0x07
RESET = 0x08
GOAWAY = 0x09
PING = 0x0A
PONG = 0x0B
HEALTH = 0x0C
RECALL = 0x0D  # only with the `queue` feature (SPEC §6.4)

FRAME_NAMES = {
    HELLO: "HELLO",
    AUTH: "AUTH",
    REQUEST: "REQUEST",
    RESPONSE: "RESPONSE",
    DATA: "DATA",
    TRAILERS: "TRAILERS",
    WINDOW: "WINDOW",
    RESET: "RESET",
    GOAWAY: "GOAWAY",
    PING: "PING",
    PONG: "PONG",
    HEALTH: "HEALTH",
    RECALL: "RECALL",
}

# SPEC §4.3
END_STREAM = 0x01

# SPEC §15
MIN_MAX_FRAME_SIZE = 65_536
MAX_MAX_FRAME_SIZE = 16_777_215
DEFAULT_MAX_FRAME_SIZE = 65_536
MIN_INITIAL_WINDOW = 1024
MAX_WINDOW = 2_147_483_647
MAX_STREAMS = 2_147_483_647
MAX_STREAM_ID = 4_294_967_295
MAX_FEATURES = 64
MIN_NONCE_SIZE = 16
MAX_NONCE_SIZE = 64
PROOF_SIZE = 32
MAX_NESTING_DEPTH = 16
MAX_HEADER_PAIRS = 4096
MAX_REQUEST_ID_BYTES = 200
MAX_MESSAGE_BYTES = 1024
HANDSHAKE_TIMEOUT_S = 10.0

_CONNECTION_FRAMES = frozenset({HELLO, AUTH, GOAWAY, PING, PONG, HEALTH})
_STREAM_FLAGS = frozenset({REQUEST, RESPONSE, DATA, TRAILERS})
_WINDOW = struct.Struct(">I")
pack_window_increment = _WINDOW.pack
unpack_window_increment = _WINDOW.unpack


def frame_name(frame_type: int) -> str:
    return FRAME_NAMES.get(frame_type) or f"0x{frame_type:02x}"


def quote_bytes(data: bytes) -> str:
    """Bytes the way an operator can read them: printable ASCII as is, the rest escaped."""
    out = []
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x0A:
            out.append("\\n")
        else:
            out.append(f"\\x{byte:02x}")
    return '"' + "".join(out) + '"'


def check_header(length: int, frame_type: int, flags: int, stream_id: int, max_frame_size: int) -> None:
    """Validates a frame header in the order SPEC §4.2 fixes; raises the first failing check's error."""
    if length > max_frame_size:
        raise ProtocolError(
            ErrorCode.FRAME_SIZE_ERROR,
            f"{frame_name(frame_type)} frame of {length} bytes exceeds the limit of {max_frame_size}",
        )
    if frame_type == 0 or frame_type > RECALL:
        raise ProtocolError(ErrorCode.UNKNOWN_FRAME_TYPE, f"unknown frame type 0x{frame_type:02x}")
    if flags:
        if flags != END_STREAM or frame_type not in _STREAM_FLAGS:
            raise ProtocolError(
                ErrorCode.PROTOCOL_ERROR,
                f"{frame_name(frame_type)} frame with reserved flags 0x{flags:02x}",
            )
    elif frame_type == TRAILERS:
        raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "TRAILERS frame without END_STREAM")
    if frame_type in _CONNECTION_FRAMES:
        if stream_id != 0:
            raise ProtocolError(
                ErrorCode.PROTOCOL_ERROR,
                f"{frame_name(frame_type)} frame on stream {stream_id}; it belongs on stream 0",
            )
    elif stream_id == 0:
        raise ProtocolError(
            ErrorCode.PROTOCOL_ERROR, f"{frame_name(frame_type)} frame on stream 0; it needs a stream id"
        )
    if frame_type == WINDOW and length != 4:
        raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, f"WINDOW frame of {length} bytes; it must be 4")
    if (frame_type == PING or frame_type == PONG) and length != 8:
        raise ProtocolError(
            ErrorCode.FRAME_SIZE_ERROR, f"{frame_name(frame_type)} frame of {length} bytes; it must be 8"
        )
    if frame_type == RECALL and length:
        raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, f"RECALL frame of {length} bytes; it must be empty")


class FrameHandler(Protocol):
    def on_frame(self, frame_type: int, flags: int, stream_id: int, payload: bytes) -> None:
        """A complete non-DATA frame."""

    def on_data(self, stream_id: int, flags: int, chunk: bytes, start: int, end: int, last: bool) -> None:
        """A piece ``chunk[start:end]`` of a DATA frame; `last` on the frame's final piece."""


_PREFACE = 0
_HEADER = 1
_PAYLOAD = 2
_DATA = 3
_STOPPED = 4


class FrameDecoder:
    """Incremental decoder: feed bytes in chunks of any size, frames come out (SPEC §3, §4).

    Bounds first: a header is validated before a byte of its payload is kept, so hostile input
    never makes it hold more than one control frame of at most `max_frame_size` bytes. Any
    violation raises ProtocolError and stops the decoder.
    """

    __slots__ = (
        "handler",
        "max_frame_size",
        "_state",
        "_seen",
        "_partial_header",
        "_type",
        "_flags",
        "_stream_id",
        "_remaining",
        "_payload",
    )

    def __init__(self, handler: FrameHandler, max_frame_size: int, expect_preface: bool = True) -> None:
        self.handler = handler
        self.max_frame_size = max_frame_size
        self._state = _PREFACE if expect_preface else _HEADER
        self._seen = b""
        self._partial_header = b""
        self._type = 0
        self._flags = 0
        self._stream_id = 0
        self._remaining = 0
        self._payload = bytearray()

    @property
    def idle(self) -> bool:
        """True between frames, with nothing partial held."""
        return self._state == _HEADER and not self._partial_header

    def stop(self) -> None:
        self._state = _STOPPED
        self._payload = bytearray()

    def feed(self, chunk: bytes) -> None:
        try:
            self._feed(chunk)
        except BaseException:
            self.stop()
            raise

    def _feed(self, chunk: bytes) -> None:
        n = len(chunk)
        pos = 0
        handler = self.handler
        unpack_from = HEADER.unpack_from
        while pos < n:
            state = self._state
            if state == _HEADER:
                if self._partial_header:
                    need = HEADER_SIZE - len(self._partial_header)
                    piece = chunk[pos : pos + need]
                    pos += len(piece)
                    header = self._partial_header + piece
                    if len(header) < HEADER_SIZE:
                        self._partial_header = header
                        return
                    self._partial_header = b""
                    length, frame_type, flags, stream_id = HEADER.unpack(header)
                elif n - pos >= HEADER_SIZE:
                    length, frame_type, flags, stream_id = unpack_from(chunk, pos)
                    pos += HEADER_SIZE
                else:
                    self._partial_header = chunk[pos:]
                    return
                if not (
                    (frame_type == DATA or frame_type == REQUEST)
                    and flags <= END_STREAM
                    and stream_id
                    and length <= self.max_frame_size
                ):
                    # Everything but a valid DATA/REQUEST header (those pass every check): full check.
                    check_header(length, frame_type, flags, stream_id, self.max_frame_size)
                available = n - pos
                if frame_type == DATA:
                    if available >= length:
                        handler.on_data(stream_id, flags, chunk, pos, pos + length, True)
                        pos += length
                        continue
                    self._stream_id = stream_id
                    self._flags = flags
                    self._remaining = length - available
                    self._state = _DATA
                    handler.on_data(stream_id, flags, chunk, pos, n, False)
                    return
                if available >= length:
                    end = pos + length
                    handler.on_frame(frame_type, flags, stream_id, chunk[pos:end])
                    pos = end
                    continue
                self._type = frame_type
                self._flags = flags
                self._stream_id = stream_id
                self._remaining = length - available
                self._payload = bytearray(chunk[pos:])
                self._state = _PAYLOAD
                return
            elif state == _DATA:
                available = n - pos
                remaining = self._remaining
                if available >= remaining:
                    self._state = _HEADER
                    self._remaining = 0
                    handler.on_data(self._stream_id, self._flags, chunk, pos, pos + remaining, True)
                    pos += remaining
                else:
                    self._remaining = remaining - available
                    handler.on_data(self._stream_id, self._flags, chunk, pos, n, False)
                    return
            elif state == _PAYLOAD:
                take = min(self._remaining, n - pos)
                self._payload += chunk[pos : pos + take]
                pos += take
                self._remaining -= take
                if self._remaining:
                    return
                payload = bytes(self._payload)
                self._payload = bytearray()
                self._state = _HEADER
                handler.on_frame(self._type, self._flags, self._stream_id, payload)
            elif state == _PREFACE:
                take = min(PREFACE_SIZE - len(self._seen), n - pos)
                seen = self._seen + chunk[pos : pos + take]
                if not PREFACE.startswith(seen):
                    shown = seen + chunk[pos + take : pos + take + 24]
                    raise ProtocolError(
                        ErrorCode.BAD_PREFACE,
                        'peer did not start with the gatewire preface "GATEWIRE"; '
                        f"first bytes were {quote_bytes(shown)}",
                    )
                pos += take
                self._seen = seen
                if len(seen) == PREFACE_SIZE:
                    self._state = _HEADER
            else:
                return


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One whole frame as bytes (for small frames; large DATA is sent header + payload)."""
    return pack_header(len(payload), frame_type, flags, stream_id) + payload
