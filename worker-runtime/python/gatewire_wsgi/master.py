"""The pre-fork master: keeps N worker processes serving, like uWSGI's master.

The master never imports the application: each process imports it after the fork, so a reload
(SIGHUP) picks up new code. Children report over a pipe (status_pipe.py): ready once their socket
is in place, draining when they recycle themselves, heartbeats when --timeout is set.

- respawn: a process that exits unexpectedly is replaced; processes that die before they are
  ready or within FAST_EXIT_S of starting count as failures, retried with exponential backoff,
  and CRASH_LOOP_LIMIT failures in a row end the master with exit code 1 and a clear message.
- SIGHUP: rolling reload. One new process at a time; only once it reports ready is one old
  process told to drain (SIGTERM: it removes its socket, sends GOAWAY, finishes its streams).
  A new process that fails before it is ready aborts the reload; the old processes keep serving.
- SIGTERM / SIGINT: every process drains within --grace, then is killed; the master exits 0.
- SIGTTIN / SIGTTOU: one process more / fewer.
- --timeout: a process whose heartbeats stop (a request holding the interpreter) is killed and
  replaced; requests that merely run too long are handled inside the process (server.py).
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from .config import Config
from .socket_dir import (
    Listener,
    clean_stale,
    prepare_directory,
    remove_quietly,
    socket_path,
    tcp_listener,
    temp_path,
)
from .status_pipe import DRAINING, HEARTBEAT, READY, StatusPipe
from .worker_process import EXIT_APP_LOAD, EXIT_CONFIG, EXIT_ERROR, run_child

log = logging.getLogger("gatewire_wsgi")

FAST_EXIT_S = 5.0
CRASH_LOOP_LIMIT = 5
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0
KILL_MARGIN_S = 2.0
TICK_S = 0.5

STARTING = "starting"
SERVING = "serving"
DRAINING_STATE = "draining"


@dataclass
class Child:
    pid: int
    generation: int
    status_fd: int
    started: float
    state: str = STARTING
    ready_at: float = 0.0
    last_heartbeat: float = 0.0
    kill_at: float = 0.0
    killed: bool = False


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    meaning = {EXIT_APP_LOAD: " (the application failed to load)", EXIT_CONFIG: " (configuration error)"}
    return f"exit code {code}{meaning.get(code, '')}"


class Master:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.target = config.processes
        self.children: dict[int, Child] = {}
        self.generation = 0
        self.reloading = False
        self.failures = 0
        self.last_failure_at = 0.0
        self.spawn_after = 0.0
        self.shutting_down = False
        self.exit_code = 0
        self.pid = os.getpid()
        self.shared_listener: Listener | None = None
        self._signals: list[int] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)

    # -- setup ----------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals.append(signum)
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass

    def run(self) -> int:
        config = self.config
        if config.socket_dir is not None:
            prepare_directory(config.socket_dir)
            for path in clean_stale(config.socket_dir, config.name):
                log.info("removed stale socket %s", path, extra={"event": "stale_socket_removed", "path": path})
            where = f"{config.socket_dir}/{config.name}.<pid>.sock"
        else:
            assert config.tcp is not None
            self.shared_listener = tcp_listener(*config.tcp)
            where = self.shared_listener.label
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD, signal.SIGTTIN, signal.SIGTTOU):
            signal.signal(signum, self._on_signal)
        log.info(
            "master started: %d process%s × %d thread%s on %s",
            self.target,
            "" if self.target == 1 else "es",
            config.threads,
            "" if config.threads == 1 else "s",
            where,
            extra={"event": "master_start", "app": config.app, "processes": self.target, "threads": config.threads},
        )
        while True:
            self._reap()
            self._handle_signals()
            if self.shutting_down and not self.children:
                break
            self._reconcile()
            self._enforce_deadlines()
            for key, _ in self._selector.select(self._next_timeout()):
                if key.data is None:
                    self._drain_wake_pipe()
                else:
                    self._read_status(key.data)
        if self.shared_listener is not None:
            self.shared_listener.close()
        log.info("master exiting", extra={"event": "master_exit", "code": self.exit_code})
        return self.exit_code

    # -- children -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns from here
            code = EXIT_ERROR
            try:
                os.close(read_fd)
                self._become_child()
                code = run_child(self.config, StatusPipe(write_fd, self.pid), self.shared_listener)
            except BaseException:
                log.exception("worker process failed", extra={"event": "internal_error"})
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        now = time.monotonic()
        child = Child(pid=pid, generation=self.generation, status_fd=read_fd, started=now)
        self.children[pid] = child
        self._selector.register(read_fd, selectors.EVENT_READ, child)
        log.info(
            "spawned process %d",
            pid,
            extra={"event": "spawn", "worker_pid": pid, "generation": self.generation},
        )

    def _become_child(self) -> None:
        """Drops everything that belongs to the master in a freshly forked child."""
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD,):
            signal.signal(signum, signal.SIG_DFL)
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        for child in self.children.values():
            if child.status_fd >= 0:
                os.close(child.status_fd)

    def _read_status(self, child: Child) -> None:
        try:
            data = os.read(child.status_fd, 512)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_status(child)
            return
        now = time.monotonic()
        for message in data:
            if message == HEARTBEAT:
                child.last_heartbeat = now
            elif message == READY and child.state == STARTING:
                child.state = SERVING
                child.ready_at = now
                child.last_heartbeat = now
            elif message == DRAINING and child.state != DRAINING_STATE:
                # It recycles itself (max-requests, timeout): a replacement starts now.
                child.state = DRAINING_STATE
                child.kill_at = now + self.config.grace + KILL_MARGIN_S
                log.info(
                    "process %d is draining on its own; starting a replacement",
                    child.pid,
                    extra={"event": "replacing", "worker_pid": child.pid},
                )

    def _close_status(self, child: Child) -> None:
        if child.status_fd >= 0:
            try:
                self._selector.unregister(child.status_fd)
            except (KeyError, ValueError):
                pass
            os.close(child.status_fd)
            child.status_fd = -1

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            if child.status_fd >= 0:
                # Read what it said last (a READY may sit in the pipe of a process that died at once).
                self._read_status(child)
                self._close_status(child)
            if self.config.socket_dir is not None:
                path = socket_path(self.config.socket_dir, self.config.name, pid)
                remove_quietly(path)
                remove_quietly(temp_path(path, pid))
            self._on_exit(child, os.waitstatus_to_exitcode(status))

    def _on_exit(self, child: Child, code: int) -> None:
        now = time.monotonic()
        if child.state == DRAINING_STATE or self.shutting_down:
            log.info(
                "process %d exited: %s",
                child.pid,
                describe_exit(code),
                extra={"event": "process_exit", "worker_pid": child.pid, "code": code},
            )
            return
        was_ready = child.state == SERVING
        log.error(
            "process %d exited unexpectedly%s: %s",
            child.pid,
            "" if was_ready else " before it was ready",
            describe_exit(code),
            extra={"event": "process_died", "worker_pid": child.pid, "code": code},
        )
        if self.reloading and child.generation == self.generation and not was_ready:
            log.error(
                "reload aborted: the new process failed to start; the running processes keep serving",
                extra={"event": "reload_aborted"},
            )
            self.reloading = False
            for other in self.children.values():
                other.generation = self.generation
        if was_ready and now - child.started >= FAST_EXIT_S:
            self.failures = 0
            return
        self.failures += 1
        self.last_failure_at = now
        if self.failures >= CRASH_LOOP_LIMIT:
            log.critical(
                "crash loop: %d processes in a row exited within %gs of starting (last: %s); giving up",
                self.failures,
                FAST_EXIT_S,
                describe_exit(code),
                extra={"event": "crash_loop", "failures": self.failures},
            )
            self.exit_code = 1
            self._begin_shutdown("crash loop")
            return
        delay = min(BACKOFF_FIRST_S * 2 ** (self.failures - 1), BACKOFF_MAX_S)
        self.spawn_after = max(self.spawn_after, now + delay)
        log.warning(
            "respawning in %.1fs (failure %d of %d before giving up)",
            delay,
            self.failures,
            CRASH_LOOP_LIMIT,
            extra={"event": "respawn_backoff", "delay_s": delay},
        )

    def _retire(self, child: Child, reason: str) -> None:
        """Asks a process to drain (SIGTERM); it is killed if still there after the grace period."""
        child.state = DRAINING_STATE
        child.kill_at = time.monotonic() + self.config.grace + KILL_MARGIN_S
        log.info(
            "stopping process %d: %s",
            child.pid,
            reason,
            extra={"event": "retire", "worker_pid": child.pid, "reason": reason},
        )
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _reconcile(self) -> None:
        if self.shutting_down:
            return
        now = time.monotonic()
        holders = [c for c in self.children.values() if c.state != DRAINING_STATE]
        serving = [c for c in holders if c.state == SERVING]
        excess = len(serving) - self.target
        if excess > 0:
            old = sorted((c for c in serving if c.generation != self.generation), key=lambda c: c.started)
            current = sorted((c for c in serving if c.generation == self.generation), key=lambda c: -c.started)
            for child in (old + current)[:excess]:
                self._retire(child, "replaced by a new process" if child.generation != self.generation else "fewer processes")
            holders = [c for c in self.children.values() if c.state != DRAINING_STATE]
        old_holders = [c for c in holders if c.generation != self.generation]
        if self.reloading and not old_holders:
            self.reloading = False
            log.info("reload complete", extra={"event": "reload_done", "generation": self.generation})
        if self.failures and any(
            c.state == SERVING and c.started > self.last_failure_at and now - c.ready_at >= FAST_EXIT_S for c in holders
        ):
            self.failures = 0
        if now < self.spawn_after:
            return
        missing = self.target - len(holders)
        if missing > 0:
            for _ in range(missing):
                self._spawn()
        elif old_holders and not any(c.state == STARTING and c.generation == self.generation for c in holders):
            self._spawn()

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        timeout = self.config.timeout
        silent_limit = max(timeout, 1.0) + KILL_MARGIN_S
        for child in list(self.children.values()):
            if child.killed:
                continue
            if child.state == DRAINING_STATE and now >= child.kill_at:
                log.warning(
                    "process %d still running after the grace period; killing it",
                    child.pid,
                    extra={"event": "kill", "worker_pid": child.pid},
                )
                self._kill(child)
            elif timeout and child.state == SERVING and now - child.last_heartbeat > silent_limit:
                log.error(
                    "process %d stopped answering (no heartbeat for %.1fs, --timeout %gs); killing and replacing it",
                    child.pid,
                    now - child.last_heartbeat,
                    timeout,
                    extra={"event": "harakiri", "worker_pid": child.pid},
                )
                child.state = DRAINING_STATE
                self._kill(child)

    def _kill(self, child: Child) -> None:
        child.killed = True
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _next_timeout(self) -> float:
        timeout = TICK_S
        if self.spawn_after:
            wait = self.spawn_after - time.monotonic()
            if 0 < wait < timeout:
                timeout = wait
        return timeout

    def _drain_wake_pipe(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    # -- signals --------------------------------------------------------------------------------

    def _handle_signals(self) -> None:
        while self._signals:
            signum = self._signals.pop(0)
            if signum == signal.SIGCHLD:
                continue
            if signum in (signal.SIGTERM, signal.SIGINT):
                if self.shutting_down:
                    if signum == signal.SIGINT:
                        log.warning("second SIGINT: killing all processes now", extra={"event": "kill_all"})
                        for child in list(self.children.values()):
                            self._kill(child)
                    continue
                self._begin_shutdown(signal.Signals(signum).name)
            elif self.shutting_down:
                continue
            elif signum == signal.SIGHUP:
                self.generation += 1
                self.reloading = True
                log.info(
                    "reload requested (SIGHUP): replacing %d process%s one at a time",
                    self.target,
                    "" if self.target == 1 else "es",
                    extra={"event": "reload", "generation": self.generation},
                )
            elif signum == signal.SIGTTIN:
                self.target += 1
                log.info("processes: %d (SIGTTIN)", self.target, extra={"event": "scale", "processes": self.target})
            elif signum == signal.SIGTTOU:
                if self.target > 1:
                    self.target -= 1
                log.info("processes: %d (SIGTTOU)", self.target, extra={"event": "scale", "processes": self.target})

    def _begin_shutdown(self, reason: str) -> None:
        self.shutting_down = True
        log.info(
            "shutting down (%s): draining %d process%s within %gs",
            reason,
            len(self.children),
            "" if len(self.children) == 1 else "es",
            self.config.grace,
            extra={"event": "shutdown", "reason": reason},
        )
        for child in list(self.children.values()):
            if child.state != DRAINING_STATE:
                self._retire(child, reason)
