"""Large imports: every lookup by the file's codes goes in chunks, so no query carries more than 900 values
(SQLite refused a million-row import with "too many SQL variables")."""

from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.auth.models import Role
from shared.facilities.models import Facility
from shared.lookups import LOOKUP_CHUNK
from shared.orgunits.models import OrgUnit
from tests.support.factories import bearer, make_user

UNITS = 2500


@pytest.fixture
def lookup_sizes(engine: AsyncEngine) -> Iterator[list[int]]:
    """The number of bound values of every SELECT the test runs."""
    sizes: list[int] = []

    def count(_connection, _cursor, statement: str, parameters, _context, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            sizes.append(len(parameters or ()))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    yield sizes
    event.remove(engine.sync_engine, "before_cursor_execute", count)


async def _import(client: AsyncClient, auth: dict[str, str], kind: str, text: str) -> dict:
    response = await client.post(
        "/ingest/v1/imports",
        headers=auth,
        data={"kind": kind},
        files={"file": (f"{kind}.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text[:2000]
    return response.json()


async def test_thousands_of_units_and_facilities_import_with_every_lookup_chunked(
    client: AsyncClient, session: AsyncSession, lookup_sizes: list[int]
) -> None:
    auth = bearer(await make_user(session, username="bulk-admin", role=Role.admin))
    units = "code,name,level,kind,parent_code\nL100,大市,1,city,\n" + "".join(
        f"L1{number:05d},第{number}区,2,district,L100\n" for number in range(1, UNITS)
    )
    await _import(client, auth, "org_units", units)
    facilities = "code,name,type,org_unit_code\n" + "".join(
        f"F{number:05d},第{number}区文化馆,cultural_centre,L1{number:05d}\n" for number in range(1, UNITS)
    )
    await _import(client, auth, "facilities", facilities)
    again = await _import(client, auth, "facilities", facilities)  # every row now an update of a stored one

    assert await session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.code.like("L1%"))) == UNITS
    assert await session.scalar(select(func.count()).select_from(Facility).where(Facility.code.like("F%"))) == UNITS - 1
    assert again["kind"] == "facilities"
    assert lookup_sizes and max(lookup_sizes) <= LOOKUP_CHUNK + 10 <= 999
