"""One tick of the calendar: every due job of the registry in its own transaction, recorded in job_run."""

from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy import func, select

from services.scheduler.jobs import JOBS, Job
from shared.db import is_postgres, session_scope
from shared.reports.models import JobRun
from shared.statistics.elements import dialect_insert

log = structlog.get_logger("culturezone.scheduler")


async def run_job(job: Job, *, now: datetime) -> bool:
    """Run one job if due; its writes and its job_run row commit together, so a kill mid-job leaves it to rerun."""
    async with session_scope() as session:
        if is_postgres(session):
            # Two schedulers that both believe they lead (the moment a lost lock goes unnoticed) take turns per
            # job, and the second then sees the first's run: a job never runs twice for one period.
            await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("culturezone.job." + job.name))))
        last = await session.scalar(select(JobRun.last_completed_at).where(JobRun.name == job.name))
        if not job.due(now=now, last=last):
            return False
        outcome = await job.run(session, now)
        statement = dialect_insert(session, JobRun.__table__).values(
            name=job.name, last_started_at=now, last_completed_at=now, runs=1
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"last_started_at": now, "last_completed_at": now, "runs": JobRun.__table__.c.runs + 1},
            )
        )
    log.info("job done", job=job.name, now=now.isoformat(), outcome=outcome)
    return True


async def run_tick(
    *, now: datetime, jobs: list[Job] | None = None, still_leading: Callable[[], Awaitable[bool]] | None = None
) -> list[str]:
    """Run every due job while this process leads; a failing job is logged and left for the next tick."""
    ran = []
    for job in JOBS if jobs is None else jobs:
        if still_leading is not None and not await still_leading():
            break
        try:
            if await run_job(job, now=now):
                ran.append(job.name)
        except Exception:
            log.exception("job failed", job=job.name, now=now.isoformat())
    return ran
