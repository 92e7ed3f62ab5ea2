"""The one configuration object: parsed from argv and the environment, validated eagerly, frozen."""

from __future__ import annotations

import argparse
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import __version__
from .app_loader import split_app_spec
from .errors import ConfigError
from .logs import FORMATS, LEVELS
from .socket_dir import NAME_PATTERN, parse_tcp_address

MAX_BACKLOG = 1024
# Queue slots per process (SPEC §6.4). Chosen by bench/django.ts: see worker-runtime/python/README.md.
DEFAULT_BACKLOG = 1
USAGE_EXAMPLE = "python3 -m gatewire_wsgi myproject.wsgi:application --socket-dir /run/gatewire --processes 4"


@dataclass(frozen=True)
class Config:
    app: str
    socket_dir: str | None
    socket: str | None
    tcp: tuple[str, int] | None
    processes: int
    threads: int
    name: str
    chdir: str | None
    max_requests: int
    timeout: float
    grace: float
    log_level: str
    log_format: str
    secret: bytes | None
    handshake_timeout: float
    max_frame_size: int = 262_144
    initial_window: int = 262_144
    backlog: int = DEFAULT_BACKLOG

    @property
    def single_process(self) -> bool:
        """`--socket PATH`: one process on exactly that path, no master."""
        return self.socket is not None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m gatewire_wsgi",
        description="Serve a WSGI application as gatewire worker processes.",
        epilog=f"example: {USAGE_EXAMPLE}",
    )
    parser.add_argument("app", nargs="?", help="module:callable (default: $GATEWIRE_APP)")
    where = parser.add_argument_group("where to listen (exactly one)")
    where.add_argument("--socket-dir", metavar="DIR", help="one socket per process: DIR/<name>.<pid>.sock")
    where.add_argument(
        "--socket", metavar="PATH", help="single-process mode on exactly PATH, no master (default: $GATEWIRE_SOCKET)"
    )
    where.add_argument("--tcp", metavar="tcp://HOST:PORT", help="TCP; requires $GATEWIRE_SECRET")
    parser.add_argument("--processes", type=int, default=1, metavar="N", help="worker processes (default 1)")
    parser.add_argument("--threads", type=int, default=1, metavar="M", help="request threads per process (default 1)")
    parser.add_argument(
        "--backlog",
        type=int,
        default=DEFAULT_BACKLOG,
        metavar="B",
        help=f"requests a process accepts beyond --threads, waiting for a free thread (default {DEFAULT_BACKLOG})",
    )
    parser.add_argument("--name", help="app name in socket file names and HELLO (default: <the app's package>-<hostname>)")
    parser.add_argument("--chdir", metavar="DIR", help="change to DIR and import the app from there")
    parser.add_argument(
        "--max-requests", type=int, default=0, metavar="N", help="recycle a process after N requests (0: never)"
    )
    parser.add_argument(
        "--timeout", type=float, default=0, metavar="S", help="kill a process whose request runs past S seconds (0: no limit)"
    )
    parser.add_argument("--grace", type=float, default=30, metavar="S", help="drain time on SIGTERM/reload (default 30)")
    parser.add_argument("--log-level", default="info", choices=LEVELS)
    parser.add_argument("--log-format", default="json", choices=FORMATS)
    tuning = parser.add_argument_group("protocol tuning (SPEC §5.2, §9)")
    tuning.add_argument(
        "--max-frame-size", type=int, default=262_144, metavar="BYTES", help="largest frame accepted (default 262144)"
    )
    tuning.add_argument(
        "--initial-window",
        type=int,
        default=262_144,
        metavar="BYTES",
        help="request-body credit per stream before the app reads (default 262144)",
    )
    parser.add_argument("--handshake-timeout", type=float, default=10, metavar="S", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"gatewire-wsgi {__version__}")
    return parser


def default_name(app: str, host: str | None = None) -> str:
    """The app's package and the host name (SPEC §16: unique per container sharing a socket volume)."""
    package = app.partition(":")[0].split(".")[0]
    app_label = re.sub(r"[^A-Za-z0-9_-]+", "-", package).strip("-")[:32] or "app"
    host_label = re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname() if host is None else host).strip("-")[:24]
    return f"{app_label}-{host_label}" if host_label else app_label


def parse_config(argv: Sequence[str], env: Mapping[str, str]) -> Config:
    """Builds the Config; argparse errors exit(2) with usage, semantic errors raise ConfigError."""
    args = _parser().parse_args(list(argv))
    app = args.app or env.get("GATEWIRE_APP")
    if not app:
        raise ConfigError(f"no application given: pass module:callable or set GATEWIRE_APP (e.g. {USAGE_EXAMPLE})")
    split_app_spec(app)

    socket_path = args.socket
    given = [flag for flag, value in (("--socket-dir", args.socket_dir), ("--socket", socket_path), ("--tcp", args.tcp)) if value]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(given)} are exclusive: choose one place to listen")
    if not given:
        socket_path = env.get("GATEWIRE_SOCKET") or None
        if socket_path is None:
            raise ConfigError("where to listen? pass --socket-dir DIR, --socket PATH or --tcp tcp://host:port")

    if args.processes < 1:
        raise ConfigError(f"--processes {args.processes}: at least 1")
    if socket_path is not None and args.processes != 1:
        raise ConfigError("--socket runs exactly one process on that path; use --socket-dir for --processes N")
    if args.threads < 1:
        raise ConfigError(f"--threads {args.threads}: at least 1")
    if not 0 <= args.backlog <= MAX_BACKLOG:
        raise ConfigError(f"--backlog {args.backlog}: 0…{MAX_BACKLOG}")
    if args.max_requests < 0:
        raise ConfigError("--max-requests must be 0 (never) or more")
    if args.timeout < 0:
        raise ConfigError("--timeout must be 0 (no limit) or more seconds")
    if args.grace < 0:
        raise ConfigError("--grace must be 0 or more seconds")
    if not 65_536 <= args.max_frame_size <= 16_777_215:
        raise ConfigError(f"--max-frame-size {args.max_frame_size}: SPEC §15 allows 65536…16777215")
    if not 1024 <= args.initial_window <= 2_147_483_647:
        raise ConfigError(f"--initial-window {args.initial_window}: SPEC §15 allows 1024…2147483647")
    if args.handshake_timeout <= 0:
        raise ConfigError("--handshake-timeout must be more than 0 seconds")

    name = args.name or default_name(app)
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"--name {name!r}: only letters, digits, '_' and '-' (SPEC §16)")

    tcp = parse_tcp_address(args.tcp) if args.tcp else None
    secret_text = env.get("GATEWIRE_SECRET")
    secret = secret_text.encode("utf-8") if secret_text else None
    if tcp is not None and secret is None:
        raise ConfigError("--tcp requires GATEWIRE_SECRET: a worker on TCP must authenticate the proxy (SPEC §5.4)")

    socket_dir = os.path.abspath(args.socket_dir) if args.socket_dir else None
    chdir = os.path.abspath(args.chdir) if args.chdir else None
    return Config(
        app=app,
        socket_dir=socket_dir,
        socket=os.path.abspath(socket_path) if socket_path else None,
        tcp=tcp,
        processes=args.processes,
        threads=args.threads,
        name=name,
        chdir=chdir,
        max_requests=args.max_requests,
        timeout=args.timeout,
        grace=args.grace,
        log_level=args.log_level,
        log_format=args.log_format,
        secret=secret,
        handshake_timeout=args.handshake_timeout,
        max_frame_size=args.max_frame_size,
        initial_window=args.initial_window,
        backlog=args.backlog,
    )
