"""The tables the change feed carries, in the order a snapshot sends them (a row's parents come first).

Adding a table to the feed is one line here (the trigger that logs its changes is installed by the next migrate).
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tracked:
    """A table whose changes travel: how a pulled copy is found again and which org unit a row belongs to."""

    table: str
    # Columns that identify the row across instances (foreign keys compared after mapping); () = by origin only.
    natural_key: tuple[str, ...] = ()
    # The column and table to follow to the org unit that scopes the row; None: the row is its own unit or global.
    scope: tuple[str, str] | None = ("org_unit_id", "org_unit")
    # Kept only as pulled provenance rows, not copied into the local table (the higher level computes its own).
    mirror_only: bool = False
    # Columns that mean nothing on another instance (user ids): sent, but not copied.
    drop: tuple[str, ...] = ()


REGISTRY: tuple[Tracked, ...] = (
    Tracked("org_unit", natural_key=("code",), scope=None),
    Tracked("data_element", natural_key=("code",), scope=None),
    Tracked("department", natural_key=("org_unit_id", "name")),
    Tracked("facility", natural_key=("code",)),
    Tracked("data_value", natural_key=("element_id", "org_unit_id", "facility_id", "period"), drop=("entered_by_id",)),
    Tracked("activity"),
    Tracked("plan"),
    Tracked("plan_phase", scope=("plan_id", "plan")),
    Tracked("task", natural_key=("plan_id", "code"), scope=("plan_id", "plan")),
    Tracked("progress_update", scope=("task_id", "task")),
    Tracked("indicator_result", natural_key=("indicator_code", "org_unit_id", "period"), mirror_only=True),
    Tracked("report", natural_key=("org_unit_id", "kind", "period"), drop=("submitted_by_id",)),
    Tracked("report_comment", scope=("report_id", "report"), drop=("author_id",)),
)

BY_TABLE: dict[str, Tracked] = {tracked.table: tracked for tracked in REGISTRY}
ORDER: dict[str, int] = {tracked.table: index for index, tracked in enumerate(REGISTRY)}
