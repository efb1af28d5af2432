"""Test-side wrappers of shared.db_admin (synchronous, for session fixtures)."""

import asyncio
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from shared import db_admin


def server_reachable(url: str) -> bool:
    """Whether the PostgreSQL server of a URL answers."""
    return asyncio.run(db_admin.server_reachable(url))


def recreate_database(url: str) -> None:
    """Drop and create a database (or delete a SQLite file)."""
    asyncio.run(db_admin.recreate_database(url))


def database_exists(url: str) -> bool:
    """Whether the database of a URL exists (PostgreSQL), or its SQLite file."""
    if url.startswith("sqlite"):
        return Path(make_url(url).database or "").exists()
    dsn, name = db_admin.server_dsn(url)

    async def found() -> bool:
        connection = await asyncpg.connect(dsn)
        try:
            return await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name) is not None
        finally:
            await connection.close()

    return asyncio.run(found())
