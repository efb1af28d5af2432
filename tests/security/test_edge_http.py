"""What every answer carries at the HTTP edge, who may read /metrics, and API docs that need no internet."""

import re
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth.models import Role
from shared.auth.security import hash_password
from shared.config import get_settings
from tests.support.factories import bearer, make_tree, make_user

EVERY_ANSWER = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def settings_changed() -> Iterator:
    """Change settings for one test and put them back."""
    settings = get_settings()
    saved: dict[str, object] = {}

    def change(**values: object) -> None:
        for name, value in values.items():
            saved.setdefault(name, getattr(settings, name))
            setattr(settings, name, value)

    yield change
    for name, value in saved.items():
        setattr(settings, name, value)


@pytest.fixture
async def api_from() -> AsyncIterator:
    """A client of the API app seen as coming from a given address (what uvicorn puts in the scope)."""
    from services.api.main import app

    clients: list[AsyncClient] = []

    async def make(address: str, *, scheme: str = "http") -> AsyncClient:
        transport = ASGITransport(app=app, client=(address, 40000))
        client = AsyncClient(transport=transport, base_url=f"{scheme}://testserver")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def _has_edge_headers(response) -> bool:
    headers = response.headers
    return all(headers.get(name) == value for name, value in EVERY_ANSWER.items()) and (
        "frame-ancestors 'none'" in headers.get("content-security-policy", "")
    )


async def test_every_answer_carries_the_security_headers(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    answers = [
        await client.get("/healthz"),
        await client.get("/api/v1/plans"),  # 401
        await client.get("/api/v1/no-such-route"),
        await client.get(f"/api/v1/org-units/{tree.district.id}", headers=office),
        await client.get("/api/v1/public/service-items"),
        await client.post("/ingest/v1/computations", json={}, headers=office),  # 422 from the ingest service
        await client.get("/docs"),
    ]
    for response in answers:
        assert _has_edge_headers(response), (response.request.url, response.headers)
        assert "strict-transport-security" not in response.headers  # plain http
    # Public reads keep their own caching; other answers are not marked no-store.
    assert answers[4].headers["cache-control"].startswith("public") or "max-age" in answers[4].headers["cache-control"]
    assert "no-store" not in answers[3].headers.get("cache-control", "")


async def test_hsts_is_sent_over_https_only(api_from, settings_changed) -> None:
    secure = await api_from("127.0.0.1", scheme="https")
    assert (await secure.get("/healthz")).headers["strict-transport-security"] == "max-age=31536000"
    plain = await api_from("127.0.0.1")
    assert "strict-transport-security" not in (await plain.get("/healthz")).headers
    settings_changed(hsts_seconds=0)
    assert "strict-transport-security" not in (await secure.get("/healthz")).headers


async def test_tokens_and_files_are_never_stored(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    admin = await make_user(
        session, username="district-admin", role=Role.admin, unit=tree.district, password_hash=hash_password("s3cret!")
    )
    login = await client.post("/api/v1/auth/token", data={"username": "district-admin", "password": "s3cret!"})
    assert login.status_code == 200 and login.headers["cache-control"] == "no-store"
    refused = await client.post("/api/v1/auth/token", data={"username": "district-admin", "password": "wrong"})
    assert refused.headers["cache-control"] == "no-store"
    peer = await make_user(session, username="city-peer", role=Role.peer, unit=tree.district)
    issued = await client.post(f"/api/v1/users/{peer.id}/api-tokens", json={"name": "city"}, headers=bearer(admin))
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    export = await client.get("/api/v1/facilities/export", params={"format": "csv"}, headers=bearer(admin))
    assert export.status_code == 200 and export.headers["content-disposition"].startswith("attachment")
    assert export.headers["cache-control"] == "no-store" and _has_edge_headers(export)


async def test_metrics_answer_only_allowed_addresses_or_the_token(api_from, settings_changed) -> None:
    local = await api_from("127.0.0.1")
    assert (await local.get("/metrics")).status_code == 200
    outsider = await api_from("203.0.113.7")
    hidden = await outsider.get("/metrics")
    assert hidden.status_code == 404 and "culturezone_http" not in hidden.text
    assert (await outsider.get("/metrics", headers={"Authorization": "Bearer guess"})).status_code == 404
    settings_changed(metrics_token="scrape-token-0123456789")
    wrong = await outsider.get("/metrics", headers={"Authorization": "Bearer scrape-token-wrong"})
    assert wrong.status_code == 404
    scraped = await outsider.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert scraped.status_code == 200 and "culturezone_http" in scraped.text
    settings_changed(metrics_token="", metrics_allow="10.0.0.0/8,203.0.113.0/24")
    assert (await outsider.get("/metrics")).status_code == 200
    assert (await local.get("/metrics")).status_code == 404


def _references(html: str) -> list[str]:
    """Every URL a docs page loads: src/href attributes and the strings handed to the UI's script."""
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    urls += re.findall(r"""(?:url|oauth2RedirectUrl|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    return urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_docs_load_only_assets_the_service_serves(client: AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    urls = _references(html)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
