"""Measures of the catalogue as SQL: one (output unit, value) row per output unit that has any input."""

from sqlalchemy import Float, Table, and_, cast, func, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from shared.activities.models import Activity
from shared.facilities.models import Facility
from shared.indicators.catalogue import (
    ActivityAttendanceMeasure,
    ActivityCountMeasure,
    ActivitySelector,
    Comparison,
    ElementMeasure,
    FacilityCountMeasure,
    FacilityFieldMeasure,
    FacilitySelector,
)
from shared.indicators.engine.scope import ELEMENT_TOTAL, ORG, OUTPUT, Scope
from shared.statistics.models import DataValue

DV = DataValue.__table__
FAC = Facility.__table__
ACT = Activity.__table__
Measure = (
    ElementMeasure | FacilityFieldMeasure | FacilityCountMeasure | ActivityCountMeasure | ActivityAttendanceMeasure
)


def compare(left: ColumnElement, op: str, right: object) -> ColumnElement[bool]:
    """`left op right` for the catalogue's operators (a flag compares as true/false)."""
    if isinstance(right, bool):
        return left.is_(right) if op in ("==", ">=", "<=") else left.is_not(right)
    return {
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
        "==": left == right,
    }[op]


def facility_filter(selector: FacilitySelector, scope: Scope, table: Table = FAC) -> list[ColumnElement[bool]]:
    """Conditions picking the selected facilities that existed during the period."""
    clauses = [
        table.c.type.in_(selector.types),
        table.c.status.in_(selector.statuses),
        func.coalesce(table.c.opened_on, scope.period.end) <= scope.period.end,
    ]
    if selector.unit_kinds:
        clauses.append(table.c.org_unit_id.in_(select(ORG.c.id).where(ORG.c.kind.in_(selector.unit_kinds))))
    for field, comparison in (selector.where or {}).items():
        clauses.append(_compare_field(table.c[field], comparison))
    return clauses


def _compare_field(column: ColumnElement, comparison: Comparison) -> ColumnElement[bool]:
    return compare(column, comparison.op, comparison.value)


def activity_filter(selector: ActivitySelector, scope: Scope, table: Table = ACT) -> list[ColumnElement[bool]]:
    """Conditions picking the selected activities of the period."""
    clauses = [table.c.type.in_(selector.types), table.c.occurred_on.between(scope.period.start, scope.period.end)]
    if selector.where is not None:
        if selector.where.domestic_new_film is not None:
            clauses.append(table.c.domestic_new_film.is_(selector.where.domestic_new_film))
        if selector.where.provider:
            clauses.append(table.c.provider.in_(selector.where.provider))
    return clauses


def element_sum(scope: Scope, *, element_id: int | None, period: str) -> Select:
    """Σ of an element's values entered anywhere in each output unit's subtree (facilities included)."""
    return select(ELEMENT_TOTAL.c.anc_id.label("anc_id"), ELEMENT_TOTAL.c.value.label("value")).where(
        ELEMENT_TOTAL.c.element_id == (element_id if element_id is not None else -1), ELEMENT_TOTAL.c.period == period
    )


def measure_select(measure: Measure, scope: Scope, *, element_ids: dict[str, int], periods: dict[str, str]) -> Select:
    """The SQL of one measure."""
    ua = scope.ancestors
    if isinstance(measure, ElementMeasure):
        return element_sum(scope, element_id=element_ids.get(measure.element), period=periods[measure.element])
    if isinstance(measure, FacilityCountMeasure | FacilityFieldMeasure):
        selector = measure.facility_count if isinstance(measure, FacilityCountMeasure) else measure.facilities
        aggregate = (
            func.count(FAC.c.id)
            if isinstance(measure, FacilityCountMeasure)
            else func.sum(cast(FAC.c[measure.facility_field], Float))
        )
        return (
            select(ua.c.anc_id.label("anc_id"), cast(aggregate, Float).label("value"))
            .join(ua, ua.c.unit_id == FAC.c.org_unit_id)
            .where(*facility_filter(selector, scope))
            .group_by(ua.c.anc_id)
        )
    selector = measure.activity_count if isinstance(measure, ActivityCountMeasure) else measure.activity_attendance
    aggregate = func.count(ACT.c.id) if isinstance(measure, ActivityCountMeasure) else func.sum(ACT.c.attendance)
    return (
        select(ua.c.anc_id.label("anc_id"), cast(aggregate, Float).label("value"))
        .join(ua, ua.c.unit_id == ACT.c.org_unit_id)
        .where(*activity_filter(selector, scope))
        .group_by(ua.c.anc_id)
    )


def self_rows(scope: Scope) -> Select:
    """One row per unit whose results are produced: the root, the summary levels (and the root's children)."""
    return select(OUTPUT.c.anc_id, OUTPUT.c.anc_level, OUTPUT.c.anc_kind)


def ratio_value(numerator: ColumnElement, denominator: ColumnElement, factor: float = 1) -> ColumnElement:
    """numerator / denominator × factor; NULL when either is missing or the denominator is zero."""
    safe = func.nullif(denominator, 0)
    return cast(numerator, Float) / cast(safe, Float) * factor


def both(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
    """All clauses (True when none)."""
    return and_(True, *clauses)
