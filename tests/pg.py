"""A throwaway PostgreSQL server for one test session: found on PATH or under /usr/lib/postgresql, torn down after."""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg

SERVER_USER = "postgres"  # initdb and postgres refuse to run as root; this is who they run as then
SUPERUSER = "postgres"  # the database role created by initdb
DATABASE = "pbx_test"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the server would not start. The tests must fail, not skip."""


def find_bindir() -> Path:
    """The directory holding both initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        # Debian links only some tools into PATH; pg_ctl must come from the same installation.
        candidates.append(Path(os.path.realpath(on_path)).parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=lambda p: _version_key(Path(p).parent.name), reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) were found neither on PATH nor under /usr/lib/postgresql/*/bin. "
        "Install them (Debian: apt-get install postgresql; scripts/ensure-postgres.sh does it) "
        "or point PBX_TEST_POSTGRES_URL at a server you provide.")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 and a private socket dir."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="pbx-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = 0
        self.running = False
        self.as_other_user = os.geteuid() == 0

    def _run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_other_user:
            if shutil.which("runuser"):
                command = ["runuser", "-u", SERVER_USER, "--", *command]
            else:
                command = ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(command)]
        # A fixed, always-present locale: the machine's may not exist for the server.
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=self.root, check=False)

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{log}".rstrip())

    def start(self) -> None:
        self.sockets.mkdir()
        if self.as_other_user:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and there is no {SERVER_USER!r} OS user to run PostgreSQL as "
                    "(initdb refuses root); install the postgresql package, which creates it") from None
            for path in (self.root, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._check(self._run(["initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                               "--no-locale", "--no-sync"]), "initdb")
        # Durability is worthless for a throwaway server; fsync off makes DDL and commits cheap.
        options = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   f"-c unix_socket_directories={self.sockets}")
        for _attempt in range(3):  # the free port may be taken between our probe and the server's bind
            self.port = _free_port()
            result = self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                                "-o", f"{options} -p {self.port}", "start"])
            if result.returncode == 0:
                self.running = True
                return
        self._check(result, "pg_ctl start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        """Stop the server and delete its directory; safe to call twice, and after a failed start."""
        if self.running:
            self.running = False
            # immediate: nothing to preserve, and a smart shutdown would wait for leaked connections.
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh PostgreSQL server with an empty database; yields its URL, and removes it all afterwards."""
    server = PostgresServer(find_bindir())
    # Belt and braces: if the session dies without running fixture finalisers, still stop it.
    atexit.register(server.stop)
    try:
        server.start()
        server.create_database(DATABASE)
        yield server.url(DATABASE)
    finally:
        server.stop()
        atexit.unregister(server.stop)
