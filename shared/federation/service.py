"""Entry points for the CLI and the scheduler: one pull round, one compaction."""

from datetime import timedelta

from shared.db import dispose_engine, session_scope
from shared.federation.feed import compact
from shared.federation.puller import PullResult, pull_all_peers


async def pull_now(*, names: list[str] | None = None) -> list[PullResult]:
    """One pull round with the configured database (the CLI's `sync`)."""
    try:
        return await pull_all_peers(names=names)
    finally:
        await dispose_engine()


async def compact_change_log(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Compact this instance's change log (a scheduler job); the number of superseded changes dropped."""
    async with session_scope() as session:
        return await compact(session, older_than=older_than)


async def compact_now(*, days: float) -> int:
    """One compaction with the configured database (the CLI)."""
    try:
        return await compact_change_log(older_than=timedelta(days=days))
    finally:
        await dispose_engine()
