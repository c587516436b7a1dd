"""A throwaway redis-server for one test session: found on PATH, on a free local port, stopped afterwards."""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


class RedisUnavailable(RuntimeError):
    """No redis-server binary, or it would not start. The tests must fail, not skip."""


def find_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RedisUnavailable(
            "redis-server was not found on PATH. Install it (Debian: apt-get install redis-server; "
            "scripts/ensure-redis.sh does it) or point PBX_TEST_REDIS_URL at a server you provide "
            "(its database is flushed by the tests).")
    return path


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server without persistence in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="pbx-redis-", dir="/tmp"))
        self.log = self.root / "server.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        for _attempt in range(3):  # the free port may be taken between our probe and the server's bind
            self.port = _free_port()
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    [self.binary, "--save", "", "--appendonly", "no", "--port", str(self.port),
                     "--bind", "127.0.0.1", "--dir", str(self.root), "--daemonize", "no"],
                    stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if _ping(self.port):
                    return
                time.sleep(0.02)
            self.stop(remove=False)
        raise RedisUnavailable(f"redis-server did not start:\n{self.log.read_text(errors='replace')[-4000:]}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, remove: bool = True) -> None:
        """Stop the server (and delete its directory); safe to call twice, and after a failed start."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A fresh, empty redis-server; yields its URL, and removes it all afterwards."""
    server = RedisServer(find_redis_server())
    atexit.register(server.stop)  # if the session dies without running fixture finalisers
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        atexit.unregister(server.stop)
