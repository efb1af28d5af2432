"""Alembic environment: runs migrations over the async engine of the configured database."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

import shared.models  # noqa: F401  (registers every table on the metadata)
from shared.config import get_settings
from shared.db import UTCDateTime, make_engine, metadata
from shared.federation.triggers import install_change_triggers


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | bool:
    """Render our own column types by import, not by module path."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from shared.db import UTCDateTime")
        return "UTCDateTime()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        process_revision_directives=_skip_empty,
    )
    with context.begin_transaction():
        context.run_migrations()
        # Every table of the federation registry logs its changes (adding a table there is one line).
        install_change_triggers(connection)


def _skip_empty(_context: object, _revision: object, directives: list) -> None:
    """Autogenerate writes no file when nothing changed."""
    if getattr(context.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []


async def _run_online() -> None:
    engine = make_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
