"""What a computation covers: the output units, the period, and the unit → ancestor mapping it aggregates over."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from shared.orgunits.models import OrgUnit
from shared.statistics.periods import Period

ORG = OrgUnit.__table__
_temp = MetaData()
UNIT_ANCESTOR = Table(
    "cz_unit_ancestor",
    _temp,
    Column("unit_id", BigInteger),
    Column("anc_id", BigInteger),
    Column("anc_level", Integer),
    Column("anc_kind", String(20)),
    prefixes=["TEMPORARY"],
)
PATH_END = "~"  # sorts after every digit and "/", so [path, path + "~") holds exactly the subtree


@dataclass(frozen=True, slots=True)
class Scope:
    """A computation: results for the output units, each aggregated over its whole subtree."""

    period: Period
    year: str
    ancestors: Table
    root_path: str
    root_id: int
    with_children: bool = False


def open_during(table: Table | type[OrgUnit], start: date, end: date) -> ColumnElement[bool]:
    """Units (or facilities) open at some time in [start, end]."""
    columns = table.c if isinstance(table, Table) else table.__table__.c  # type: ignore[union-attr]
    return and_(
        or_(columns.opened_on.is_(None), columns.opened_on <= end),
        or_(columns.closed_on.is_(None), columns.closed_on >= start),
    )


def in_subtree(path_column: ColumnElement[str], path: str) -> ColumnElement[bool]:
    """A path inside the subtree of `path` (an index range, on PostgreSQL and SQLite alike)."""
    return and_(path_column >= path, path_column < path + PATH_END)


def _mapping(*, outputs: Select) -> Select:
    """(unit, output ancestor) pairs: every unit of each output unit's subtree, the output unit included."""
    anc = outputs.subquery("anc")
    unit = ORG.alias("unit")
    return select(unit.c.id, anc.c.id, anc.c.level, anc.c.kind).join(
        anc, and_(unit.c.path >= anc.c.path, unit.c.path < anc.c.path.op("||")(literal(PATH_END)))
    )


async def build_scope(
    session: AsyncSession,
    *,
    root: OrgUnit,
    period: Period,
    outputs: Select | None = None,
    with_children: bool = False,
) -> Scope:
    """Fill the temporary unit → ancestor table for a subtree (or for chosen output units)."""
    dialect = session.get_bind().dialect.name
    await session.execute(text("DROP TABLE IF EXISTS cz_unit_ancestor"))
    on_commit = " ON COMMIT DROP" if dialect == "postgresql" else ""
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE cz_unit_ancestor (unit_id BIGINT NOT NULL, anc_id BIGINT NOT NULL, "
            f"anc_level INTEGER NOT NULL, anc_kind VARCHAR(20) NOT NULL){on_commit}"
        )
    )
    if outputs is None:
        outputs = select(ORG.c.id, ORG.c.path, ORG.c.level, ORG.c.kind).where(
            in_subtree(ORG.c.path, root.path), open_during(ORG, period.start, period.end)
        )
    await session.execute(
        UNIT_ANCESTOR.insert().from_select(["unit_id", "anc_id", "anc_level", "anc_kind"], _mapping(outputs=outputs))
    )
    await session.execute(text("CREATE INDEX cz_unit_ancestor_unit ON cz_unit_ancestor (unit_id)"))
    await _fill_outputs(session, root=root, with_children=with_children, on_commit=on_commit)
    if dialect == "postgresql":
        await session.execute(text("ANALYZE cz_unit_ancestor"))
        await session.execute(text("ANALYZE cz_output"))
    assert root.id is not None
    return Scope(
        period=period,
        year=period.code[:4],
        ancestors=UNIT_ANCESTOR,
        root_path=root.path,
        root_id=root.id,
        with_children=with_children,
    )


OUTPUT = Table(
    "cz_output",
    _temp,
    Column("anc_id", BigInteger),
    Column("anc_level", Integer),
    Column("anc_kind", String(20)),
    prefixes=["TEMPORARY"],
)
SUMMARY_LEVEL = 3  # city, district/county and street/town are stored; deeper units are computed when read


async def _fill_outputs(session: AsyncSession, *, root: OrgUnit, with_children: bool, on_commit: str) -> None:
    """The units whose results a computation produces: the summary levels, the root, and maybe its children."""
    ua = UNIT_ANCESTOR
    shown = [ua.c.anc_level <= SUMMARY_LEVEL, ua.c.anc_id == root.id]
    if with_children:
        shown.append(ua.c.anc_id.in_(select(ORG.c.id).where(ORG.c.parent_id == root.id)))
    await session.execute(text("DROP TABLE IF EXISTS cz_output"))
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE cz_output (anc_id BIGINT PRIMARY KEY, anc_level INTEGER NOT NULL, "
            f"anc_kind VARCHAR(20) NOT NULL){on_commit}"
        )
    )
    rows = select(ua.c.anc_id, ua.c.anc_level, ua.c.anc_kind).where(ua.c.unit_id == ua.c.anc_id, or_(*shown))
    await session.execute(OUTPUT.insert().from_select(["anc_id", "anc_level", "anc_kind"], rows))


ELEMENT_TOTAL = Table(
    "cz_element_total",
    _temp,
    Column("anc_id", BigInteger),
    Column("element_id", BigInteger),
    Column("period", String(10)),
    Column("value", Float),
    prefixes=["TEMPORARY"],
)


async def total_elements(session: AsyncSession, *, scope: Scope, wanted: dict[int, str]) -> None:
    """Σ of every wanted (element, period) per output unit in one pass over the data values."""
    from shared.statistics.models import DataValue

    values = DataValue.__table__
    ua = scope.ancestors
    on_commit = " ON COMMIT DROP" if session.get_bind().dialect.name == "postgresql" else ""
    await session.execute(text("DROP TABLE IF EXISTS cz_element_total"))
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE cz_element_total (anc_id BIGINT NOT NULL, element_id BIGINT NOT NULL, "
            f"period VARCHAR(10) NOT NULL, value FLOAT){on_commit}"
        )
    )
    if not wanted:
        return
    pairs = or_(
        *[and_(values.c.element_id == element_id, values.c.period == period) for element_id, period in wanted.items()]
    )
    totals = (
        select(ua.c.anc_id, values.c.element_id, values.c.period, func.sum(values.c.value))
        .join(ua, ua.c.unit_id == values.c.org_unit_id)
        .where(pairs)
        .group_by(ua.c.anc_id, values.c.element_id, values.c.period)
    )
    await session.execute(ELEMENT_TOTAL.insert().from_select(["anc_id", "element_id", "period", "value"], totals))
    await session.execute(text("CREATE INDEX cz_element_total_key ON cz_element_total (element_id, anc_id)"))
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ANALYZE cz_element_total"))


async def drop_scope(session: AsyncSession) -> None:
    """Remove the temporary tables (PostgreSQL also drops them at commit)."""
    for table in ("cz_unit_ancestor", "cz_output", "cz_element_total"):
        await session.execute(text(f"DROP TABLE IF EXISTS {table}"))
