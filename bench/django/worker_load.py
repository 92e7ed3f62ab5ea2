#!/usr/bin/env python3
"""The Python worker alone: CPU per request of ONE gatewire-wsgi process, driven over its Unix socket
by this client playing the proxy (no proxy, no HTTP), with the environ the proxy builds for wrk.

    python3 bench/django/worker_load.py [--seconds 5] [--threads 1] [--app hello|api|wsgi] [--rounds 3]
        [--in-flight N] [--package DIR]   # DIR: another checkout's worker-runtime/python, to compare
        [--profile out.prof]              # the reader thread under cProfile (pstats file)
    python3 bench/django/worker_load.py --uwsgi [--app …]   # uWSGI alone, driven the same way

Starts `python3 -m gatewire_wsgi <app> --socket <tmp> --threads N`, keeps max_streams requests in
flight (as the proxy does for a worker of that capacity), and prints per round: requests/s and the
worker's utime+stime per request (µs, from /proc). The client runs in its own process; only the
worker's CPU is counted. Used to measure each change to the worker's hot path.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack

ROOT = Path(__file__).resolve().parents[2]
APPS = {
    "hello": ("/work/shared/reference-stacks/apps/django_hello", "hellosite.wsgi:application", b"/"),
    "api": (str(ROOT / "examples/django"), "gatewire_demo.wsgi:application", b"/api/info/"),
    # No Django: what the worker itself costs per request.
    "wsgi": ("/work/shared/reference-stacks/apps", "wsgi_hello:application", b"/"),
}
HEADER = struct.Struct(">IBBI")
REQUEST, RESPONSE, DATA, HELLO, RESET, GOAWAY = 3, 4, 5, 1, 8, 9
END_STREAM = 1
PROFILED_WORKER = """
import cProfile, sys, time
from gatewire_wsgi import __main__ as cli, connection
out = sys.argv.pop(1)
serve = connection.Connection._serve
def profiled(self, token, greet):
    profile = cProfile.Profile()
    profile.enable()
    try:
        return serve(self, token, greet)
    finally:
        profile.disable()
        profile.dump_stats(out)
connection.Connection._serve = profiled
cli._exit(cli.main())
"""
TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def environ(path: bytes, request_id: str) -> bytes:
    """What the proxy sends for `wrk http://127.0.0.1:port/`: Host, then its forwarding fields."""
    return msgpack.packb(
        {
            "method": "GET",
            "target": path,
            "path": path,
            "query": b"",
            "version": "HTTP/1.1",
            "headers": [
                [b"host", b"127.0.0.1:8080"],
                [b"x-forwarded-for", b"127.0.0.1"],
                [b"x-forwarded-proto", b"http"],
                [b"x-request-id", request_id.encode()],
            ],
            "scheme": "http",
            "client_addr": "127.0.0.1",
            "client_port": 40000,
            "server_addr": "127.0.0.1",
            "server_port": 8080,
            "server_name": "127.0.0.1",
            "request_id": request_id,
            "body_length": 0,
        },
        use_bin_type=True,
    )


class Client:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        hello = {
            "version": 1,
            "role": "proxy",
            "max_frame_size": 262144,
            "initial_window": 262144,
            "max_streams": 0,
            "features": ["trailers", "health"],
            "nonce": os.urandom(32),
        }
        payload = msgpack.packb(hello, use_bin_type=True)
        self.sock.sendall(b"GATEWIRE" + HEADER.pack(len(payload), HELLO, 0, 0) + payload)
        self.buffer = b""
        self._read(8)
        self.buffer = self.buffer[8:]
        frame_type, _flags, _stream, payload = self._frame()
        assert frame_type == HELLO
        worker = msgpack.unpackb(payload, raw=False)
        self.max_streams = worker["max_streams"]
        self.pid = worker["pid"]

    def _read(self, size: int) -> None:
        while len(self.buffer) < size:
            data = self.sock.recv(1 << 18)
            if not data:
                raise EOFError("the worker closed the connection")
            self.buffer += data

    def _frame(self) -> tuple[int, int, int, bytes]:
        self._read(10)
        length, frame_type, flags, stream_id = HEADER.unpack_from(self.buffer)
        self._read(10 + length)
        payload = self.buffer[10 : 10 + length]
        self.buffer = self.buffer[10 + length :]
        return frame_type, flags, stream_id, payload

    def run(self, path: bytes, seconds: float, in_flight: int, first_id: int) -> tuple[int, int]:
        """Keeps `in_flight` requests running for `seconds`; returns (completed, next stream id)."""
        stream_id = first_id
        pending = 0
        completed = 0
        deadline = time.monotonic() + seconds
        while True:
            sending = time.monotonic() < deadline
            out = []
            while sending and pending < in_flight:
                payload = environ(path, f"bench-{stream_id}")
                out.append(HEADER.pack(len(payload), REQUEST, END_STREAM, stream_id) + payload)
                stream_id += 2
                pending += 1
            if out:
                self.sock.sendall(b"".join(out))
            if not pending:
                return completed, stream_id
            frame_type, flags, _sid, payload = self._frame()
            if frame_type in (RESET, GOAWAY):
                raise RuntimeError(f"worker answered frame {frame_type}: {msgpack.unpackb(payload, raw=False)}")
            if frame_type == RESPONSE and not payload.startswith(b"\x82\xa6status\xcc\xc8"):
                status = msgpack.unpackb(payload, raw=False)["status"]
                raise RuntimeError(f"status {status}")
            if frame_type in (RESPONSE, DATA) and flags & END_STREAM:
                pending -= 1
                completed += 1


def uwsgi_packet(path: bytes) -> bytes:
    """A uwsgi-protocol request with the variables nginx's uwsgi_params send for the same request."""
    variables = {
        b"QUERY_STRING": b"",
        b"REQUEST_METHOD": b"GET",
        b"CONTENT_TYPE": b"",
        b"CONTENT_LENGTH": b"",
        b"REQUEST_URI": path,
        b"PATH_INFO": path,
        b"DOCUMENT_ROOT": b"/usr/share/nginx/html",
        b"SERVER_PROTOCOL": b"HTTP/1.1",
        b"REQUEST_SCHEME": b"http",
        b"REMOTE_ADDR": b"127.0.0.1",
        b"REMOTE_PORT": b"40000",
        b"SERVER_PORT": b"8080",
        b"SERVER_NAME": b"",
        b"HTTP_HOST": b"127.0.0.1",
    }
    body = b"".join(
        struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value for key, value in variables.items()
    )
    return struct.pack("<BHB", 0, len(body), 0) + body


def run_uwsgi(args: argparse.Namespace, chdir: str, module: str, path: bytes) -> None:
    """The same view under uWSGI (1 process, uwsgi protocol over a Unix socket, a connection per
    request as nginx does): the app-server CPU per request of the reference, measured the same way."""
    directory = tempfile.mkdtemp(prefix="gw-load-")
    socket_path = os.path.join(directory, "u.sock")
    scripts = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = dict(os.environ, DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost")
    command = [os.path.join(scripts, "uwsgi"), "--master", "--processes", "1", "--socket", socket_path]
    command += ["--chdir", chdir, "--module", module, "--disable-logging", "--die-on-term"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    packet = uwsgi_packet(path)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("uwsgi did not start")
            time.sleep(0.05)
        time.sleep(1)

        def one() -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(socket_path)
            sock.sendall(packet)
            response = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                response += data
            sock.close()
            if not response.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(response[:200])

        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        pid = int(children[0])
        end = time.monotonic() + 1
        while time.monotonic() < end:
            one()
        results = []
        for round_ in range(args.rounds):
            before = cpu_ticks(pid)
            started = time.monotonic()
            count = 0
            end = started + args.seconds
            while time.monotonic() < end:
                one()
                count += 1
            elapsed = time.monotonic() - started
            us = (cpu_ticks(pid) - before) * TICK_US / count
            results.append(us)
            print(f"round {round_ + 1}: {count / elapsed:8.0f} req/s  uWSGI worker CPU {us:6.1f} µs/req")
        results.sort()
        print(f"median uWSGI worker CPU {results[len(results) // 2]:.1f} µs/req (min {results[0]:.1f}, max {results[-1]:.1f})")
    finally:
        server.terminate()
        server.wait(30)
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backlog", type=int, default=0)
    parser.add_argument("--in-flight", type=int, default=0, help="default: the worker's max_streams")
    parser.add_argument("--app", choices=sorted(APPS), default="hello")
    parser.add_argument("--profile", help="run the worker under cProfile, writing this pstats file")
    parser.add_argument("--uwsgi", action="store_true", help="measure uWSGI (pip) instead, for reference")
    parser.add_argument(
        "--package",
        default=str(ROOT / "worker-runtime/python"),
        help="the gatewire_wsgi package directory (another checkout, to compare versions)",
    )
    args = parser.parse_args()
    chdir, module, path = APPS[args.app]
    if args.uwsgi:
        run_uwsgi(args, chdir, module, path)
        return
    directory = tempfile.mkdtemp(prefix="gw-load-")
    socket_path = os.path.join(directory, "w.sock")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.package, env.get("PYTHONPATH")]))
    env["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    if args.profile:
        # cProfile sees one thread: profile the connection's reader thread, where requests run inline
        # with --threads 1 (the stats are written when the connection closes).
        command = [sys.executable, "-c", PROFILED_WORKER, args.profile, module]
    else:
        command = [sys.executable, "-m", "gatewire_wsgi", module]
    command += ["--chdir", chdir, "--socket", socket_path]
    command += ["--threads", str(args.threads), "--log-level", "warning"]
    if args.backlog:
        command += ["--backlog", str(args.backlog)]
    worker = subprocess.Popen(command, env=env)
    client = None
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the worker did not start")
            time.sleep(0.05)
        client = Client(socket_path)
        in_flight = args.in_flight or client.max_streams
        stream_id = 1
        _, stream_id = client.run(path, 1.0, in_flight, stream_id)  # warm-up
        results = []
        for round_ in range(args.rounds):
            before = cpu_ticks(client.pid)
            started = time.monotonic()
            count, stream_id = client.run(path, args.seconds, in_flight, stream_id)
            elapsed = time.monotonic() - started
            us = (cpu_ticks(client.pid) - before) * TICK_US / count
            results.append(us)
            print(f"round {round_ + 1}: {count / elapsed:8.0f} req/s  worker CPU {us:6.1f} µs/req  ({in_flight} in flight)")
        results.sort()
        print(f"median worker CPU {results[len(results) // 2]:.1f} µs/req (min {results[0]:.1f}, max {results[-1]:.1f})")
    finally:
        if client is not None:
            client.sock.close()  # the worker's drain waits for the proxy side to close
        if args.profile:
            time.sleep(1)  # the reader thread writes the stats as the connection closes
        worker.send_signal(15)
        worker.wait(30)
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


if __name__ == "__main__":
    main()
