"""Listening sockets and the socket directory convention (SPEC §16).

A Unix socket is bound under a temporary name in its directory (not ending in ``.sock``), given
mode 0660, and renamed into place only once the application is loaded, so a proxy watching the
directory never connects to a worker that cannot answer yet. It is removed when draining starts.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import stat

from .errors import ConfigError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
_SOCKET_FILE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)\.(?P<pid>[0-9]+)\.sock$")
_TEMP_FILE = re.compile(r"^\.(?P<base>.+)\.(?P<pid>[0-9]+)\.tmp$")
SOCKET_MODE = 0o660
BACKLOG = 1024
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_UNIX_PATH = 107


def socket_path(directory: str, name: str, pid: int) -> str:
    """``<dir>/<name>.<pid>.sock`` (SPEC §16)."""
    return os.path.join(directory, f"{name}.{pid}.sock")


def temp_path(final: str, pid: int) -> str:
    directory, base = os.path.split(final)
    return os.path.join(directory, f".{base}.{pid}.tmp")


def prepare_directory(directory: str) -> None:
    """Creates the socket directory (mode 0770) if needed; refuses a world-writable one (SPEC §16)."""
    try:
        os.makedirs(directory, mode=0o770, exist_ok=True)
        info = os.stat(directory)
    except OSError as error:
        raise ConfigError(f"socket directory {directory}: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"socket directory {directory} is not a directory")
    if info.st_mode & stat.S_IWOTH:
        raise ConfigError(
            f"socket directory {directory} is world-writable (mode {stat.S_IMODE(info.st_mode):o}); "
            "SPEC §16 requires a directory shared by the proxy and the workers only, e.g. mode 0770"
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def refuses_connections(path: str) -> bool:
    """True when nothing listens on the socket file any more (connect is refused)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


def clean_stale(directory: str, name: str, keep: frozenset[int] = frozenset()) -> list[str]:
    """Removes ``<name>.<pid>.sock`` files left by dead processes, and their temporary files (SPEC §16)."""
    removed: list[str] = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        match = _SOCKET_FILE.match(entry)
        temp = None if match else _TEMP_FILE.match(entry)
        if match:
            if match["name"] != name:
                continue
            pid = int(match["pid"])
        elif temp and temp["base"].startswith(name + "."):
            pid = int(temp["pid"])
        else:
            continue
        if pid in keep or pid == os.getpid():
            continue
        path = os.path.join(directory, entry)
        # SPEC §16: a socket is stale only when connecting is refused; its pid may belong to a live
        # process in another container sharing the directory. Temp files are never connectable, so
        # for them the pid check is all there is.
        stale = refuses_connections(path) if match is not None else not pid_alive(pid)
        if stale:
            try:
                os.unlink(path)
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Listener:
    """A listening socket; Unix ones publish and unpublish their file."""

    def __init__(self, sock: socket.socket, label: str) -> None:
        self.sock = sock
        self.label = label

    def publish(self) -> None:
        """Makes the listener visible (a no-op for TCP)."""

    def unpublish(self) -> None:
        """Stops new connections from finding the listener (a no-op for TCP)."""

    def close(self) -> None:
        self.sock.close()


class UnixListener(Listener):
    def __init__(self, final_path: str) -> None:
        path_bytes = len(os.fsencode(final_path))
        if path_bytes > MAX_UNIX_PATH:
            raise ConfigError(
                f"socket path {final_path} is {path_bytes} bytes; Unix sockets allow at most {MAX_UNIX_PATH}"
            )
        self.final_path = final_path
        self.temp = temp_path(final_path, os.getpid())
        if len(os.fsencode(self.temp)) > MAX_UNIX_PATH:
            raise ConfigError(f"socket path {final_path} is too long for its temporary name {self.temp}")
        remove_quietly(self.temp)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.temp)
            os.chmod(self.temp, SOCKET_MODE)
            sock.listen(BACKLOG)
        except OSError as error:
            sock.close()
            remove_quietly(self.temp)
            raise ConfigError(f"cannot listen on {self.temp}: {error.strerror}") from None
        self._inode = os.stat(self.temp).st_ino
        self.published = False
        super().__init__(sock, final_path)

    def publish(self) -> None:
        os.rename(self.temp, self.final_path)
        self.published = True

    def unpublish(self) -> None:
        if not self.published:
            remove_quietly(self.temp)
            return
        self.published = False
        try:
            # Remove the file only if it is still ours (a successor may have taken the path).
            if os.stat(self.final_path).st_ino == self._inode:
                os.unlink(self.final_path)
        except FileNotFoundError:
            pass

    def close(self) -> None:
        self.unpublish()
        super().close()


def check_single_socket_free(path: str) -> None:
    """Single-process mode: a live worker on the path is an error; a dead one's file is removed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ConfigError(f"{path} exists and is not a socket; refusing to replace it")
    if not refuses_connections(path):
        raise ConfigError(f"{path} is in use by a running process")
    remove_quietly(path)


def parse_tcp_address(address: str) -> tuple[str, int]:
    """``tcp://host:port`` (IPv6 hosts in brackets) → (host, port)."""
    match = re.fullmatch(r"tcp://(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:/\[\]]+)):(?P<port>[0-9]{1,5})/?", address)
    if not match:
        raise ConfigError(f"--tcp {address!r} is not of the form tcp://host:port")
    port = int(match["port"])  # 0: an ephemeral port (the ready log line says which)
    if not 0 <= port < 65536:
        raise ConfigError(f"--tcp {address!r}: port {port} is out of range")
    return match["v6"] or match["host"], port


def tcp_listener(host: str, port: int) -> Listener:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ConfigError(f"--tcp: cannot resolve {host}: {error}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(f"--tcp: {host}:{port} is already in use") from None
        raise ConfigError(f"--tcp: cannot listen on {host}:{port}: {error.strerror}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound = sock.getsockname()
    return Listener(sock, f"tcp://{host}:{bound[1]}")
