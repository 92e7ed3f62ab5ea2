"""The reference hello view (django_hello) with a slow path, for bench/django-mix.ts.

`/slow` sleeps `SLOWMIX_MS` (default 200) before Django answers: a view that waits on a slow
database or API. Everything else is the hello view unchanged.
"""

from __future__ import annotations

import os
import sys
import time

HELLO_APP = os.environ.get("SLOWMIX_HELLO_APP", "/work/shared/reference-stacks/apps/django_hello")
sys.path.insert(0, HELLO_APP)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hellosite.settings")

from hellosite.wsgi import application as hello  # noqa: E402

SLOW_S = float(os.environ.get("SLOWMIX_MS", "200")) / 1000


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(SLOW_S)
        environ["PATH_INFO"] = "/"
    return hello(environ, start_response)
