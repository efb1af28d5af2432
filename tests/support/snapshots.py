"""Fingerprints and copies of whole databases, for tests that compare a database before and after a process."""

import asyncio
import hashlib
import sqlite3
import time

import asyncpg
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import make_engine
from shared.db_admin import server_dsn

# table -> (row count, md5 over the sorted rows)
Fingerprint = dict[str, tuple[int, str]]


def _table_columns(connection: object) -> dict[str, list[str]]:
    inspector = inspect(connection)
    return {table: [column["name"] for column in inspector.get_columns(table)] for table in inspector.get_table_names()}


async def _columns(url: str) -> dict[str, list[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_table_columns)
    finally:
        await engine.dispose()


def table_columns(url: str) -> dict[str, list[str]]:
    """Every table of the database with its column names."""
    return asyncio.run(_columns(url))


async def _digest(connection: AsyncConnection, table: str, columns: list[str], where: str | None) -> tuple[int, str]:
    condition = f" WHERE {where}" if where else ""
    if not columns:
        return await connection.scalar(text(f'SELECT count(*) FROM "{table}"{condition}')), ""
    listed = ", ".join(f'"{column}"' for column in columns)
    result = await connection.execute(text(f'SELECT {listed} FROM "{table}"{condition}'))
    rows = sorted(repr(tuple(row)) for row in result)
    return len(rows), hashlib.md5("\n".join(rows).encode()).hexdigest()


async def _fingerprint(url: str, content: dict[str, list[str]] | None, where: dict[str, str]) -> Fingerprint:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_columns)
            return {
                table: await _digest(
                    connection, table, columns if content is None else content.get(table, []), where.get(table)
                )
                for table, columns in sorted(tables.items())
            }
    finally:
        await engine.dispose()


def fingerprint(
    url: str, *, content: dict[str, list[str]] | None = None, where: dict[str, str] | None = None
) -> Fingerprint:
    """Row count of every table and an md5 over its sorted rows: all columns, or only the tables and columns of
    `content` (the other tables are only counted); `where` limits a table to the rows matching an SQL condition."""
    return asyncio.run(_fingerprint(url, content, where or {}))


def _sqlite_file(url: str) -> str:
    database = make_url(url).database
    assert database, url
    return database


async def _admin(url: str, *statements: str) -> None:
    dsn, _name = server_dsn(url)
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def clone_database(source: str, target: str) -> None:
    """Make `target` an exact copy of `source` (PostgreSQL: CREATE DATABASE … TEMPLATE; SQLite: the backup API)."""
    if source.startswith("sqlite"):
        with sqlite3.connect(_sqlite_file(source)) as origin, sqlite3.connect(_sqlite_file(target)) as copy:
            origin.backup(copy)
        origin.close()
        copy.close()
        return
    name, template = make_url(target).database, make_url(source).database
    asyncio.run(
        _admin(
            target, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"'
        )
    )


async def _sessions(url: str) -> int:
    dsn, name = server_dsn(url)
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", name
        )
    finally:
        await connection.close()


def wait_until_idle(url: str, *, seconds: float = 30) -> None:
    """Wait until no session is connected to the database, so that a killed client's server process has ended
    (and rolled back) before the database is looked at; SQLite has no server, its lock dies with the process."""
    if url.startswith("sqlite"):
        return
    deadline = time.monotonic() + seconds
    while asyncio.run(_sessions(url)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"sessions still open on {make_url(url).database} after {seconds} s")
        time.sleep(0.05)
