"""Health, readiness, OpenAPI and problem+json on both HTTP services."""

import importlib
import re

import pytest
from httpx import AsyncClient


@pytest.mark.parametrize("prefix", ["/api/v1/plans", "/ingest/v1/imports"])
async def test_unknown_routes_and_methods_answer_problem_json(client: AsyncClient, prefix: str) -> None:
    response = await client.put(prefix + "/nowhere/at/all")
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/problem+json"


async def test_health_and_readiness(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    assert (await client.get("/healthz")).headers["x-request-id"]


async def test_openapi_names_every_fixed_endpoint(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/org-units", "/api/v1/plans", "/api/v1/plans/{plan_id}/tasks"):
        assert path in paths
    assert "examples" in str(paths["/api/v1/plans"]["post"]) or "example" in str(
        (await client.get("/openapi.json")).json()["components"]["schemas"]["PlanCreate"]
    )


async def test_malformed_json_is_a_422_naming_the_problem(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/plans", content=b"{not json", headers={"content-type": "application/json", "Authorization": "Bearer x"}
    )
    assert response.status_code in (401, 422)
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("service", ["api", "ingest"])
def test_operation_ids_name_the_tag_and_the_function(service: str) -> None:
    app = importlib.import_module(f"services.{service}.main").app
    operations = [op for path in app.openapi()["paths"].values() for op in path.values()]
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*-[a-z][a-z0-9_]*", operation_id) for operation_id in ids), ids
    assert {"tasks-update_task", "imports-create_import"} & set(ids)
