"""Evidence files no row references: written by uploads whose transaction rolled back or whose process died
(the file is in place before the row commits), and temporary files of uploads killed mid-write."""

import asyncio
import logging
import os
import re
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import get_settings
from shared.db import dispose_engine, session_scope
from shared.lookups import lookup_in_chunks
from shared.tasks.models import Evidence

log = logging.getLogger("culturezone.evidence")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def _older(path: Path, *, cutoff: float) -> bool:
    """Whether the file exists and was last written before the cutoff."""
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _old_files(directory: Path, *, cutoff: float) -> tuple[dict[str, Path], list[Path]]:
    """Stored files by digest and temporary files, both last written before the cutoff."""
    stored = {
        path.name: path
        for path in directory.glob("??/*")
        if _DIGEST.fullmatch(path.name) and path.parent.name == path.name[:2] and _older(path, cutoff=cutoff)
    }
    temporary = [path for path in directory.glob("tmp/*") if _older(path, cutoff=cutoff)]
    return stored, temporary


def _remove_stored(path: Path, *, cutoff: float) -> bool:
    """Move the file aside before deleting it: an upload of the same content that replaced it meanwhile (its row
    about to commit) shows as a fresh copy and is put back; one that comes after the move finds the path free."""
    aside = path.parent.parent / "tmp" / f"gc-{path.name}"
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return False
    try:
        fresh = aside.stat().st_mtime >= cutoff
        if fresh:
            os.replace(aside, path)
        else:
            aside.unlink()
    except FileNotFoundError:
        return False
    return not fresh


def _remove(stored: list[Path], temporary: list[Path], *, cutoff: float) -> list[str]:
    removed = []
    for path in temporary:
        if _older(path, cutoff=cutoff):
            path.unlink(missing_ok=True)
            removed.append(str(path))
    removed += [str(path) for path in stored if _remove_stored(path, cutoff=cutoff)]
    return removed


async def collect_orphans(session: AsyncSession, *, older_than: timedelta) -> list[str]:
    """Delete evidence files no evidence row references and stale temporary files, both older than the grace
    period (which must exceed the longest upload); the paths removed."""
    directory = get_settings().evidence_dir
    cutoff = time.time() - older_than.total_seconds()
    stored, temporary = await asyncio.to_thread(_old_files, directory, cutoff=cutoff)
    referenced = {
        row.sha256 for row in await lookup_in_chunks(session, select(Evidence.sha256), Evidence.sha256, set(stored))
    }
    orphans = [path for digest, path in stored.items() if digest not in referenced]
    removed = await asyncio.to_thread(_remove, orphans, temporary, cutoff=cutoff)
    log.info("evidence gc removed %d file(s) from %s", len(removed), directory)
    return removed


async def collect_orphans_now(*, older_than: timedelta) -> list[str]:
    """collect_orphans in a session of its own (the `culturezone evidence-gc` command)."""
    try:
        async with session_scope() as session:
            return await collect_orphans(session, older_than=older_than)
    finally:
        await dispose_engine()
