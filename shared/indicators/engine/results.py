"""Standard thresholds, plan targets and pass/fail in SQL, and the INSERT … SELECT that stores results."""

from sqlalchemy import Boolean, Float, String, case, cast, delete, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect

from shared.db import utcnow
from shared.indicators.catalogue import Indicator, MilestoneIndicator
from shared.indicators.engine.measures import compare
from shared.indicators.engine.scope import OUTPUT, Scope
from shared.indicators.models import IndicatorResult, PlanTarget
from shared.plans.models import Plan

RESULT = IndicatorResult.__table__
TARGET = PlanTarget.__table__
PLAN = Plan.__table__
OPS = (">=", ">", "<=", "<", "==")


def _level_thresholds(indicator: Indicator) -> list[tuple[list[str] | None, str, float]]:
    if isinstance(indicator, MilestoneIndicator):
        return [(None, ">=", 1.0)]
    if indicator.thresholds:
        return [(list(t.levels), t.op, t.value) for t in indicator.thresholds]
    if indicator.threshold is not None:
        return [(None, indicator.threshold.op, indicator.threshold.value)]
    return []


def threshold_columns(indicator: Indicator, kind: ColumnElement[str], value: ColumnElement) -> tuple:
    """(op, threshold, passed) for the unit's kind; NULLs where the standard sets no threshold."""
    rules = _level_thresholds(indicator)
    if not rules:
        return literal(None, String), literal(None, Float), literal(None, Boolean)

    def pick(column: int) -> ColumnElement:
        whens = [((kind.in_(levels) if levels else true()), rule[column]) for rule in rules for levels in [rule[0]]]
        return case(*whens, else_=None)

    passed_whens = [(value.is_(None), None)] + [
        ((kind.in_(levels) if levels else true()), compare(value, op, threshold)) for levels, op, threshold in rules
    ]
    return pick(1), cast(pick(2), Float), case(*passed_whens, else_=None)


def latest_targets(code: str) -> Select:
    """Per org unit, the target of its most recent plan that sets one for this indicator."""
    newest = (
        select(PLAN.c.org_unit_id, func.max(TARGET.c.id).label("target_id"))
        .join(TARGET, TARGET.c.plan_id == PLAN.c.id)
        .where(TARGET.c.indicator_code == code)
        .group_by(PLAN.c.org_unit_id)
        .subquery("newest")
    )
    return select(newest.c.org_unit_id, TARGET.c.op, TARGET.c.value).join(TARGET, TARGET.c.id == newest.c.target_id)


def passes_stored(value: ColumnElement, op: ColumnElement[str], bound: ColumnElement) -> ColumnElement:
    """value compared with a bound whose operator is stored in a column (a plan target, a stored threshold);
    NULL when either side is unknown."""
    return case((value.is_(None), None), *[(op == name, compare(value, name, bound)) for name in OPS], else_=None)


def result_rows(indicator: Indicator, formula: Select, scope: Scope, *, dialect: str) -> Select:
    """The formula's rows completed with threshold, target and pass/fail, shaped like indicator_result."""
    rows = formula.subquery("rows")
    anc = select(OUTPUT.c.anc_id, OUTPUT.c.anc_kind).subquery("unit")
    targets = latest_targets(indicator.code).subquery("target")
    op, threshold, passed = threshold_columns(indicator, anc.c.anc_kind, rows.c.value)
    missing = rows.c.missing if dialect == "sqlite" else cast(rows.c.missing, postgresql.JSONB)
    return (
        select(
            literal(indicator.code).label("indicator_code"),
            rows.c.anc_id.label("org_unit_id"),
            literal(scope.period.code).label("period"),
            rows.c.value,
            rows.c.numerator,
            rows.c.denominator,
            op.label("threshold_op"),
            threshold.label("threshold"),
            targets.c.op.label("target_op"),
            targets.c.value.label("target"),
            passed.label("passed"),
            passes_stored(rows.c.value, targets.c.op, targets.c.value).label("target_passed"),
            missing.label("missing"),
            literal(utcnow()).label("computed_at"),
        )
        .select_from(
            rows.join(anc, anc.c.anc_id == rows.c.anc_id).outerjoin(targets, targets.c.org_unit_id == rows.c.anc_id)
        )
        .where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    )


COLUMNS = [
    "indicator_code",
    "org_unit_id",
    "period",
    "value",
    "numerator",
    "denominator",
    "threshold_op",
    "threshold",
    "target_op",
    "target",
    "passed",
    "target_passed",
    "missing",
    "computed_at",
]


async def store(session: AsyncSession, *, rows: Select | CompoundSelect, dialect: str) -> int:
    """INSERT … SELECT the rows, replacing earlier results of the same (indicator, unit, period)."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RESULT)
    statement = insert.from_select(COLUMNS, rows)
    statement = statement.on_conflict_do_update(
        index_elements=["indicator_code", "org_unit_id", "period"],
        set_={name: statement.excluded[name] for name in COLUMNS[3:]},
    )
    result = await session.execute(statement)
    return result.rowcount or 0


async def clear(session: AsyncSession, *, codes: list[str], scope: Scope) -> None:
    """Remove earlier results of these indicators for the output units, so stale ones cannot linger."""
    outputs = select(OUTPUT.c.anc_id)
    await session.execute(
        delete(RESULT).where(
            RESULT.c.period == scope.period.code, RESULT.c.indicator_code.in_(codes), RESULT.c.org_unit_id.in_(outputs)
        )
    )
