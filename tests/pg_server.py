"""A throwaway PostgreSQL server for the test session (pytest plugin: ``pytest_plugins = ["pg_server"]``).

Fixture ``postgres_url`` (session scope) yields ``postgresql://…`` of an empty database:

* ``MEDCITE_TEST_DATABASE_URL`` set → that URL is used as is (nothing is started);
* else ``initdb``/``pg_ctl`` are looked up under ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu) or on
  PATH, a cluster is created in a temporary folder and started on a free loopback port with its unix
  socket in that folder (fsync off: it is thrown away), and stopped and deleted at session end.
  As root, the server runs as the ``postgres`` system user (``initdb`` refuses root).
* No binaries → the tests using it are skipped, except on CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

INSTALL_HINT = (
    "install PostgreSQL server binaries (Debian/Ubuntu: `apt-get update && apt-get install -y postgresql`) "
    "or set MEDCITE_TEST_DATABASE_URL=postgresql://user:password@host:port/dbname"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run on CI: {reason}; {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason} ({INSTALL_HINT})")


def _bin_dir() -> Path | None:
    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit()) or (0,)

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runuser() -> str | None:
    return shutil.which("runuser") or next(
        (p for p in ("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser") if os.path.exists(p)), None)


def _run(cmd: list[str], as_user: str | None, **kw: object) -> subprocess.CompletedProcess[str]:
    if as_user:
        cmd = [_runuser() or "runuser", "-u", as_user, "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        import psycopg
    except ImportError:
        _unavailable('the psycopg package is missing (pip install "psycopg[binary]==3.3.9")')
    url = os.environ.get("MEDCITE_TEST_DATABASE_URL")
    if url:
        yield url
        return

    bindir = _bin_dir()
    if bindir is None:
        _unavailable("initdb/pg_ctl not found under /usr/lib/postgresql/*/bin or on PATH")
    as_user = None
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no 'postgres' system user to run the server as")
        if _runuser() is None:
            _unavailable("running as root and `runuser` (util-linux) is missing")
        as_user = "postgres"

    tmp = Path(tempfile.mkdtemp(prefix="medcite-pg-"))
    data, log = tmp / "data", tmp / "server.log"
    if as_user:
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.chmod(tmp, 0o700)
    port = _free_port()
    started = False
    try:
        try:
            _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions"], as_user, cwd=tmp)
            opts = (f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c max_connections=100")
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "30", "start"],
                 as_user, cwd=tmp)
            started = True
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"could not start a throwaway PostgreSQL server: {detail.strip()}\n{tail}", pytrace=False)

        admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 15
        while True:
            try:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute("CREATE DATABASE medcite_test")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield f"postgresql://postgres@127.0.0.1:{port}/medcite_test"
    finally:
        if started:
            try:
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], as_user, cwd=tmp)
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
