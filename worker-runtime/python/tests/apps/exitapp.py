"""An app whose import succeeds only while a flag file is absent (reload failure tests)."""

import os

FLAG = os.environ.get("GW_TEST_BREAK_FILE")
if FLAG and os.path.exists(FLAG):
    raise RuntimeError("broken on purpose (flag file present)")


def application(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
