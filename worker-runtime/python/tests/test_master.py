"""The pre-fork master over a socket directory (SPEC §11, §16): sockets, respawn, crash loops,
rolling reload, draining, recycling, timeouts, scaling."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import gwclient as g
from conftest import APPS, WorkerProcess, wait_until
from gwclient import ProxyClient, make_environ
from gatewire_wsgi.config import default_name

Spawn = Callable[..., WorkerProcess]
SOCKET_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.sock$")


def start_master(spawn: Spawn, directory: str, *extra: str, app: str = "testapp:application",
                 env: dict[str, str] | None = None) -> WorkerProcess:
    return spawn(app, "--socket-dir", directory, "--chdir", str(APPS), "--grace", "5", *extra, env=env)


def pid_of(path: str) -> int:
    match = SOCKET_NAME.match(os.path.basename(path))
    assert match, path
    return int(match["pid"])


def get(path: str, target: str = "/hello") -> g.Response:
    with ProxyClient(path) as client:
        return client.request("GET", target)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_one_socket_per_process(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory, "--processes", "2", "--threads", "3", "--name", "shop")
    sockets = master.wait_for_sockets(directory, 2)
    pids = {pid_of(path) for path in sockets}
    assert master.pid not in pids
    for path in sockets:
        assert os.path.basename(path).startswith("shop.")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        with ProxyClient(path) as client:
            assert client.worker_hello["pid"] == pid_of(path)
            assert client.worker_hello["name"] == "shop"
            # The default --backlog 1: one queue slot beyond the 3 run slots (SPEC §6.4).
            assert client.worker_hello["max_streams"] == 4
            assert client.worker_hello["concurrency"] == 3
            assert "queue" in client.worker_hello["features"]
            assert int(client.request("GET", "/pid").body) == pid_of(path)
    assert not [name for name in os.listdir(directory) if not name.endswith(".sock")]  # no temp files left


def test_stale_sockets_of_dead_processes_are_removed(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    gone = dead_pid()
    stale = os.path.join(directory, f"{default_name('testapp')}.{gone}.sock")
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(stale)
    leftover.close()
    temp = os.path.join(directory, f".{default_name('testapp')}.{gone}.sock.{gone}.tmp")
    Path(temp).touch()
    other_app = os.path.join(directory, f"otherapp.{gone}.sock")
    Path(other_app).touch()
    master = start_master(spawn, directory)
    wait_until(lambda: master.events_named("ready"))
    assert not os.path.exists(stale) and not os.path.exists(temp)
    assert os.path.exists(other_app)  # another app's file is not ours to judge
    assert len(master.sockets(directory)) == 2
    assert master.events_named("stale_socket_removed")


def test_a_killed_process_is_replaced(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory, "--processes", "2")
    sockets = master.wait_for_sockets(directory, 2)
    victim = pid_of(sockets[0])
    os.kill(victim, signal.SIGKILL)

    def replaced() -> list[str] | None:
        current = master.sockets(directory)
        pids = {pid_of(path) for path in current}
        return current if len(current) == 2 and victim not in pids else None

    for path in wait_until(replaced):
        assert get(path).status == 200
    event = master.events_named("process_died")[0]
    assert event["worker_pid"] == victim and "SIGKILL" in event["msg"]


def test_crash_loop_ends_the_master(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory, "--processes", "2", app="crashapp:application")
    assert master.wait(60) == 1
    assert master.events_named("crash_loop")
    assert master.events_named("app_load_failed")
    assert [name for name in os.listdir(directory)] == []


class Traffic:
    """Plays a proxy during a reload: always asks whichever sockets exist, retries refused streams,
    and counts requests that were accepted by a worker but never answered."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.stop = threading.Event()
        self.ok = 0
        self.dropped: list[str] = []
        self.empty_dir_seen = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        clients: dict[str, ProxyClient] = {}
        index = 0
        while not self.stop.is_set():
            paths = sorted(p for p in os.listdir(self.directory) if p.endswith(".sock"))
            if not paths:
                self.empty_dir_seen = True
                time.sleep(0.01)
                continue
            path = os.path.join(self.directory, paths[index % len(paths)])
            index += 1
            client = clients.get(path)
            if client is None or client.closed.is_set() or self._draining(client):
                try:
                    client = ProxyClient(path, timeout=10)
                except (OSError, g.ConnectionClosed, AssertionError):
                    continue  # the socket went away between listdir and connect: never reached a worker
                clients[path] = client
            stream_id = client.open_stream(make_environ("GET", "/version"), True)
            try:
                response = client.read_response(stream_id)
            except g.ConnectionClosed:
                self.dropped.append(f"{path}: connection closed under stream {stream_id}")
                continue
            if response.reset == g.REFUSED_STREAM:
                continue  # never processed: a proxy retries it elsewhere
            if response.status != 200:
                self.dropped.append(f"{path}: {response}")
            else:
                self.ok += 1
        for client in clients.values():
            client.close()

    @staticmethod
    def _draining(client: ProxyClient) -> bool:
        while not client.control.empty():
            item = client.control.get_nowait()
            if item is not None and item.type == g.GOAWAY:
                client.draining = True  # type: ignore[attr-defined]
        return getattr(client, "draining", False)


def test_sighup_rolling_reload_drops_nothing(spawn: Spawn, short_dir: Callable[[], str], tmp_path: Path) -> None:
    directory = short_dir()
    version = tmp_path / "version.txt"
    version.write_text("v1")
    master = start_master(spawn, directory, "--processes", "2", "--threads", "2", env={"GW_TEST_VERSION_FILE": str(version)})
    before = {pid_of(path) for path in master.wait_for_sockets(directory, 2)}
    traffic = Traffic(directory)
    traffic.thread.start()
    wait_until(lambda: traffic.ok > 20)
    version.write_text("v2")
    master.signal(signal.SIGHUP)

    def reloaded() -> bool:
        paths = master.sockets(directory)
        return len(paths) == 2 and not ({pid_of(p) for p in paths} & before) and bool(master.events_named("reload_done"))

    wait_until(reloaded, 30)
    settled = traffic.ok
    wait_until(lambda: traffic.ok > settled + 20)
    traffic.stop.set()
    traffic.thread.join(15)
    assert traffic.dropped == []
    assert not traffic.empty_dir_seen  # a new process was serving before an old one left
    for path in master.sockets(directory):
        assert get(path, "/version").body.startswith(b"v2 ")  # the app module was imported anew
    retired = {event["worker_pid"] for event in master.events_named("retire")}
    assert retired == before
    assert master.proc.poll() is None


def test_failed_reload_keeps_the_old_processes(spawn: Spawn, short_dir: Callable[[], str], tmp_path: Path) -> None:
    directory = short_dir()
    flag = tmp_path / "broken"
    master = start_master(spawn, directory, "--processes", "2", app="exitapp:application", env={"GW_TEST_BREAK_FILE": str(flag)})
    before = {pid_of(path) for path in master.wait_for_sockets(directory, 2)}
    flag.touch()
    master.signal(signal.SIGHUP)
    wait_until(lambda: master.events_named("reload_aborted"))
    assert {pid_of(path) for path in master.sockets(directory)} == before
    for path in master.sockets(directory):
        assert get(path, "/").status == 200
    assert master.proc.poll() is None


def test_sigterm_drains_every_process(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory, "--processes", "2")
    path = master.wait_for_sockets(directory, 2)[0]
    with ProxyClient(path) as client:
        slow = client.open_stream(make_environ("GET", "/sleep?s=1"), True)
        time.sleep(0.2)
        master.signal(signal.SIGTERM)
        response = client.read_response(slow)
        assert response.status == 200 and response.body == b"slept"
    assert master.wait(20) == 0
    assert os.listdir(directory) == []
    assert len(master.events_named("exit")) == 2  # each process logged its drained exit


def test_max_requests_recycles_the_process(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory, "--max-requests", "3")
    path = master.wait_for_sockets(directory, 1)[0]
    with ProxyClient(path) as client:
        for _ in range(3):
            assert client.request("GET", "/hello").status == 200
        assert client.closed.wait(10)  # GOAWAY, then the connection closes
    first = pid_of(path)
    replacement = wait_until(lambda: [p for p in master.sockets(directory) if pid_of(p) != first])[0]
    assert get(replacement).status == 200
    wait_until(lambda: path not in master.sockets(directory))
    assert master.events_named("replacing")


def test_timeout_kills_and_replaces_the_process(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory, "--timeout", "0.5", "--grace", "1")
    path = master.wait_for_sockets(directory, 1)[0]
    with ProxyClient(path) as client:
        response = client.request("GET", "/sleep?s=60", request_id="req-harakiri")
        assert response.reset == g.TIMEOUT
    first = pid_of(path)
    replacement = wait_until(lambda: [p for p in master.sockets(directory) if pid_of(p) != first])[0]
    assert get(replacement).status == 200
    assert master.events_named("harakiri")[0]["request_id"] == "req-harakiri"
    # The stuck process is gone (its request thread never returned; the process exits regardless).
    wait_until(lambda: any(e.get("worker_pid") == first for e in master.events_named("process_exit")), 20)


def test_sigttin_and_sigttou_scale(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory)
    master.wait_for_sockets(directory, 1)
    master.signal(signal.SIGTTIN)
    master.wait_for_sockets(directory, 2)
    master.signal(signal.SIGTTOU)
    master.wait_for_sockets(directory, 1)


def test_unresponsive_process_is_killed_by_the_master(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    """A process that stops heart-beating (here: SIGSTOP) is killed and replaced under --timeout."""
    directory = short_dir()
    master = start_master(spawn, directory, "--timeout", "1")
    path = master.wait_for_sockets(directory, 1)[0]
    frozen = pid_of(path)
    os.kill(frozen, signal.SIGSTOP)
    try:
        wait_until(lambda: [p for p in master.sockets(directory) if pid_of(p) != frozen], 20)
        assert any(e.get("worker_pid") == frozen for e in master.events_named("harakiri"))
    finally:
        try:
            os.kill(frozen, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_master_logs_are_json_lines(spawn: Spawn, short_dir: Callable[[], str]) -> None:
    directory = short_dir()
    master = start_master(spawn, directory)
    master.wait_for_sockets(directory, 1)
    master.stop()
    events = master.events()
    assert all({"time", "level", "pid", "msg"} <= set(event) for event in events)
    names = [event.get("event") for event in events]
    for expected in ("master_start", "spawn", "ready", "shutdown", "retire", "draining", "exit", "master_exit"):
        assert expected in names, (expected, names)
    unparsed = [line for line in master.logs().splitlines() if line and not line.startswith("{")]
    assert unparsed == []
