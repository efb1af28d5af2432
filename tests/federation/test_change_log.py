"""The change log is written in the writing transaction by every write path: ORM, bulk upserts, Core bulk inserts,
INSERT … SELECT of the indicator engine, bulk path rewrites and deletions (as tombstones)."""

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import SYSTEM
from shared.federation.models import ChangeLogEntry
from shared.federation.registry import REGISTRY
from shared.imports.service import ImportKind, run_import
from shared.indicators.engine.run import compute_indicators
from shared.orgunits.schemas import OrgUnitUpdate
from shared.orgunits.service import delete_org_unit, update_org_unit
from shared.statistics.schemas import DataValueIn
from shared.statistics.service import write_values
from tests.conftest import ON_POSTGRES
from tests.support.factories import make_tree


async def _changes(session: AsyncSession, table: str) -> list[ChangeLogEntry]:
    query = select(ChangeLogEntry).where(ChangeLogEntry.table_name == table).order_by(ChangeLogEntry.id)
    return list((await session.scalars(query)).all())


async def test_every_registered_table_has_its_triggers(session: AsyncSession) -> None:
    if ON_POSTGRES:
        query = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'cz_fed_%'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'cz_fed_%'"
    names = set((await session.scalars(text(query))).all())
    for tracked in REGISTRY:
        assert f"cz_fed_{tracked.table}_ins" in names and f"cz_fed_{tracked.table}_upd" in names, tracked.table


async def test_orm_bulk_and_engine_writes_all_log_their_rows(session: AsyncSession) -> None:
    before = await session.scalar(select(func.max(ChangeLogEntry.id))) or 0
    tree = await make_tree(session)
    assert {c.row_id for c in await _changes(session, "org_unit") if c.id > before} >= {tree.city.id, tree.district.id}
    # Bulk upsert of figures (INSERT … ON CONFLICT DO UPDATE), twice: the second is an update of the same rows.
    for value in (1000, 2000):
        items = [
            DataValueIn(element="population", org_unit_id=tree.community_a1.id, period="2019", value=value),
            DataValueIn(element="book_holdings", org_unit_id=tree.community_a1.id, period="2019", value=value * 2),
        ]
        await write_values(session, actor=SYSTEM, values=items)
    figures = [c for c in await _changes(session, "data_value") if c.id > before]
    assert len(figures) >= 4 and float(figures[-1].payload["value"]) in (2000.0, 4000.0)
    # A Core bulk insert (the activity import).
    csv = "type,org_unit_code,date,attendance\nlecture,410105001001,2019-03-12,40\nlecture,410105001001,2019-04-12,50\n"
    await run_import(
        session, actor=SYSTEM, kind=ImportKind.activities, content=csv.encode(), filename="a.csv", plan_id=None
    )
    assert len([c for c in await _changes(session, "activity") if c.id > before]) == 2
    # INSERT … SELECT of the indicator engine.
    await compute_indicators(session, actor=SYSTEM, org_unit_id=tree.city.id, period="2019", codes=["G04"])
    results = [c for c in await _changes(session, "indicator_result") if c.id > before]
    assert results and all(c.payload["indicator_code"] == "G04" for c in results)
    # A move rewrites the paths of a whole subtree in one UPDATE: every unit of it is logged.
    moved = await update_org_unit(
        session,
        actor=SYSTEM,
        unit_id=tree.street_a.id,
        data=OrgUnitUpdate(parent_id=tree.other_district.id),
        if_match=f'"{tree.street_a.version}"',
    )
    mark = await session.scalar(select(func.max(ChangeLogEntry.id)))
    logged = {c.row_id: c for c in await _changes(session, "org_unit") if c.id > before}
    assert logged[tree.community_a2.id].payload["path"].startswith(moved.path)
    # A deletion leaves a tombstone carrying the row as it was.
    await delete_org_unit(session, actor=SYSTEM, unit_id=tree.village_b1.id)
    tombstones = [c for c in await _changes(session, "org_unit") if c.id > mark and c.op == "delete"]
    assert [t.row_id for t in tombstones] == [tree.village_b1.id] and tombstones[0].payload["code"] == "410105002001"
    if ON_POSTGRES:  # every change of one transaction carries that transaction's id
        assert len({c.txid for c in await _changes(session, "org_unit") if c.id > before}) == 1
