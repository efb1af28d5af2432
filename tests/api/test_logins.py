"""Guessing passwords and finding usernames: the login throttle, equal work for unknown users, signed-token claims,
and admins who cannot lock everybody out."""

import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth import security
from shared.auth.models import ApiToken, LoginFailure, Role, User
from shared.auth.scope import SYSTEM
from shared.auth.security import JWT_ALGORITHM, hash_password
from shared.auth.service import deactivate_user, forget_login_failures
from shared.config import Settings, get_settings, write_private
from shared.db import utcnow
from shared.errors import Conflict
from tests.support.factories import bearer, make_tree, make_user

PASSWORD = "correct horse battery"
TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def few_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "login_attempts_per_username", 3)
    monkeypatch.setattr(get_settings(), "login_attempts_per_address", 5)
    monkeypatch.setattr(get_settings(), "login_window_seconds", 600)


async def _failures(session: AsyncSession, **where: str) -> int:
    query = select(func.count()).select_from(LoginFailure)
    for column, value in where.items():
        query = query.where(getattr(LoginFailure, column) == value)
    return int(await session.scalar(query) or 0)


def _assert_throttled(answer: object) -> None:
    assert answer.status_code == 429, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert 1 <= int(answer.headers["Retry-After"]) <= 600  # type: ignore[attr-defined]


@pytest.mark.usefixtures("few_attempts")
async def test_a_username_is_throttled_after_its_failures_which_are_kept(
    client: AsyncClient, session: AsyncSession
) -> None:
    await make_user(session, username="office", role=Role.plan_manager, password_hash=hash_password(PASSWORD))
    for _ in range(3):
        wrong = await client.post(TOKEN_URL, data={"username": "office", "password": "guess"})
        assert wrong.status_code == 401
    # Each refused login was recorded although its request failed (and would otherwise have been rolled back).
    assert await _failures(session, username="office", address="127.0.0.1") == 3
    _assert_throttled(await client.post(TOKEN_URL, data={"username": "office", "password": "guess"}))
    _assert_throttled(await client.post(TOKEN_URL, data={"username": "office", "password": PASSWORD}))
    assert await _failures(session, username="office") == 3
    # Another username from the same address is not held up by this one's failures.
    assert (await client.post(TOKEN_URL, data={"username": "other", "password": "guess"})).status_code == 401


@pytest.mark.usefixtures("few_attempts")
async def test_an_address_is_throttled_across_usernames(client: AsyncClient, session: AsyncSession) -> None:
    await make_user(session, username="office", role=Role.plan_manager, password_hash=hash_password(PASSWORD))
    session.add_all(LoginFailure(username=f"x{n}", address="10.0.0.9", failed_at=utcnow()) for n in range(9))
    await session.flush()
    for n in range(5):
        wrong = await client.post(TOKEN_URL, data={"username": f"user{n}", "password": "guess"})
        assert wrong.status_code == 401, f"attempt {n}: {wrong.text}"
    _assert_throttled(await client.post(TOKEN_URL, data={"username": "office", "password": PASSWORD}))
    assert await _failures(session, address="127.0.0.1") == 5


@pytest.mark.usefixtures("few_attempts")
async def test_old_failures_do_not_count_and_are_forgotten(client: AsyncClient, session: AsyncSession) -> None:
    await make_user(session, username="office", role=Role.plan_manager, password_hash=hash_password(PASSWORD))
    long_ago = utcnow() - timedelta(seconds=601)
    session.add_all(LoginFailure(username="office", address="127.0.0.1", failed_at=long_ago) for _ in range(10))
    await session.flush()
    ok = await client.post(TOKEN_URL, data={"username": "office", "password": PASSWORD})
    assert ok.status_code == 200, ok.text
    assert await forget_login_failures(session, now=utcnow()) == 10
    session.add(LoginFailure(username="other", address="127.0.0.1", failed_at=long_ago))
    session.add(LoginFailure(username="other", address="127.0.0.1", failed_at=utcnow()))
    await session.flush()
    assert await forget_login_failures(session, now=utcnow()) == 1
    assert await _failures(session, username="other") == 1
    for _ in range(2):
        assert (await client.post(TOKEN_URL, data={"username": "office", "password": "guess"})).status_code == 401
    assert (await client.post(TOKEN_URL, data={"username": "office", "password": PASSWORD})).status_code == 200
    assert await _failures(session, username="office") == 0  # a successful login clears the username's failures


async def test_unknown_and_deactivated_users_cost_a_verification_in_a_worker_thread(
    client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[tuple[str, bool]] = []
    original = security.verify_password

    def counting(password: str, password_hash: str | None) -> bool:
        on_loop_thread = threading.current_thread() is threading.main_thread()
        verified.append((password_hash or "", on_loop_thread))
        return original(password, password_hash)

    monkeypatch.setattr(security, "verify_password", counting)
    gone = await make_user(session, username="gone", role=Role.viewer, password_hash=hash_password(PASSWORD))
    gone.is_active = False
    await make_user(session, username="office", role=Role.viewer, password_hash=hash_password(PASSWORD))
    await session.flush()
    for username in ("nobody", "gone", "office"):
        answer = await client.post(TOKEN_URL, data={"username": username, "password": "guess"})
        assert answer.status_code == 401
    assert len(verified) == 3
    assert all(password_hash.startswith("$argon2id$") for password_hash, _ in verified)
    assert not any(on_loop_thread for _, on_loop_thread in verified)
    # The deactivated user's real hash is not consulted: a right password tells nothing either.
    assert verified[1][0] != gone.password_hash
    assert (await client.post(TOKEN_URL, data={"username": "gone", "password": PASSWORD})).status_code == 401


async def test_signed_tokens_need_an_expiry_and_a_user_id(client: AsyncClient, session: AsyncSession) -> None:
    user = await make_user(session, username="viewer", role=Role.viewer)
    secret = get_settings().jwt_secret()
    now = int(datetime.now(UTC).timestamp())

    def signed(**claims: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)}"}

    without_exp = await client.get("/api/v1/auth/me", headers=signed(sub=str(user.id), role="viewer", iat=now))
    assert without_exp.status_code == 401 and without_exp.headers["content-type"] == "application/problem+json"
    for sub in ("abc", "-1", "0", "1.5", "٣", "99999999999999999999999", " 1"):
        answer = await client.get("/api/v1/auth/me", headers=signed(sub=sub, iat=now, exp=now + 60))
        assert answer.status_code == 401, f"sub {sub!r}: {answer.text}"
    good = await client.get("/api/v1/auth/me", headers=signed(sub=str(user.id), iat=now, exp=now + 60))
    assert good.status_code == 200


async def test_an_admin_cannot_deactivate_itself_or_the_last_whole_tree_admin(
    client: AsyncClient, session: AsyncSession
) -> None:
    root = await make_user(session, username="root", role=Role.admin)
    second = await make_user(session, username="root2", role=Role.admin)
    itself = await client.post(f"/api/v1/users/{root.id}/deactivate", headers=bearer(root))
    assert itself.status_code == 409 and itself.headers["content-type"] == "application/problem+json"
    assert itself.json()["errors"][0]["field"] == "user_id"
    assert (await client.post(f"/api/v1/users/{second.id}/deactivate", headers=bearer(root))).status_code == 200
    # Only an actor that is not itself an active whole-tree admin (the system, a command) can reach the last one.
    with pytest.raises(Conflict, match="last active admin"):
        await deactivate_user(session, actor=SYSTEM, user_id=root.id)  # type: ignore[arg-type]
    await session.refresh(root)
    assert root.is_active


async def test_an_admin_reactivates_a_user_in_its_subtree_and_it_is_audited(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    root = bearer(await make_user(session, username="root", role=Role.admin))
    other_street = bearer(await make_user(session, username="b-admin", role=Role.admin, unit=tree.street_b))
    viewer = await make_user(session, username="viewer", role=Role.viewer, unit=tree.street_a)
    issued = await client.post(f"/api/v1/users/{viewer.id}/api-tokens", headers=root, json={"name": "integration"})
    api_token = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert (await client.post(f"/api/v1/users/{viewer.id}/deactivate", headers=root)).status_code == 200
    assert await session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == viewer.id)) is not None

    assert (await client.post(f"/api/v1/users/{viewer.id}/reactivate", headers=other_street)).status_code == 404
    assert (await client.post(f"/api/v1/users/{viewer.id}/reactivate", headers=bearer(viewer))).status_code == 401
    back = await client.post(f"/api/v1/users/{viewer.id}/reactivate", headers=root)
    assert back.status_code == 200, back.text
    assert back.json()["is_active"] is True
    assert (await client.get("/api/v1/auth/me", headers=bearer(viewer))).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=api_token)).status_code == 401  # revoked for good
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "user", AuditEntry.entity_id == str(viewer.id))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [(entry.before or {}).get("is_active") for entry in entries][-1] is False
    assert entries[-1].username == "root" and (entries[-1].after or {}).get("is_active") is True
    assert "password_hash" not in (entries[-1].after or {})
    stored = await session.get(User, viewer.id)
    assert stored is not None and stored.deactivated_at is None


def test_demo_secret_key_and_private_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", demo_mode=True, secret_key=None)
    assert settings.jwt_secret()
    assert stat.S_IMODE((tmp_path / "var" / "demo_secret_key").stat().st_mode) == 0o600
    credentials = tmp_path / "demo-credentials.txt"
    credentials.write_text("old")
    credentials.chmod(0o644)
    write_private(credentials, "  admin  secret\n")
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600 and credentials.read_text() == "  admin  secret\n"
