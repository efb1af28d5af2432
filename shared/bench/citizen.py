"""`culturezone bench citizen`: the public catalogue list and booking creation under concurrent load on loopback,
beside the no-database /healthz of the same server in the same run.

A city's catalogue (2,000 published items over 111 org units) and a year of bookings (500,000 over 200 halls,
seeded on PostgreSQL with one INSERT … SELECT generate_series) sit in a scratch database; a real `culturezone serve
api` answers 100 concurrent keep-alive connections (one httpx client each). The residents' rate limit is turned
off for the run (CITIZEN_RATE_PER_SECOND=0): the bench measures the server, not the throttle."""

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import ActivityType
from shared.auth.models import Role, User
from shared.auth.security import JWT_ALGORITHM
from shared.bench.api import Load, Phase, _drive, _free_port, _start_api
from shared.bookings.models import Booking, BookingStatus, OpeningHours
from shared.catalogue.models import ItemState, PriceKind, ServiceItem
from shared.db import make_engine, utcnow
from shared.db_admin import migrate, recreate_database
from shared.facilities.models import Facility, FacilityType
from shared.orgunits.models import KIND_LEVELS, OrgUnit, OrgUnitKind

ZONE = ZoneInfo("Asia/Shanghai")
CATEGORIES = [kind.value for kind in ActivityType]
HOURS = 13  # bookable hours a day: 08:00–21:00
PAST_PER_DAY = 7


@dataclass(frozen=True)
class Size:
    """How big the city is and how hard each phase pushes."""

    items: int
    bookings: int
    halls: int
    workers: int
    requests: int
    booking_requests: int
    seconds: float

    @classmethod
    def of(cls, scale: float) -> "Size":
        """2,000 items, 500,000 bookings, 100 connections at scale 1.0."""
        return cls(
            items=max(20, round(2000 * scale)),
            bookings=max(100, round(500_000 * scale)),
            halls=max(2, min(200, round(200 * scale))),
            workers=max(2, min(100, round(100 * scale))),
            requests=max(40, round(20_000 * scale)),
            booking_requests=max(20, round(5_000 * scale)),
            seconds=max(5.0, 60 * scale),
        )


def _token(*, secret: str, user_id: int) -> str:
    issued = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": Role.citizen.value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(hours=2)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


async def _units(session: AsyncSession) -> list[OrgUnit]:
    """A city, 10 districts and 100 streets."""
    made: list[OrgUnit] = []

    async def unit(code: str, name: str, kind: OrgUnitKind, parent: OrgUnit | None) -> OrgUnit:
        row = OrgUnit(
            code=code, name=name, level=KIND_LEVELS[kind], kind=kind, parent_id=parent.id if parent else None, path=""
        )
        session.add(row)
        await session.flush()
        row.path = f"{parent.path if parent else '/'}{row.id}/"
        made.append(row)
        return row

    city = await unit("330300", "温州市", OrgUnitKind.city, None)
    for d in range(10):
        district = await unit(f"3303{d + 2:02d}", f"第{d + 1}区", OrgUnitKind.district, city)
        for s in range(10):
            await unit(f"3303{d + 2:02d}{s + 1:03d}000", f"第{d + 1}区第{s + 1}街道", OrgUnitKind.street, district)
    await session.flush()
    return made


async def _seed(url: str, size: Size, *, secret: str) -> tuple[list[int], list[str]]:
    """The city, its catalogue, its halls with opening hours, a year of bookings; the halls and the workers' tokens."""
    engine = make_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            units = await _units(session)
            now = utcnow()
            stamp = {"created_at": now, "updated_at": now, "version": 1}
            items = [
                stamp
                | {
                    "org_unit_id": units[index % len(units)].id,
                    "title": f"服务项目{index:05d}",
                    "category": CATEGORIES[index % len(CATEGORIES)],
                    "content": "面向社区居民的公益文化服务。" * 4,
                    "provider_name": "文化馆",
                    "provider_kind": "government",
                    "schedule_text": "每周六",
                    "rules": "提前预约",
                    "process": "下单→审核→配送",
                    "capacity_per_month": 10 + index % 20,
                    "price_kind": PriceKind.free.value,
                    "price_cents": 0,
                    "state": ItemState.published.value,
                    "published_at": now,
                }
                for index in range(size.items)
            ]
            await session.execute(insert(ServiceItem), items)
            streets = [unit for unit in units if unit.kind == OrgUnitKind.street]
            halls = [
                stamp
                | {
                    "code": f"HALL-{index:04d}",
                    "name": f"文化中心{index}",
                    "type": FacilityType.grassroots_centre.value,
                    "org_unit_id": streets[index % len(streets)].id,
                    "status": "open",
                    "pilot": False,
                }
                for index in range(size.halls)
            ]
            hall_ids = list(
                (
                    await session.scalars(insert(Facility).returning(Facility.id, sort_by_parameter_order=True), halls)
                ).all()
            )
            hours = [
                {"facility_id": hall, "weekday": day, "opens": time(8), "closes": time(21)}
                for hall in hall_ids
                for day in range(7)
            ]
            await session.execute(insert(OpeningHours), hours)
            users = [
                stamp
                | {"username": f"bench-resident-{index}", "display_name": "", "role": "citizen", "is_active": True}
                for index in range(size.workers + 1)
            ]
            user_ids = list(
                (await session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users)).all()
            )
            await _past_bookings(session, size=size, hall_ids=hall_ids, user_id=user_ids[0])
            await session.commit()
    finally:
        await engine.dispose()
    return hall_ids, [_token(secret=secret, user_id=user_id) for user_id in user_ids[1:]]


async def _past_bookings(session: AsyncSession, *, size: Size, hall_ids: list[int], user_id: int) -> None:
    """A year of past bookings, seven one-hour bookings a day per hall, none overlapping."""
    start_day = datetime.now(ZONE).date() - timedelta(days=366)
    base = datetime.combine(start_day, time(8), ZONE).astimezone(UTC)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text(
                """
                INSERT INTO booking (created_at, updated_at, version, facility_id, user_id, starts_at, ends_at, status,
                                     party_size, purpose)
                SELECT now(), now(), 1, halls.ids[1 + g % CAST(:halls AS int)], CAST(:user_id AS bigint),
                       slot.starts, slot.starts + interval '1 hour',
                       CASE WHEN g % 10 = 0 THEN 'no_show' ELSE 'checked_in' END, 1 + g % 20, ''
                FROM generate_series(0, CAST(:n AS int) - 1) AS g
                CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM facility) AS halls
                CROSS JOIN LATERAL (
                    SELECT CAST(:base AS timestamptz)
                           + (g / CAST(:halls AS int) / CAST(:per_day AS int)) * interval '1 day'
                           + (g / CAST(:halls AS int) % CAST(:per_day AS int)) * interval '1 hour' AS starts
                ) AS slot
                """
            ),
            {"halls": len(hall_ids), "user_id": user_id, "base": base, "per_day": PAST_PER_DAY, "n": size.bookings},
        )
        await session.execute(text("ANALYZE booking"))
        return
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for g in range(size.bookings):
        slot = g // len(hall_ids)
        starts = base + timedelta(days=slot // PAST_PER_DAY, hours=slot % PAST_PER_DAY)
        rows.append(
            {
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "facility_id": hall_ids[g % len(hall_ids)],
                "user_id": user_id,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=1),
                "status": (BookingStatus.no_show if g % 10 == 0 else BookingStatus.checked_in).value,
                "party_size": 1 + g % 20,
                "purpose": "",
            }
        )
    for chunk in range(0, len(rows), 5000):
        await session.execute(insert(Booking), rows[chunk : chunk + 5000])


def _catalogue_request(index: int) -> tuple[str, str, None]:
    filters = ("", "&category=performance", "&category=training", "&free=true", "&q=%E6%9C%8D%E5%8A%A1")
    return "GET", f"/api/v1/public/service-items?limit=20{filters[index % len(filters)]}", None


def _booking_request(hall_ids: list[int]) -> Any:
    first_day = datetime.now(ZONE).date() + timedelta(days=1)

    def request(index: int) -> tuple[str, str, dict[str, Any]]:
        slot = index // len(hall_ids)
        day = first_day + timedelta(days=slot // HOURS)
        starts = datetime.combine(day, time(8 + slot % HOURS), ZONE)
        body = {
            "facility_id": hall_ids[index % len(hall_ids)],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
        }
        return "POST", "/api/v1/bookings", body

    return request


async def _measure(*, base_url: str, size: Size, hall_ids: list[int], tokens: list[str], pid: int) -> dict[str, Phase]:
    load = Load(requests=size.requests, workers=size.workers, seconds=size.seconds)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1), timeout=60)
            )
            for _ in range(size.workers)
        ]
        warm_up = Load(requests=2 * size.workers, workers=size.workers, seconds=size.seconds)
        phases: dict[str, Phase] = {}
        for name, request in (("catalog", _catalogue_request), ("baseline", lambda _index: ("GET", "/healthz", None))):
            await _drive(clients, load=warm_up, request=request, server_pid=pid)
            phases[name] = await _drive(clients, load=load, request=request, server_pid=pid)
        for client, token in zip(clients, tokens, strict=True):
            client.headers["Authorization"] = f"Bearer {token}"
        booking_load = Load(requests=size.booking_requests, workers=size.workers, seconds=size.seconds)
        phases["booking"] = await _drive(clients, load=booking_load, request=_booking_request(hall_ids), server_pid=pid)
    return phases


def run_citizen_bench(*, url: str, scale: float) -> Iterator[str]:
    """Yield the figures, one `name: value [unit]` line each."""
    size = Size.of(scale)
    asyncio.run(recreate_database(url))
    migrate(url)
    secret = secrets.token_urlsafe(48)
    hall_ids, tokens = asyncio.run(_seed(url, size, secret=secret))
    with tempfile.TemporaryDirectory(prefix="culturezone-citizenbench-") as data_dir:
        env = os.environ | {
            "DATABASE_URL": url,
            "DATA_DIR": data_dir,
            "DEMO_MODE": "false",
            "SECRET_KEY": secret,
            "CITIZEN_RATE_PER_SECOND": "0",
            "BOOKING_HORIZON_DAYS": "400",
        }
        port = _free_port()
        server = _start_api(env=env, port=port, log=Path(data_dir) / "api.log")
        try:
            phases = asyncio.run(
                _measure(
                    base_url=f"http://127.0.0.1:{port}", size=size, hall_ids=hall_ids, tokens=tokens, pid=server.pid
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=15)
    catalog, baseline, booking = phases["catalog"], phases["baseline"], phases["booking"]
    yield f"items: {size.items}"
    yield f"bookings_seeded: {size.bookings}"
    yield f"workers: {size.workers}"
    yield f"catalog_requests: {catalog.requests}"
    yield f"catalog_errors: {catalog.errors}"
    yield f"catalog_rps: {catalog.rps:.1f}"
    yield f"catalog_p50_ms: {catalog.percentile_ms(0.50):.1f} ms"
    yield f"catalog_p99_ms: {catalog.percentile_ms(0.99):.1f} ms"
    yield f"baseline_errors: {baseline.errors}"
    yield f"baseline_rps: {baseline.rps:.1f}"
    yield f"baseline_p50_ms: {baseline.percentile_ms(0.50):.1f} ms"
    yield f"baseline_p99_ms: {baseline.percentile_ms(0.99):.1f} ms"
    yield f"catalog_ratio: {catalog.rps / baseline.rps:.3f}"
    yield f"booking_requests: {booking.requests}"
    yield f"booking_errors: {booking.errors}"
    yield f"booking_rps: {booking.rps:.1f}"
    yield f"booking_p50_ms: {booking.percentile_ms(0.50):.1f} ms"
    yield f"booking_p99_ms: {booking.percentile_ms(0.99):.1f} ms"
    for name, phase in phases.items():
        if phase.server_cpu_ms is not None:
            yield f"{name}_api_cpu_ms: {phase.server_cpu_ms:.2f} ms"
