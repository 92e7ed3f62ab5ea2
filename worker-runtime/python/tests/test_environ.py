"""From the gatewire environ to PEP 3333 (SPEC §7, PEP 3333 "environ Variables")."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from gatewire_wsgi.environ import base_environ, build_environ
from gatewire_wsgi.errors import ErrorCode, ProtocolError


def fields(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": "GET",
        "target": b"/a%20b/caf%C3%A9?x=1&y=%20",
        "path": b"/a%20b/caf%C3%A9",
        "query": b"x=1&y=%20",
        "version": "HTTP/1.1",
        "headers": [
            [b"host", b"example.test:8080"],
            [b"accept", b"text/html"],
            [b"accept", b"application/json"],
            [b"cookie", b"a=1"],
            [b"cookie", b"b=2"],
            [b"x-custom-thing", b"caf\xe9"],
            [b"content-type", b"text/plain"],
        ],
        "scheme": "https",
        "client_addr": "203.0.113.9",
        "client_port": 51000,
        "server_addr": "10.0.0.1",
        "server_port": 8443,
        "server_name": "example.test",
        "request_id": "req-1",
        "body_length": 0,
    }
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


BASE = base_environ(multithread=True, multiprocess=False)


def test_pep3333_keys() -> None:
    environ = build_environ(fields(), BASE)
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    # percent-decoded bytes, then ISO-8859-1: é (C3 A9) becomes two code points
    assert environ["PATH_INFO"] == "/a b/caf\u00c3\u00a9"
    assert environ["QUERY_STRING"] == "x=1&y=%20"  # the query stays encoded
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_NAME"] == "example.test"
    assert environ["SERVER_PORT"] == "8443"
    assert environ["REMOTE_ADDR"] == "203.0.113.9"
    assert environ["REMOTE_PORT"] == "51000"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    assert environ["gatewire.request_id"] == "req-1"
    assert environ["HTTP_HOST"] == "example.test:8080"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert "CONTENT_LENGTH" not in environ


def test_duplicate_headers_joined() -> None:
    environ = build_environ(fields(), BASE)
    assert environ["HTTP_ACCEPT"] == "text/html, application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_X_CUSTOM_THING"] == "caf\u00e9"  # the byte E9 as one code point


def test_script_name_prefix() -> None:
    environ = build_environ(fields(script_name=b"/mount%20point", path=b"/mount%20point/x/y"), BASE)
    assert environ["SCRIPT_NAME"] == "/mount point"
    assert environ["PATH_INFO"] == "/x/y"


def test_content_length_and_chunked() -> None:
    headers = [[b"content-length", b"12"]]
    environ = build_environ(fields(headers=headers, body_length=12, method="POST"), BASE)
    assert environ["CONTENT_LENGTH"] == "12"
    chunked = build_environ(fields(headers=[], body_length=None, method="POST"), BASE)
    assert "CONTENT_LENGTH" not in chunked
    assert chunked["wsgi.input_terminated"] is True


def test_unknown_keys_ignored() -> None:
    environ = build_environ(fields(future_key={"a": [1, 2, {"b": None}]}, upgrade="websocket"), BASE)
    assert environ["REQUEST_METHOD"] == "GET"


@pytest.mark.parametrize(
    ("changes", "mentions"),
    [
        ({"method": ...}, "missing required key method"),
        ({"body_length": ...}, "body_length"),  # required even though it may be nil
        ({"path": "/text"}, "environ.path: expected bin, got str"),
        ({"target": "/text"}, "environ.target"),
        ({"method": b"GET"}, "environ.method: expected str, got bin"),
        ({"headers": [["host", "x"]]}, "environ.headers"),
        ({"headers": [[b"host"]]}, "environ.headers"),
        ({"headers": {"host": b"x"}}, "environ.headers"),
        ({"headers": [[b"a", b"b"]] * 4097}, "4096"),
        ({"client_port": -1}, "client_port"),
        ({"server_port": "80"}, "server_port"),
        ({"body_length": -5}, "body_length"),
        ({"request_id": "r" * 201}, "request_id"),
        ({"script_name": "/x"}, "script_name"),
        ({"future": msgpack.Timestamp(0, 0)}, "extension"),
    ],
)
def test_schema_violations_are_bad_payload(changes: dict[str, Any], mentions: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        build_environ(fields(**changes), BASE)
    assert caught.value.code == ErrorCode.BAD_PAYLOAD
    assert mentions in caught.value.message
