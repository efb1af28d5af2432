"""The scheduler's job registry: each entry a named async function of (session, now). Add a job with one line."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.service import forget_login_failures
from shared.config import get_settings
from shared.federation.feed import compact
from shared.federation.puller import pull_all_peers
from shared.notifications.delivery import deliver_due
from shared.reports import calendar

JobFunction = Callable[[AsyncSession, datetime], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Job:
    """A job and how often it runs: every tick, at most once per `every`, or once a day from `daily_at` (local)."""

    name: str
    run: JobFunction
    every: timedelta | None = None
    daily_at: int | None = None

    def due(self, *, now: datetime, last: datetime | None) -> bool:
        """Whether the job should run at `now` given its last completed run (a missed run is made up once)."""
        if last is None:
            return self.daily_at is None or calendar.local_hour(now) >= self.daily_at
        if self.daily_at is not None:
            return calendar.local_today(now) > calendar.local_today(last) and calendar.local_hour(now) >= self.daily_at
        return self.every is None or now - last >= self.every


async def deliver(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Send the deliveries whose time has come."""
    return await deliver_due(session, at=now)


async def federation_pull(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Pull every active peer; each page commits in its own transaction, so this job's session only records the run."""
    # End the job session's transaction first: on SQLite it holds the write lock (BEGIN IMMEDIATE) the pages need.
    await session.commit()
    results = await pull_all_peers()
    failed = sum(not result.ok for result in results)
    return {"peers": len(results), "failed": failed, "rows": sum(result.rows for result in results)}


async def forget_old_login_failures(session: AsyncSession, now: datetime) -> int:
    """Drop failed logins the throttle no longer counts."""
    return await forget_login_failures(session, now=now)


async def compact_changes(session: AsyncSession, now: datetime) -> int:
    """Drop superseded changes of this instance's own change log older than the retention."""
    # In the job's own session: a second session would wait for this one's SQLite write lock until "database is locked".
    return await compact(session, older_than=timedelta(days=get_settings().change_log_retention_days))


JOBS: list[Job] = [
    Job("open_reports", calendar.open_reports),
    Job("remind", calendar.remind),
    Job("mark_late", calendar.mark_late),
    Job("assemble_and_aggregate", calendar.assemble_and_aggregate, every=timedelta(hours=1)),
    Job("recompute_indicators", calendar.recompute_indicators, daily_at=get_settings().nightly_hour),
    Job("queue_deliveries", calendar.queue_deliveries),
    Job("deliver", deliver),
    Job("federation_pull", federation_pull, every=timedelta(minutes=get_settings().federation_pull_minutes)),
    Job("compact_changes", compact_changes, daily_at=get_settings().nightly_hour),
    Job("forget_login_failures", forget_old_login_failures, every=timedelta(hours=1)),
]
