"""Test-side wrappers of shared.db_admin (synchronous, for session fixtures)."""

import asyncio

from shared import db_admin


def server_reachable(url: str) -> bool:
    """Whether the PostgreSQL server of a URL answers."""
    return asyncio.run(db_admin.server_reachable(url))


def recreate_database(url: str) -> None:
    """Drop and create a database (or delete a SQLite file)."""
    asyncio.run(db_admin.recreate_database(url))
