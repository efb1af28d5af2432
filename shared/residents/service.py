"""WeChat mini-program login (code → jscode2session → openid → a citizen account), export and deletion."""

import hashlib

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.audit.service import record_change, snapshot
from shared.auth.models import Role, User
from shared.auth.scope import Principal
from shared.auth.security import issue_access_token
from shared.bookings.models import Booking
from shared.clock import now
from shared.config import get_settings
from shared.errors import AppError, NotFound, ScopeDenied, Unauthenticated
from shared.feedback.models import Feedback, Rating
from shared.orders.models import ProposalVote, ServiceOrder
from shared.residents.models import WechatIdentity
from shared.residents.schemas import DataExport, ResidentToken
from shared.volunteers.models import ServiceRecord, Volunteer
from shared.volunteers.service import forget_volunteer


class WechatUnavailable(AppError):
    """The WeChat API did not answer usably."""

    status_code = 502
    title = "WeChat unavailable"
    type_slug = "wechat-unavailable"


async def exchange_code(code: str) -> dict[str, str]:
    """Ask WeChat's jscode2session for the openid behind a login code; 401 when WeChat rejects the code."""
    settings = get_settings()
    if not settings.wechat_app_id:
        raise NotFound("WeChat login is not enabled on this installation (WECHAT_APP_ID is not set)")
    params = {
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_app_secret,
        "js_code": code,
        "grant_type": "authorization_code",
    }
    url = settings.wechat_api_base_url.rstrip("/") + "/sns/jscode2session"
    try:
        async with httpx.AsyncClient(timeout=settings.wechat_timeout_seconds) as client:
            response = await client.get(url, params=params)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise WechatUnavailable("the WeChat login service did not answer; try again") from exc
    if not isinstance(body, dict):
        raise WechatUnavailable("the WeChat login service answered something unexpected")
    if body.get("errcode"):
        raise Unauthenticated(f"WeChat refused the login code ({body.get('errcode')}: {body.get('errmsg', '')})")
    openid = body.get("openid")
    if not isinstance(openid, str) or not openid or len(openid) > 128:
        raise WechatUnavailable("the WeChat login service answered without an openid")
    return {"openid": openid, "unionid": body.get("unionid") or ""}


async def wechat_login(session: AsyncSession, *, code: str) -> ResidentToken:
    """Log a resident in by their mini-program code; the first login makes a phone-less citizen account."""
    identity_data = await exchange_code(code)
    identity = await session.scalar(select(WechatIdentity).where(WechatIdentity.openid == identity_data["openid"]))
    new_account = identity is None
    if identity is None:
        digest = hashlib.sha256(identity_data["openid"].encode()).hexdigest()[:24]
        user = User(username=f"wx-{digest}", role=Role.citizen, display_name="")
        session.add(user)
        await session.flush()
        assert user.id is not None
        identity = WechatIdentity(
            user_id=user.id, openid=identity_data["openid"], unionid=identity_data["unionid"] or None
        )
        session.add(identity)
        actor = Principal(user_id=user.id, username=user.username, role=Role.citizen, scope_path=None)
        await record_change(
            session, actor=actor, action="create", entity="user", entity_id=user.id, before=None, after=_safe(user)
        )
    else:
        user = await session.get(User, identity.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("this WeChat account's resident account was deleted or deactivated")
    identity.last_login_at = now()
    await session.flush()
    assert user.id is not None
    return ResidentToken(
        access_token=issue_access_token(user_id=user.id, role=Role.citizen.value),
        expires_in=get_settings().access_token_minutes * 60,
        user_id=user.id,
        new_account=new_account,
    )


def _safe(user: User) -> dict | None:
    data = snapshot(user)
    if data:
        data.pop("password_hash", None)
    return data


def _rows(rows: list) -> list[dict]:
    return [snapshot(row) or {} for row in rows]


async def export_data(session: AsyncSession, *, actor: Principal) -> DataExport:
    """Everything stored about the caller's own account (a resident's right of access)."""
    user = await session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise ScopeDenied("only a person's account has data to export")
    uid = user.id

    async def rows(model: type, column: object) -> list[dict]:
        return _rows(list((await session.scalars(select(model).where(column == uid))).all()))

    identity = await session.scalar(select(WechatIdentity).where(WechatIdentity.user_id == uid))
    volunteer = await session.scalar(select(Volunteer).where(Volunteer.user_id == uid))
    records = []
    if volunteer is not None:
        records = _rows(
            list((await session.scalars(select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer.id))).all())
        )
    return DataExport(
        account=_safe(user) or {},
        wechat=snapshot(identity),
        orders=await rows(ServiceOrder, ServiceOrder.orderer_id),
        bookings=await rows(Booking, Booking.user_id),
        ratings=await rows(Rating, Rating.rater_id),
        feedback=await rows(Feedback, Feedback.author_id),
        volunteer=snapshot(volunteer),
        service_records=records,
        votes=await rows(ProposalVote, ProposalVote.voter_id),
    )


async def delete_account(session: AsyncSession, *, actor: Principal) -> None:
    """Erase a resident's personal data on request: the account is anonymised and closed, what identifies them goes.

    Orders and bookings stay (they are the units' service records) but lose their free text; ratings stay as
    anonymous scores; feedback, the volunteer registration, votes and the WeChat link are deleted."""
    actor.require_role([Role.citizen])
    user = await session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise ScopeDenied("only a resident's own account can be deleted this way")
    uid = user.id
    before = _safe(user)
    await _scrub_audit(session, user_id=uid)
    await session.execute(delete(WechatIdentity).where(WechatIdentity.user_id == uid))
    await session.execute(delete(Feedback).where(Feedback.author_id == uid))
    await session.execute(delete(ProposalVote).where(ProposalVote.voter_id == uid))
    await forget_volunteer(session, actor=actor, user_id=uid)
    await session.execute(update(Rating).where(Rating.rater_id == uid).values(comment=""))
    await session.execute(update(ServiceOrder).where(ServiceOrder.orderer_id == uid).values(description=""))
    await session.execute(update(Booking).where(Booking.user_id == uid).values(purpose=""))
    user.username, user.display_name = f"deleted-{uid}", ""
    user.is_active, user.deactivated_at = False, now()
    user.version += 1
    await session.flush()
    await record_change(
        session, actor=actor, action="erase", entity="user", entity_id=uid, before=before, after=_safe(user)
    )


# The free text a resident wrote, by audited entity: erased from the audit trail too (the state history stays).
PERSONAL_FIELDS = {
    "service_order": ("description",),
    "booking": ("purpose",),
    "rating": ("comment",),
    "feedback": ("text",),
    "volunteer": ("name", "skills"),
    "volunteer_service_record": ("description",),
}


async def _scrub_audit(session: AsyncSession, *, user_id: int) -> None:
    """Blank a resident's free text in the audit entries of their rows before the rows themselves go."""
    owned = {
        "service_order": select(ServiceOrder.id).where(ServiceOrder.orderer_id == user_id),
        "booking": select(Booking.id).where(Booking.user_id == user_id),
        "rating": select(Rating.id).where(Rating.rater_id == user_id),
        "feedback": select(Feedback.id).where(Feedback.author_id == user_id),
        "volunteer": select(Volunteer.id).where(Volunteer.user_id == user_id),
        "volunteer_service_record": select(ServiceRecord.id)
        .join(Volunteer, Volunteer.id == ServiceRecord.volunteer_id)
        .where(Volunteer.user_id == user_id),
    }
    for entity, query in owned.items():
        ids = [str(row_id) for row_id in (await session.scalars(query)).all()]
        if not ids:
            continue
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_id.in_(ids))
        )
        for entry in entries:
            for side in ("before", "after"):
                state = getattr(entry, side)
                if state:
                    setattr(entry, side, state | {name: "" for name in PERSONAL_FIELDS[entity] if name in state})
    await session.flush()
