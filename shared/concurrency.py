"""Optimistic concurrency: ETag from a row's version, If-Match checked before a write."""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import TimestampedTable, utcnow
from shared.errors import PreconditionFailed, PreconditionRequired


def etag_of(row: TimestampedTable) -> str:
    """The ETag of a row's current version."""
    return f'"{row.version}"'


async def check_if_match(session: AsyncSession, row: TimestampedTable, if_match: str | None) -> None:
    """Refuse an update that does not name the row's current version, read again under a row lock."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag you read, so no update is lost")
    # Without the lock two updates sent with one ETag both pass the check and the first is lost; with it the
    # second waits for the first to commit and then sees the version it wrote (every change bumps the version,
    # so the other columns read before the lock are current whenever the version still matches).
    await session.refresh(row, attribute_names=["version"], with_for_update=True)
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in candidates and etag_of(row) not in candidates:
        raise PreconditionFailed(f"the row changed since you read it (now {etag_of(row)}); read it again")


def bump_version(row: TimestampedTable) -> None:
    """Mark a row as changed."""
    row.version += 1
    row.updated_at = utcnow()
