"""``python3 -m gatewire_wsgi module:application --socket-dir DIR [options]``: the only place that
reads argv and the environment and decides the process exit code."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from .app_loader import add_search_path
from .config import parse_config
from .errors import ConfigError
from .logs import configure
from .worker_process import EXIT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv, os.environ)
    except ConfigError as error:
        print(f"gatewire-wsgi: {error}", file=sys.stderr)
        return EXIT_CONFIG
    log = configure(config.log_level, config.log_format)
    if config.chdir is not None:
        try:
            os.chdir(config.chdir)
        except OSError as error:
            log.error("--chdir %s: %s", config.chdir, error.strerror, extra={"event": "config_error"})
            return EXIT_CONFIG
    add_search_path(os.getcwd())
    try:
        if config.single_process:
            from .worker_process import run_single

            return run_single(config)
        from .master import Master

        return Master(config).run()
    except ConfigError as error:
        log.error("%s", error, extra={"event": "config_error"})
        return EXIT_CONFIG


def _exit(code: int) -> None:
    # os._exit: request threads may still sit in application code; nothing should wait for them.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def console_main() -> None:
    """The `gatewire-wsgi` console script."""
    _exit(main())


if __name__ == "__main__":
    _exit(main())
