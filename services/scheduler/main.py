"""The scheduler process: APScheduler under one leader, with /healthz and /readyz for probes."""

import asyncio
import os
import socket

import structlog
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.common.app import create_service_app
from services.scheduler.leader import Leadership
from services.scheduler.runner import run_tick
from shared.clock import now
from shared.config import get_settings
from shared.db import dispose_engine, get_engine
from shared.observability import SCHEDULER_LEADER, SCHEDULER_TICK_SECONDS, configure_logging

log = structlog.get_logger("culturezone.scheduler")
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"
state: dict[str, object] = {"instance": INSTANCE, "leader": False, "last_tick": None}

app = create_service_app(
    title="CultureZone scheduler", description="Reporting calendar and periodic jobs.", service="scheduler"
)


@app.get("/scheduler/status", tags=["health"])
async def status() -> dict[str, object]:
    """Whether this instance leads and when it last ticked."""
    return state


async def tick(leadership: Leadership) -> None:
    """One pass of the calendar: standbys only try to take over; the leader runs the jobs."""
    with SCHEDULER_TICK_SECONDS.time():
        leading = await leadership.try_acquire()
        SCHEDULER_LEADER.set(1 if leading else 0)
        if leading and not state["leader"]:
            log.info("leadership taken", instance=INSTANCE)
        state["leader"] = leading
        if not leading:
            return
        at = now()
        state["last_jobs"] = await run_tick(now=at, still_leading=leadership.still_leading)
        state["last_tick"] = at.isoformat()


async def serve(*, host: str, port: int) -> None:
    """Run the scheduler and its health server until stopped."""
    leadership = Leadership(get_engine())
    scheduler = AsyncIOScheduler(timezone=get_settings().default_timezone)
    scheduler.add_job(
        tick,
        "interval",
        seconds=get_settings().scheduler_tick_seconds,
        args=[leadership],
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=now(),
    )
    scheduler.start()
    settings = get_settings()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    server = uvicorn.Server(config)
    try:
        await server.serve()
    finally:
        scheduler.shutdown(wait=False)
        await leadership.release()
        SCHEDULER_LEADER.set(0)
        await dispose_engine()


def run(*, host: str, port: int) -> None:
    """Entry point of `culturezone serve scheduler`."""
    configure_logging(service="scheduler")
    asyncio.run(serve(host=host, port=port))
