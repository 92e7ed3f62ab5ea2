#!/usr/bin/env python3
"""Container health check for the gatewire Python worker image (Dockerfile.python), run by Docker's
HEALTHCHECK and by Kubernetes probes: the worker completes the gatewire handshake (SPEC §3, §5) and
answers a PING (SPEC §12.1). Exit 0: healthy; 1: unhealthy; 2: bad usage.

    python3 deploy/healthcheck.py worker [TARGET]

The same contract as deploy/healthcheck.mjs (the Node images), written against the SPEC with msgpack
only (the worker's one dependency), so that it does not depend on the worker's internals.
TARGET defaults to $GATEWIRE_HEALTHCHECK_TARGET, else $GATEWIRE_SOCKET_DIR. It is
 - a socket directory: the sockets of this container only, `<name>.<pid>.sock` with a name ending in
   `-<hostname>` (the workers' default name, SPEC §16), or exactly $GATEWIRE_HEALTHCHECK_NAME. A
   socket that refuses connections is stale and skipped; at least one must answer, and every one
   that accepts must complete the handshake;
 - a socket path;
 - tcp://HOST:PORT, with the shared secret from $GATEWIRE_SECRET (SPEC §5.4), proved both ways.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
import struct
import sys
import time

import msgpack

TIMEOUT_S = 4.0
PREFACE = b"GATEWIRE"
HEADER = struct.Struct(">IBBI")  # length u32, type, flags, stream id u32 (SPEC §4.1)
HELLO, AUTH, GOAWAY, PING, PONG, HEALTH = 0x01, 0x02, 0x09, 0x0A, 0x0B, 0x0C
MAX_FRAME_SIZE = 262144


class Unhealthy(Exception):
    pass


def host_label(host: str | None = None) -> str:
    """The host part of the workers' default socket name (config.py default_name)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname() if host is None else host).strip("-")[:24]


def own_sockets(files: list[str], name: str | None, host: str | None = None) -> list[str]:
    label = host_label(host)
    own = []
    for file in files:
        match = re.fullmatch(r"([A-Za-z0-9_-]+)\.(\d+)\.sock", file)
        if match and (match.group(1) == name if name else match.group(1).endswith(f"-{label}")):
            own.append(file)
    return sorted(own)


def frame(kind: int, payload: bytes, stream: int = 0, flags: int = 0) -> bytes:
    return HEADER.pack(len(payload), kind, flags, stream) + payload


class Reader:
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Unhealthy(f"no complete handshake and PONG within {TIMEOUT_S:g} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise Unhealthy("connection closed before the PONG")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def frame(self) -> tuple[int, bytes]:
        length, kind, _flags, _stream = HEADER.unpack(self.exactly(HEADER.size))
        if length > MAX_FRAME_SIZE:
            raise Unhealthy(f"frame of {length} bytes exceeds our max_frame_size")
        return kind, self.exactly(length)


def probe(address: str | tuple[str, int], secret: bytes | None) -> dict:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    deadline = time.monotonic() + TIMEOUT_S
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(address)
        nonce = os.urandom(32)
        hello = {
            "version": 1,
            "role": "proxy",
            "max_frame_size": MAX_FRAME_SIZE,
            "initial_window": 262144,
            "max_streams": 0,
            "features": ["health"],
            "nonce": nonce,
            "server": "gatewire-healthcheck",
        }
        sock.sendall(PREFACE + frame(HELLO, msgpack.packb(hello, use_bin_type=True)))
        reader = Reader(sock, deadline)
        preface = reader.exactly(len(PREFACE))
        if preface != PREFACE:
            raise Unhealthy(f"not a gatewire worker: first bytes {preface!r}")
        kind, payload = reader.frame()
        if kind != HELLO:
            raise Unhealthy(f"first frame is type {kind}, not HELLO")
        theirs = msgpack.unpackb(payload, raw=False)
        if not isinstance(theirs, dict) or theirs.get("role") != "worker":
            raise Unhealthy(f"peer is not a worker: {theirs!r}")
        worker_nonce = theirs.get("nonce", b"")
        if theirs.get("auth") is not None:
            if not secret:
                raise Unhealthy("the worker requires the shared secret; set GATEWIRE_SECRET")
            proof = hmac.new(secret, b"gatewire-v1 proxy" + worker_nonce + nonce, hashlib.sha256).digest()
            sock.sendall(frame(AUTH, msgpack.packb({"proof": proof}, use_bin_type=True)))
        opaque = os.urandom(8)
        sock.sendall(frame(PING, opaque))  # allowed once the peer's HELLO is in (SPEC §5.1)
        while True:
            kind, payload = reader.frame()
            if kind == AUTH:
                expected = hmac.new(secret or b"", b"gatewire-v1 worker" + nonce + worker_nonce, hashlib.sha256).digest()
                proof = msgpack.unpackb(payload, raw=False).get("proof", b"")
                if not hmac.compare_digest(proof, expected):
                    raise Unhealthy("the worker's shared-secret proof does not match")
            elif kind == GOAWAY:
                goaway = msgpack.unpackb(payload, raw=False)
                raise Unhealthy(f"worker sent GOAWAY code {goaway.get('code')}: {goaway.get('message', '')}")
            elif kind == PONG and payload == opaque:
                break
        sock.sendall(frame(GOAWAY, msgpack.packb({"last_stream": 0, "code": 0, "message": "health check done"})))
        return theirs


def describe(hello: dict) -> str:
    return f"{hello.get('name', '?')} pid {hello.get('pid', '?')} ({hello.get('server', 'unknown server')}), max_streams {hello.get('max_streams')}"


def check_worker(target: str, env: dict[str, str]) -> list[str]:
    secret = env.get("GATEWIRE_SECRET", "").encode() or None
    tcp = re.fullmatch(r"tcp://(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):(\d{1,5})", target)
    if tcp:
        return [f"{target}: {describe(probe((tcp.group(1).strip('[]'), int(tcp.group(2))), secret))}"]
    if target.endswith(".sock"):
        return [f"{target}: {describe(probe(target, secret))}"]
    try:
        files = os.listdir(target)
    except OSError as error:
        raise Unhealthy(f"cannot read the socket directory {target}: {error.strerror}") from None
    name = env.get("GATEWIRE_HEALTHCHECK_NAME") or None
    own = own_sockets(files, name)
    if not own:
        what = f"{name}.<pid>.sock" if name else f"<name>-{host_label()}.<pid>.sock"
        raise Unhealthy(f"no socket of this container ({what}) in {target}")
    lines = []
    for file in own:
        path = os.path.join(target, file)
        try:
            lines.append(f"{path}: {describe(probe(path, secret))}")
        except (ConnectionRefusedError, FileNotFoundError):
            lines.append(f"{path}: stale, skipped")  # SPEC §16: refused means its process is gone
        except (OSError, ValueError, Unhealthy) as error:
            raise Unhealthy(f"{path}: {error}") from None
    if all(line.endswith("stale, skipped") for line in lines):
        raise Unhealthy(f"every socket of this container in {target} is stale: {', '.join(own)}")
    return lines


def main(argv: list[str], env: dict[str, str]) -> int:
    if not argv or argv[0] != "worker" or len(argv) > 2:
        print("usage: healthcheck.py worker [SOCKET_DIR | SOCKET | tcp://HOST:PORT]", file=sys.stderr)
        return 2
    target = argv[1] if len(argv) == 2 else env.get("GATEWIRE_HEALTHCHECK_TARGET") or env.get("GATEWIRE_SOCKET_DIR")
    if not target:
        print("worker: no target; pass one or set GATEWIRE_HEALTHCHECK_TARGET or GATEWIRE_SOCKET_DIR", file=sys.stderr)
        return 2
    try:
        lines = check_worker(target, env)
    except (OSError, ValueError, Unhealthy) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    print(f"healthy: {'; '.join(lines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
