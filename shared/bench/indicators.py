"""`culturezone bench indicators`: the engine on a synthetic province against a hand-written GROUP BY floor."""

import asyncio
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import SYSTEM
from shared.bench.synthetic import Size, load_province
from shared.db import make_engine
from shared.db_admin import ROOT, migrate, recreate_database
from shared.indicators.engine.run import catalogue
from shared.orgunits.models import OrgUnit
from shared.statistics.models import DataElement, DataValue
from shared.statistics.periods import parse_period
from shared.statistics.service import set_unit_value

FLOOR = """
WITH ua AS (
  SELECT u.id AS unit_id, a.id AS anc_id FROM org_unit a
  JOIN org_unit u ON u.path >= a.path AND u.path < a.path || '~'
)
SELECT anc_id, sum(n) FROM (
  SELECT ua.anc_id, count(*) AS n FROM activity x JOIN ua ON ua.unit_id = x.org_unit_id
   WHERE x.occurred_on BETWEEN :start AND :end GROUP BY ua.anc_id
  UNION ALL
  SELECT ua.anc_id, sum(d.value) FROM data_value d JOIN ua ON ua.unit_id = d.org_unit_id
   WHERE d.period = :period GROUP BY ua.anc_id
  UNION ALL
  SELECT ua.anc_id, count(*) FROM facility f JOIN ua ON ua.unit_id = f.org_unit_id GROUP BY ua.anc_id
) AS parts GROUP BY anc_id
"""


async def _prepare(url: str, size: Size) -> None:
    await recreate_database(url)
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await load_province(connection, size=size)
    await engine.dispose()


def _engine_seconds(url: str) -> float:
    """Run `culturezone compute` for the whole province in its own process; the seconds it reports."""
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "compute", "--org-unit", "900000", "--period", "2019"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"in ([0-9.]+) s", result.stdout)
    if match is None:
        raise RuntimeError(f"compute printed no timing: {result.stdout} {result.stderr}")
    return float(match.group(1))


async def _floor_seconds(url: str) -> float:
    engine = make_engine(url)
    period = parse_period("2019")
    async with engine.connect() as connection:
        started = time.perf_counter()
        await connection.execute(text(FLOOR), {"start": period.start, "end": period.end, "period": "2019"})
        elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


async def _incremental_ms(url: str) -> float:
    """Change one village's book holdings and time the write with the refresh of the stored results it moves."""
    engine = make_engine(url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        row = (
            await session.execute(
                select(DataValue, OrgUnit)
                .join(OrgUnit, OrgUnit.id == DataValue.org_unit_id)
                .join(DataElement, DataElement.id == DataValue.element_id)
                .where(DataElement.code == "book_holdings", DataValue.period == "2019", OrgUnit.level == 4)
                .limit(1)
            )
        ).first()
        assert row is not None, "the synthetic province has no village book holdings"
        value, village = row
        old = float(value.value)
        catalogue()  # loaded once per process; not part of a recomputation
        started = time.perf_counter()
        # Writing the figure moves the stored results that read it, as every write path does.
        await set_unit_value(
            session,
            actor=SYSTEM,
            element_code="book_holdings",
            org_unit=village,
            period=parse_period("2019"),
            value=old + 500,
        )
        elapsed = time.perf_counter() - started
        await session.commit()
    await engine.dispose()
    return elapsed * 1000


def run_indicators_bench(*, url: str, scale: float) -> Iterator[str]:
    """Yield the figures, one `name: value unit` line each."""
    timings = {}
    for fraction, label in ((0.1, "engine_s_tenth"), (0.5, "engine_s_half"), (1.0, "engine_s")):
        size = Size.province(scale * fraction)
        asyncio.run(_prepare(url, size))
        timings[label] = _engine_seconds(url)
        if fraction == 1.0:
            floor = asyncio.run(_floor_seconds(url))
            incremental = asyncio.run(_incremental_ms(url))
            rows = size.activities + size.data_values + size.facilities
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    yield f"rows: {rows}"
    yield f"engine_s: {timings['engine_s']:.3f} s"
    yield f"floor_s: {floor:.3f} s"
    yield f"ratio: {timings['engine_s'] / floor:.2f}"
    yield f"engine_s_tenth: {timings['engine_s_tenth']:.3f} s"
    yield f"engine_s_half: {timings['engine_s_half']:.3f} s"
    yield f"growth_half_to_full: {timings['engine_s'] / timings['engine_s_half']:.2f}"
    yield f"incremental_ms: {incremental:.1f} ms"
    yield f"peak_rss_mb: {peak:.0f} MB"
