"""Starting one worker process: load the application, bind, serve, and the exit codes."""

from __future__ import annotations

import gc
import logging
import os
import signal

from .app_loader import load_app
from .config import Config
from .errors import AppLoadError, ConfigError
from .server import WorkerServer
from .socket_dir import Listener, UnixListener, check_single_socket_free, socket_path
from .status_pipe import StatusPipe

log = logging.getLogger("gatewire_wsgi")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_APP_LOAD = 3


def _load(config: Config, listener: Listener) -> object | None:
    try:
        app = load_app(config.app)
    except AppLoadError as error:
        log.error("%s", error, exc_info=error.__cause__, extra={"event": "app_load_failed", "app": config.app})
        listener.close()
        return None
    # Everything the import left alive (modules, settings, URL resolvers, templates…) lives as long as
    # the process: out of the collector's sight, a collection then scans only what requests allocate.
    gc.collect()
    gc.freeze()
    return app


def run_single(config: Config) -> int:
    """`--socket PATH`: one process on exactly that path, no master; SIGTERM/SIGINT drain it."""
    assert config.socket is not None
    try:
        check_single_socket_free(config.socket)
        listener = UnixListener(config.socket)
    except ConfigError as error:
        log.error("%s", error, extra={"event": "config_error"})
        return EXIT_CONFIG
    app = _load(config, listener)
    if app is None:
        return EXIT_APP_LOAD
    server = WorkerServer(config, app, listener, multiprocess=False)  # type: ignore[arg-type]
    server.install_signals(single_process=True)
    return server.run()


def run_child(config: Config, status: StatusPipe, shared_listener: Listener | None) -> int:
    """A process forked by the master: its own socket in the socket directory, or the shared TCP one."""
    # Until the app is loaded a SIGTERM simply ends the process (nothing is published yet).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(signum, signal.SIG_IGN)
    if shared_listener is not None:
        listener = shared_listener
    else:
        assert config.socket_dir is not None
        try:
            listener = UnixListener(socket_path(config.socket_dir, config.name, os.getpid()))
        except ConfigError as error:
            log.error("%s", error, extra={"event": "config_error"})
            return EXIT_CONFIG
    app = _load(config, listener)
    if app is None:
        return EXIT_APP_LOAD
    server = WorkerServer(config, app, listener, multiprocess=config.processes > 1, status=status)  # type: ignore[arg-type]
    server.install_signals(single_process=False)
    return server.run()
