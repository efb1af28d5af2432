"""Logging in, tokens, revocation, user administration and the audit log."""

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role, User
from shared.auth.security import issue_access_token
from tests.support.factories import bearer, make_department, make_tree, make_user


async def test_password_login_issues_a_working_bearer_token(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    created = await client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "office",
            "password": "correct horse battery",
            "role": "plan_manager",
            "org_unit_id": tree.district.id,
        },
    )
    assert created.status_code == 201, created.text
    assert "password" not in created.json() and "password_hash" not in created.json()
    stored = await session.scalar(select(User.password_hash).where(User.username == "office"))
    assert stored is not None and stored.startswith("$argon2id$")
    login = await client.post("/api/v1/auth/token", data={"username": "office", "password": "correct horse battery"})
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["username"] == "office" and me.json()["org_unit_id"] == tree.district.id
    wrong = await client.post("/api/v1/auth/token", data={"username": "office", "password": "wrong password"})
    assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"
    unknown = await client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong password"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == wrong.json()["detail"]


async def test_expired_forged_and_revoked_tokens_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    admin_user = await make_user(session, username="root", role=Role.admin)
    admin = bearer(admin_user)
    user = await make_user(session, username="viewer", role=Role.viewer)
    assert user.id is not None
    expired = issue_access_token(user_id=user.id, role="viewer", now=datetime.now(UTC) - timedelta(days=2))
    assert (await client.get("/api/v1/org-units", headers={"Authorization": f"Bearer {expired}"})).status_code == 401
    forged = bearer(user)["Authorization"][:-4] + "AAAA"
    assert (await client.get("/api/v1/org-units", headers={"Authorization": forged})).status_code == 401
    issued = await client.post(f"/api/v1/users/{user.id}/api-tokens", headers=admin, json={"name": "integration"})
    assert issued.status_code == 201
    api_token = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert (await client.get("/api/v1/org-units", headers=api_token)).status_code == 200
    live_jwt = bearer(user)
    assert (await client.post(f"/api/v1/users/{user.id}/deactivate", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/org-units", headers=live_jwt)).status_code == 401
    assert (await client.get("/api/v1/org-units", headers=api_token)).status_code == 401


async def test_user_administration_respects_scope(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    street_admin = bearer(await make_user(session, username="street", role=Role.admin, unit=tree.street_a))
    body = {"username": "someone", "password": "a long passphrase", "role": "viewer"}
    whole_tree = await client.post("/api/v1/users", headers=street_admin, json=body)
    assert whole_tree.status_code == 422 and whole_tree.json()["errors"][0]["field"] == "org_unit_id"
    sibling = await client.post("/api/v1/users", headers=street_admin, json=body | {"org_unit_id": tree.street_b.id})
    assert sibling.status_code == 403
    own = await client.post("/api/v1/users", headers=street_admin, json=body | {"org_unit_id": tree.community_a1.id})
    assert own.status_code == 201
    no_department = await client.post(
        "/api/v1/users",
        headers=street_admin,
        json=body | {"username": "reporter", "role": "department_reporter", "org_unit_id": tree.street_a.id},
    )
    assert no_department.status_code == 422 and no_department.json()["errors"][0]["field"] == "department_id"
    elsewhere = await make_department(session, unit=tree.street_b, name="文化站")
    foreign_department = await client.post(
        "/api/v1/users",
        headers=street_admin,
        json=body
        | {
            "username": "reporter",
            "role": "department_reporter",
            "org_unit_id": tree.street_a.id,
            "department_id": elsewhere.id,
        },
    )
    assert foreign_department.status_code == 422
    short = await client.post(
        "/api/v1/users", headers=street_admin, json=body | {"password": "short", "org_unit_id": tree.street_a.id}
    )
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    duplicate = await client.post(
        "/api/v1/users", headers=street_admin, json=body | {"org_unit_id": tree.community_a1.id}
    )
    assert duplicate.status_code == 409
    plan_manager = bearer(await make_user(session, username="pm", role=Role.plan_manager, unit=tree.district))
    assert (await client.post("/api/v1/users", headers=plan_manager, json=body)).status_code == 403


async def test_the_audit_log_records_who_changed_what(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    etag = (await client.get(f"/api/v1/org-units/{tree.village_b1.id}", headers=admin)).headers["etag"]
    renamed = await client.patch(
        f"/api/v1/org-units/{tree.village_b1.id}", headers=admin | {"If-Match": etag}, json={"name": "西史赵村（新）"}
    )
    assert renamed.status_code == 200
    log = await client.get(
        "/api/v1/audit", params={"entity": "org_unit", "entity_id": str(tree.village_b1.id)}, headers=admin
    )
    entry = log.json()[0]
    assert entry["username"] == "root" and entry["action"] == "update"
    assert entry["before"]["name"] == "西史赵村" and entry["after"]["name"] == "西史赵村（新）"
    viewer = bearer(await make_user(session, username="v", role=Role.viewer))
    assert (await client.get("/api/v1/audit", headers=viewer)).status_code == 403
    street_admin = bearer(await make_user(session, username="sa", role=Role.admin, unit=tree.street_a))
    assert (await client.get("/api/v1/audit", headers=street_admin)).status_code == 403


async def test_api_tokens_go_to_integrations_not_to_people_who_manage(
    client: AsyncClient, session: AsyncSession
) -> None:
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    manager = await make_user(session, username="pm", role=Role.plan_manager)
    refused = await client.post(f"/api/v1/users/{manager.id}/api-tokens", headers=admin, json={"name": "x"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "user_id"
