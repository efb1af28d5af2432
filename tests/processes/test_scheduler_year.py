"""Two real scheduler processes over a simulated year against one database, and a leader killed mid-run: each
report and each reminder exists exactly once, because every write is guarded by a unique key."""

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from shared.db import make_engine, write_intent
from shared.db_admin import migrate, recreate_database, sibling_url
from shared.notifications.models import Notification
from shared.orgunits.models import OrgUnit, OrgUnitKind
from shared.reports.calendar import local_today
from shared.reports.models import JobRun, Report, ReportKind
from tests.support.factories import make_plan, make_tree, make_unit
from tests.support.processes import ROOT, environment, free_port, start_service

YEAR = ("--now", "2026-01-01T01:00:00+00:00", "--until", "2026-12-31T01:00:00+00:00", "--step-hours", "24")
# The nightly indicator recompute is left out: it is slow on a simulated year and not what these tests check.
FAST = ("--skip", "recompute_indicators")
# The plan's district, its two streets, two communities and one village report; the city above has no plan.
UNITS = 6
EXPECTED_REPORTS = UNITS * (12 + 4 + 1)  # monthly, quarterly, and the annual report that opens on 1 December
EXPECTED_REMINDERS = UNITS * (12 + 4)  # the annual report falls due in January 2027, after the simulated year


async def _seed(url: str, *, around: date) -> None:
    engine = make_engine(url)
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine, expire_on_commit=False) as session:
        tree = await make_tree(session)
        starts, ends = date(around.year, 1, 1), date(around.year + 1, 12, 31)
        await make_plan(session, unit=tree.district, starts_on=starts, ends_on=ends)
        await session.commit()
    await engine.dispose()


async def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        counts = {
            "reports": await connection.scalar(select(func.count()).select_from(Report)),
            "monthly": await connection.scalar(
                select(func.count()).select_from(Report).where(Report.kind == ReportKind.monthly_update)
            ),
            "reminders": await connection.scalar(
                select(func.count()).select_from(Notification).where(Notification.kind == "report_reminder")
            ),
            "late": await connection.scalar(
                select(func.count()).select_from(Notification).where(Notification.kind == "report_late")
            ),
            "job_runs": await connection.scalar(select(func.count()).select_from(JobRun)),
        }
    await engine.dispose()
    return {name: int(value or 0) for name, value in counts.items()}


def _fresh(base: str, name: str, *, around: date = date(2026, 1, 1)) -> str:
    # Named after this run's database, so that parallel runs on other databases never share it.
    url = sibling_url(base, f"{Path(make_url(base).database or 'culturezone').stem}_{name}")
    asyncio.run(recreate_database(url))
    migrate(url)
    asyncio.run(_seed(url, around=around))
    return url


def _scheduler(url: str, data_dir: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    env = environment(database_url=url, data_dir=data_dir, SECRET_KEY="scheduler-year-secret-0123456789")
    # Output goes to a file: a pipe nobody reads while the test polls fills up and stalls the scheduler.
    log_path = data_dir / f"{name}.log"
    with log_path.open("w") as log:
        runner = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "schedule", "--once", *YEAR, *FAST],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return runner, log_path


def _finish(runner: subprocess.Popen[str], log_path: Path) -> None:
    runner.wait(timeout=540)
    assert runner.returncode == 0, log_path.read_text()[-2000:]


# Racing schedulers share one PostgreSQL (the setting); the embedded SQLite default runs one scheduler under a
# file lock, and its calendar is covered by the tests of tests/reports on both databases.
@pytest.mark.postgres
def test_two_schedulers_racing_through_a_year_make_each_report_and_reminder_once(
    own_database_url: str, tmp_path: Path
) -> None:
    url = _fresh(own_database_url, "race")
    runners = [_scheduler(url, tmp_path, "first"), _scheduler(url, tmp_path, "second")]
    for runner, log_path in runners:
        _finish(runner, log_path)
    counts = asyncio.run(_counts(url))
    assert counts["reports"] == EXPECTED_REPORTS
    assert counts["monthly"] == UNITS * 12
    assert counts["reminders"] == EXPECTED_REMINDERS
    assert counts["late"] == EXPECTED_REMINDERS  # nobody submitted: every monthly and quarterly report went late once


@pytest.mark.postgres
def test_killing_the_scheduler_mid_year_loses_and_duplicates_nothing(own_database_url: str, tmp_path: Path) -> None:
    url = _fresh(own_database_url, "kill")
    victim, _log = _scheduler(url, tmp_path, "victim")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and asyncio.run(_counts(url))["reports"] < UNITS * 5:
        time.sleep(0.2)
    assert victim.poll() is None, "the scheduler finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    partial = asyncio.run(_counts(url))
    assert 0 < partial["reports"] < EXPECTED_REPORTS
    _finish(*_scheduler(url, tmp_path, "survivor"))
    counts = asyncio.run(_counts(url))
    assert counts["reports"] == EXPECTED_REPORTS
    assert counts["reminders"] == EXPECTED_REMINDERS
    assert counts["late"] == EXPECTED_REMINDERS


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01"])
def test_schedule_refuses_a_clock_that_is_not_iso(own_database_url: str, tmp_path: Path, bad: str) -> None:
    env = environment(database_url=own_database_url, data_dir=tmp_path, SECRET_KEY="scheduler-year-secret-0123456789")
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "schedule", "--once", "--now", bad],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and "--now" in result.stderr


def _status(port: int) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}/scheduler/status", timeout=2).json()


def _eventually(predicate: Callable[[], bool], *, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


async def _current_reports(url: str, period: str) -> int:
    engine = make_engine(url)
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(Report)
            .where(Report.kind == ReportKind.monthly_update, Report.period == period)
        )
    await engine.dispose()
    return int(count or 0)


async def _add_village(url: str) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    engine = make_engine(url)
    # Declared as a write (BEGIN IMMEDIATE on SQLite), as the services do: a read first, then a write, loses to the
    # scheduler committing in between ("database is locked").
    write_intent.set(True)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        street = await session.scalar(select(OrgUnit).where(OrgUnit.code == "410105002000"))
        await make_unit(session, code="410105002077", name="新设村", kind=OrgUnitKind.village, parent=street)
        await session.commit()
    await engine.dispose()


def test_the_scheduler_service_opens_reports_on_the_leader_and_a_standby_carries_on(
    own_database_url: str, tmp_path: Path
) -> None:
    url = _fresh(own_database_url, "serve", around=datetime.now(UTC).date())
    today = local_today(datetime.now(UTC))
    period = f"{today.year}-{today.month:02d}"
    env = environment(
        database_url=url, data_dir=tmp_path, SECRET_KEY="scheduler-year-secret-0123456789", SCHEDULER_TICK_SECONDS="0.3"
    )
    ports = [free_port(), free_port()]
    processes = [start_service("scheduler", port=port, env=env) for port in ports]
    try:
        assert _eventually(lambda: asyncio.run(_current_reports(url, period)) == UNITS)
        leader = next(index for index, port in enumerate(ports) if _status(port)["leader"])
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(timeout=10)
        asyncio.run(_add_village(url))
        standby = ports[1 - leader]
        assert _eventually(lambda: _status(standby)["leader"])
        # The new village reports for the month already running, opened by the standby that took over.
        assert _eventually(lambda: asyncio.run(_current_reports(url, period)) == UNITS + 1)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
