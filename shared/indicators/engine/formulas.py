"""Each indicator kind as one SELECT: (anc_id, numerator, denominator, value, missing) per output unit."""

import json
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import Float, Integer, String, and_, case, cast, extract, func, literal, not_, or_, select, union_all
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from shared.indicators.catalogue import (
    ComplianceIndicator,
    CountIndicator,
    CoverageIndicator,
    ElementMeasure,
    FrequencyIndicator,
    MilestoneIndicator,
    PopulationPerFacilityIndicator,
    RatioIndicator,
    Rule,
)
from shared.indicators.engine.measures import (
    ACT,
    DV,
    FAC,
    activity_filter,
    compare,
    element_sum,
    facility_filter,
    measure_select,
    ratio_value,
    self_rows,
)
from shared.indicators.engine.periods import sub_periods
from shared.indicators.engine.scope import ORG, Scope, in_subtree, open_during
from shared.indicators.models import MilestoneAssessment


@dataclass(frozen=True, slots=True)
class Inputs:
    """Element ids and the period each element is read for."""

    element_ids: dict[str, int]
    periods: dict[str, str]

    @property
    def wanted(self) -> dict[int, str]:
        """{element id: period} of every element that has a stored definition."""
        return {element_id: self.periods[code] for code, element_id in self.element_ids.items()}


def missing_case(items: list[tuple[ColumnElement[bool], str]]) -> ColumnElement[str]:
    """A JSON array naming every missing input, as one CASE over the combinations."""
    whens = []
    for size in range(len(items), 0, -1):
        for combo in combinations(items, size):
            whens.append((and_(*[condition for condition, _ in combo]), json.dumps([n for _, n in combo])))
    return case(*whens, else_="[]") if whens else literal("[]")


def _shape(anc, numerator, denominator, value, missing) -> Select:
    return select(
        anc.c.anc_id.label("anc_id"),
        cast(numerator, Float).label("numerator"),
        cast(denominator, Float).label("denominator"),
        cast(value, Float).label("value"),
        cast(missing, String).label("missing"),
    )


def ratio(indicator: RatioIndicator, scope: Scope, inputs: Inputs) -> Select:
    """Σ numerator / Σ denominator × factor, numerators and denominators rolled up separately."""
    anc = self_rows(scope).subquery("anc")
    parts = []
    query_from = anc
    for role, measure in (("num", indicator.numerator), ("den", indicator.denominator)):
        sub = measure_select(measure, scope, element_ids=inputs.element_ids, periods=inputs.periods).subquery(role)
        query_from = query_from.outerjoin(sub, sub.c.anc_id == anc.c.anc_id)
        is_element = isinstance(measure, ElementMeasure)
        parts.append((sub.c.value if is_element else func.coalesce(sub.c.value, 0), is_element, measure))
    (num, num_is_element, num_measure), (den, den_is_element, den_measure) = parts
    missing = []
    if num_is_element:
        missing.append((num.is_(None), num_measure.element))
    if den_is_element:
        missing.append((func.coalesce(den, 0) == 0, den_measure.element))
    value = ratio_value(num, den, indicator.factor)
    shaped = _shape(anc, num, den, value, missing_case(missing))
    return shaped.select_from(query_from)


def _subject_units(kinds: list[str], scope: Scope) -> ColumnElement[bool]:
    return and_(
        ORG.c.kind.in_(kinds),
        in_subtree(ORG.c.path, scope.root_path),
        open_during(ORG, scope.period.start, scope.period.end),
    )


def coverage(indicator: CoverageIndicator, scope: Scope, inputs: Inputs) -> Select:
    """Share of units of the given kinds whose subtree meets every qualifying condition."""
    ua = scope.ancestors
    qualifying = select(ORG.c.id.label("unit_id")).where(_subject_units(indicator.units.kinds, scope))
    for index, condition in enumerate(indicator.qualifies):
        sub = measure_select(condition.measure, scope, element_ids=inputs.element_ids, periods=inputs.periods).subquery(
            f"q{index}"
        )
        qualifying = qualifying.outerjoin(sub, sub.c.anc_id == ORG.c.id).where(
            compare(func.coalesce(sub.c.value, 0), condition.op, condition.value)
        )
    met = qualifying.subquery("met")
    counted = (
        select(ua.c.anc_id, func.count().label("den"), func.count(met.c.unit_id).label("num"))
        .select_from(ORG)
        .join(ua, ua.c.unit_id == ORG.c.id)
        .outerjoin(met, met.c.unit_id == ORG.c.id)
        .where(_subject_units(indicator.units.kinds, scope))
        .group_by(ua.c.anc_id)
        .subquery("counted")
    )
    return _share(scope, counted, f"no {'/'.join(indicator.units.kinds)} in the subtree")


def _share(scope: Scope, counted, no_data: str) -> Select:
    anc = self_rows(scope).subquery("anc")
    den = func.coalesce(counted.c.den, 0)
    missing = case((den == 0, json.dumps([no_data])), else_="[]")
    shaped = _shape(anc, counted.c.num, den, ratio_value(counted.c.num, den), missing)
    return shaped.select_from(anc.outerjoin(counted, counted.c.anc_id == anc.c.anc_id))


def _rule_parts(rule: Rule, facility) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(applies, known) of a rule for a facility row."""
    applies: list[ColumnElement[bool]] = []
    known: list[ColumnElement[bool]] = []
    if rule.when is not None:
        for comparison in rule.when.service_population or []:
            applies.append(compare(facility.c.service_population, comparison.op, comparison.value))
            known.append(facility.c.service_population.is_not(None))
        if rule.when.facility_type:
            applies.append(facility.c.type.in_(rule.when.facility_type))
        if rule.when.unit_kinds:
            applies.append(facility.c.unit_kind.in_(rule.when.unit_kinds))
    return and_(True, *applies), and_(True, *known)


def compliance_facilities(indicator: ComplianceIndicator, scope: Scope, inputs: Inputs) -> Select:
    """Every selected facility with its service population, the columns its rules read, complies and known."""
    population = element_sum(
        scope, element_id=inputs.element_ids.get("population"), period=inputs.periods["population"]
    ).subquery("population")
    columns = [
        FAC.c.id,
        FAC.c.code,
        FAC.c.name,
        FAC.c.org_unit_id,
        FAC.c.type,
        ORG.c.kind.label("unit_kind"),
        population.c.value.label("service_population"),
    ]
    query = select(*columns, *[FAC.c[name] for name in _fields(indicator)])
    query = (
        query.select_from(FAC)
        .join(ORG, ORG.c.id == FAC.c.org_unit_id)
        .outerjoin(population, population.c.anc_id == FAC.c.org_unit_id)
    )
    for rule in indicator.rules:
        if rule.element:
            own = DV.alias(f"own_{rule.element}")
            query = query.add_columns(cast(own.c.value, Float).label(rule.element)).outerjoin(
                own,
                and_(
                    own.c.facility_id == FAC.c.id,
                    own.c.element_id == inputs.element_ids.get(rule.element, -1),
                    own.c.period == inputs.periods[rule.element],
                ),
            )
    return query.where(in_subtree(ORG.c.path, scope.root_path), *facility_filter(indicator.facilities, scope))


def _fields(indicator: ComplianceIndicator) -> list[str]:
    return sorted({rule.field for rule in indicator.rules if rule.field})


def judged(indicator: ComplianceIndicator, facilities) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(complies, known) for rows of `compliance_facilities`."""
    complies, known = [], []
    for rule in indicator.rules:
        applies, rule_known = _rule_parts(rule, facilities)
        column = facilities.c[rule.field or rule.element]
        complies.append(or_(not_(applies), compare(column, rule.op, rule.value)))
        known.append(and_(rule_known, or_(not_(applies), column.is_not(None))))
    return and_(*complies), and_(*known)


def compliance(indicator: ComplianceIndicator, scope: Scope, inputs: Inputs) -> Select:
    """Share of selected facilities meeting every rule that applies to them; unknown ones are reported."""
    ua = scope.ancestors
    facilities = compliance_facilities(indicator, scope, inputs).subquery("facilities")
    complies, known = judged(indicator, facilities)
    counted = (
        select(
            ua.c.anc_id,
            func.count().filter(known).label("den"),
            func.count().filter(and_(known, complies)).label("num"),
            func.count().filter(not_(known)).label("unknown"),
        )
        .select_from(facilities)
        .join(ua, ua.c.unit_id == facilities.c.org_unit_id)
        .group_by(ua.c.anc_id)
        .subquery("counted")
    )
    anc = self_rows(scope).subquery("anc")
    den = func.coalesce(counted.c.den, 0)
    unknown = func.coalesce(counted.c.unknown, 0)
    uses_population = any(rule.when and rule.when.service_population for rule in indicator.rules)
    elements = sorted({rule.element for rule in indicator.rules if rule.element})
    needs = "/".join(_fields(indicator) + elements + ["population"] * uses_population)
    missing = case(
        (unknown > 0, literal('["') + cast(unknown, String) + literal(f' facilities lack {needs}"]')),
        (den == 0, json.dumps([f"no {'/'.join(indicator.facilities.types)} facility"])),
        else_="[]",
    )
    value = case((unknown > 0, None), else_=ratio_value(counted.c.num, den))
    shaped = _shape(anc, counted.c.num, den, value, missing)
    return shaped.select_from(anc.outerjoin(counted, counted.c.anc_id == anc.c.anc_id))


def _sub_periods(indicator: FrequencyIndicator, scope: Scope):
    rows = [
        select(literal(i, Integer).label("n"), literal(start).label("starts"), literal(end).label("ends"))
        for i, (start, end) in enumerate(sub_periods(scope.period, per=indicator.per))
    ]
    return union_all(*rows).subquery("sub") if len(rows) > 1 else rows[0].subquery("sub")


def _sub_period_number(indicator: FrequencyIndicator, scope: Scope, month: ColumnElement) -> ColumnElement[int]:
    """The index of an activity's sub-period (from its month), in the order `sub_periods` lists them."""
    if indicator.per == "month" and scope.period.kind != "month":
        return cast(month, Integer) - scope.period.start.month
    if indicator.per == "quarter" and scope.period.kind == "year":
        return (cast(month, Integer) - 1) / 3
    return literal(0, Integer)


def frequency(indicator: FrequencyIndicator, scope: Scope, _inputs: Inputs) -> Select:
    """Share of (unit, sub-period) pairs with at least min_count selected activities."""
    ua = scope.ancestors
    sub = _sub_periods(indicator, scope)
    pairs = (
        select(ORG.c.id.label("unit_id"), sub.c.n)
        .select_from(ORG)
        .join(sub, literal(True))
        .where(
            ORG.c.kind.in_(indicator.units.kinds),
            in_subtree(ORG.c.path, scope.root_path),
            or_(ORG.c.opened_on.is_(None), ORG.c.opened_on <= sub.c.ends),
            or_(ORG.c.closed_on.is_(None), ORG.c.closed_on >= sub.c.starts),
        )
    ).subquery("pairs")
    month = extract("month", ACT.c.occurred_on)
    by_month = (
        select(ua.c.anc_id.label("unit_id"), month.label("month"), func.count(ACT.c.id).label("held"))
        .select_from(ACT)
        .join(ua, ua.c.unit_id == ACT.c.org_unit_id)
        .where(ua.c.anc_kind.in_(indicator.units.kinds), *activity_filter(indicator.activities, scope))
        .group_by(ua.c.anc_id, month)
    ).subquery("by_month")
    numbered = select(
        by_month.c.unit_id, _sub_period_number(indicator, scope, by_month.c.month).label("n"), by_month.c.held
    ).subquery("numbered")
    counts = (
        select(numbered.c.unit_id, numbered.c.n, func.sum(numbered.c.held).label("held")).group_by(
            numbered.c.unit_id, numbered.c.n
        )
    ).subquery("counts")
    met = func.coalesce(counts.c.held, 0) >= indicator.min_count
    per_unit = (
        select(pairs.c.unit_id, func.count().label("den"), func.count().filter(met).label("num"))
        .select_from(pairs)
        .outerjoin(counts, and_(counts.c.unit_id == pairs.c.unit_id, counts.c.n == pairs.c.n))
        .group_by(pairs.c.unit_id)
    ).subquery("per_unit")
    counted = (
        select(ua.c.anc_id, func.sum(per_unit.c.den).label("den"), func.sum(per_unit.c.num).label("num"))
        .select_from(per_unit)
        .join(ua, ua.c.unit_id == per_unit.c.unit_id)
        .group_by(ua.c.anc_id)
        .subquery("counted")
    )
    return _share(scope, counted, f"no {'/'.join(indicator.units.kinds)} in the subtree")


def count(indicator: CountIndicator, scope: Scope, _inputs: Inputs) -> Select:
    """Activities held in the subtree (per facility of a type when the standard counts per venue)."""
    ua = scope.ancestors
    anc = self_rows(scope).subquery("anc")
    held = select(ua.c.anc_id, func.count(ACT.c.id).label("value")).join(ua, ua.c.unit_id == ACT.c.org_unit_id)
    held = held.where(*activity_filter(indicator.activities, scope))
    if indicator.per_facility is None:
        held = held.group_by(ua.c.anc_id).subquery("held")
        num = func.coalesce(held.c.value, 0)
        shaped = _shape(anc, num, None, num, literal("[]"))
        return shaped.select_from(anc.outerjoin(held, held.c.anc_id == anc.c.anc_id))
    venue = FAC.alias("venue")
    held = (
        held.join(venue, venue.c.id == ACT.c.facility_id)
        .where(*facility_filter(indicator.per_facility, scope, venue))
        .group_by(ua.c.anc_id)
        .subquery("held")
    )
    venues = (
        select(ua.c.anc_id, func.count(FAC.c.id).label("value"))
        .join(ua, ua.c.unit_id == FAC.c.org_unit_id)
        .where(*facility_filter(indicator.per_facility, scope))
        .group_by(ua.c.anc_id)
        .subquery("venues")
    )
    num, den = func.coalesce(held.c.value, 0), func.coalesce(venues.c.value, 0)
    missing = case((den == 0, json.dumps([f"no {'/'.join(indicator.per_facility.types)} facility"])), else_="[]")
    shaped = _shape(anc, num, den, ratio_value(num, den), missing)
    return shaped.select_from(
        anc.outerjoin(held, held.c.anc_id == anc.c.anc_id).outerjoin(venues, venues.c.anc_id == anc.c.anc_id)
    )


def population_per_facility(indicator: PopulationPerFacilityIndicator, scope: Scope, inputs: Inputs) -> Select:
    """Residents per selected facility."""
    ua = scope.ancestors
    anc = self_rows(scope).subquery("anc")
    population = element_sum(
        scope, element_id=inputs.element_ids.get("population"), period=inputs.periods["population"]
    ).subquery("population")
    venues = (
        select(ua.c.anc_id, func.count(FAC.c.id).label("value"))
        .join(ua, ua.c.unit_id == FAC.c.org_unit_id)
        .where(*facility_filter(indicator.facilities, scope))
        .group_by(ua.c.anc_id)
        .subquery("venues")
    )
    num, den = population.c.value, func.coalesce(venues.c.value, 0)
    missing = missing_case(
        [(num.is_(None), "population"), (den == 0, f"no {'/'.join(indicator.facilities.types)} facility")]
    )
    shaped = _shape(anc, num, den, ratio_value(num, den), missing)
    return shaped.select_from(
        anc.outerjoin(population, population.c.anc_id == anc.c.anc_id).outerjoin(
            venues, venues.c.anc_id == anc.c.anc_id
        )
    )


def milestone(indicator: MilestoneIndicator, scope: Scope, _inputs: Inputs) -> Select:
    """1 when an assessor marked the requirement met with evidence, 0 when not met, no data before assessment."""
    anc = self_rows(scope).subquery("anc")
    assessed = MilestoneAssessment.__table__
    met = case((assessed.c.met.is_(None), None), (assessed.c.met, 1.0), else_=0.0)
    missing = case((assessed.c.met.is_(None), json.dumps(["assessment"])), else_="[]")
    shaped = _shape(anc, met, None, met, missing)
    return shaped.select_from(
        anc.outerjoin(
            assessed,
            and_(
                assessed.c.org_unit_id == anc.c.anc_id,
                assessed.c.indicator_code == indicator.code,
                assessed.c.period == scope.year,
            ),
        )
    )


FORMULAS = {
    "ratio": ratio,
    "coverage": coverage,
    "compliance": compliance,
    "frequency": frequency,
    "count": count,
    "population_per_facility": population_per_facility,
    "milestone": milestone,
}
