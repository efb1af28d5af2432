"""Demo data for a newcomer: the Jinshui district tree, a plan with the Xiqu task table, users, progress."""

import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.schemas import UserCreate
from shared.auth.scope import SYSTEM
from shared.auth.service import create_user
from shared.config import get_settings, write_private
from shared.db import dispose_engine, session_scope
from shared.demo.living import load_living_data
from shared.imports.org_units import import_org_units
from shared.orgunits.models import Department, OrgUnit, OrgUnitKind
from shared.plans.models import PhaseKind
from shared.plans.schemas import PhaseIn, PlanCreate
from shared.plans.service import create_plan
from shared.statistics.periods import parse_period
from shared.statistics.service import set_unit_value
from shared.tasks.evidence import store_evidence
from shared.tasks.importer import import_task_table
from shared.tasks.models import Task
from shared.tasks.progress import add_progress
from shared.tasks.schemas import ProgressCreate

HERE = Path(__file__).parent
DISTRICT = "410105"
PHASES = [
    PhaseIn(kind=PhaseKind.mobilisation, name="动员部署", starts_on=date(2018, 1, 1), ends_on=date(2018, 3, 31)),
    PhaseIn(kind=PhaseKind.full_creation, name="全面创建", starts_on=date(2018, 4, 1), ends_on=date(2020, 6, 30)),
    PhaseIn(kind=PhaseKind.self_check, name="巩固自查", starts_on=date(2020, 7, 1), ends_on=date(2020, 9, 30)),
    PhaseIn(kind=PhaseKind.inspection, name="总结迎检", starts_on=date(2020, 10, 1), ends_on=date(2020, 12, 31)),
]
USERS = [
    ("admin", Role.admin, None, None),
    ("office", Role.plan_manager, DISTRICT, None),
    ("xuanchuan", Role.department_reporter, DISTRICT, "宣传办"),
    ("clerk", Role.unit_clerk, "410105001000", None),
    ("viewer", Role.viewer, DISTRICT, None),
]
PROGRESS = [
    ("1.1", 100, "已召开领导小组专题会议，印发会议纪要。"),
    ("1.3", 60, "领导小组例会制度已起草，待审议。"),
    ("5.1", 100, "全区社区均已建成基层综合性文化服务中心。"),
    ("9.2", 40, "新书采购进行中。"),
]


async def load_demo() -> list[str]:
    """Fill an empty database with the demo; returns the lines to print (credentials included)."""
    if not get_settings().demo_mode:
        return ["demo data is loaded only with DEMO_MODE=true"]
    try:
        async with session_scope() as session:
            if await session.scalar(select(func.count()).select_from(OrgUnit)):
                return ["database already holds data: demo not loaded"]
            return await _load(session)
    finally:
        await dispose_engine()


async def _load(session: AsyncSession) -> list[str]:
    await import_org_units(
        session, actor=SYSTEM, content=(HERE / "jinshui_org_units.csv").read_bytes(), filename="jinshui_org_units.csv"
    )
    district = await session.scalar(select(OrgUnit).where(OrgUnit.code == DISTRICT))
    assert district is not None
    await _population(session)
    plan = await create_plan(
        session,
        actor=SYSTEM,
        data=PlanCreate(
            name="金水区创建国家公共文化服务体系示范区工作方案（2018—2020年，演示）",
            org_unit_id=district.id,
            starts_on=date(2018, 1, 1),
            ends_on=date(2020, 12, 31),
            phases=PHASES,
        ),
    )
    assert plan.id is not None
    summary = await import_task_table(
        session,
        actor=SYSTEM,
        plan_id=plan.id,
        filename="xiqu_tasks.csv",
        content=(HERE / "xiqu_tasks.csv").read_bytes(),
    )
    await _progress(session, plan_id=plan.id)
    living = await load_living_data(
        session, centres_csv=(HERE / "jinshui_centres.csv").read_bytes(), district=district, plan_id=plan.id
    )
    lines = [
        f"demo: {summary.created['work_tasks']} work tasks and {summary.created['breakdown_items']} "
        f"breakdown items in plan {plan.id}; 107 org units",
        *living,
        "demo users (demo mode only):",
    ]
    credentials = []
    for username, role, code, department_name in USERS:
        password = secrets.token_urlsafe(12)
        unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if code else None
        department_id = (
            await session.scalar(
                select(Department.id).where(Department.org_unit_id == district.id, Department.name == department_name)
            )
            if department_name
            else None
        )
        await create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                username=username,
                password=password,
                role=role,
                org_unit_id=unit.id if unit else None,
                department_id=department_id,
            ),
        )
        credentials.append(f"  {username:10} {password}  ({role.value}{', ' + code if code else ''})")
    path = get_settings().data_dir / "demo-credentials.txt"
    write_private(path, "\n".join(credentials) + "\n")
    return lines + credentials + [f"(also written to {path})"]


async def _population(session: AsyncSession) -> None:
    """Deterministic demo populations for communities and villages (2018–2020)."""
    units = (
        await session.scalars(select(OrgUnit).where(OrgUnit.kind.in_([OrgUnitKind.community, OrgUnitKind.village])))
    ).all()
    for unit in units:
        base = 3000 + int(hashlib.sha256(unit.code.encode()).hexdigest()[:4], 16) % 9000
        for offset, year in enumerate((2018, 2019, 2020)):
            await set_unit_value(
                session,
                actor=SYSTEM,
                element_code="population",
                org_unit=unit,
                period=parse_period(str(year)),
                value=base + 50 * offset,
                source="demo",
            )


async def _progress(session: AsyncSession, *, plan_id: int) -> None:
    tasks = {task.code: task for task in (await session.scalars(select(Task).where(Task.plan_id == plan_id))).all()}
    for code, percent, note in PROGRESS:
        await add_progress(
            session, actor=SYSTEM, task_id=tasks[code].id, data=ProgressCreate(note=note, percent_complete=percent)
        )

    async def minutes() -> AsyncIterator[bytes]:
        yield b"%PDF-1.4\n% demo meeting minutes\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    await store_evidence(
        session,
        actor=SYSTEM,
        task_id=tasks["1.1"].id,
        filename="领导小组会议纪要.pdf",
        content_type="application/pdf",
        chunks=minutes(),
        description="会议纪要（演示）",
    )
