"""The WSGI app of the observability tests (Python worker).

GET /obs/ok     200 ``ok``
GET /obs/throw  writes a line to wsgi.errors, then raises: the worker answers 500 and logs an
                app_error line; both carry the request id
"""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/obs/throw":
        environ["wsgi.errors"].write("about to fail\n")
        raise RuntimeError("boom from the WSGI app")
    if path == "/obs/ok":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]
