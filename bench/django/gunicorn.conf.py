"""bench/django.ts, stack (c): gunicorn behind nginx, as its deployment docs describe.

2 sync workers (one request at a time each, like uWSGI's 2 processes) on a Unix socket; the
bench sets BENCH_RUN_DIR and runs `python3 -m gunicorn -c bench/django/gunicorn.conf.py
--chdir <app dir> <module>` with the same Python as Django (bench/django/requirements.txt).
"""

import os

bind = f"unix:{os.environ['BENCH_RUN_DIR']}/gunicorn.sock"
umask = 0o000  # nginx's worker runs as an unprivileged user; the directory is private to the bench
workers = 2
worker_class = "sync"
threads = 1
# Sync workers close every connection after its response: keep-alive does not apply.
keepalive = 0
accesslog = None
loglevel = "warning"
