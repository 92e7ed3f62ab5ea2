#!/usr/bin/env python3
"""Collect static files, then run this project under the gatewire Python worker: one command.

    python3 examples/django/serve.py                       # --socket-dir examples/django/run
    python3 examples/django/serve.py --socket-dir /run/gatewire --processes 4 --threads 8
    python3 examples/django/serve.py --socket /tmp/django.sock   # one process, no master

Arguments are passed to `python3 -m gatewire_wsgi gatewire_demo.wsgi:application`; without a
--socket-dir, --socket or --tcp, the sockets go to examples/django/run/. Static files are
collected into $DJANGO_STATIC_ROOT (default examples/django/staticfiles/) for the proxy to serve
under /static/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent
WORKER_PACKAGE = PROJECT.parent.parent / "worker-runtime" / "python"


def main(argv: list[str]) -> None:
    env = dict(os.environ)
    try:
        import gatewire_wsgi  # noqa: F401  (installed with pip)

        del gatewire_wsgi
    except ImportError:
        # Running from the repository: use the worker package next door.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WORKER_PACKAGE), env.get("PYTHONPATH")]))
    subprocess.run(
        [sys.executable, str(PROJECT / "manage.py"), "collectstatic", "--noinput", "--verbosity", "0"],
        check=True,
        cwd=PROJECT,
        env=env,
    )
    args = list(argv)
    if not {"--socket-dir", "--socket", "--tcp"} & {arg.split("=")[0] for arg in args} and not env.get("GATEWIRE_SOCKET"):
        args = ["--socket-dir", str(PROJECT / "run"), *args]
    command = [sys.executable, "-m", "gatewire_wsgi", "gatewire_demo.wsgi:application", "--chdir", str(PROJECT), *args]
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
