"""A throw-away PostgreSQL server for the test suite and the benchmarks.

Started from Debian's server binaries (``apt-get install postgresql``): a cluster in a temporary
folder, listening on loopback only, stopped and deleted when the process exits. Root runs it as the
``postgres`` user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

INSTALL_HINT = "apt-get install postgresql (Debian)"


def server_binaries() -> Path | None:
    """The newest installed server's bin folder, or None when no server is installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def start_throwaway_server(*, durable: bool = False, max_connections: int = 300) -> str:
    """Start a cluster and return a URL to its maintenance database.

    ``durable=False`` (the tests) turns fsync and synchronous commit off; benchmarks that compare
    backends pass ``durable=True`` so PostgreSQL pays for durability as SQLite does.
    """
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError(f"no PostgreSQL server binaries under /usr/lib/postgresql: {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="epitrace-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, binaries / "initdb", "-D", data, "-U", "epitrace", "--auth=trust", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c max_connections={max_connections}"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
                   check=True, capture_output=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # atexit runs last-registered first: after the stop
    atexit.register(lambda: subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                                           capture_output=True))
    return f"postgresql+psycopg://epitrace@127.0.0.1:{port}/postgres"


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` (optionally a copy of ``template``) and return its URL."""
    engine = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
