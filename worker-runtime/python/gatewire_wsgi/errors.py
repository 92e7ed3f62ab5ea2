"""Error classes and the protocol's stable error codes (SPEC §14.1)."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """SPEC §14.1. Numbers are stable: never renumber, never reuse a retired code."""

    NO_ERROR = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2
    FLOW_CONTROL_ERROR = 3
    FRAME_SIZE_ERROR = 4
    BAD_PREFACE = 5
    UNSUPPORTED_VERSION = 6
    HANDSHAKE_ERROR = 7
    AUTH_FAILED = 8
    UNKNOWN_FRAME_TYPE = 9
    BAD_PAYLOAD = 10
    REFUSED_STREAM = 11
    CANCEL = 12
    STREAM_CLOSED = 13
    TIMEOUT = 14
    APP_ERROR = 15
    INVALID_HEAD = 16


def code_name(code: int) -> str:
    """The SPEC name of a wire code; unknown codes read as INTERNAL_ERROR (SPEC §14.1)."""
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"INTERNAL_ERROR({code})"


class GatewireError(Exception):
    """Base class of every error this package raises on purpose."""


class ProtocolError(GatewireError):
    """A violation of the protocol. `stream_id` 0 means a connection error (GOAWAY), else RESET."""

    def __init__(self, code: ErrorCode, message: str, stream_id: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.stream_id = stream_id

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class StreamCancelled(OSError):
    """The stream ended under the application (RESET CANCEL, connection lost).

    An OSError, so that frameworks that turn read failures on the request body into their own
    error (Django's UnreadablePostError) do so.
    """

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"request stream was reset ({code_name(code)}){': ' + message if message else ''}")
        self.code = code


class ConfigError(GatewireError):
    """An invalid command line, environment or socket setup; the message says how to fix it."""


class AppLoadError(GatewireError):
    """The WSGI application could not be imported."""
