"""The read access matrix: every GET route × every caller (each role at the street, the whole-tree admin, a resident
and a peer token without org unit, the unauthenticated) × (own, sibling, ancestor).

One world is built once for the module (the write matrix's, plus evidence files); one test per route sends all of
its cells and lists every cell that differs.
"""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from tests.security.matrix import POSITIONS, UNAUTHENTICATED, Position
from tests.security.read_matrix import CALLERS, EXEMPT, READS, Read
from tests.security.read_world import READ_REQUESTS, ReadWorld, build_read_world
from tests.security.render_matrix import DOC, render

SIGNED_IN = tuple(caller for caller in CALLERS if caller not in UNAUTHENTICATED)


@pytest.fixture(scope="module")
async def read_world_connection(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, ReadWorld]]:
    """One connection for the module, holding the world in a transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        setup = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        world = await build_read_world(setup)
        await setup.commit()
        await setup.close()
        yield connection, world
        await transaction.rollback()


@pytest.fixture
async def session(read_world_connection: tuple[AsyncConnection, ReadWorld]) -> AsyncIterator[AsyncSession]:
    """A session on the world's connection (reads write nothing; a token's last use is rolled back at the end)."""
    connection = read_world_connection[0]
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    await session.close()


@pytest.mark.parametrize("read", READS, ids=[read.path for read in READS])
async def test_every_caller_gets_the_expected_answer_in_each_position(
    client: AsyncClient, read_world_connection: tuple[AsyncConnection, ReadWorld], read: Read
) -> None:
    world = read_world_connection[1]
    wrong = []
    for position in POSITIONS:
        url, params = READ_REQUESTS[read.path](world, position)
        # Without a valid token the answer comes before any lookup: one position is enough.
        for caller in CALLERS if position == Position.own else SIGNED_IN:
            response = await client.get(url, params=params, headers=world.base.headers[caller])
            expected = read.expected(caller, position)
            if response.status_code != expected:
                wrong.append(
                    f"{caller} ({position}): {response.status_code}, expected {expected}: {response.text[:200]}"
                )
            elif expected >= 400:
                assert response.headers["content-type"] == "application/problem+json", f"{caller} ({position})"
    assert wrong == [], f"GET {read.path}"


def _read_routes(*apps: FastAPI) -> set[str]:
    return {
        str(route.path) for app in apps for route in iter_route_contexts(app.routes) if "GET" in (route.methods or ())
    }


def test_every_read_route_has_expectations_and_a_request() -> None:
    from services.api.main import app as api_app
    from services.ingest.main import app as ingest_app

    covered = {read.path for read in READS}
    routes = _read_routes(api_app, ingest_app)
    assert routes - covered - EXEMPT == set(), "GET routes without a row in tests/security/read_matrix.py"
    assert covered - routes == set(), "rows in tests/security/read_matrix.py for routes that no longer exist"
    assert len(covered) == len(READS), "a GET route has two rows"
    assert set(READ_REQUESTS) == covered, "every row needs its request in tests/security/read_world.py"


def test_the_committed_matrix_document_shows_the_reads() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/access-matrix.md is stale: python -m tests.security.render_matrix"
    )
