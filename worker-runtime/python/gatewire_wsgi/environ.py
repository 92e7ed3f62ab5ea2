"""From the gatewire environ (SPEC §7.2) to a PEP 3333 WSGI environ.

Validation and conversion are one pass: every field is type-checked as it is read, and a
payload that does not match the schema raises ProtocolError BAD_PAYLOAD naming the key.
Wire bytes are decoded as ISO-8859-1, each byte one code point (SPEC §7.1, PEP 3333).
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from . import SERVER_SOFTWARE
from .codec import check_nested, describe
from .errors import ErrorCode, ProtocolError
from .file_wrapper import FileWrapper
from .frames import MAX_HEADER_PAIRS, MAX_REQUEST_ID_BYTES
from .logs import RequestErrors

REQUIRED_KEYS = (
    "method",
    "target",
    "path",
    "query",
    "version",
    "headers",
    "scheme",
    "client_addr",
    "client_port",
    "server_addr",
    "server_port",
    "server_name",
    "request_id",
    "body_length",
)
MAX_SAFE_UINT = 2**53 - 1  # SPEC §14.2
KNOWN_KEYS = frozenset(REQUIRED_KEYS) | {"script_name", "upgrade"}

# Header name → environ key. Names are lowercase tokens (SPEC §7.2, §7.3): bytes.upper() touches
# ASCII only, so a stray non-ASCII byte can never change length or leave ISO-8859-1.
_HEADER_KEYS: dict[bytes, str] = {
    b"content-type": "CONTENT_TYPE",
    b"content-length": "CONTENT_LENGTH",
}
_HEADER_KEY_CACHE_LIMIT = 1024
_COOKIE_KEY = "HTTP_COOKIE"


def header_key(name: bytes) -> str:
    key = _HEADER_KEYS.get(name)
    if key is None:
        key = (b"HTTP_" + name.upper().replace(b"-", b"_")).decode("latin-1")
        if len(_HEADER_KEYS) < _HEADER_KEY_CACHE_LIMIT:
            _HEADER_KEYS[name] = key
    return key


def decode_path(raw: bytes) -> str:
    """Percent-decodes raw path bytes, then ISO-8859-1: the WSGI way (PEP 3333, CGI PATH_INFO)."""
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return raw.decode("latin-1")


def base_environ(multithread: bool, multiprocess: bool) -> dict[str, Any]:
    """The keys that are the same for every request of a process; copied per request."""
    return {
        "SCRIPT_NAME": "",
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,  # replaced per request by a RequestErrors (lines tagged with the request id)
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }


def _bad(key: str, problem: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_PAYLOAD, f"environ.{key}: {problem}")


def _expect(value: object, kind: type, key: str) -> None:
    if type(value) is not kind:
        raise _bad(key, f"expected {describe(kind())}, got {describe(value)}")


def build_environ(fields: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """A WSGI environ (without wsgi.input) from a decoded REQUEST payload; BAD_PAYLOAD on schema errors."""
    try:
        method = fields["method"]
        target = fields["target"]
        path = fields["path"]
        query = fields["query"]
        version = fields["version"]
        headers = fields["headers"]
        scheme = fields["scheme"]
        client_addr = fields["client_addr"]
        client_port = fields["client_port"]
        server_addr = fields["server_addr"]
        server_port = fields["server_port"]
        server_name = fields["server_name"]
        request_id = fields["request_id"]
        body_length = fields["body_length"]
    except KeyError:
        missing = [key for key in REQUIRED_KEYS if key not in fields]
        raise ProtocolError(
            ErrorCode.BAD_PAYLOAD,
            f"environ: missing required key{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
        ) from None
    if (
        type(method) is not str
        or type(target) is not bytes
        or type(path) is not bytes
        or type(query) is not bytes
        or type(version) is not str
        or type(scheme) is not str
        or type(client_addr) is not str
        or type(server_addr) is not str
        or type(server_name) is not str
        or type(request_id) is not str
    ):
        _expect(method, str, "method")
        _expect(target, bytes, "target")
        _expect(path, bytes, "path")
        _expect(query, bytes, "query")
        _expect(version, str, "version")
        _expect(scheme, str, "scheme")
        _expect(client_addr, str, "client_addr")
        _expect(server_addr, str, "server_addr")
        _expect(server_name, str, "server_name")
        _expect(request_id, str, "request_id")
    if type(client_port) is not int or not 0 <= client_port <= 65535:
        raise _bad("client_port", f"expected a uint in 0…65535, got {describe(client_port)}")
    if type(server_port) is not int or not 0 <= server_port <= 65535:
        raise _bad("server_port", f"expected a uint in 0…65535, got {describe(server_port)}")
    if body_length is not None and (type(body_length) is not int or not 0 <= body_length <= MAX_SAFE_UINT):
        raise _bad("body_length", f"expected a uint or nil, got {describe(body_length)}")
    if len(request_id) > MAX_REQUEST_ID_BYTES // 4 and len(request_id.encode()) > MAX_REQUEST_ID_BYTES:
        raise _bad("request_id", f"longer than {MAX_REQUEST_ID_BYTES} bytes")
    if type(headers) is not list:
        raise _bad("headers", f"expected an array, got {describe(headers)}")
    if len(headers) > MAX_HEADER_PAIRS:
        raise _bad("headers", f"{len(headers)} header pairs exceed the limit of {MAX_HEADER_PAIRS}")

    known = 14
    script_name = fields.get("script_name")
    if script_name is not None:
        _expect(script_name, bytes, "script_name")
        known += 1
    upgrade = fields.get("upgrade")
    if upgrade is not None:
        _expect(upgrade, str, "upgrade")
        known += 1
    if len(fields) > known:
        for key, value in fields.items():
            if key not in KNOWN_KEYS:
                check_nested(value, f"environ.{key}", 2)

    environ = base.copy()
    environ["REQUEST_METHOD"] = method
    # SPEC §7.2: script_name counts only as a prefix of path that ends at a '/' or at its end.
    if script_name and path.startswith(script_name) and path[len(script_name) : len(script_name) + 1] in (b"", b"/"):
        environ["SCRIPT_NAME"] = decode_path(script_name)
        path = path[len(script_name) :]
    environ["PATH_INFO"] = decode_path(path) if b"%" in path else path.decode("latin-1")
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["REQUEST_URI"] = target.decode("latin-1")
    environ["SERVER_PROTOCOL"] = version
    environ["SERVER_NAME"] = server_name
    environ["SERVER_PORT"] = str(server_port)
    environ["REMOTE_ADDR"] = client_addr
    environ["REMOTE_PORT"] = str(client_port)
    environ["wsgi.url_scheme"] = scheme
    environ["gatewire.request_id"] = request_id
    environ["wsgi.errors"] = RequestErrors(request_id)

    keys = _HEADER_KEYS
    try:
        for name, value in headers:
            if name.__class__ is not bytes or value.__class__ is not bytes:
                raise TypeError
            key = keys.get(name) or header_key(name)
            if key in environ:
                # Duplicates joined the HTTP way (RFC 9110 §5.3); cookies with "; " (RFC 6265 §5.4).
                environ[key] += ("; " if key == _COOKIE_KEY else ", ") + value.decode("latin-1")
            else:
                environ[key] = value.decode("latin-1")
    except (TypeError, ValueError):
        for index, pair in enumerate(headers):
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not bytes or type(pair[1]) is not bytes:
                raise _bad("headers", f"pair {index} is not a [bin, bin] array") from None
        raise
    if body_length is not None and body_length > 0 and "CONTENT_LENGTH" not in environ:
        environ["CONTENT_LENGTH"] = str(body_length)
    return environ
