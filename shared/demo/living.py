"""The demo's living data: facilities with construction progress, statistics and activities for 2019–2020,
plan targets and computed indicators — all loaded through the same importers users call."""

import csv
import hashlib
import io
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.importer import import_activities
from shared.auth.scope import SYSTEM
from shared.facilities.importer import COLUMNS as FACILITY_COLUMNS
from shared.facilities.importer import import_facilities
from shared.indicators.assessments import targets_from_catalogue
from shared.indicators.engine.run import compute_indicators
from shared.orgunits.models import OrgUnit, OrgUnitKind
from shared.statistics.importer import import_data_values

HERE_CENTRES = "jinshui_centres.csv"
FACILITY_HEADER = list(FACILITY_COLUMNS[: FACILITY_COLUMNS.index("opened_on") + 1])
YEARS = (2019, 2020)


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _roll(code: str, salt: str, modulo: int) -> int:
    """A stable pseudo-random number for a unit, so that the demo is the same on every machine."""
    return int(hashlib.sha256(f"{code}:{salt}".encode()).hexdigest()[:8], 16) % modulo


async def load_living_data(session: AsyncSession, *, centres_csv: bytes, district: OrgUnit, plan_id: int) -> list[str]:
    """Facilities, statistics, activities, targets and indicator results of the demo district."""
    units = list((await session.scalars(select(OrgUnit).where(OrgUnit.path.startswith(district.path)))).all())
    streets = [unit for unit in units if unit.kind == OrgUnitKind.street]
    grassroots = [unit for unit in units if unit.kind in (OrgUnitKind.community, OrgUnitKind.village)]
    planned = await import_facilities(session, actor=SYSTEM, content=centres_csv, filename=HERE_CENTRES)
    await import_facilities(
        session,
        actor=SYSTEM,
        filename="demo-facilities.csv",
        content=_csv(FACILITY_HEADER, _facility_rows(district, streets, grassroots)),
    )
    await import_data_values(
        session,
        actor=SYSTEM,
        filename="demo-statistics.csv",
        content=_csv(["element", "org_unit_code", "facility_code", "period", "value"], _statistics(district)),
    )
    activities = await import_activities(
        session,
        actor=SYSTEM,
        filename="demo-activities.csv",
        content=_csv(
            ["type", "org_unit_code", "facility_code", "date", "attendance", "provider", "domestic_new_film"],
            _activities(district, grassroots),
        ),
    )
    await targets_from_catalogue(session, actor=SYSTEM, plan_id=plan_id, target_set="zhongshan_xiqu")
    assert district.id is not None
    results = [
        await compute_indicators(session, actor=SYSTEM, org_unit_id=district.id, period=str(year)) for year in YEARS
    ]
    return [
        f"demo: {planned.get('created', 0)} planned grassroots centres, {activities.get('created', 0)} activities, "
        f"{sum(r.results for r in results)} indicator results for {', '.join(map(str, YEARS))}"
    ]


def _facility_rows(district: OrgUnit, streets: list[OrgUnit], grassroots: list[OrgUnit]) -> list[list[object]]:
    rows: list[list[object]] = [
        [
            "LIB-410105",
            "金水区图书馆",
            "public_library",
            district.code,
            9000,
            1200,
            64,
            30,
            6,
            24,
            "true",
            "open",
            "2012-05-01",
        ],
        [
            "CC-410105",
            "金水区文化馆",
            "cultural_centre",
            district.code,
            6000,
            2000,
            58,
            20,
            4,
            15,
            "true",
            "open",
            "2010-09-01",
        ],
    ]
    for street in streets:
        area = [1600, 1100, 800, 450][_roll(street.code, "area", 4)]
        rows.append(
            [
                f"ST-{street.code}",
                f"{street.name}综合文化站",
                "station",
                street.code,
                area,
                700 if _roll(street.code, "yard", 5) else 400,
                42,
                3 if _roll(street.code, "staff", 3) else 2,
                1,
                1,
                "true",
                "open",
                "2015-03-01",
            ]
        )
        rows.append(
            [
                f"GC-{street.code}",
                f"{street.name}综合性文化服务中心",
                "grassroots_centre",
                street.code,
                420,
                1200,
                56,
                2,
                1,
                1,
                "true",
                "open",
                "2017-11-20",
            ]
        )
    for unit in grassroots:
        progress = _roll(unit.code, "progress", 10)
        status = "open" if progress < 7 else "building" if progress < 9 else "planned"
        measured = status == "open"
        rows.append(
            [
                f"GC-{unit.code}",
                f"{unit.name}综合性文化服务中心",
                "grassroots_centre",
                unit.code,
                [90, 150, 260][_roll(unit.code, "area", 3)] if measured else "",
                1100 if measured else "",
                42 if measured else "",
                1 if measured else "",
                1 if measured else "",
                "",
                "true" if measured else "",
                status,
                "2017-12-15" if measured else "",
            ]
        )
    return rows


def _statistics(district: OrgUnit) -> list[list[object]]:
    figures = {
        "book_holdings": (980000, 1120000),
        "new_books": (52000, 61000),
        "loans": (1050000, 1240000),
        "library_visits": (820000, 960000),
    }
    rows: list[list[object]] = []
    for element, values in figures.items():
        rows += [[element, district.code, "LIB-410105", year, value] for year, value in zip(YEARS, values, strict=True)]
    for element, values in {
        "culture_spending": (61_000_000, 68_500_000),
        "registered_volunteers": (1650, 2100),
        "volunteer_hours": (26000, 35500),
    }.items():
        rows += [[element, district.code, "", year, value] for year, value in zip(YEARS, values, strict=True)]
    return rows


def _activities(district: OrgUnit, grassroots: list[OrgUnit]) -> list[list[object]]:
    rows: list[list[object]] = []
    for year in YEARS:
        for unit in grassroots:
            skipped = _roll(unit.code, f"gap{year}", 18)  # some villages miss a month's film
            for month in range(1, 13):
                if month != skipped:
                    rows.append(
                        [
                            "film_screening",
                            unit.code,
                            "",
                            date(year, month, 8).isoformat(),
                            60,
                            "government",
                            "true" if month % 3 == 0 else "false",
                        ]
                    )
            for show in range(4 + _roll(unit.code, f"shows{year}", 3)):
                rows.append(
                    ["performance", unit.code, "", date(year, 2 * show + 2, 18).isoformat(), 150, "social_force", ""]
                )
        for index in range(24):
            rows.append(
                [
                    "reading_promotion",
                    district.code,
                    "LIB-410105",
                    date(year, index % 12 + 1, 12 + index // 12).isoformat(),
                    80,
                    "government",
                    "",
                ]
            )
        for index in range(64):
            rows.append(
                [
                    "mobile_service",
                    district.code,
                    "LIB-410105",
                    date(year, index % 12 + 1, 3 + index // 12).isoformat(),
                    40,
                    "government",
                    "",
                ]
            )
        for index in range(16):
            rows.append(
                [
                    "performance",
                    district.code,
                    "CC-410105",
                    date(year, index % 12 + 1, 25).isoformat(),
                    300,
                    "government",
                    "",
                ]
            )
    return rows
