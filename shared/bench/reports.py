"""`culturezone bench reports`: open, assemble and aggregate every monthly report of a city (12 districts,
185 towns, 5,000 villages), then export the city's report to xlsx and PDF."""

import asyncio
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.activities.models import Activity
from shared.bench.synthetic import ACTIVITY_TYPES, _load
from shared.db import make_engine
from shared.db_admin import migrate, recreate_database
from shared.orgunits.models import OrgUnit
from shared.plans.models import Plan
from shared.reports.content import aggregate, assemble
from shared.reports.export import report_pdf, report_xlsx
from shared.reports.models import Report, ReportKind, ReportStatus
from shared.reports.periods import report_period
from shared.tasks.models import Task, TaskKind

MONTH = "2026-03"
UNIT_COLUMNS = ["id", "code", "name", "level", "kind", "parent_id", "path", "created_at", "updated_at", "version"]


def _units(districts: int, towns: int, villages: int) -> tuple[list[tuple], list[int]]:
    now = datetime.now(UTC)
    rows = [(1, "330300", "合成市", 1, "city", None, "/1/", now, now, 1)]
    parents: list[tuple[int, str]] = []
    next_id = 2
    for number in range(districts):
        rows.append((next_id, f"3303{number + 1:02d}", f"区{number}", 2, "district", 1, f"/1/{next_id}/", now, now, 1))
        parents.append((next_id, f"/1/{next_id}/"))
        next_id += 1
    town_rows: list[tuple[int, str]] = []
    for number in range(towns):
        parent, path = parents[number % len(parents)]
        rows.append((next_id, f"T{number:07d}", f"镇{number}", 3, "town", parent, f"{path}{next_id}/", now, now, 1))
        town_rows.append((next_id, f"{path}{next_id}/"))
        next_id += 1
    leaves = []
    for number in range(villages):
        parent, path = town_rows[number % len(town_rows)]
        rows.append((next_id, f"V{number:08d}", f"村{number}", 4, "village", parent, f"{path}{next_id}/", now, now, 1))
        leaves.append(next_id)
        next_id += 1
    return rows, leaves


def _activities(villages: list[int], rng: random.Random) -> Iterator[tuple]:
    now = datetime.now(UTC)
    for unit in villages:
        for _ in range(4):
            day = date(2026, 3, rng.randint(1, 31))
            yield (rng.choice(ACTIVITY_TYPES), unit, day, rng.randint(10, 300), "government", now, now, 1, "", "bench")


async def _prepare(connection: AsyncConnection, *, scale: float) -> None:
    def part(count: int) -> int:
        return max(1, round(count * scale))

    units, villages = _units(part(12), part(185), part(5000))
    await _load(connection, OrgUnit.__table__, UNIT_COLUMNS, units)
    columns = [
        "type",
        "org_unit_id",
        "occurred_on",
        "attendance",
        "provider",
        "created_at",
        "updated_at",
        "version",
        "title",
        "source",
    ]
    await _load(connection, Activity.__table__, columns, _activities(villages, random.Random(7)))


async def _run(url: str, scale: float) -> list[str]:
    await recreate_database(url)
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await _prepare(connection, scale=scale)
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql("SELECT setval('org_unit_id_seq', (SELECT max(id) FROM org_unit))")
    from shared.reports.calendar import open_period

    async with AsyncSession(engine, expire_on_commit=False) as session:
        plan = Plan(org_unit_id=1, name="合成市创建方案", starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31))
        session.add(plan)
        await session.flush()
        session.add_all(
            [
                Task(
                    plan_id=plan.id,
                    kind=TaskKind.work_task,
                    code=str(n),
                    title=f"任务{n}",
                    due_date=date(2026, 2, n % 27 + 1),
                    percent_complete=n % 100,
                )
                for n in range(1, 61)
            ]
        )
        await session.commit()
        started = time.perf_counter()
        period = report_period(ReportKind.monthly_update, MONTH)
        opened = await open_period(session, period=period, at=datetime(2026, 3, 1, tzinfo=UTC))
        await assemble(session, kind=ReportKind.monthly_update, period=MONTH, today=date(2026, 3, 25))
        await session.execute(
            Report.__table__.update().where(Report.__table__.c.kind == "monthly_update").values(status="submitted")
        )
        await aggregate(session, kind=ReportKind.monthly_update, period=MONTH)
        await session.commit()
        aggregate_s = time.perf_counter() - started
        city = await session.scalar(select(Report).where(Report.org_unit_id == 1, Report.period == MONTH))
        unit = await session.get(OrgUnit, 1)
        assert city is not None and unit is not None and city.status == ReportStatus.submitted
        started = time.perf_counter()
        xlsx = report_xlsx(city, unit)
        xlsx_s = time.perf_counter() - started
        started = time.perf_counter()
        pdf = report_pdf(city, unit)  # the first in this process: loads the font, converts the glyphs it uses
        pdf_s = time.perf_counter() - started
        started = time.perf_counter()
        report_pdf(city, unit)
        pdf_warm_s = time.perf_counter() - started
    await engine.dispose()
    return [
        f"reports: {opened}",
        f"aggregate_s: {aggregate_s:.3f} s",
        f"xlsx_s: {xlsx_s:.3f} s",
        f"pdf_s: {pdf_s:.3f} s",
        f"pdf_warm_s: {pdf_warm_s:.3f} s",
        f"xlsx_kb: {len(xlsx) / 1024:.1f}",
        f"pdf_kb: {len(pdf) / 1024:.1f}",
    ]


def run_reports_bench(*, url: str, scale: float) -> Iterator[str]:
    """Build the city on a scratch database and print the figures."""
    yield from asyncio.run(_run(url, scale))
