"""wsgi.errors per request: each line the app writes is a log line with the request id (issue #8)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gatewire_wsgi import logs
from gatewire_wsgi.environ import base_environ, build_environ
from gatewire_wsgi.logs import RequestErrors
from tests.test_environ import fields


@pytest.fixture()
def captured() -> io.StringIO:
    logs.configure("info", "json")
    logger = logging.getLogger(logs.LOGGER_NAME)
    stream = io.StringIO()
    handler = logger.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_a_record_with_the_request_id(captured: io.StringIO) -> None:
    errors = RequestErrors("req-77")
    assert errors.write("first line\nsecond ") == len("first line\nsecond ")
    errors.write("line\r\n")
    errors.writelines(["a\n", "b"])
    assert [line["msg"] for line in lines(captured)] == ["first line", "second line", "a"]
    errors.flush()
    records = lines(captured)
    assert [line["msg"] for line in records] == ["first line", "second line", "a", "b"]
    assert all(line["request_id"] == "req-77" for line in records)
    assert all(line["event"] == "wsgi_errors" and line["level"] == "error" for line in records)


def test_flush_without_a_partial_line_writes_nothing(captured: io.StringIO) -> None:
    errors = RequestErrors("req-78")
    errors.flush()
    assert captured.getvalue() == ""


def test_bytes_are_refused() -> None:
    with pytest.raises(TypeError):
        RequestErrors("req-79").write(b"bytes")  # type: ignore[arg-type]


def test_every_environ_gets_its_own_errors_stream() -> None:
    base = base_environ(multithread=True, multiprocess=False)
    one = build_environ(fields(request_id="req-a"), base)
    two = build_environ(fields(request_id="req-b"), base)
    assert isinstance(one["wsgi.errors"], RequestErrors)
    assert one["wsgi.errors"].request_id == "req-a"
    assert two["wsgi.errors"].request_id == "req-b"
