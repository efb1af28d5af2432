"""A province-sized synthetic dataset, bulk-loaded (COPY on PostgreSQL)."""

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.activities.models import Activity
from shared.facilities.models import Facility
from shared.orgunits.models import OrgUnit
from shared.statistics.models import DataElement, DataValue

ELEMENTS = [
    "population",
    "book_holdings",
    "new_books",
    "loans",
    "library_visits",
    "registered_volunteers",
    "volunteer_hours",
    "culture_spending",
]
ACTIVITY_TYPES = [
    "film_screening",
    "performance",
    "exhibition",
    "training",
    "lecture",
    "reading_promotion",
    "mobile_service",
    "volunteer_service",
]
YEARS = [2015, 2016, 2017, 2018, 2019]


@dataclass(frozen=True, slots=True)
class Size:
    """How big the province is."""

    counties: int
    towns: int
    villages: int
    facilities: int
    activities: int
    data_values: int

    @classmethod
    def province(cls, scale: float) -> "Size":
        """The issue's province (100 counties … 1,000,000 data values) times a scale."""

        def part(count: int) -> int:
            return max(1, round(count * scale))

        return cls(part(100), part(1500), part(25000), part(60000), part(2_000_000), part(1_000_000))


CHUNK = 50_000


def chunked(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in lists of CHUNK, so that memory stays flat whatever the size."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


async def _load(connection: AsyncConnection, table: Table, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    for chunk in chunked(rows):
        if connection.dialect.name == "postgresql":
            raw = await connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(table.name, records=chunk, columns=columns)
        else:
            await connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in chunk])


def _units(size: Size) -> tuple[list[tuple], list[int], list[int]]:
    now = datetime.now(UTC)
    rows = [(1, "900000", "合成省", 0, "province", None, "/1/", now, now, 1)]
    towns, villages = [], []
    next_id = 2
    counties = []
    for county in range(size.counties):
        rows.append((next_id, f"8{county:05d}", f"县{county}", 2, "county", 1, f"/1/{next_id}/", now, now, 1))
        counties.append((next_id, f"/1/{next_id}/"))
        next_id += 1
    for town in range(size.towns):
        parent, path = counties[town % len(counties)]
        kind = "town" if town % 3 else "street"
        rows.append((next_id, f"T{town:07d}", f"镇{town}", 3, kind, parent, f"{path}{next_id}/", now, now, 1))
        towns.append((next_id, f"{path}{next_id}/"))
        next_id += 1
    for village in range(size.villages):
        parent, path = towns[village % len(towns)]
        kind = "village" if village % 4 else "community"
        rows.append((next_id, f"V{village:08d}", f"村{village}", 4, kind, parent, f"{path}{next_id}/", now, now, 1))
        villages.append(next_id)
        next_id += 1
    return rows, [town for town, _ in towns], villages


async def load_province(connection: AsyncConnection, *, size: Size, seed: int = 7) -> dict[str, int]:
    """Fill an empty, migrated database; returns ids the benchmark needs."""
    rng = random.Random(seed)
    units, towns, villages = _units(size)
    await _load(
        connection,
        OrgUnit.__table__,
        ["id", "code", "name", "level", "kind", "parent_id", "path", "created_at", "updated_at", "version"],
        units,
    )
    now = datetime.now(UTC)
    elements = [
        (index + 1, code, code, "", "number", "sum", "year", now, now, 1) for index, code in enumerate(ELEMENTS)
    ]
    await _load(
        connection,
        DataElement.__table__,
        [
            "id",
            "code",
            "name",
            "unit",
            "value_type",
            "aggregation",
            "period_types",
            "created_at",
            "updated_at",
            "version",
        ],
        elements,
    )
    await _load(connection, Facility.__table__, _FACILITY_COLUMNS, _facilities(size, towns, villages, rng, now))
    await _load(connection, DataValue.__table__, _VALUE_COLUMNS, _values(size, towns, villages, rng, now))
    await _load(connection, Activity.__table__, _ACTIVITY_COLUMNS, _activities(size, villages, rng, now))
    if connection.dialect.name == "postgresql":
        for table in ("org_unit", "facility", "data_value", "activity", "data_element"):
            await connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
            await connection.execute(text(f"ANALYZE {table}"))
    return {"root": 1, "village": villages[0]}


_FACILITY_COLUMNS = [
    "id",
    "code",
    "name",
    "type",
    "org_unit_id",
    "floor_area_m2",
    "outdoor_area_m2",
    "weekly_open_hours",
    "staff_established",
    "staff_purchased",
    "wifi",
    "status",
    "pilot",
    "created_at",
    "updated_at",
    "version",
]


def _facilities(
    size: Size, towns: list[int], villages: list[int], rng: random.Random, now: datetime
) -> Iterator[tuple]:
    for index in range(size.facilities):
        if index < len(towns):
            kind, unit, area = "station", towns[index], rng.choice([400, 600, 1100, 1600])
        elif index < len(towns) + len(villages):
            kind, unit, area = "grassroots_centre", villages[index - len(towns)], rng.choice([150, 250, 400])
        else:
            kind = rng.choice(
                [
                    "farm_bookstore",
                    "farm_bookstore",
                    "self_service_library",
                    "public_library",
                    "cultural_centre",
                    "city_study_room",
                ]
            )
            unit, area = rng.choice(villages), rng.choice([60, 120, 2000])
        yield (
            index + 1,
            f"F{index:08d}",
            f"设施{index}",
            kind,
            unit,
            area,
            rng.choice([300, 700]),
            rng.choice([42, 56, 60]),
            rng.randint(0, 5),
            rng.randint(0, 2),
            rng.random() < 0.8,
            "open",
            False,
            now,
            now,
            1,
        )


_VALUE_COLUMNS = [
    "id",
    "element_id",
    "org_unit_id",
    "period",
    "period_type",
    "period_start",
    "period_end",
    "value",
    "source",
    "entered_at",
    "created_at",
    "updated_at",
    "version",
]


def _values(size: Size, towns: list[int], villages: list[int], rng: random.Random, now: datetime) -> Iterator[tuple]:
    next_id = 1
    units = villages + towns
    per_year = max(1, size.data_values // len(YEARS))
    for year in YEARS:
        start, end = date(year, 1, 1), date(year, 12, 31)
        for slot in range(per_year):
            unit = units[slot % len(units)]
            element = (slot // len(units)) % len(ELEMENTS) + 1
            if slot >= len(units) * len(ELEMENTS):
                break
            amount = rng.randint(2000, 9000) if element == 1 else rng.randint(0, 20000)
            yield (next_id, element, unit, str(year), "year", start, end, amount, "bench", now, now, now, 1)
            next_id += 1


_ACTIVITY_COLUMNS = [
    "id",
    "type",
    "org_unit_id",
    "occurred_on",
    "attendance",
    "provider",
    "domestic_new_film",
    "title",
    "source",
    "created_at",
    "updated_at",
    "version",
]


def _activities(size: Size, villages: list[int], rng: random.Random, now: datetime) -> Iterator[tuple]:
    first = date(2019, 1, 1)
    return (
        (
            index + 1,
            rng.choice(ACTIVITY_TYPES),
            rng.choice(villages),
            first + timedelta(days=rng.randrange(365)),
            rng.randint(10, 300),
            "government",
            None,
            "",
            "bench",
            now,
            now,
            1,
        )
        for index in range(size.activities)
    )
