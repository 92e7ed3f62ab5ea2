"""Fixtures: real worker processes on real Unix sockets in short temporary directories.

Every process a test starts is stopped at teardown (SIGTERM, then SIGKILL after a bound);
every wait is a bounded loop.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
APPS = Path(__file__).resolve().parent / "apps"
REPO_ROOT = PACKAGE_ROOT.parents[1]
START_TIMEOUT = 30.0


def wait_until(predicate: Callable[[], Any], timeout: float = START_TIMEOUT, interval: float = 0.02, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWIRE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class WorkerProcess:
    """A `python3 -m gatewire_wsgi …` process with its log in a file."""

    def __init__(
        self,
        args: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "gatewire_wsgi", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=worker_env(env),
            cwd=str(cwd or PACKAGE_ROOT),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.logs().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def events_named(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.events() if event.get("event") == name]

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)

    def wait(self, timeout: float = START_TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def wait_for_path(self, path: str, timeout: float = START_TIMEOUT) -> str:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.logs()}")
            return os.path.exists(path)

        wait_until(ready, timeout, what=f"{path} to appear")
        return path

    def sockets(self, directory: str) -> list[str]:
        return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".sock"))

    def wait_for_sockets(self, directory: str, count: int, timeout: float = START_TIMEOUT) -> list[str]:
        def ready() -> list[str] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"master exited with {self.proc.returncode}:\n{self.logs()}")
            found = self.sockets(directory)
            return found if len(found) == count else None

        return wait_until(ready, timeout, what=f"{count} sockets in {directory}")


@pytest.fixture
def short_dir() -> Iterator[Callable[[], str]]:
    """Short directories under /tmp (Unix socket paths are limited to 107 bytes)."""
    made: list[str] = []

    def make() -> str:
        path = tempfile.mkdtemp(prefix="gw", dir="/tmp")
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts worker processes; all are stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> WorkerProcess:
        worker = WorkerProcess(list(args), tmp_path / f"worker-{len(started)}.log", env, cwd)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def start_single(directory: str, log_dir: Path, *extra: str, app: str = "testapp:application", threads: int = 4,
                 env: dict[str, str] | None = None) -> tuple[WorkerProcess, str]:
    socket_path = os.path.join(directory, "w.sock")
    worker = WorkerProcess(
        # --backlog 0 unless `extra` says otherwise (the last one wins): most tests count on
        # max_streams = threads; test_backlog.py and test_queue.py cover queue slots.
        [app, "--socket", socket_path, "--threads", str(threads), "--chdir", str(APPS), "--grace", "5", "--backlog", "0",
         *extra],
        log_dir / f"single-{os.path.basename(directory)}.log",
        env,
    )
    worker.wait_for_path(socket_path)
    return worker, socket_path


@pytest.fixture(scope="module")
def shared_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerProcess, str]]:
    """One single-process worker (4 threads) shared by a test module."""
    directory = tempfile.mkdtemp(prefix="gw", dir="/tmp")
    worker, socket_path = start_single(directory, tmp_path_factory.mktemp("logs"))
    yield worker, socket_path
    worker.stop()
    shutil.rmtree(directory, ignore_errors=True)
