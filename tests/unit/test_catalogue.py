"""The shipped standards catalogue loads whole; broken copies are refused naming file and line."""

import shutil
from pathlib import Path

import pytest

from shared.indicators.catalogue import (
    DEFAULT_DIRECTORY,
    Catalogue,
    CatalogueError,
    ComplianceIndicator,
    CountIndicator,
    CoverageIndicator,
    FacilityCountMeasure,
    FrequencyIndicator,
    MilestoneIndicator,
    RatioIndicator,
    element_codes,
    load_catalogue,
)

KEY_CODES = [f"K{n:02d}" for n in range(1, 16)]
GENERAL_CODES = [f"G{n:02d}" for n in range(1, 58)]
REQUIRED_ELEMENTS = {
    "population",
    "book_holdings",
    "new_books",
    "loans",
    "library_visits",
    "culture_spending",
    "digital_resources_tb",
    "registered_volunteers",
    "volunteer_hours",
    "training_days",
}
FRACTION_KINDS = (CoverageIndicator, ComplianceIndicator, FrequencyIndicator)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The catalogue as shipped."""
    return load_catalogue()


def test_shipped_catalogue_has_the_72_table_rows_in_order(catalogue: Catalogue) -> None:
    """Codes K01–K15 then G01–G57, categories matching."""
    assert [ind.code for ind in catalogue.indicators] == KEY_CODES + GENERAL_CODES
    assert [ind.code for ind in catalogue.indicators if ind.category == "key"] == KEY_CODES
    assert [ind.code for ind in catalogue.indicators if ind.category == "general"] == GENERAL_CODES
    assert catalogue.standard_of("G04").code == "batch4_east"


def test_every_formula_element_is_defined(catalogue: Catalogue) -> None:
    """Every element a formula reads is in elements.yaml, which has the required ones."""
    defined = {element.code for element in catalogue.elements}
    used = set().union(*(element_codes(ind) for ind in catalogue.indicators))
    assert used <= defined
    assert defined >= REQUIRED_ELEMENTS


def test_k03_encodes_the_station_area_bands(catalogue: Catalogue) -> None:
    """Floor area by service population band, outdoor area always."""
    k03 = catalogue.by_code("K03")
    assert isinstance(k03, ComplianceIndicator)
    assert k03.facilities.types == ["station"] and k03.facilities.statuses == ["open"]
    bands = {
        tuple((c.op, c.value) for c in rule.when.service_population): (rule.op, rule.value)
        for rule in k03.rules
        if rule.field == "floor_area_m2" and rule.when and rule.when.service_population
    }
    assert bands == {
        ((">=", 50000),): (">=", 1500),
        ((">=", 30000), ("<", 50000)): (">=", 1000),
        (("<", 30000),): (">=", 500),
    }
    outdoor = [rule for rule in k03.rules if rule.field == "outdoor_area_m2"]
    assert [(r.op, r.value, r.when) for r in outdoor] == [(">=", 600, None)]


def test_codes_fixed_by_other_parts_of_the_system(catalogue: Catalogue) -> None:
    """K02, K13, K14, G04 and G24 mean what the API and acceptance checks expect."""
    k02, k13, k14 = (catalogue.by_code(code) for code in ("K02", "K13", "K14"))
    assert isinstance(k02, CoverageIndicator) and k02.units.kinds == ["town", "street"]
    assert _qualifying_facility(k02).types == ["station"]
    assert isinstance(k13, CoverageIndicator) and k13.units.kinds == ["town", "street"]
    staff = _qualifying_facility(k13).where["staff_established"]
    assert (staff.op, staff.value) == (">=", 3)
    assert isinstance(k14, CoverageIndicator) and set(k14.units.kinds) == {"village", "community"}
    assert _qualifying_facility(k14).where["staff_purchased"].value == 1
    g04 = catalogue.by_code("G04")
    assert isinstance(g04, RatioIndicator)
    assert (g04.numerator.element, g04.denominator.element) == ("book_holdings", "population")
    assert {(t.plan, t.value) for t in g04.targets} == {("zhongshan_xiqu", 1.5), ("wenzhou", 1.5)}
    g24 = catalogue.by_code("G24")
    assert isinstance(g24, FrequencyIndicator)
    assert (g24.activities.types, g24.per, g24.min_count) == (["film_screening"], "month", 1)
    assert set(g24.units.kinds) == {"village", "community"}


def test_rates_are_fractions_and_milestones_have_evidence(catalogue: Catalogue) -> None:
    """Share-valued kinds never carry a threshold above 1; milestones say what to check."""
    for ind in catalogue.indicators:
        if isinstance(ind, FRACTION_KINDS) and ind.threshold:
            assert 0 < ind.threshold.value <= 1, ind.code
        if isinstance(ind, MilestoneIndicator):
            assert ind.evidence.strip(), ind.code
    assert isinstance(catalogue.by_code("G28"), CountIndicator)


def test_by_code_refuses_an_unknown_code(catalogue: Catalogue) -> None:
    """An unknown code is a KeyError, not None."""
    with pytest.raises(KeyError):
        catalogue.by_code("G58")


@pytest.mark.parametrize(
    ("code", "old", "new", "complaint"),
    [
        ("G04", "kind: ratio", "kind: rate", "kind"),
        ("G04", "element: book_holdings", "element: books_owned", "books_owned"),
        ("K02", "types: [station]", "types: [stations]", "facility_count.types"),
        ("K02", "kinds: [town, street]", "kinds: [town, township]", "units.kinds"),
        ("G06", 'op: ">=", value: 0.06', 'op: "=>", value: 0.06', "threshold.op"),
        ("G24", "types: [film_screening]", "types: [film]", "activities.types"),
        ("G05", "code: G05", "code: G04", "duplicate code 'G04'"),
    ],
)
def test_broken_indicator_is_refused_at_its_line(tmp_path: Path, code: str, old: str, new: str, complaint: str) -> None:
    """The error names the standard file and the line of the offending value."""
    directory = _copy_catalogue(tmp_path)
    path = directory / "batch4_east.yaml"
    line = _edit(path, code, old, new)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory=directory)
    assert f"{path}:{line}:" in str(caught.value)
    assert complaint in str(caught.value)


def test_formula_naming_an_element_missing_from_elements_yaml(tmp_path: Path) -> None:
    """Dropping new_books from elements.yaml makes G06's numerator fail at its line."""
    directory = _copy_catalogue(tmp_path)
    _drop_element(directory / "elements.yaml", "new_books")
    standard = directory / "batch4_east.yaml"
    line = _line_after(standard.read_text(encoding="utf-8").splitlines(), "G06", "new_books")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory=directory)
    assert f"{standard}:{line}:" in str(caught.value)
    assert "unknown data element 'new_books'" in str(caught.value)


def test_every_broken_indicator_is_listed(tmp_path: Path) -> None:
    """Two bad indicators give two located lines in one error."""
    directory = _copy_catalogue(tmp_path)
    path = directory / "batch4_east.yaml"
    lines = [
        _edit(path, "K01", "kind: coverage", "kind: tally"),
        _edit(path, "G07", "element: library_visits", "element: visits"),
    ]
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory=directory)
    assert all(f"{path}:{line}:" in str(caught.value) for line in lines)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    """A repeated key, which PyYAML would silently drop, is named with its line."""
    directory = _copy_catalogue(tmp_path)
    path = directory / "batch4_east.yaml"
    line = _edit(path, "G04", "unit: 册/人", "unit: 册/人\n    unit: 册")
    with pytest.raises(CatalogueError, match="duplicate key 'unit'") as caught:
        load_catalogue(directory=directory)
    assert f"{path}:{line + 1}:" in str(caught.value)


def _qualifying_facility(indicator: CoverageIndicator) -> FacilityCountMeasure:
    """The facility selector of a single-condition coverage indicator."""
    [condition] = indicator.qualifies
    assert isinstance(condition.measure, FacilityCountMeasure)
    assert (condition.op, condition.value) == (">=", 1)
    return condition.measure.facility_count


def _copy_catalogue(tmp_path: Path) -> Path:
    """A writable copy of the shipped catalogue directory."""
    return Path(shutil.copytree(DEFAULT_DIRECTORY, tmp_path / "catalogue"))


def _line_after(lines: list[str], code: str, needle: str) -> int:
    """1-based number of the first line containing needle at or after the code's entry."""
    start = lines.index(f"  - code: {code}")
    return next(n for n in range(start, len(lines)) if needle in lines[n]) + 1


def _edit(path: Path, code: str, old: str, new: str) -> int:
    """Replace old by new in the code's entry; return the edited line's number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    line = _line_after(lines, code, old)
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return line


def _drop_element(path: Path, code: str) -> None:
    """Remove one element's block from elements.yaml."""
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    kept = [block for block in blocks if f"- code: {code}\n" not in block]
    assert len(kept) == len(blocks) - 1
    path.write_text("\n\n".join(kept), encoding="utf-8")
