"""Plain helpers that create rows (flush only) and bearer headers for tests."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role, User
from shared.auth.security import issue_access_token
from shared.orgunits.models import KIND_LEVELS, Department, OrgUnit, OrgUnitKind
from shared.plans.models import Plan


async def make_unit(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: OrgUnitKind,
    parent: OrgUnit | None = None,
    opened_on: date | None = None,
    closed_on: date | None = None,
) -> OrgUnit:
    """An org unit with its materialised path."""
    unit = OrgUnit(
        code=code,
        name=name,
        level=KIND_LEVELS[kind],
        kind=kind,
        parent_id=parent.id if parent else None,
        path="",
        opened_on=opened_on,
        closed_on=closed_on,
    )
    session.add(unit)
    await session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    await session.flush()
    return unit


async def make_department(session: AsyncSession, *, unit: OrgUnit, name: str) -> Department:
    """A department of a unit."""
    department = Department(org_unit_id=unit.id, name=name)
    session.add(department)
    await session.flush()
    return department


async def make_user(
    session: AsyncSession,
    *,
    username: str,
    role: Role,
    unit: OrgUnit | None = None,
    department: Department | None = None,
    password_hash: str | None = None,
) -> User:
    """A user (no password unless a hash is given)."""
    user = User(
        username=username,
        role=role,
        org_unit_id=unit.id if unit else None,
        department_id=department.id if department else None,
        password_hash=password_hash,
    )
    session.add(user)
    await session.flush()
    return user


def bearer(user: User) -> dict[str, str]:
    """An Authorization header for a user."""
    assert user.id is not None
    return {"Authorization": f"Bearer {issue_access_token(user_id=user.id, role=user.role.value)}"}


async def make_plan(
    session: AsyncSession,
    *,
    unit: OrgUnit,
    starts_on: date = date(2018, 1, 1),
    ends_on: date = date(2020, 12, 31),
) -> Plan:
    """A plan for a unit."""
    plan = Plan(org_unit_id=unit.id, name=f"{unit.name}创建方案", starts_on=starts_on, ends_on=ends_on)
    session.add(plan)
    await session.flush()
    return plan


class Tree:
    """A small district: city → district → two streets → communities and a village."""

    def __init__(self) -> None:
        self.city: OrgUnit
        self.district: OrgUnit
        self.street_a: OrgUnit
        self.street_b: OrgUnit
        self.community_a1: OrgUnit
        self.community_a2: OrgUnit
        self.village_b1: OrgUnit
        self.other_district: OrgUnit


async def make_tree(session: AsyncSession) -> Tree:
    """The small tree most tests use."""
    tree = Tree()
    tree.city = await make_unit(session, code="410100", name="郑州市", kind=OrgUnitKind.city)
    tree.district = await make_unit(session, code="410105", name="金水区", kind=OrgUnitKind.district, parent=tree.city)
    tree.other_district = await make_unit(
        session, code="410102", name="中原区", kind=OrgUnitKind.district, parent=tree.city
    )
    tree.street_a = await make_unit(
        session, code="410105001000", name="经八路街道", kind=OrgUnitKind.street, parent=tree.district
    )
    tree.street_b = await make_unit(
        session, code="410105002000", name="丰庆路街道", kind=OrgUnitKind.street, parent=tree.district
    )
    tree.community_a1 = await make_unit(
        session, code="410105001001", name="四月天社区", kind=OrgUnitKind.community, parent=tree.street_a
    )
    tree.community_a2 = await make_unit(
        session, code="410105001002", name="安泰社区", kind=OrgUnitKind.community, parent=tree.street_a
    )
    tree.village_b1 = await make_unit(
        session, code="410105002001", name="西史赵村", kind=OrgUnitKind.village, parent=tree.street_b
    )
    return tree
