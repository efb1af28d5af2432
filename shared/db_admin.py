"""Create, drop and migrate whole databases (tests, benchmarks)."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def server_dsn(url: str) -> tuple[str, str]:
    """The maintenance-database DSN of a PostgreSQL URL and the database name it names."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database or "culturezone"


async def server_reachable(url: str) -> bool:
    """Whether the PostgreSQL server of a URL answers."""
    dsn, _name = server_dsn(url)
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def drop_database(url: str) -> None:
    """Drop the database of a URL, its sessions ended (PostgreSQL), or delete the SQLite file."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(database + suffix)
        return
    await _maintenance(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def recreate_database(url: str) -> None:
    """Drop and create the database of a URL (PostgreSQL), or delete the SQLite file."""
    await drop_database(url)
    if not url.startswith("sqlite"):
        await _maintenance(url, 'CREATE DATABASE "{name}"')


async def _maintenance(url: str, statement: str) -> None:
    """One statement about the URL's database ({name} in it), run from the server's maintenance database."""
    dsn, name = server_dsn(url)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement.format(name=name))
    finally:
        await connection.close()


def migrate(url: str) -> None:
    """alembic upgrade head in a child process, as `culturezone migrate` does."""
    env = os.environ | {"DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)


def sibling_url(url: str, name: str) -> str:
    """The URL of another database on the same server (or another file beside the SQLite one)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = Path(parsed.database or "culturezone.db")
        return parsed.set(database=str(database.with_name(f"{name}.db"))).render_as_string(hide_password=False)
    return parsed.set(database=name).render_as_string(hide_password=False)
