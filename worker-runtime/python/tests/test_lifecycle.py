"""Single-process mode, draining, timeouts, configuration errors, authentication (SPEC §5.4, §11, §16)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
from pathlib import Path
from typing import Callable

import pytest

import gwclient as g
from conftest import APPS, WorkerProcess, start_single, wait_until
from gwclient import ProxyClient, frame, make_environ, pack, proxy_hello, unpack

Spawn = Callable[..., WorkerProcess]


def test_sigterm_drains_in_flight_requests_and_refuses_new_ones(short_dir: Callable[[], str], tmp_path: Path) -> None:
    worker, path = start_single(short_dir(), tmp_path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        client = ProxyClient(path)
        slow = client.open_stream(make_environ("GET", "/sleep?s=1"), True)
        wait_until(lambda: unpack_health(client)["in_flight"] == 1, 10)
        worker.signal(signal.SIGTERM)
        goaway = client.next_control()
        assert goaway.type == g.GOAWAY
        fields = unpack(goaway.payload)
        assert fields["code"] == g.NO_ERROR and fields["last_stream"] == slow
        assert not os.path.exists(path)  # SPEC §11, §16: the socket goes first
        # A stream above last_stream is refused, never processed.
        late = client.open_stream(make_environ("GET", "/hello"), True)
        refused = client.next_frame(late)
        assert refused.type == g.RESET and unpack(refused.payload)["code"] == g.REFUSED_STREAM
        response = client.read_response(slow)
        assert response.status == 200 and response.body == b"slept"
        assert client.closed.wait(10)  # then the worker closes the connection…
        assert worker.wait() == 0  # …and exits
        names = [event["event"] for event in worker.events()]
        assert names.index("ready") < names.index("draining") < names.index("exit")
        client.close()
    finally:
        worker.stop()


def unpack_health(client: ProxyClient) -> dict:
    client.ping()
    assert client.next_control().type == g.PONG
    return unpack(client.next_control().payload)


def test_grace_period_bounds_the_drain(short_dir: Callable[[], str], tmp_path: Path) -> None:
    worker, path = start_single(short_dir(), tmp_path, "--grace", "0.3")
    try:
        with ProxyClient(path) as client:
            client.open_stream(make_environ("GET", "/sleep?s=30"), True)
            wait_until(lambda: unpack_health(client)["in_flight"] == 1, 10)
            worker.signal(signal.SIGTERM)
            assert worker.wait(15) == 0  # long before the 30 s request would end
            assert client.closed.wait(5)
        assert worker.events_named("grace_expired")
    finally:
        worker.stop()


def test_timeout_resets_the_request_and_ends_the_process(short_dir: Callable[[], str], tmp_path: Path) -> None:
    worker, path = start_single(short_dir(), tmp_path, "--timeout", "0.5", "--grace", "1")
    try:
        with ProxyClient(path) as client:
            response = client.request("GET", "/sleep?s=30", request_id="req-stuck")
            assert response.reset == g.TIMEOUT
        assert worker.wait(15) == 0  # single-process mode: nobody respawns it
        event = worker.events_named("harakiri")[0]
        assert event["request_id"] == "req-stuck" and event["level"] == "error"
    finally:
        worker.stop()


def test_socket_from_environment_and_text_logs(short_dir: Callable[[], str], spawn: Spawn) -> None:
    path = os.path.join(short_dir(), "env.sock")
    worker = spawn("testapp:application", "--chdir", str(APPS), "--log-format", "text", env={"GATEWIRE_SOCKET": path})
    worker.wait_for_path(path)
    with ProxyClient(path) as client:
        assert client.request("GET", "/hello").status == 200
    assert re.search(r"INFO +\[\d+\] ready: worker ready on " + re.escape(path), worker.logs())


def test_stale_single_socket_is_replaced_but_a_live_one_is_not(short_dir: Callable[[], str], spawn: Spawn) -> None:
    directory = short_dir()
    path = os.path.join(directory, "w.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    first = spawn("testapp:application", "--socket", path, "--chdir", str(APPS))
    wait_until(lambda: first.events_named("ready"))
    with ProxyClient(path) as client:
        assert client.request("GET", "/hello").status == 200
    second = spawn("testapp:application", "--socket", path, "--chdir", str(APPS))
    assert second.wait() == 2
    assert "in use" in second.logs()
    with ProxyClient(path) as client:  # the first one is untouched
        assert client.request("GET", "/hello").status == 200


def test_app_that_fails_to_import(short_dir: Callable[[], str], spawn: Spawn) -> None:
    directory = short_dir()
    worker = spawn("crashapp:application", "--socket", os.path.join(directory, "w.sock"), "--chdir", str(APPS))
    assert worker.wait() == 3
    event = worker.events_named("app_load_failed")[0]
    assert "RuntimeError" in event["msg"] and "fails at import on purpose" in event["exc"]
    assert os.listdir(directory) == []  # no socket, no temporary file


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "where to listen"),
        (["--socket", "/tmp/x.sock", "--processes", "2"], {}, "--socket runs exactly one process"),
        (["--socket-dir", "/tmp/d", "--socket", "/tmp/x.sock"], {}, "exclusive"),
        (["--tcp", "tcp://127.0.0.1:1"], {}, "requires GATEWIRE_SECRET"),
        (["--tcp", "127.0.0.1:80"], {"GATEWIRE_SECRET": "s"}, "tcp://host:port"),
        (["--socket-dir", "/tmp/d", "--name", "bad name"], {}, "--name"),
        (["--socket-dir", "/tmp/d", "--threads", "0"], {}, "--threads"),
    ],
)
def test_configuration_errors(spawn: Spawn, args: list[str], env: dict[str, str], message: str) -> None:
    worker = spawn("testapp:application", *args, env=env)
    assert worker.wait() == 2
    assert message in worker.logs()


def test_world_writable_socket_dir_is_refused(short_dir: Callable[[], str], spawn: Spawn) -> None:
    directory = short_dir()
    os.chmod(directory, 0o777)
    worker = spawn("testapp:application", "--socket-dir", directory, "--chdir", str(APPS))
    assert worker.wait() == 2
    assert "world-writable" in worker.logs()


def test_unix_socket_with_a_secret_requires_the_proof(short_dir: Callable[[], str], tmp_path: Path) -> None:
    worker, path = start_single(short_dir(), tmp_path, env={"GATEWIRE_SECRET": "unix-secret"})
    try:
        with ProxyClient(path, secret=b"unix-secret") as client:
            assert client.worker_hello["auth"] == "hmac-sha256"
            assert client.request("GET", "/hello").status == 200
        # A REQUEST before AUTH is refused with AUTH_FAILED, never processed.
        sock = g.connect(path)
        try:
            sock.sendall(g.PREFACE + frame(g.HELLO, 0, 0, pack(proxy_hello())))
            sock.sendall(frame(g.REQUEST, 1, 1, pack(make_environ("GET", "/hello"))))
            assert g.recv_exact(sock, 8) == g.PREFACE
            frames = g.read_until_close(sock)
        finally:
            sock.close()
        assert [f.type for f in frames] == [g.HELLO, g.GOAWAY]
        assert unpack(frames[1].payload)["code"] == g.AUTH_FAILED
    finally:
        worker.stop()


def tcp_port(worker: WorkerProcess) -> int:
    def find() -> int | None:
        for event in worker.events_named("ready"):
            match = re.search(r":(\d+)$", event["socket"])
            if match:
                return int(match[1])
        if worker.proc.poll() is not None:
            raise AssertionError(worker.logs())
        return None

    return wait_until(find)


def test_tcp_requires_mutual_hmac(spawn: Spawn) -> None:
    worker = spawn(
        "testapp:application", "--tcp", "tcp://127.0.0.1:0", "--chdir", str(APPS), "--threads", "2",
        env={"GATEWIRE_SECRET": "tcp-secret"},
    )
    address = ("127.0.0.1", tcp_port(worker))
    with ProxyClient(address, secret=b"tcp-secret") as client:
        assert client.worker_hello["auth"] == "hmac-sha256"
        response = client.request("POST", "/echo", body=b"over tcp" * 100000)
        assert response.body == b"over tcp" * 100000
        environ = json.loads(client.request("GET", "/environ").body)
        assert environ["gatewire.request_id"].startswith("req-")
    with pytest.raises(g.ConnectionClosed, match="expected AUTH"):
        ProxyClient(address, secret=b"wrong-secret")
    wait_until(lambda: any(e.get("code") == "AUTH_FAILED" for e in worker.events_named("connection_error")))
