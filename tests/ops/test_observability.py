"""Operators trace a change from a JSON log line to its audit entry and read /metrics on every service."""

import io
import json
import logging
import re
import time

import httpx
import pytest
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.observability import json_formatter, log_formatter
from tests.support.factories import bearer, make_tree, make_user
from tests.support.processes import environment, free_port, start_service


def _sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition; 0 when it is not there yet."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return sample.value
    return 0.0


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_a_change_is_traced_from_its_log_line_to_its_audit_entry(
    client: AsyncClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    caplog.set_level("INFO")
    caplog.handler.setFormatter(json_formatter())
    created = await client.post(
        f"/api/v1/org-units/{tree.district.id}/departments",
        json={"name": "宣传办"},
        headers=office | {"X-Request-ID": "trace-0042"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == "trace-0042"
    lines = [line for line in _json_lines(caplog.text) if line.get("request_id") == "trace-0042"]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "request" and line["level"] == "info" and line["service"] == "api"
    assert line["method"] == "POST" and line["path"] == f"/api/v1/org-units/{tree.district.id}/departments"
    assert line["status"] == 201 and line["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line["timestamp"])
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.request_id == "trace-0042"))
    assert entry is not None
    assert (entry.entity, entry.action, entry.username) == ("department", "create", "office")
    assert entry.after is not None and entry.after["name"] == "宣传办"


async def test_a_missing_or_unsafe_request_id_gets_a_fresh_one(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    plain = await client.get(f"/api/v1/org-units/{tree.district.id}", headers=office)
    unsafe = await client.get(
        f"/api/v1/org-units/{tree.district.id}", headers=office | {"X-Request-ID": 'x", "admin": true'}
    )
    too_long = await client.get("/healthz", headers={"X-Request-ID": "a" * 200})
    ids = [response.headers["X-Request-ID"] for response in (plain, unsafe, too_long)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)
    assert len(set(ids)) == 3
    refused = await client.post(
        f"/api/v1/org-units/{tree.district.id}/departments", json={"name": ""}, headers={"X-Request-ID": "bad-1"}
    )
    assert refused.status_code == 401 and refused.headers["X-Request-ID"] == "bad-1"


async def test_a_long_request_id_is_kept_and_its_first_64_characters_go_to_the_audit_log(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    request_id = "nginx-" + "7" * 94
    created = await client.post(
        f"/api/v1/org-units/{tree.district.id}/departments",
        json={"name": "文化馆"},
        headers=office | {"X-Request-ID": request_id},
    )
    assert created.status_code == 201 and created.headers["X-Request-ID"] == request_id
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.request_id == request_id[:64]))
    assert entry is not None and entry.entity == "department"


async def test_metrics_count_requests_by_route_template_and_time_computations(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    before = (await client.get("/metrics")).text
    assert (await client.get(f"/api/v1/org-units/{tree.district.id}", headers=office)).status_code == 200
    assert (await client.get(f"/api/v1/org-units/{tree.other_district.id}", headers=office)).status_code == 404
    computed = await client.post(
        "/ingest/v1/computations", json={"org_unit_id": tree.district.id, "period": "2019"}, headers=office
    )
    assert computed.status_code == 201, computed.text
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    route = {"service": "api", "method": "GET", "route": "/api/v1/org-units/{unit_id}"}
    assert grew("culturezone_http_request_duration_seconds_count", **route) == 2
    assert grew("culturezone_http_requests_total", **route, status_class="2xx") == 1
    assert grew("culturezone_http_errors_total", **route, status_class="4xx") == 1
    ingest = {"service": "ingest", "method": "POST", "route": "/ingest/v1/computations"}
    assert grew("culturezone_http_request_duration_seconds_count", **ingest) == 1
    assert grew("culturezone_indicator_computation_duration_seconds_count", outcome="ok") == 1
    assert grew("culturezone_indicator_computation_duration_seconds_sum", outcome="ok") > 0
    routes = {
        sample.labels.get("route") for family in text_string_to_metric_families(after) for sample in family.samples
    }
    assert "/metrics" not in routes


def test_the_scheduler_serves_its_metrics(own_database_url: str, tmp_path) -> None:
    env = environment(
        database_url=own_database_url,
        data_dir=tmp_path,
        SECRET_KEY="observability-test-secret-0123456789",
        SCHEDULER_TICK_SECONDS="0.2",
    )
    port = free_port()
    process = start_service("scheduler", port=port, env=env)
    try:
        deadline = time.monotonic() + 20
        exposition = ""
        while time.monotonic() < deadline:
            exposition = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            if _sample(exposition, "culturezone_scheduler_tick_duration_seconds_count") >= 2:
                break
            time.sleep(0.2)
        assert _sample(exposition, "culturezone_scheduler_tick_duration_seconds_count") >= 2
        assert _sample(exposition, "culturezone_scheduler_leader") == 1
        probe = {"service": "scheduler", "method": "GET", "route": "/healthz"}
        assert _sample(exposition, "culturezone_http_requests_total", **probe, status_class="2xx") >= 1
    finally:
        process.terminate()
        process.wait(timeout=10)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "log_format", "as_json"),
    [
        (io.StringIO(), "auto", True),  # piped to a collector or a file
        (_Terminal(), "auto", False),  # a person at `make run`
        (_Terminal(), "json", True),  # a deployment that says json
        (io.StringIO(), "console", False),
    ],
)
def test_log_lines_are_json_for_machines_and_readable_at_a_terminal(
    stream: io.StringIO, log_format: str, as_json: bool
) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log_formatter(stream=stream, log_format=log_format))
    logger = logging.getLogger("culturezone.test-format")
    logger.addHandler(handler)
    try:
        logger.warning("leadership lost")
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().strip()
    if as_json:
        assert json.loads(line)["event"] == "leadership lost"
    else:
        assert not line.startswith("{") and "leadership lost" in line and "warning" in line.lower()
