"""One worker process: accept proxy connections, run requests on the thread pool, drain, exit.

The main thread accepts connections and keeps time (request timeouts, heartbeats to the master,
drain deadline); signal handlers only set a flag and wake it through a pipe. Each connection has
a reader thread (connection.py); requests run on the process's thread pool (thread_pool.py).

Lifecycle: serving → draining → closed. Draining (SIGTERM, --max-requests reached, a request past
--timeout) removes the socket file first, sends GOAWAY on every connection, lets streams finish
within --grace, then the process exits.
"""

from __future__ import annotations

import logging
import os
import resource
import selectors
import signal
import socket
import threading
import time
from typing import Any, Callable

from .codec import encode_health
from .config import Config
from .connection import Connection, ConnectionOwner, ConnectionSettings
from .environ import base_environ
from .errors import ErrorCode
from .response import run_request
from .socket_dir import Listener
from .status_pipe import StatusPipe
from .stream import Stream
from .thread_pool import ThreadPool

log = logging.getLogger("gatewire_wsgi")

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
HEARTBEAT_INTERVAL = 1.0
# How long an inline request may hold a connection's reader before reading moves to a new thread.
HANDOVER_AFTER_S = 0.02


def resident_set_size() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class WorkerServer(ConnectionOwner):
    def __init__(
        self,
        config: Config,
        app: Callable[..., Any],
        listener: Listener,
        *,
        multiprocess: bool,
        status: StatusPipe | None = None,
    ) -> None:
        self.config = config
        self.app = app
        self.listener = listener
        self.status = status
        # With one request thread the process serves one request at a time anyway: requests then
        # run on the connection's reader thread when they can (connection.py), saving a thread
        # handoff each. A permit keeps the process at `threads` requests at once either way.
        self.inline = config.threads == 1
        # (One permit: a plain lock, much cheaper than a Semaphore.)
        self.permits: threading.Semaphore | threading.Lock = (
            threading.Lock() if config.threads == 1 else threading.Semaphore(config.threads)
        )
        self._inline_completed = 0
        # Requests handed to the pool that have no permit yet (inline mode): while there are any, new
        # requests join them in the pool instead of running inline, so none is overtaken.
        self._pool_waiting = 0
        self._count_lock = threading.Lock()
        self.settings = ConnectionSettings(
            # SPEC §5.2 max_streams: what the proxy may send at once. With --backlog, streams beyond
            # the threads wait in the process for one to free up, as in a listen queue: under load a
            # process then finds its next request already here instead of idling for a round trip.
            max_streams=config.threads + config.backlog,
            # SPEC §6.4 (feature `queue`): the proxy fills run slots first and may recall a queued
            # stream from a process stuck on a slow request.
            concurrency=config.threads,
            max_frame_size=config.max_frame_size,
            initial_window=config.initial_window,
            name=config.name,
            secret=config.secret,
            handshake_timeout=config.handshake_timeout,
            inline=self.inline,
        )
        self.base_environ = base_environ(config.threads > 1, multiprocess)
        self.pool = ThreadPool(
            config.threads,
            self._run_job,
            track_time=config.timeout > 0,
            on_done=self._request_done if config.max_requests else None,
        )
        self.connections: set[Connection] = set()
        self._connections_lock = threading.Lock()
        self._accepted = 0
        self.started = time.monotonic()
        self._drain_reason = ""
        self._abort = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector = selectors.DefaultSelector()
        self._tcp = listener.sock.family in (socket.AF_INET, socket.AF_INET6)

    # -- ConnectionOwner ------------------------------------------------------------------------

    def submit(self, conn: Connection, stream: Stream, environ: dict[str, Any]) -> None:
        if self.inline:
            with self._count_lock:
                self._pool_waiting += 1
        self.pool.submit((conn, stream, environ))

    def try_run_inline(self, conn: Connection, stream: Stream, environ: dict[str, Any]) -> bool:
        if self._pool_waiting or not self.permits.acquire(blocking=False):
            return False
        try:
            run_request(self.app, conn, stream, environ)
        finally:
            # Counted under the permit: inline requests never run two at a time.
            self._inline_completed += 1
            self.permits.release()
            if self.config.max_requests:
                self._request_done()
        return True

    def wake(self) -> None:
        self._wake()

    def completed(self) -> int:
        return self.pool.completed() + self._inline_completed

    def health(self) -> bytes:
        with self._connections_lock:
            in_flight = sum(conn.active_streams() for conn in self.connections)
        return encode_health(
            rss=resident_set_size(),
            requests=self.completed(),
            in_flight=in_flight,
            uptime_s=round(time.monotonic() - self.started, 3),
        )

    def connection_closed(self, conn: Connection) -> None:
        with self._connections_lock:
            self.connections.discard(conn)
        self._wake()

    # -- requests -------------------------------------------------------------------------------

    def _run_job(self, job: tuple[Connection, Stream, dict[str, Any]]) -> None:
        conn, stream, environ = job
        if self.inline:
            self.permits.acquire()
            with self._count_lock:
                self._pool_waiting -= 1
            try:
                run_request(self.app, conn, stream, environ)
            finally:
                self.permits.release()
        else:
            run_request(self.app, conn, stream, environ)

    def _request_done(self) -> None:
        if not self._drain_reason and self.completed() >= self.config.max_requests:
            self.request_drain(f"max-requests ({self.config.max_requests}) reached", tell_master=True)

    # -- lifecycle ------------------------------------------------------------------------------

    def request_drain(self, reason: str, tell_master: bool = False) -> None:
        """Asks the main thread to drain (safe from any thread and from signal handlers)."""
        if not self._drain_reason:
            self._drain_reason = reason
            if tell_master and self.status is not None:
                self.status.draining()
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass

    def install_signals(self, single_process: bool) -> None:
        def on_term(signum: int, _frame: Any) -> None:
            if self._drain_reason and single_process and signum == signal.SIGINT:
                self._abort = True  # a second Ctrl-C: stop waiting
            self.request_drain(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, on_term)
        if single_process:
            signal.signal(signal.SIGINT, on_term)
            signal.signal(signal.SIGHUP, lambda *_: log.info(
                "SIGHUP ignored: a single process has no master to reload it", extra={"event": "signal_ignored"}
            ))
        else:
            # The master owns Ctrl-C, SIGHUP and process-count signals.
            for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU):
                signal.signal(signum, signal.SIG_IGN)

    def run(self) -> int:
        """Serves until drained; returns the process exit code."""
        listener = self.listener
        listener.sock.setblocking(False)
        selector = self._selector
        selector.register(listener.sock, selectors.EVENT_READ, "accept")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        listener.publish()
        if self.status is not None:
            self.status.ready()
        log.info(
            "worker ready on %s (%d thread%s)",
            listener.label,
            self.config.threads,
            "" if self.config.threads == 1 else "s",
            extra={"event": "ready", "socket": listener.label, "app": self.config.app},
        )
        tick = HEARTBEAT_INTERVAL if (self.status is not None or self.config.timeout) else None
        if self.config.timeout:
            tick = min(HEARTBEAT_INTERVAL, max(self.config.timeout / 4, 0.05))
        if self.inline:
            tick = min(tick or HANDOVER_AFTER_S, HANDOVER_AFTER_S)
        last_beat = 0.0
        while not self._drain_reason:
            for key, _ in selector.select(tick):
                if key.data == "accept":
                    self._accept()
                else:
                    self._drain_wake_pipe()
            now = time.monotonic()
            if self.inline:
                self._hand_over(now)
            if self.config.timeout:
                self._watchdog(now)
            if self.status is not None and now - last_beat >= HEARTBEAT_INTERVAL:
                last_beat = now
                if not self.status.heartbeat(self.config.timeout > 0):
                    self.request_drain("the master process is gone")
        return self._drain()

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self.listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                log.warning("accept failed: %s", error, extra={"event": "accept_error"})
                return
            sock.setblocking(True)
            if self._tcp:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._accepted += 1
            label = f"{address[0]}:{address[1]}" if self._tcp else f"unix#{self._accepted}"
            conn = Connection(sock, self, self.settings, label)
            with self._connections_lock:
                self.connections.add(conn)
            log.debug("connection from %s", label, extra={"event": "connection_open", "peer": label})
            threading.Thread(target=conn.run, name=f"conn-{self._accepted}", daemon=True).start()

    def _drain_wake_pipe(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _connections(self) -> list[Connection]:
        with self._connections_lock:
            return list(self.connections)

    def _hand_over(self, now: float) -> None:
        for conn in self._connections():
            conn.hand_over_if_busy(now, HANDOVER_AFTER_S)

    def _watchdog(self, now: float) -> None:
        """--timeout (harakiri): RESET TIMEOUT the stuck request, then drain and exit (SPEC §10)."""
        limit = self.config.timeout
        running: list[tuple[Connection, Stream, dict[str, Any], float]] = []
        for slot in self.pool.threads:
            job = slot.job
            if job is not None and not slot.timed_out and now - slot.started > limit and slot.job is job:
                slot.timed_out = True
                running.append((*job, slot.started))
        for conn in self._connections():
            inline = conn.inline_job
            if inline is not None and now - inline[2] > limit and inline[0].reset_code is None:
                running.append((conn, *inline))
        for conn, stream, environ, started in running:
            log.error(
                "request ran past --timeout %gs; the process will be replaced",
                limit,
                extra={
                    "event": "harakiri",
                    "request_id": stream.request_id,
                    "path": environ.get("PATH_INFO"),
                    "elapsed_s": round(now - started, 3),
                },
            )
            conn.reset_stream(stream, ErrorCode.TIMEOUT, f"request ran past {limit:g} s", timeout=1.0)
            self.request_drain("a request ran past --timeout", tell_master=True)

    def _drain(self) -> int:
        reason = self._drain_reason
        log.info("draining: %s", reason, extra={"event": "draining", "reason": reason})
        self.listener.unpublish()
        try:
            self._selector.unregister(self.listener.sock)
        except (KeyError, ValueError):
            pass
        self.listener.close()
        with self._connections_lock:
            connections = list(self.connections)
        for conn in connections:
            conn.start_drain()
        deadline = time.monotonic() + self.config.grace
        while not self._abort:
            with self._connections_lock:
                remaining = len(self.connections)
            now = time.monotonic()
            if not remaining or now >= deadline:
                break
            if self.inline:
                self._hand_over(now)
            if self.config.timeout:
                self._watchdog(now)
            for _key, _ in self._selector.select(min(HANDOVER_AFTER_S if self.inline else 0.25, deadline - now)):
                self._drain_wake_pipe()
        with self._connections_lock:
            left = list(self.connections)
        if left:
            active = sum(conn.active_streams() for conn in left)
            log.warning(
                "grace period over with %d stream%s still active; closing",
                active,
                "" if active == 1 else "s",
                extra={"event": "grace_expired", "streams": active},
            )
            for conn in left:
                conn.abort()
        log.info(
            "worker exiting after %d requests",
            self.completed(),
            extra={"event": "exit", "requests": self.completed()},
        )
        return 0
