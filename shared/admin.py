"""Operator actions run from the command line as the system principal."""

import asyncio
from pathlib import Path

from sqlalchemy import select

from shared.auth.models import Role
from shared.auth.schemas import UserCreate
from shared.auth.scope import SYSTEM
from shared.auth.service import create_user
from shared.db import dispose_engine, session_scope
from shared.errors import InvalidInput
from shared.imports.service import ImportKind, run_import
from shared.indicators.engine.run import ComputationSummary, compute_indicators
from shared.orgunits.models import Department, OrgUnit
from shared.tasks.schemas import ImportSummary


async def create_user_by_codes(
    *,
    username: str,
    password: str,
    role: Role,
    org_unit_code: str | None,
    department_name: str | None,
) -> int:
    """Create a user, naming the org unit by code and the department by name."""
    try:
        async with session_scope() as session:
            org_unit_id = department_id = None
            if org_unit_code is not None:
                unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == org_unit_code))
                if unit is None:
                    raise InvalidInput(f"no org unit has code {org_unit_code}", field="org_unit")
                org_unit_id = unit.id
                if department_name is not None:
                    department_id = await session.scalar(
                        select(Department.id).where(
                            Department.org_unit_id == unit.id, Department.name == department_name
                        )
                    )
                    if department_id is None:
                        raise InvalidInput(f"{unit.name} has no department {department_name}", field="department")
            user = await create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    username=username,
                    password=password,
                    role=role,
                    org_unit_id=org_unit_id,
                    department_id=department_id,
                ),
            )
            assert user.id is not None
            return user.id
    finally:
        await dispose_engine()


async def import_as_system(*, kind: str, path: Path, plan_id: int | None) -> ImportSummary:
    """Import a file with the rights of the whole tree."""
    try:
        import_kind = ImportKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"{kind} is not an import kind ({', '.join(ImportKind)})", field="kind") from exc
    content = await asyncio.to_thread(path.read_bytes)
    try:
        async with session_scope() as session:
            return await run_import(
                session, actor=SYSTEM, kind=import_kind, content=content, filename=path.name, plan_id=plan_id
            )
    finally:
        await dispose_engine()


async def compute_as_system(*, org_unit_code: str, period: str, codes: list[str] | None) -> ComputationSummary:
    """Compute the indicators of a subtree named by its root's code."""
    try:
        async with session_scope() as session:
            unit_id = await session.scalar(select(OrgUnit.id).where(OrgUnit.code == org_unit_code))
            if unit_id is None:
                raise InvalidInput(f"no org unit has code {org_unit_code}", field="org_unit")
            return await compute_indicators(session, actor=SYSTEM, org_unit_id=unit_id, period=period, codes=codes)
    finally:
        await dispose_engine()
