"""Create and reach test databases on PostgreSQL or SQLite."""

import asyncio
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url


def _server_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database or "culturezone_test"


def server_reachable(url: str) -> bool:
    """Whether the PostgreSQL server of a URL answers."""
    dsn, _name = _server_dsn(url)

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def recreate_database(url: str) -> None:
    """Drop and create the database of a URL (PostgreSQL), or delete the SQLite file."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database:
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        return
    dsn, name = _server_dsn(url)

    async def recreate() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(recreate())
