"""The catalogue as clients read it."""

from pydantic import BaseModel

from shared.indicators.catalogue import MilestoneIndicator
from shared.indicators.engine.run import catalogue


class CatalogueIndicator(BaseModel):
    """An indicator of the standards catalogue."""

    code: str
    category: str
    name: str
    kind: str
    unit: str
    standard_text: str
    thresholds: list[dict]
    note: str | None


def list_catalogue() -> list[CatalogueIndicator]:
    """Every indicator in table order."""
    items = []
    for indicator in catalogue().indicators:
        if isinstance(indicator, MilestoneIndicator):
            thresholds: list[dict] = []
        elif indicator.thresholds:
            thresholds = [t.model_dump() for t in indicator.thresholds]
        else:
            thresholds = [indicator.threshold.model_dump()] if indicator.threshold else []
        items.append(
            CatalogueIndicator(
                code=indicator.code,
                category=indicator.category,
                name=indicator.name,
                kind=indicator.kind,
                unit=indicator.unit,
                standard_text=indicator.standard_text,
                thresholds=thresholds,
                note=indicator.note,
            )
        )
    return items
