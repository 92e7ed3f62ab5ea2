"""Logging: one line per lifecycle event and per error, JSON lines (default) or plain text.

Records carry an ``event`` name and, where there is one, the ``request_id`` the proxy put in
the environ, so worker lines correlate with the proxy's access log.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LOGGER_NAME = "gatewire_wsgi"
LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("json", "text")

# LogRecord attributes that are not "extra" fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _timestamp(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "pid": record.process,
        }
        extras = _extras(record)
        event = extras.pop("event", None)
        if event is not None:
            line["event"] = event
        line["msg"] = record.getMessage()
        line.update(extras)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = _extras(record)
        event = extras.pop("event", None)
        fields = "".join(f" {key}={value}" for key, value in extras.items())
        text = (
            f"{_timestamp(record.created)} {record.levelname:<7} [{record.process}]"
            f"{' ' + event + ':' if event else ''} {record.getMessage()}{fields}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure(level: str, fmt: str) -> logging.Logger:
    """Sends this package's records to stderr, one line each (tracebacks inside the JSON line)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


class RequestErrors:
    """A request's ``wsgi.errors``: each line the app writes becomes one log record of this package
    (event ``wsgi_errors``, level error) carrying the request's ``request_id``, in the worker's log
    format, so the app's error output can be matched to the proxy's access-log line.

    A partial line is held until its newline, ``flush()`` or the next request (the object is per
    request and dropped with the environ)."""

    __slots__ = ("request_id", "_partial")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self._partial = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors.write() takes str, not {type(text).__name__}")
        pending = self._partial + text
        lines = pending.split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._emit(line)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self._emit(line)

    def _emit(self, line: str) -> None:
        logging.getLogger(LOGGER_NAME).error(
            line.rstrip("\r"), extra={"event": "wsgi_errors", "request_id": self.request_id}
        )
