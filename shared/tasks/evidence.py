"""Evidence files: checked for size and type, hashed, written atomically under DATA_DIR."""

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.scope import Principal
from shared.config import get_settings
from shared.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from shared.filenames import safe_filename
from shared.tasks.models import Evidence, ProgressUpdate
from shared.tasks.progress import require_reporter
from shared.tasks.service import get_task

# Leading bytes each accepted type must start with (text has no signature).
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/msword": (b"\xd0\xcf\x11\xe0",),
}


def evidence_path(sha256: str) -> Path:
    """Where the file with this digest lives."""
    return get_settings().evidence_dir / sha256[:2] / sha256


def _sync_to_disk(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _sync_directory(directory: Path) -> None:
    """Make the rename durable: a committed row must never point at a file a power cut took back."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


async def _write_temp(chunks: AsyncIterator[bytes], *, limit: int) -> tuple[Path, str, int, bytes]:
    directory = get_settings().evidence_dir / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    handle, name = tempfile.mkstemp(dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file exceeds the limit of {limit} bytes")
                head = head or chunk[:16]
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(_sync_to_disk, out)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name), digest.hexdigest(), size, head


def _check_type(content_type: str, head: bytes, *, temp: Path) -> None:
    allowed = get_settings().evidence_types
    signatures = SIGNATURES.get(content_type)
    if content_type not in allowed or (signatures and not head.startswith(signatures)):
        temp.unlink(missing_ok=True)
        raise UnsupportedMediaType(
            f"{content_type} is refused or the file is not what it claims; accepted: {', '.join(allowed)}"
        )


async def store_evidence(
    session: AsyncSession,
    *,
    actor: Principal,
    task_id: int,
    filename: str,
    content_type: str,
    chunks: AsyncIterator[bytes],
    description: str = "",
    progress_update_id: int | None = None,
) -> Evidence:
    """Keep an uploaded evidence file for a task (content-addressed; the same file is stored once)."""
    task, _plan, unit = await get_task(session, actor=actor, task_id=task_id)
    await require_reporter(session, actor=actor, task=task, unit=unit)
    if progress_update_id is not None and not await session.scalar(
        select(ProgressUpdate.id).where(ProgressUpdate.id == progress_update_id, ProgressUpdate.task_id == task.id)
    ):
        raise InvalidInput(
            f"progress update {progress_update_id} is not one of this task's", field="progress_update_id"
        )
    temp, sha256, size, head = await _write_temp(chunks, limit=get_settings().evidence_max_bytes)
    if size == 0:
        temp.unlink(missing_ok=True)
        raise InvalidInput("the file is empty", field="file")
    _check_type(content_type, head, temp=temp)
    target = evidence_path(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)
    await asyncio.to_thread(_sync_directory, target.parent)
    evidence = Evidence(
        task_id=task.id,
        progress_update_id=progress_update_id,
        filename=safe_filename(filename, default="evidence"),
        content_type=content_type,
        size_bytes=size,
        sha256=sha256,
        uploaded_by_id=actor.user_id,
        description=description,
    )
    session.add(evidence)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="evidence",
        entity_id=evidence.id,
        before=None,
        after=snapshot(evidence),
    )
    return evidence


async def list_evidence(session: AsyncSession, *, actor: Principal, task_id: int) -> list[Evidence]:
    """A task's evidence files."""
    task, _plan, _unit = await get_task(session, actor=actor, task_id=task_id)
    return list(
        (await session.scalars(select(Evidence).where(Evidence.task_id == task.id).order_by(Evidence.id))).all()
    )


async def open_evidence(session: AsyncSession, *, actor: Principal, evidence_id: int) -> tuple[Evidence, Path]:
    """An evidence row the caller can see and the path of its file."""
    evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"evidence {evidence_id} does not exist")
    await get_task(session, actor=actor, task_id=evidence.task_id)
    path = evidence_path(evidence.sha256)
    if not path.exists():
        raise NotFound(f"the file of evidence {evidence_id} is missing from storage")
    return evidence, path
