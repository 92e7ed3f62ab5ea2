"""The example's views: a page, a CSRF-protected form, a JSON API, an upload, a stream."""

import hashlib
import json
import os
import time
from collections.abc import Iterator

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The page: links, the greeting form (its CSRF token comes with it), the upload form."""
    return render(request, "demo/index.html", {"pid": os.getpid()})


def hello(request: HttpRequest) -> HttpResponse:
    """The benchmark view, as in the reference stacks' django_hello project."""
    return HttpResponse(b"Hello, World!", content_type="text/plain")


@require_POST
def greet(request: HttpRequest) -> HttpResponse:
    """A form POST; CsrfViewMiddleware has checked the token from the page against the cookie."""
    name = request.POST.get("name", "").strip()
    if not name:
        return HttpResponseBadRequest("name is required")
    return render(request, "demo/greet.html", {"name": name})


@require_GET
def api_info(request: HttpRequest) -> JsonResponse:
    """Who served the request, and what Django knows about the client (request.META).

    `?delay=S` (at most 2 s) answers after S seconds: a slow API call that keeps its worker busy."""
    try:
        delay = min(max(float(request.GET.get("delay", "0")), 0.0), 2.0)
    except ValueError:
        return JsonResponse({"error": "delay must be a number"}, status=400)
    if delay:
        time.sleep(delay)
    meta = request.META
    return JsonResponse(
        {
            "server": meta.get("SERVER_SOFTWARE"),
            "worker_pid": os.getpid(),
            "request_id": meta.get("gatewire.request_id"),
            "scheme": request.scheme,
            "secure": request.is_secure(),
            "host": request.get_host(),
            "client": meta.get("REMOTE_ADDR"),
            # The proxy's forwarding fields, as it wrote them (a client's own are replaced, SPEC §7.3).
            "forwarded_for": meta.get("HTTP_X_FORWARDED_FOR"),
            "forwarded_proto": meta.get("HTTP_X_FORWARDED_PROTO"),
            "forwarded_host": meta.get("HTTP_X_FORWARDED_HOST"),
        }
    )


@csrf_exempt  # a JSON API for non-browser clients: no cookie, so no CSRF to defend against
@require_POST
def api_echo(request: HttpRequest) -> JsonResponse:
    if request.content_type != "application/json":
        return JsonResponse({"error": "send application/json"}, status=415)
    try:
        data = json.loads(request.body)
    except ValueError as error:
        return JsonResponse({"error": f"invalid JSON: {error}"}, status=400)
    return JsonResponse({"received": data, "bytes": len(request.body)})


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """multipart/form-data upload: reports the size and SHA-256, reading the file in chunks."""
    if request.method == "GET":
        return render(request, "demo/index.html", {"pid": os.getpid()})
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse({"error": "no file field"}, status=400)
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    return JsonResponse(
        {
            "name": uploaded.name,
            "size": uploaded.size,
            "sha256": digest.hexdigest(),
            "content_type": uploaded.content_type,
            "description": request.POST.get("description", ""),
        }
    )


DOWNLOAD_MAX = 64 * 1024 * 1024
_PATTERN = bytes(range(256)) * 4096  # 1 MiB


@require_GET
def download(request: HttpRequest) -> HttpResponse:
    """`size` bytes of a fixed pattern (byte i is i % 256), in one response with a Content-Length:
    a large body for a client that reads slowly (the proxy buffers it, the worker moves on)."""
    try:
        size = int(request.GET.get("size", "1048576"))
    except ValueError:
        return HttpResponseBadRequest("size must be an integer")
    if not 0 <= size <= DOWNLOAD_MAX:
        return HttpResponseBadRequest(f"size must be in 0…{DOWNLOAD_MAX}")
    body = _PATTERN * (size // len(_PATTERN)) + _PATTERN[: size % len(_PATTERN)]
    return HttpResponse(body, content_type="application/octet-stream")


@require_GET
def stream(request: HttpRequest) -> StreamingHttpResponse:
    """StreamingHttpResponse: each line leaves the worker as it is produced."""
    count = min(int(request.GET.get("n", "10")), 10_000)
    delay = min(float(request.GET.get("delay", "0")), 1.0)

    def lines() -> Iterator[bytes]:
        for index in range(count):
            if delay:
                time.sleep(delay)
            yield f"line {index} of {count}\n".encode()

    return StreamingHttpResponse(lines(), content_type="text/plain; charset=utf-8")
