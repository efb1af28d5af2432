"""Every route caps its request body before anyone is logged in: 413 problem+json, whatever the Content-Type says,
counted as a chunked body streams in."""

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.edge import MULTIPART_ALLOWANCE, SMALL_BODY_BYTES, BodyLimit
from shared.auth.models import Role
from shared.config import get_settings
from shared.plans.models import Plan
from tests.support.factories import bearer, make_tree, make_user
from tests.support.processes import environment, free_port, start_service

PROBLEM = "application/problem+json"


@pytest.fixture
def small_staff_cap() -> Iterator[int]:
    """A staff JSON cap small enough to send past quickly."""
    settings = get_settings()
    before = settings.staff_json_max_bytes
    settings.staff_json_max_bytes = 16 * 1024
    yield settings.staff_json_max_bytes
    settings.staff_json_max_bytes = before


async def _chunks(total: int, *, size: int = 1024) -> AsyncIterator[bytes]:
    """A JSON document of `total` bytes, sent in pieces without a Content-Length."""
    body = b'{"name": "' + b"x" * (total - 12) + b'"}'
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _too_large(response) -> bool:
    return response.status_code == 413 and response.headers["content-type"] == PROBLEM


def test_each_route_takes_the_body_its_openapi_operation_declares() -> None:
    from services.api.main import app as api
    from services.ingest.main import app as ingest

    settings = get_settings()
    api_limits, ingest_limits = BodyLimit(api, schema=api.openapi), BodyLimit(ingest, schema=ingest.openapi)
    assert api_limits.limit_for("POST", "/api/v1/auth/token") == SMALL_BODY_BYTES
    assert api_limits.limit_for("GET", "/api/v1/plans") == SMALL_BODY_BYTES
    assert api_limits.limit_for("POST", "/api/v1/users/7/deactivate") == SMALL_BODY_BYTES
    assert api_limits.limit_for("POST", "/api/v1/no/such/route") == SMALL_BODY_BYTES
    assert api_limits.limit_for("POST", "/api/v1/plans") == settings.staff_json_max_bytes
    assert api_limits.limit_for("PUT", "/api/v1/data-values") == settings.staff_json_max_bytes
    assert api_limits.limit_for("POST", "/api/v1/orders") == settings.json_max_bytes
    assert api_limits.limit_for("POST", "/api/v1/auth/wechat") == settings.json_max_bytes
    evidence = settings.evidence_max_bytes + MULTIPART_ALLOWANCE
    assert api_limits.limit_for("POST", "/api/v1/tasks/12/evidence") == evidence
    assert ingest_limits.limit_for("POST", "/ingest/v1/imports") == settings.import_max_bytes + MULTIPART_ALLOWANCE
    assert ingest_limits.limit_for("POST", "/ingest/v1/computations") == settings.staff_json_max_bytes


async def test_oversized_bodies_on_staff_routes_are_refused_before_login(client: AsyncClient) -> None:
    huge = b'{"name": "' + b"x" * (get_settings().staff_json_max_bytes + 1) + b'"}'
    plan = await client.post("/api/v1/plans", content=huge, headers={"Content-Type": "application/json"})
    assert _too_large(plan), plan.text  # not 401: the body was never read whole
    assert "at most" in plan.json()["detail"]
    form = await client.post("/api/v1/auth/token", data={"username": "u" * SMALL_BODY_BYTES, "password": "p"})
    assert _too_large(form)
    no_body = await client.post("/api/v1/users/1/deactivate", content=b"x" * (SMALL_BODY_BYTES + 1))
    assert _too_large(no_body)
    computation = await client.post(
        "/ingest/v1/computations", content=huge, headers={"Content-Type": "application/json"}
    )
    assert _too_large(computation)


async def test_a_body_without_a_json_content_type_is_capped_all_the_same_and_not_read_as_json(
    client: AsyncClient, session: AsyncSession, small_staff_cap: int
) -> None:
    # A resident's route: 64 KiB, whatever the Content-Type (the old cap looked only at JSON bodies).
    for content_type in (None, "text/plain", "application/octet-stream"):
        headers = {"Content-Type": content_type} if content_type else {}
        order = await client.post("/api/v1/orders", content=b"{" + b" " * (64 * 1024) + b"}", headers=headers)
        assert _too_large(order), (content_type, order.status_code)
    staff = await client.post("/api/v1/plans", content=b" " * (small_staff_cap + 1), headers={})
    assert _too_large(staff)
    # Within the cap, a JSON document sent as text is not taken for JSON: a 422 that writes nothing.
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    body = (
        f'{{"name": "创建方案", "org_unit_id": {tree.district.id}, '
        f'"starts_on": "{date(2026, 1, 1)}", "ends_on": "{date(2027, 12, 31)}"}}'
    ).encode()
    before = await session.scalar(select(func.count()).select_from(Plan))
    for content_type in (None, "text/plain"):
        headers = office | ({"Content-Type": content_type} if content_type else {})
        refused = await client.post("/api/v1/plans", content=body, headers=headers)
        assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM, refused.text
    assert await session.scalar(select(func.count()).select_from(Plan)) == before
    accepted = await client.post("/api/v1/plans", content=body, headers=office | {"Content-Type": "application/json"})
    assert accepted.status_code == 201, accepted.text


async def test_chunked_bodies_are_counted_as_they_arrive(client: AsyncClient, small_staff_cap: int) -> None:
    headers = {"Content-Type": "application/json"}
    order = await client.post("/api/v1/orders", content=_chunks(64 * 1024 + 1), headers=headers)
    assert order.request.headers.get("transfer-encoding") == "chunked"
    assert _too_large(order)
    plan = await client.post("/api/v1/plans", content=_chunks(small_staff_cap + 1), headers=headers)
    assert _too_large(plan)
    # Under the cap the request goes on to login as before.
    within = await client.post("/api/v1/plans", content=_chunks(small_staff_cap - 1), headers=headers)
    assert within.status_code == 401


def test_a_real_server_counts_chunked_bodies_before_login(own_database_url: str, tmp_path: Path) -> None:
    env = environment(
        database_url=own_database_url,
        data_dir=tmp_path,
        SECRET_KEY="request-bodies-test-secret-0123456789",
        STAFF_JSON_MAX_BYTES="16384",
    )
    port = free_port()
    process = start_service("api", port=port, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            headers = {"Content-Type": "application/json"}

            def pieces(total: int) -> Iterator[bytes]:
                body = b'{"name": "' + b"x" * (total - 12) + b'"}'
                for start in range(0, len(body), 1024):
                    yield body[start : start + 1024]

            for path, cap in (("/api/v1/plans", 16384), ("/api/v1/orders", get_settings().json_max_bytes)):
                over = http.post(path, content=pieces(cap + 1), headers=headers)
                assert over.request.headers.get("transfer-encoding") == "chunked"
                assert _too_large(over), (path, over.status_code)
                within = http.post(path, content=pieces(cap - 1), headers=headers)
                assert within.status_code == 401, (path, within.status_code)
    finally:
        process.terminate()
        process.wait(timeout=10)
