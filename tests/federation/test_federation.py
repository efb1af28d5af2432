"""A city and two districts as separate uvicorn processes, each with its own database, pulling over real HTTP."""

import asyncio
import math
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared.auth.scope import SYSTEM
from shared.db import write_intent
from shared.db_admin import migrate
from shared.federation import cursor as cursors
from shared.federation.feed import compact
from shared.federation.models import Peer
from shared.federation.puller import PullOptions, pull_all_peers
from shared.indicators.engine.run import compute_indicators
from shared.indicators.models import IndicatorResult
from shared.orgunits.models import OrgUnit, OrgUnitKind
from tests.conftest import _DATA_DIR, ON_POSTGRES
from tests.federation.support import (
    Instance,
    city_copy,
    city_figures,
    district_state,
    proxy_to,
    replay,
    seed_tree,
    write_values,
)
from tests.support.databases import recreate_database
from tests.support.processes import culturezone, environment, free_port, start_service

K = OrgUnitKind
OUTSIDE = "999999"  # a unit of district A's database outside the tree its peer token covers
SET_FIGURE = "UPDATE data_value SET value = :value WHERE element_id = (SELECT id FROM data_element WHERE code = :code)"
FAST = PullOptions(timeout_s=2.0, attempts=2, backoff_s=0.05, backoff_max_s=0.2, page_limit=50)


def _url(database_url: str, name: str) -> str:
    if not ON_POSTGRES:
        return f"sqlite+aiosqlite:///{_DATA_DIR / f'federation_{name}'}.db"
    base, main_name = database_url.rsplit("/", 1)
    return f"{base}/{main_name}_fed_{name}"


@pytest.fixture(scope="module")
def instances(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Instance]]:
    """City 410100 and districts 410105 (with streets) and 410102, each its own database and API process."""
    made = {name: Instance(name=name, url=_url(database_url, name)) for name in ("city", "jinshui", "zhongyuan")}
    for instance in made.values():
        recreate_database(instance.url)
        migrate(instance.url)
    a = made["jinshui"]
    a.peer_token = asyncio.run(
        seed_tree(
            a.url,
            [
                ("410105", "金水区", K.district, None),
                ("410105001000", "经八路街道", K.street, "410105"),
                ("410105002000", "花园路街道", K.street, "410105"),
                (OUTSIDE, "别处", K.district, None),
            ],
            peer_user="city-puller",
        )
    )
    b = made["zhongyuan"]
    b.peer_token = asyncio.run(
        seed_tree(
            b.url,
            [("410102", "中原区", K.district, None), ("410102001000", "林山寨街道", K.street, "410102")],
            peer_user="city-puller",
        )
    )
    asyncio.run(seed_tree(made["city"].url, [("410100", "郑州市", K.city, None)], peer_user=None))
    processes = []
    data_dir = tmp_path_factory.mktemp("federation")
    for instance in made.values():
        port = free_port()
        instance.extra["env"] = environment(database_url=instance.url, data_dir=data_dir / instance.name)
        instance.extra["port"] = port
        instance.base = f"http://127.0.0.1:{port}"
        processes.append(start_service("api", port=port, env=instance.extra["env"]))
        instance.extra["process"] = processes[-1]
    yield made
    for instance in made.values():
        process = instance.extra["process"]
        process.terminate()
        process.wait(timeout=15)


async def _register(city: Instance, name: str, base: str, token: str, root_code: str | None = None) -> int:
    engine = city.engine()
    write_intent.set(True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            from shared.federation.peers import register_peer
            from shared.federation.schemas import PeerCreate

            peer = await register_peer(
                session,
                actor=SYSTEM,
                data=PeerCreate(
                    name=name, base_url=base, covered_org_unit_code="410100", token=token, root_code=root_code
                ),
            )
            await session.commit()
            assert peer.id is not None
            return peer.id
    finally:
        await engine.dispose()


async def _pull(city: Instance, **kwargs) -> list:
    engine = city.engine()
    try:
        return await pull_all_peers(engine=engine, options=kwargs.pop("options", FAST), **kwargs)
    finally:
        await engine.dispose()


async def _peer(city: Instance, name: str) -> Peer:
    engine = city.engine()
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            peer = await session.scalar(select(Peer).where(Peer.name == name))
            assert peer is not None
            return peer
    finally:
        await engine.dispose()


async def _set_peer(city: Instance, name: str, **values) -> None:
    engine = city.engine()
    try:
        async with engine.begin() as connection:
            await connection.execute(update(Peer).where(Peer.name == name).values(**values))
    finally:
        await engine.dispose()


async def _in_tree(instance: Instance) -> dict:
    """The district's rows its peer token may see (everything but the unit outside the tree and its figures)."""
    state = await district_state(instance.url)
    outside = {key[1] for key, row in state.items() if key[0] == "org_unit" and row["code"] == OUTSIDE}
    return {
        key: row
        for key, row in state.items()
        if not (key[0] == "org_unit" and key[1] in outside) and row.get("org_unit_id") not in outside
    }


@pytest.fixture(scope="module")
def registered(instances: dict[str, Instance]) -> dict[str, Instance]:
    """Both districts registered as peers of the city (jinshui pinned to its root code)."""
    city = instances["city"]
    asyncio.run(_register(city, "jinshui", instances["jinshui"].base, instances["jinshui"].peer_token, "410105"))
    asyncio.run(_register(city, "zhongyuan", instances["zhongyuan"].base, instances["zhongyuan"].peer_token))
    return instances


def _get(instance: Instance, path: str, token: str, **params) -> httpx.Response:
    return httpx.get(f"{instance.base}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_the_feed_refuses_bad_tokens_trees_and_cursors(registered: dict[str, Instance]) -> None:
    a = registered["jinshui"]
    assert _get(a, "/federation/v1/changes", "czt_unknown-token").status_code == 401
    assert _get(a, "/federation/v1/changes", a.peer_token, org_unit=OUTSIDE).status_code == 403
    manifest = _get(a, "/federation/v1/manifest", a.peer_token).json()
    assert manifest["root_org_unit_code"] == "410105" and manifest["schema_version"].startswith("cz-federation-1/")
    for bad in ("garbage!!", cursors.encode((2**62, 2**62)), "Y3oxOjE6"):
        answer = _get(a, "/federation/v1/changes", a.peer_token, since=bad)
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["field"] == "since"
    assert _get(a, "/federation/v1/snapshot", a.peer_token, page="nonsense").status_code == 400
    served = _get(a, "/federation/v1/changes", a.peer_token, limit=5000).json()
    codes = {item["row"].get("code") for item in served["items"] if item["table"] == "org_unit"}
    assert "410105" in codes and OUTSIDE not in codes


async def test_a_change_in_a_district_appears_in_the_city_after_one_pull(registered: dict[str, Instance]) -> None:
    city, a, b = registered["city"], registered["jinshui"], registered["zhongyuan"]
    await write_values(
        a.url, [("population", "410105001000", "2019", 300_000), ("book_holdings", "410105001000", "2019", 450_000)]
    )
    await write_values(
        a.url, [("population", "410105002000", "2019", 100_000), ("book_holdings", OUTSIDE, "2019", 9e6)]
    )
    await write_values(
        b.url, [("population", "410102001000", "2019", 600_000), ("book_holdings", "410102", "2019", 300_000)]
    )
    results = await _pull(city)
    assert [r.ok for r in results] == [True, True], results
    assert await city_copy(city.url, "jinshui") == await _in_tree(a)
    assert await city_copy(city.url, "zhongyuan") == await district_state(b.url)
    pulled = await city_figures(city.url, source="peer:jinshui")
    assert ("population", "410105001000", "2019", 300_000.0) in pulled
    assert not any(unit == OUTSIDE for _e, unit, _p, _v in pulled)
    # The district's root hangs under the covered city unit; its streets under it.
    engine = city.engine()
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            root = await session.scalar(select(OrgUnit).where(OrgUnit.code == "410100"))
            district = await session.scalar(select(OrgUnit).where(OrgUnit.code == "410105"))
            street = await session.scalar(select(OrgUnit).where(OrgUnit.code == "410105001000"))
            assert (
                district.parent_id == root.id
                and street.path.startswith(district.path)
                and district.path.startswith(root.path)
            )
            write_intent.set(True)
            await compute_indicators(session, actor=SYSTEM, org_unit_id=root.id, period="2019", codes=["G04"])
            await session.commit()
            g04 = await session.scalar(
                select(IndicatorResult).where(
                    IndicatorResult.indicator_code == "G04", IndicatorResult.org_unit_id == root.id
                )
            )
    finally:
        await engine.dispose()
    assert g04 is not None and g04.value == pytest.approx((450_000 + 300_000) / (300_000 + 100_000 + 600_000))
    # One more change: it travels on the next pull, an update as well as a deletion.
    await write_values(a.url, [("population", "410105001000", "2019", 310_000)])
    engine = a.engine()
    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM data_value WHERE org_unit_id = (SELECT id FROM org_unit WHERE code = '410105002000')")
        )
    await engine.dispose()
    assert all(r.ok for r in await _pull(city))
    pulled = await city_figures(city.url, source="peer:jinshui")
    assert ("population", "410105001000", "2019", 310_000.0) in pulled
    assert not any(unit == "410105002000" for _e, unit, _p, _v in pulled)
    assert await city_copy(city.url, "jinshui") == await _in_tree(a)
    peer = await _peer(city, "jinshui")
    assert peer.last_success_at is not None and peer.last_error is None and peer.lag_rows == 0


async def _assert_never_ahead(city: Instance, a: Instance) -> None:
    peer = await _peer(city, "jinshui")
    expected = await replay(a.base, a.peer_token, until=peer.cursor, limit=FAST.page_limit)
    assert await city_copy(city.url, "jinshui") == expected


async def test_a_figure_the_city_keyed_in_is_adopted_when_the_district_reports_it(
    registered: dict[str, Instance],
) -> None:
    city, a = registered["city"], registered["jinshui"]
    assert all(r.ok for r in await _pull(city))
    keyed_in = [("new_books", "410105001000", period, 7) for period in ("1995", "1996")]
    reported = [("new_books", "410105001000", period, 9) for period in ("1995", "1996", "1997")]
    await write_values(city.url, keyed_in)
    await write_values(a.url, reported)  # one run of three rows: two found by natural key, one new
    assert all(r.ok for r in await _pull(city))
    # Found by (element, unit, no facility, period): one row each, with the district's value and source.
    figures = {f for f in await city_figures(city.url) if f[:2] == ("new_books", "410105001000") and f[2] < "1998"}
    assert figures == {(e, u, p, 9.0) for e, u, p, _ in reported}
    assert figures <= await city_figures(city.url, source="peer:jinshui")
    assert await city_copy(city.url, "jinshui") == await _in_tree(a)


async def test_faults_between_city_and_district_never_leave_half_a_page(registered: dict[str, Instance]) -> None:
    city, a = registered["city"], registered["jinshui"]
    assert all(r.ok for r in await _pull(city))
    await write_values(a.url, [("loans", "410105001000", f"2019-{m:02d}", 100 + m) for m in range(1, 13)])
    await write_values(a.url, [("book_holdings", "410105001000", str(y), 7 * y) for y in range(2000, 2019)])
    await write_values(a.url, [("population", "410105001000", str(y), 1000 + y) for y in range(1990, 2019)])
    async with proxy_to(a.base) as proxy:
        await _set_peer(city, "jinshui", base_url=proxy.base)
        try:
            for kind in ("reset", "500", "timeout", "truncate", "replay", "reset", "truncate"):
                proxy.faults = [("/changes", kind), ("/changes", kind)]  # two in a row: beats a retry, fails the pull
                results = await _pull(city, names=["jinshui"])
                await _assert_never_ahead(city, a)
                if kind != "replay":
                    assert not results[0].ok and (await _peer(city, "jinshui")).last_error
            proxy.faults = [("/changes", "500")]  # one fault: the retry with backoff gets through
            assert (await _pull(city, names=["jinshui"]))[0].ok
            assert ("ok" in {k for _t, k in proxy.served}) and ("500" in {k for _t, k in proxy.served})
            # The district goes down, a transaction of it is rolled back, it comes back.
            process = a.extra["process"]
            process.terminate()
            process.wait(timeout=15)
            await write_values(a.url, [("loans", "410105002000", "2019", 5)])
            assert not (await _pull(city, names=["jinshui"]))[0].ok
            engine = a.engine()
            async with engine.connect() as connection:
                transaction = await connection.begin()
                await connection.execute(text("UPDATE data_value SET value = value + 1"))
                await transaction.rollback()
            await engine.dispose()
            a.extra["process"] = start_service("api", port=a.extra["port"], env=a.extra["env"])
            assert (await _pull(city, names=["jinshui"]))[0].ok
        finally:
            await _set_peer(city, "jinshui", base_url=a.base)
    assert await city_copy(city.url, "jinshui") == await _in_tree(a)
    assert ("loans", "410105002000", "2019", 5.0) in await city_figures(city.url, source="peer:jinshui")


async def test_peers_that_answer_wrongly_are_refused_and_nothing_is_applied(registered: dict[str, Instance]) -> None:
    city, a = registered["city"], registered["jinshui"]
    assert all(r.ok for r in await _pull(city))
    await write_values(a.url, [("new_books", "410105001000", "2019", 42)])
    before = await city_copy(city.url, "jinshui")
    cursor_before = (await _peer(city, "jinshui")).cursor
    async with proxy_to(a.base) as proxy:
        await _set_peer(city, "jinshui", base_url=proxy.base)
        try:
            for rewrite, expected in (
                (lambda m: m | {"schema_version": "cz-federation-1/0000"}, "schema version"),
                (lambda m: m | {"root_org_unit_code": "410199"}, "root"),
            ):
                proxy.rewrite_manifest = rewrite
                result = (await _pull(city, names=["jinshui"]))[0]
                assert not result.ok and expected in result.error
                assert expected in (await _peer(city, "jinshui")).last_error
            proxy.rewrite_manifest = None
            # Rows outside the subtree the peer covers: a unit hanging under nothing the peer sent, a figure of it.
            proxy.inject_items = [
                {
                    "table": "data_value",
                    "id": 999_001,
                    "op": "upsert",
                    "row": {
                        "id": 999_001,
                        "element_id": 1,
                        "org_unit_id": 987_654,
                        "period": "2019",
                        "period_type": "year",
                        "period_start": "2019-01-01",
                        "period_end": "2019-12-31",
                        "value": 1,
                    },
                },
            ]
            result = (await _pull(city, names=["jinshui"]))[0]
            assert not result.ok and "outside the subtree" in result.error
            proxy.inject_items = [
                {
                    "table": "org_unit",
                    "id": 999_002,
                    "op": "upsert",
                    "row": {
                        "id": 999_002,
                        "code": "410100",
                        "name": "x",
                        "level": 2,
                        "kind": "district",
                        "parent_id": None,
                        "path": "/9/",
                    },
                }
            ]
            result = (await _pull(city, names=["jinshui"]))[0]
            assert not result.ok and "410100" in result.error
            # A run of figures, one with a value that is not a number: the refusal names that row.
            state = await district_state(a.url)
            unit = next(i for (t, i), row in state.items() if t == "org_unit" and row["code"] == "410105001000")
            element = next(i for (t, i), row in state.items() if t == "data_element" and row["code"] == "new_books")
            figure = {"element_id": element, "org_unit_id": unit, "period_type": "year", "period_start": "1990-01-01",
                      "period_end": "1990-12-31", "value": 1, "period": "1990"}  # fmt: skip
            rows = [figure | {"id": 999_003}, figure | {"id": 999_004, "value": "lots"}]
            proxy.inject_items = [{"table": "data_value", "id": row["id"], "op": "upsert", "row": row} for row in rows]
            result = (await _pull(city, names=["jinshui"]))[0]
            assert not result.ok and "(data_value 999004): malformed (value is not a number)" in result.error
            if ON_POSTGRES:  # SQLite keeps any length in a VARCHAR column
                # A value longer than its column is refused, not cut to the column's length.
                long_period = [{"table": "data_value", "id": 999_005, "op": "upsert",
                                "row": figure | {"id": 999_005, "period": "1990-annual"}}]  # fmt: skip
                proxy.inject_items = long_period
                result = (await _pull(city, names=["jinshui"]))[0]
                assert not result.ok and "too long" in result.error, result.error
        finally:
            await _set_peer(city, "jinshui", base_url=a.base)
    assert await city_copy(city.url, "jinshui") == before
    assert (await _peer(city, "jinshui")).cursor == cursor_before
    assert all(r.ok for r in await _pull(city))
    assert await city_copy(city.url, "jinshui") == await _in_tree(a)


@pytest.mark.postgres
async def test_a_pull_between_overlapping_writers_never_skips_the_slower_one(registered: dict[str, Instance]) -> None:
    city, b = registered["city"], registered["zhongyuan"]
    assert all(r.ok for r in await _pull(city))
    engine = b.engine()
    try:
        async with engine.connect() as first, engine.connect() as second:
            slow = await first.begin()
            await first.execute(text(SET_FIGURE), {"value": 111, "code": "population"})
            fast = await second.begin()
            await second.execute(text(SET_FIGURE), {"value": 222, "code": "book_holdings"})
            await fast.commit()
            assert all(r.ok for r in await _pull(city, names=["zhongyuan"]))  # the pull in between
            figures = await city_figures(city.url, source="peer:zhongyuan")
            assert ("population", "410102001000", "2019", 111.0) not in figures
            await slow.commit()
    finally:
        await engine.dispose()
    assert all(r.ok for r in await _pull(city, names=["zhongyuan"]))
    figures = await city_figures(city.url, source="peer:zhongyuan")
    assert ("population", "410102001000", "2019", 111.0) in figures  # the slower writer's change was not skipped
    assert ("book_holdings", "410102", "2019", 222.0) in figures
    assert await city_copy(city.url, "zhongyuan") == await district_state(b.url)


async def test_a_reader_behind_the_compaction_floor_resyncs_from_the_snapshot(registered: dict[str, Instance]) -> None:
    city, b = registered["city"], registered["zhongyuan"]
    assert all(r.ok for r in await _pull(city))
    await write_values(b.url, [("loans", "410102001000", "2019", 9)])
    engine = b.engine()
    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM data_value WHERE org_unit_id = (SELECT id FROM org_unit WHERE code = '410102')")
        )
    write_intent.set(True)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        from datetime import timedelta

        removed = await compact(session, older_than=timedelta(0))
        await session.commit()
    await engine.dispose()
    assert removed > 0
    gone = _get(b, "/federation/v1/changes", b.peer_token)
    assert gone.status_code == 410 and gone.headers["content-type"].startswith("application/problem+json")
    # The city forgets its cursor (as a peer registered anew would have none): it resyncs from the snapshot.
    await _set_peer(city, "zhongyuan", cursor=None)
    results = await _pull(city, names=["zhongyuan"])
    assert results[0].ok, results
    assert await city_copy(city.url, "zhongyuan") == await district_state(b.url)
    figures = await city_figures(city.url, source="peer:zhongyuan")
    assert ("loans", "410102001000", "2019", 9.0) in figures
    assert not any(unit == "410102" for _e, unit, _p, _v in figures)  # deleted at the district, deleted here


def test_culturezone_sync_pulls_from_the_command_line(registered: dict[str, Instance]) -> None:
    city = registered["city"]
    done = culturezone("sync", env=city.extra["env"])
    assert done.returncode == 0, done.stderr
    assert "jinshui:" in done.stdout and "zhongyuan:" in done.stdout and "ok" in done.stdout


def test_operators_set_the_page_size_of_a_pull(registered: dict[str, Instance]) -> None:
    city, a = registered["city"], registered["jinshui"]
    asyncio.run(write_values(a.url, [("new_books", "410105001000", str(y), y) for y in range(1800, 1900)]))
    done = culturezone("sync", "--peer", "jinshui", env=city.extra["env"] | {"FEDERATION_PAGE_LIMIT": "25"})
    assert done.returncode == 0, done.stderr
    match = re.search(r"jinshui: (\d+) rows in (\d+) pages, [0-9.]+ s, ok", done.stdout)
    assert match, done.stdout
    rows, pages = int(match.group(1)), int(match.group(2))
    assert rows >= 100 and pages >= math.ceil(rows / 25)  # no page carried more than the 25 rows asked for
    assert asyncio.run(city_copy(city.url, "jinshui")) == asyncio.run(_in_tree(a))


async def test_two_pulls_of_one_peer_at_once_apply_each_page_once(registered: dict[str, Instance]) -> None:
    city, a = registered["city"], registered["jinshui"]
    await write_values(a.url, [("new_books", "410105002000", str(y), y) for y in range(1900, 2019)])
    first, second = await asyncio.gather(_pull(city, names=["jinshui"]), _pull(city, names=["jinshui"]))
    assert first[0].ok and second[0].ok, (first, second)  # the slower one stops where the other went on
    assert await city_copy(city.url, "jinshui") == await _in_tree(a)
    assert (await _peer(city, "jinshui")).last_error is None


def test_admins_register_list_pause_resume_and_remove_peers(registered: dict[str, Instance]) -> None:
    city = registered["city"]
    env = city.extra["env"]
    # A figure pulled, and health to list, whichever tests of the module ran before.
    asyncio.run(write_values(registered["jinshui"].url, [("population", "410105001000", "2019", 300_000)]))
    assert all(r.ok for r in asyncio.run(_pull(city)))
    for name, role in (("city-admin", "admin"), ("city-viewer", "viewer")):
        made = culturezone("create-user", name, "--password", "a long passphrase", "--role", role, env=env)
        assert made.returncode == 0, made.stderr
    headers = {}
    for name in ("city-admin", "city-viewer"):
        login = httpx.post(f"{city.base}/api/v1/auth/token", data={"username": name, "password": "a long passphrase"})
        headers[name] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    api = f"{city.base}/api/v1/federation/peers"
    body = {
        "name": "jinshui-2",
        "base_url": "http://127.0.0.1:9",
        "covered_org_unit_code": "410100",
        "token": "czt_x1234567",
    }
    assert httpx.post(api, json=body, headers=headers["city-viewer"]).status_code == 403
    bad = httpx.post(api, json=body | {"base_url": "ftp://x"}, headers=headers["city-admin"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("base_url")
    created = httpx.post(api, json=body, headers=headers["city-admin"])
    assert created.status_code == 201 and "token" not in created.json()
    peer_id = created.json()["id"]
    listed = {p["name"]: p for p in httpx.get(api, headers=headers["city-viewer"]).json()}
    assert listed["jinshui"]["last_success_at"] is not None and listed["jinshui"]["lag_rows"] == 0
    assert httpx.post(f"{api}/{peer_id}/pause", headers=headers["city-viewer"]).status_code == 403
    assert httpx.post(f"{api}/{peer_id}/pause", headers=headers["city-admin"]).json()["status"] == "paused"
    results = asyncio.run(_pull(city))
    assert "jinshui-2" not in {r.peer for r in results}  # paused peers are not pulled
    assert httpx.post(f"{api}/{peer_id}/resume", headers=headers["city-admin"]).json()["status"] == "active"
    results = {r.peer: r for r in asyncio.run(_pull(city))}
    assert not results["jinshui-2"].ok  # nobody listens there: reported, and the others are pulled all the same
    assert results["jinshui"].ok and results["zhongyuan"].ok
    health = httpx.get(f"{api}/{peer_id}", headers=headers["city-admin"]).json()
    assert health["last_error"] and health["last_attempt_at"] and health["last_success_at"] is None
    # The ingest service pulls on request, after answering; the peer's health shows the attempt.
    port = free_port()
    ingest = start_service("ingest", port=port, env=env)
    try:
        pulls = f"http://127.0.0.1:{port}/ingest/v1/federation/pulls"
        assert httpx.post(pulls, json={"peers": ["jinshui"]}, headers=headers["city-viewer"]).status_code == 403
        assert httpx.post(pulls, json={"peers": ["nowhere"]}, headers=headers["city-admin"]).status_code == 404
        before = httpx.get(api, headers=headers["city-admin"]).json()
        attempted = {p["name"]: p["last_attempt_at"] for p in before}
        started = httpx.post(pulls, json={"peers": ["zhongyuan"]}, headers=headers["city-admin"])
        assert started.status_code == 202 and started.json() == {"peers": ["zhongyuan"]}
        for _ in range(100):
            now = {p["name"]: p for p in httpx.get(api, headers=headers["city-admin"]).json()}
            if now["zhongyuan"]["last_attempt_at"] != attempted["zhongyuan"]:
                break
            time.sleep(0.1)
        assert now["zhongyuan"]["last_attempt_at"] != attempted["zhongyuan"] and now["zhongyuan"]["last_error"] is None
        assert now["jinshui"]["last_attempt_at"] == attempted["jinshui"]
    finally:
        ingest.terminate()
        ingest.wait(timeout=15)
    assert httpx.delete(f"{api}/{peer_id}", headers=headers["city-admin"]).status_code == 204
    assert httpx.get(f"{api}/{peer_id}", headers=headers["city-admin"]).status_code == 404
    origins = f"{city.base}/api/v1/federation/origins"
    engine = city.engine()

    async def ids() -> tuple[int, int, int]:
        async with engine.connect() as connection:
            pulled = (
                await connection.execute(
                    text("SELECT id, org_unit_id FROM data_value WHERE source = 'peer:jinshui' ORDER BY id LIMIT 1")
                )
            ).one()
            own = await connection.scalar(text("SELECT id FROM org_unit WHERE code = '410100'"))
        await engine.dispose()
        return pulled.id, pulled.org_unit_id, own

    pulled_id, pulled_unit_id, own_id = asyncio.run(ids())
    origin = httpx.get(f"{origins}/data_value/{pulled_id}", headers=headers["city-viewer"])
    assert origin.status_code == 200 and origin.json()["peer"] == "jinshui" and origin.json()["pulled_at"]
    # The row as the city holds it: its own ids, the figure's source.
    assert origin.json()["row"]["id"] == pulled_id and origin.json()["row"]["org_unit_id"] == pulled_unit_id
    assert origin.json()["row"]["source"] == "peer:jinshui"
    assert httpx.get(f"{origins}/org_unit/{own_id}", headers=headers["city-viewer"]).status_code == 404
    assert httpx.get(f"{origins}/user_account/1", headers=headers["city-viewer"]).status_code == 422
    audit = httpx.get(f"{city.base}/api/v1/audit", params={"entity": "peer"}, headers=headers["city-admin"])
    assert audit.status_code == 200 and len(audit.json()) >= 4, audit.text


def test_a_revoked_peer_token_is_refused(registered: dict[str, Instance]) -> None:
    b = registered["zhongyuan"]
    asyncio.run(_revoke(b))
    assert _get(b, "/federation/v1/manifest", b.peer_token).status_code == 401


async def _revoke(instance: Instance) -> None:
    engine = instance.engine()
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE api_token SET revoked_at = CURRENT_TIMESTAMP"))
    await engine.dispose()
