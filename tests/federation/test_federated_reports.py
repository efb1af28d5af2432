"""Reports travel: a district submits its monthly report, the city pulls it, keeps where it came from and
aggregates it into its own report for the parent unit, naming the district that has not submitted."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.scheduler.jobs import JOBS
from shared.auth.models import Role, User
from shared.auth.scope import SYSTEM, Principal
from shared.auth.service import issue_api_token
from shared.db import write_intent
from shared.db_admin import migrate
from shared.federation.peers import register_peer
from shared.federation.puller import PullOptions, pull_all_peers
from shared.federation.schemas import PeerCreate
from shared.orgunits.models import OrgUnit, OrgUnitKind
from shared.reports import calendar
from shared.reports.models import Report, ReportComment, ReportKind
from shared.reports.schemas import ReportCreate
from shared.reports.service import create_report, submit_report
from tests.conftest import _DATA_DIR, ON_POSTGRES
from tests.federation.support import Instance, seed_tree
from tests.support.databases import recreate_database
from tests.support.processes import culturezone, environment, free_port, start_service

K = OrgUnitKind
FAST = PullOptions(timeout_s=5.0, attempts=2, backoff_s=0.05, backoff_max_s=0.2, page_limit=50)
KIND = ReportKind.monthly_update
PERIOD = "2026-11"  # due 2026-12-20: open and in play on the test's clock (2026-12-02)
QUARTER = "2026Q4"


def _url(database_url: str, name: str) -> str:
    if not ON_POSTGRES:
        return f"sqlite+aiosqlite:///{_DATA_DIR / f'fedreports_{name}'}.db"
    base, main_name = database_url.rsplit("/", 1)
    return f"{base}/{main_name}_fr_{name}"


async def _session_on(url: str, work: Any) -> Any:
    """Run work(session) on an instance's database as a request would, and commit."""
    from shared.db import make_engine

    engine = make_engine(url)
    write_intent.set(True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def _unit(session, code: str) -> OrgUnit:
    unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    assert unit is not None, code
    return unit


async def _open(url: str, code: str, *, kind: ReportKind = KIND, period: str = PERIOD) -> int:
    """A planner opens the unit's report through the reports service; its id."""

    async def work(session) -> int:
        unit = await _unit(session, code)
        report = await create_report(
            session, actor=SYSTEM, data=ReportCreate(org_unit_id=unit.id, kind=kind, period=period)
        )
        assert report.id is not None
        return report.id

    return await _session_on(url, work)


async def _clerk(url: str, code: str) -> Principal:
    """A unit clerk of the district (a real user row, so submitted_by_id and author_id point at a local user)."""

    async def work(session) -> Principal:
        unit = await _unit(session, code)
        user = User(username=f"clerk-{code}", role=Role.unit_clerk, org_unit_id=unit.id)
        session.add(user)
        await session.flush()
        assert user.id is not None
        return Principal(user_id=user.id, username=user.username, role=Role.unit_clerk, scope_path=unit.path)

    return await _session_on(url, work)


async def _submit(url: str, report_id: int, clerk: Principal, comment: str) -> None:
    async def work(session) -> None:
        await submit_report(session, actor=clerk, report_id=report_id, comment=comment)

    await _session_on(url, work)


async def _activities(url: str, code: str, attendances: list[int]) -> None:
    """Activities of the district in the report's month (what its report's content counts)."""
    from shared.activities.models import Activity, ActivityType

    async def work(session) -> None:
        unit = await _unit(session, code)
        for day, attendance in enumerate(attendances, start=3):
            session.add(
                Activity(
                    type=ActivityType.lecture,
                    org_unit_id=unit.id,
                    occurred_on=date(2026, 11, day),
                    attendance=attendance,
                    title=f"讲座 {day}",
                )
            )

    await _session_on(url, work)


async def _reports(url: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every report of an instance by (unit code, kind, period)."""

    async def work(session) -> dict:
        rows = (
            await session.execute(select(Report, OrgUnit.code).join(OrgUnit, OrgUnit.id == Report.org_unit_id))
        ).all()
        return {
            (code, report.kind.value, report.period): {
                "id": report.id,
                "status": report.status.value,
                "content": report.content,
                "aggregate": report.aggregate,
                "text": report.text,
                "submitted_at": report.submitted_at,
                "submitted_by_id": report.submitted_by_id,
                "late": report.late,
            }
            for report, code in rows
        }

    return await _session_on(url, work)


async def _comments(url: str, report_id: int) -> list[dict[str, Any]]:
    async def work(session) -> list:
        rows = await session.scalars(select(ReportComment).where(ReportComment.report_id == report_id))
        return [{"action": c.action, "body": c.body, "author": c.author, "author_id": c.author_id} for c in rows]

    return await _session_on(url, work)


async def _aggregate_like_the_scheduler(url: str, at: datetime) -> None:
    """The hourly job of the calendar: refresh open reports' content and the parents' aggregates."""

    async def work(session) -> None:
        await calendar.assemble_and_aggregate(session, at)

    await _session_on(url, work)


@pytest.fixture(scope="module")
def instances(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Instance]]:
    """City 410100 and districts 410105 and 410102, each its own database and API process; peers registered."""
    made = {name: Instance(name=name, url=_url(database_url, name)) for name in ("city", "jinshui", "zhongyuan")}
    for instance in made.values():
        recreate_database(instance.url)
        migrate(instance.url)
    a, b, city = made["jinshui"], made["zhongyuan"], made["city"]
    a.peer_token = asyncio.run(
        seed_tree(a.url, [("410105", "金水区", K.district, None), ("410105001000", "经八路街道", K.street, "410105")],
                  peer_user="city-puller")
    )  # fmt: skip
    b.peer_token = asyncio.run(seed_tree(b.url, [("410102", "中原区", K.district, None)], peer_user="city-puller"))
    asyncio.run(seed_tree(city.url, [("410100", "郑州市", K.city, None)], peer_user=None))

    async def city_setup(session) -> str:
        for name, district in (("jinshui", a), ("zhongyuan", b)):
            await register_peer(
                session,
                actor=SYSTEM,
                data=PeerCreate(
                    name=name, base_url=district.base, covered_org_unit_code="410100", token=district.peer_token
                ),
            )
        unit = await _unit(session, "410100")
        user = User(username="city-viewer", role=Role.viewer, org_unit_id=unit.id)
        session.add(user)
        await session.flush()
        _row, token = await issue_api_token(session, actor=SYSTEM, user_id=user.id, name="tests")
        return token

    data_dir = tmp_path_factory.mktemp("fedreports")
    for instance in made.values():
        port = free_port()
        instance.extra["env"] = environment(database_url=instance.url, data_dir=data_dir / instance.name)
        instance.base = f"http://127.0.0.1:{port}"
        instance.extra["process"] = start_service("api", port=port, env=instance.extra["env"])
    city.extra["token"] = asyncio.run(_session_on(city.url, city_setup))
    yield made
    for instance in made.values():
        process = instance.extra["process"]
        process.terminate()
        process.wait(timeout=15)


async def _pull(city: Instance) -> list:
    from shared.db import make_engine

    engine = make_engine(city.url)
    try:
        return await pull_all_peers(engine=engine, options=FAST)
    finally:
        await engine.dispose()


def _origin(city: Instance, report_id: int) -> httpx.Response:
    return httpx.get(
        f"{city.base}/api/v1/federation/origins/report/{report_id}",
        headers={"Authorization": f"Bearer {city.extra['token']}"},
        timeout=10,
    )


KEY_A = ("410105", KIND.value, PERIOD)
KEY_B = ("410102", KIND.value, PERIOD)
KEY_CITY = ("410100", KIND.value, PERIOD)


async def test_a_submitted_district_report_is_pulled_with_its_origin_and_aggregated(
    instances: dict[str, Instance],
) -> None:
    city, a, b = instances["city"], instances["jinshui"], instances["zhongyuan"]
    await _activities(a.url, "410105001000", [40, 60, 25])  # a street's activities count in the district's report
    report_a = await _open(a.url, "410105")
    clerk_a = await _clerk(a.url, "410105")
    await _submit(a.url, report_a, clerk_a, "十一月工作动态")
    instances["zhongyuan"].extra["report"] = await _open(b.url, "410102")  # opened, not submitted
    await _open(city.url, "410100")

    district = (await _reports(a.url))[KEY_A]
    assert district["status"] == "submitted" and district["submitted_by_id"] == clerk_a.user_id
    assert district["content"]["activities"]["count"] == 3 and district["content"]["activities"]["attendance"] == 125

    results = await _pull(city)
    assert [r.ok for r in results] == [True, True], results

    held = await _reports(city.url)
    pulled = held[KEY_A]
    for column in ("status", "content", "text", "submitted_at", "late"):
        assert pulled[column] == district[column], column
    assert pulled["submitted_by_id"] is None  # a district user means nothing here: dropped, not mis-pointed
    assert held[KEY_B]["status"] == "draft"
    comments = await _comments(city.url, pulled["id"])
    assert comments == [{"action": "submit", "body": "十一月工作动态", "author": clerk_a.username, "author_id": None}]

    origin = _origin(city, pulled["id"])
    assert origin.status_code == 200, origin.text
    body = origin.json()
    assert body["peer"] == "jinshui" and body["remote_id"] == report_a and body["table"] == "report"
    assert body["row"]["status"] == "submitted" and body["row"]["period"] == PERIOD
    assert _origin(city, held[KEY_CITY]["id"]).status_code == 404  # the city's own report was entered here

    await _aggregate_like_the_scheduler(city.url, datetime(2026, 12, 2, 4, tzinfo=UTC))
    aggregate = (await _reports(city.url))[KEY_CITY]["aggregate"]
    assert aggregate["expected"] == 2 and aggregate["submitted"] == 1
    assert aggregate["figures"]["activities"] == {"count": 3, "attendance": 125}
    assert [(m["code"], m["status"]) for m in aggregate["missing"]] == [("410102", "draft")]
    # The aggregation did not touch the pulled submitted report.
    assert (await _reports(city.url))[KEY_A]["content"] == district["content"]


async def test_a_submission_after_the_first_pull_travels_on_the_next(instances: dict[str, Instance]) -> None:
    city, b = instances["city"], instances["zhongyuan"]
    await _activities(b.url, "410102", [10])
    clerk_b = await _clerk(b.url, "410102")
    await _submit(b.url, b.extra["report"], clerk_b, "补报")
    district = (await _reports(b.url))[KEY_B]

    done = await asyncio.to_thread(culturezone, "sync", env=city.extra["env"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "jinshui: " in done.stdout and "zhongyuan: " in done.stdout

    held = await _reports(city.url)
    assert held[KEY_B]["status"] == "submitted"
    assert held[KEY_B]["content"] == district["content"] and held[KEY_B]["submitted_at"] == district["submitted_at"]
    assert _origin(city, held[KEY_B]["id"]).json()["peer"] == "zhongyuan"
    assert [c["action"] for c in await _comments(city.url, held[KEY_B]["id"])] == ["submit"]

    await _aggregate_like_the_scheduler(city.url, datetime(2026, 12, 2, 5, tzinfo=UTC))
    aggregate = (await _reports(city.url))[KEY_CITY]["aggregate"]
    assert aggregate["submitted"] == 2 and aggregate["missing"] == []
    assert aggregate["figures"]["activities"] == {"count": 4, "attendance": 135}


async def test_the_scheduler_job_federation_pull_pulls_a_registered_peer(instances: dict[str, Instance]) -> None:
    city, a = instances["city"], instances["jinshui"]
    quarterly = await _open(a.url, "410105", kind=ReportKind.quarterly, period=QUARTER)
    assert ("410105", "quarterly", QUARTER) not in await _reports(city.url)

    # The two federation jobs only (compact_changes too: both once deadlocked on SQLite's single write lock).
    others = [job.name for job in JOBS if job.name not in ("federation_pull", "compact_changes")]
    at = "2026-12-02T06:00:00+00:00"
    args = ["schedule", "--once", "--now", at, *[part for name in others for part in ("--skip", name)]]
    done = await asyncio.to_thread(culturezone, *args, env=city.extra["env"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(": federation_pull, compact_changes"), done.stdout

    held = (await _reports(city.url))[("410105", "quarterly", QUARTER)]
    assert held["status"] == "draft"
    assert _origin(city, held["id"]).json()["remote_id"] == quarterly

    async def runs(session) -> dict:
        return dict((await session.execute(text("SELECT name, runs FROM job_run"))).all())

    assert await _session_on(city.url, runs) == {"federation_pull": 1, "compact_changes": 1}
