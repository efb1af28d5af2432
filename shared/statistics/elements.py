"""What a valid figure is: the catalogue's elements (kept in data_element), their periods and values, and the
units and facilities an entry names, resolved in bulk and checked against the caller's scope."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Row, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import Principal
from shared.concurrency import bump_version
from shared.db import is_postgres
from shared.errors import InvalidInput
from shared.facilities.models import Facility
from shared.indicators.catalogue import DataElementSpec, load_catalogue
from shared.lookups import lookup_in_chunks, named_place
from shared.orgunits.models import OrgUnit
from shared.statistics.models import DataElement
from shared.statistics.periods import Period, parse_period
from shared.statistics.schemas import DataElementPublic

SCALE = Decimal("0.0001")
LARGEST = Decimal("1e14")
Key = tuple[int, int | None, int | None, str]
T = TypeVar("T")


@lru_cache
def catalogue_elements() -> tuple[DataElementSpec, ...]:
    """The elements of elements.yaml, loaded once per process."""
    return load_catalogue().elements


def period_types_of(element: DataElement) -> tuple[str, ...]:
    """The period kinds (year, quarter, month) an element is reported for."""
    return tuple(kind for kind in element.period_types.split(",") if kind)


def _columns(spec: DataElementSpec) -> dict[str, str]:
    return {
        "code": spec.code,
        "name": spec.name,
        "unit": spec.unit,
        "value_type": spec.value_type,
        "aggregation": spec.aggregation,
        "period_types": ",".join(spec.period_types),
    }


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """INSERT of the session's dialect, which offers on_conflict_do_update / on_conflict_do_nothing."""
    return (postgresql.insert if is_postgres(session) else sqlite.insert)(table)


async def sync_elements(session: AsyncSession) -> dict[str, DataElement]:
    """Make data_element hold every catalogue element as shipped (writes only what differs); by code."""
    wanted = {spec.code: _columns(spec) for spec in catalogue_elements()}
    query = select(DataElement).execution_options(populate_existing=True)
    stored = {row.code: row for row in (await session.scalars(query)).all()}
    if missing := [columns for code, columns in wanted.items() if code not in stored]:
        table = DataElement.__table__
        await session.execute(dialect_insert(session, table).on_conflict_do_nothing(index_elements=["code"]), missing)
        query = query.where(DataElement.code.in_([columns["code"] for columns in missing]))
        stored |= {row.code: row for row in (await session.scalars(query)).all()}
    changed = False
    for code, columns in wanted.items():
        row = stored[code]
        if any(getattr(row, key) != value for key, value in columns.items()):
            for key, value in columns.items():
                setattr(row, key, value)
            bump_version(row)
            changed = True
    if changed:
        await session.flush()
    return {code: stored[code] for code in wanted}


async def list_elements(session: AsyncSession) -> list[DataElementPublic]:
    """Every catalogue element as clients see it, in catalogue order."""
    return [
        DataElementPublic.model_validate(element.model_dump() | {"period_types": period_types_of(element)})
        for element in (await sync_elements(session)).values()
    ]


async def get_element(session: AsyncSession, *, code: str, field: str = "element") -> DataElement:
    """The catalogue element with a code; a 422 naming the field when the catalogue has none."""
    element = (await sync_elements(session)).get(code)
    if element is None:
        raise InvalidInput(f"unknown data element {code!r}", field=field)
    return element


def check_period(element: DataElement, text: str) -> Period:
    """The period, when it parses and the element is reported for its kind; InvalidInput otherwise."""
    period = parse_period(text.strip())
    allowed = period_types_of(element)
    if period.kind not in allowed:
        raise InvalidInput(
            f"{element.code} is reported per {' or '.join(allowed)}, not per {period.kind} ({period.code})",
            field="period",
        )
    return period


def check_value(element: DataElement, raw: object) -> Decimal:
    """The value as stored (4 decimals) when it is a finite number ≥ 0, whole for integer elements."""
    if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip()):
        raise InvalidInput("a number is required", field="value")
    try:
        number = Decimal(str(raw).strip()) if isinstance(raw, int | float | str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidInput(f"{raw!r} is not a finite number", field="value")
    if number < 0:
        raise InvalidInput(f"{raw} is negative; values are counts or amounts, at least 0", field="value")
    if number >= LARGEST:
        raise InvalidInput(f"{raw} is too large (at most {LARGEST:.0e})", field="value")
    if element.value_type == "integer" and number != number.to_integral_value():
        raise InvalidInput(f"{element.code} counts whole {element.unit}: {raw} has a fraction", field="value")
    return number.quantize(SCALE)


@dataclass(frozen=True, slots=True)
class Entry:
    """One figure as a request or a file names it; `row` is the item's index or the spreadsheet row."""

    row: int
    element: str
    period: str
    value: object
    org_unit_id: int | None = None
    org_unit_code: str | None = None
    facility_id: int | None = None
    facility_code: str | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    """A checked figure, ready to store."""

    row: int
    element: DataElement
    org_unit_id: int
    facility_id: int | None
    period: Period
    value: Decimal
    key: Key = field(init=False)

    def __post_init__(self) -> None:
        # What the unique indexes identify a figure by: a facility's figure regardless of its org unit.
        assert self.element.id is not None
        unit_id = None if self.facility_id is not None else self.org_unit_id
        object.__setattr__(self, "key", (self.element.id, unit_id, self.facility_id, self.period.code))


@dataclass(slots=True)
class Checked:
    """The figures that passed, every problem by row and field, and the rows outside the caller's scope."""

    figures: list[Figure] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    denied: list[dict[str, Any]] = field(default_factory=list)


async def _places(session: AsyncSession, entries: Sequence[Entry]) -> dict[str, dict[Any, Row[Any]]]:
    """Org units and facilities the entries name, one query per kind: by id and by code."""
    units = select(OrgUnit.id, OrgUnit.code, OrgUnit.path)
    facilities = select(Facility.id, Facility.code, Facility.org_unit_id, OrgUnit.path).join(
        OrgUnit, OrgUnit.id == Facility.org_unit_id
    )
    wanted = {
        "org_unit_id": (units, OrgUnit.id, {e.org_unit_id for e in entries if e.org_unit_id is not None}),
        "org_unit_code": (units, OrgUnit.code, {e.org_unit_code.strip() for e in entries if e.org_unit_code}),
        "facility_id": (facilities, Facility.id, {e.facility_id for e in entries if e.facility_id is not None}),
        "facility_code": (facilities, Facility.code, {e.facility_code.strip() for e in entries if e.facility_code}),
    }
    found: dict[str, dict[Any, Row[Any]]] = {}
    for name, (query, column, values) in wanted.items():
        rows = await lookup_in_chunks(session, query, column, values) if values else []
        found[name] = {row.id if name.endswith("_id") else row.code: row for row in rows}
    return found


def _place(
    entry: Entry, places: dict[str, dict[Any, Row[Any]]], *, what: str, note: Callable[[str, str], None]
) -> tuple[Row[Any] | None, str]:
    """The unit or facility an entry names by id or code, and the field that named it."""
    field_name = f"{what}_code" if getattr(entry, f"{what}_id") is None else f"{what}_id"
    return named_place(entry, places, what=what, note=note), field_name


def _attempt(check: Callable[[], T], *, name: str, note: Callable[[str, str], None]) -> T | None:
    try:
        return check()
    except InvalidInput as exc:
        note(name, exc.detail)
        return None


def _check_entry(
    entry: Entry, *, actor: Principal, elements: dict[str, DataElement], places: dict[str, Any], checked: Checked
) -> Figure | None:
    before = len(checked.errors)

    def note(name: str, message: str) -> None:
        checked.errors.append({"row": entry.row, "field": name, "message": message})

    element = elements.get(entry.element.strip())
    period = value = None
    if element is None:
        note("element", f"unknown data element {entry.element!r}")
        _attempt(lambda: parse_period(entry.period.strip()), name="period", note=note)
    else:
        period = _attempt(lambda: check_period(element, entry.period), name="period", note=note)
        value = _attempt(lambda: check_value(element, entry.value), name="value", note=note)
    unit, unit_field = _place(entry, places, what="org_unit", note=note)
    if unit is None and entry.org_unit_id is None and not (entry.org_unit_code or "").strip():
        note(unit_field, "name the org unit (org_unit_id or org_unit_code)")
    facility, facility_field = _place(entry, places, what="facility", note=note)
    if unit is not None and not actor.covers(unit.path):
        message = f"org unit {unit.code} lies outside your org-unit scope"
        checked.denied.append({"row": entry.row, "field": unit_field, "message": message})
        return None
    if unit is not None and facility is not None and not facility.path.startswith(unit.path):
        note(facility_field, f"facility {facility.code} is not inside org unit {unit.code}")
    if len(checked.errors) > before or element is None or period is None or value is None or unit is None:
        return None
    unit_id = facility.org_unit_id if facility is not None else unit.id
    return Figure(entry.row, element, unit_id, facility.id if facility is not None else None, period, value)


async def check_entries(session: AsyncSession, *, actor: Principal, entries: Sequence[Entry]) -> Checked:
    """Resolve every name with one query per kind and check every entry; problems by row and field."""
    elements = await sync_elements(session)
    places = await _places(session, entries)
    checked, first_row = Checked(), {}
    for entry in entries:
        figure = _check_entry(entry, actor=actor, elements=elements, places=places, checked=checked)
        if figure is None:
            continue
        if figure.key in first_row:
            message = f"the same figure (element, unit or facility, period) as row {first_row[figure.key]}"
            checked.errors.append({"row": entry.row, "field": "value", "message": message})
            continue
        first_row[figure.key] = entry.row
        checked.figures.append(figure)
    return checked
