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
    return JsonResponse(
        {
            "server": request.META.get("SERVER_SOFTWARE"),
            "worker_pid": os.getpid(),
            "request_id": request.META.get("gatewire.request_id"),
            "scheme": request.scheme,
            "host": request.get_host(),
            "client": request.META.get("REMOTE_ADDR"),
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
