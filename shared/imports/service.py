"""One entry point for every kind of import, used by the ingest service and the CLI."""

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.importer import import_activities
from shared.auth.scope import Principal
from shared.config import get_settings
from shared.errors import InvalidInput, PayloadTooLarge
from shared.facilities.importer import import_facilities
from shared.filenames import safe_filename
from shared.imports.org_units import import_org_units
from shared.observability import IMPORT_SECONDS, timed
from shared.statistics.importer import import_data_values
from shared.tasks.importer import import_task_table
from shared.tasks.schemas import ImportSummary


class ImportKind(StrEnum):
    """What a file holds."""

    tasks = "tasks"
    org_units = "org_units"
    facilities = "facilities"
    data_values = "data_values"
    activities = "activities"


async def run_import(
    session: AsyncSession,
    *,
    actor: Principal,
    kind: ImportKind,
    content: bytes,
    filename: str,
    plan_id: int | None = None,
) -> ImportSummary:
    """Import a file of a kind; ImportRefused (422, every bad row) leaves the database as it was."""
    filename = safe_filename(filename, default="upload")
    if len(content) > get_settings().import_max_bytes:
        raise PayloadTooLarge(f"the file exceeds the import limit of {get_settings().import_max_bytes} bytes")
    if not content:
        raise InvalidInput("the file is empty", field="file")
    if kind == ImportKind.tasks:
        if plan_id is None:
            raise InvalidInput("a task table is imported into a plan: send plan_id", field="plan_id")
        with timed(IMPORT_SECONDS, kind=kind.value):
            return await import_task_table(session, actor=actor, plan_id=plan_id, content=content, filename=filename)
    importer = {
        ImportKind.org_units: import_org_units,
        ImportKind.facilities: import_facilities,
        ImportKind.data_values: import_data_values,
        ImportKind.activities: import_activities,
    }[kind]
    with timed(IMPORT_SECONDS, kind=kind.value):
        created = await importer(session, actor=actor, content=content, filename=filename)
    return ImportSummary(kind=kind.value, created=created)
