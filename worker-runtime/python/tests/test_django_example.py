"""examples/django under the Python worker, started the documented way (serve.py: collectstatic,
then the worker), driven by the test client as the proxy would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import gwclient as g
from conftest import REPO_ROOT, WorkerProcess, wait_until
from gwclient import ProxyClient

EXAMPLE = REPO_ROOT / "examples" / "django"
HOST = ("host", "localhost")

try:
    import django  # noqa: F401
except ImportError as error:  # a missing requirement fails the suite, it never skips it
    raise ImportError("Django is not installed: pip install -r worker-runtime/python/requirements.txt") from error


class Site:
    def __init__(self, path: str, static_root: Path, worker: WorkerProcess) -> None:
        self.path = path
        self.static_root = static_root
        self.worker = worker

    def client(self) -> ProxyClient:
        return ProxyClient(self.path)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
    static_root = tmp_path_factory.mktemp("static")
    log_path = tmp_path_factory.mktemp("django-logs") / "worker.log"
    socket_path = os.path.join(directory, "django.sock")
    args = ["--socket", socket_path, "--threads", "4", "--grace", "5"]
    worker = WorkerProcess(
        args,
        log_path,
        env={"DJANGO_STATIC_ROOT": str(static_root), "DJANGO_ALLOWED_HOSTS": "localhost"},
        command=[sys.executable, str(EXAMPLE / "serve.py"), *args],
    )
    worker.wait_for_path(socket_path, timeout=60)
    yield Site(socket_path, static_root, worker)
    worker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def csrf_from(response: g.Response) -> tuple[str, str]:
    cookie = response.header("set-cookie")
    assert cookie is not None and cookie.startswith("csrftoken="), response.headers  # value trimmed
    token_cookie = cookie.split(";")[0].split("=", 1)[1]
    token_form = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.body)
    assert token_form
    return token_cookie, token_form[1].decode()


def test_page_with_hashed_static_files(site: Site) -> None:
    with site.client() as client:
        response = client.request("GET", "/", headers=[HOST])
    assert response.status == 200
    assert response.header("content-type") == "text/html; charset=utf-8"
    assert response.header("x-frame-options") == "DENY"
    css = re.search(rb'href="/static/(demo/site\.[0-9a-f]{12}\.css)"', response.body)
    assert css, response.body[:400]
    collected = site.static_root / css[1].decode()
    assert collected.is_file()  # collectstatic ran; the proxy serves this folder under /static/
    assert (site.static_root / "staticfiles.json").is_file()
    assert b"Served by worker process" in response.body


def test_form_post_with_csrf(site: Site) -> None:
    with site.client() as client:
        cookie, token = csrf_from(client.request("GET", "/", headers=[HOST]))
        body = f"csrfmiddlewaretoken={token}&name=Ada+%3CLovelace%3E".encode()
        headers = [HOST, ("content-type", "application/x-www-form-urlencoded"), ("cookie", f"csrftoken={cookie}")]
        response = client.request("POST", "/greet/", headers=headers, body=body)
        assert response.status == 200, response.body
        assert b"Hello, Ada &lt;Lovelace&gt;!" in response.body  # escaped by the template
        # Without the token, Django refuses the POST.
        refused = client.request("POST", "/greet/", headers=headers, body=b"name=Eve")
        assert refused.status == 403


def test_json_api(site: Site) -> None:
    with site.client() as client:
        info = client.request("GET", "/api/info/", headers=[HOST], request_id="req-django-json", scheme="https")
        assert info.status == 200 and info.header("content-type") == "application/json"
        data = json.loads(info.body)
        assert data["request_id"] == "req-django-json"
        assert data["scheme"] == "https"
        assert data["host"] == "localhost"
        assert data["server"].startswith("gatewire-wsgi/")
        payload = {"items": [1, 2, 3], "name": "caf\u00e9"}
        echoed = client.request(
            "POST", "/api/echo/", headers=[HOST, ("content-type", "application/json")], body=json.dumps(payload).encode()
        )
        assert echoed.status == 200
        assert json.loads(echoed.body)["received"] == payload


def multipart(fields: dict[str, str], filename: str, content: bytes, boundary: str = "gatewireBoundary7MA4YWxk") -> tuple[str, bytes]:
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


@pytest.mark.parametrize("size", [1000, 3 * 1024 * 1024])  # in memory, and spooled to a temp file
def test_file_upload(site: Site, size: int) -> None:
    content = os.urandom(size)
    with site.client() as client:
        cookie, token = csrf_from(client.request("GET", "/", headers=[HOST]))
        content_type, body = multipart({"csrfmiddlewaretoken": token, "description": "random bytes"}, "blob.bin", content)
        headers = [HOST, ("content-type", content_type), ("cookie", f"csrftoken={cookie}")]
        response = client.request("POST", "/upload/", headers=headers, body=body)
    assert response.status == 200, response.body[:500]
    result = json.loads(response.body)
    assert result == {
        "name": "blob.bin",
        "size": size,
        "sha256": hashlib.sha256(content).hexdigest(),
        "content_type": "application/octet-stream",
        "description": "random bytes",
    }


def test_streaming_response(site: Site) -> None:
    with site.client() as client:
        response = client.request("GET", "/stream/?n=5&delay=0.01", headers=[HOST])
    assert response.status == 200
    assert response.body.decode().splitlines() == [f"line {i} of 5" for i in range(5)]
    data_frames = [f for f in response.frames if f.type == g.DATA]
    assert len(data_frames) == 6  # each line as it was produced, then END_STREAM
    assert response.header("content-length") is None


def test_hello_view_is_one_response_and_one_data_frame(site: Site) -> None:
    with site.client() as client:
        response = client.request("GET", "/hello/", headers=[HOST])
    assert response.body == b"Hello, World!"
    assert [(f.type, f.flags) for f in response.frames] == [(g.RESPONSE, 0), (g.DATA, g.END_STREAM)]


def test_head_404_and_bad_host(site: Site) -> None:
    with site.client() as client:
        head = client.request("HEAD", "/hello/", headers=[HOST])
        assert head.status == 200 and head.body == b"" and head.header("content-length") == "13"
        missing = client.request("GET", "/no-such-page/", headers=[HOST])
        assert missing.status == 404
        bad_host = client.request("GET", "/hello/", headers=[("host", "evil.example")])
        assert bad_host.status == 400  # ALLOWED_HOSTS
    wait_until(lambda: "Invalid HTTP_HOST header" in site.worker.logs())
