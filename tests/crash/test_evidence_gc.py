"""Evidence files are in place before their row commits: a rolled-back or killed upload leaves a file without a
row, or a temporary file, which `collect_orphans` (`culturezone evidence-gc`) removes after a grace period."""

import asyncio
import hashlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import SYSTEM
from shared.config import get_settings
from shared.db import make_engine
from shared.tasks.evidence import evidence_path, store_evidence
from shared.tasks.evidence_gc import collect_orphans
from shared.tasks.models import Evidence, Task, TaskKind
from tests.support.factories import make_plan, make_tree
from tests.support.processes import ROOT, culturezone, environment

HOURS_AGO = time.time() - 2 * 3600
# A writer that never finishes: chunks land in evidence/tmp until it is killed.
SLOW_WRITER = """
import asyncio
from shared.tasks.evidence import _write_temp

async def chunks():
    while True:
        yield b"%PDF-1.4 " + b"0" * 65536
        await asyncio.sleep(0.05)

asyncio.run(_write_temp(chunks(), limit=1 << 40))
"""


def _pdf(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n%%EOF\n".encode()


def _age(*paths: Path) -> None:
    for path in paths:
        os.utime(path, (HOURS_AGO, HOURS_AGO))


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DATA_DIR of the test's own, so that other tests' files are out of reach."""
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    return tmp_path / "evidence"


async def _task(session: AsyncSession) -> Task:
    tree = await make_tree(session)
    plan = await make_plan(session, unit=tree.district)
    task = Task(plan_id=plan.id, kind=TaskKind.work_task, code="1", title="建立机制")
    session.add(task)
    await session.flush()
    return task


async def _upload(session: AsyncSession, *, task: Task, content: bytes) -> Evidence:
    async def chunks() -> AsyncIterator[bytes]:
        yield content

    return await store_evidence(
        session, actor=SYSTEM, task_id=task.id, filename="纪要.pdf", content_type="application/pdf", chunks=chunks()
    )


async def test_a_rolled_back_upload_leaves_a_file_that_gc_removes_and_a_committed_one_is_kept(
    session: AsyncSession, evidence_dir: Path
) -> None:
    task = await _task(session)
    upload = await session.begin_nested()
    await _upload(session, task=task, content=_pdf("rolled back"))
    await upload.rollback()
    orphan = evidence_path(hashlib.sha256(_pdf("rolled back")).hexdigest())
    assert orphan.exists()
    kept = evidence_path((await _upload(session, task=task, content=_pdf("committed"))).sha256)
    just_rolled_back = await session.begin_nested()
    await _upload(session, task=task, content=_pdf("in flight"))
    await just_rolled_back.rollback()
    in_flight = evidence_path(hashlib.sha256(_pdf("in flight")).hexdigest())
    _age(orphan, kept)

    removed = await collect_orphans(session, older_than=timedelta(hours=1))

    assert removed == [str(orphan)]
    assert not orphan.exists() and kept.read_bytes() == _pdf("committed")
    assert in_flight.exists(), "a file younger than the grace period may belong to an upload about to commit"
    assert list((evidence_dir / "tmp").iterdir()) == []


async def test_a_temp_file_left_by_a_killed_writer_is_removed(session: AsyncSession, evidence_dir: Path) -> None:
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SLOW_WRITER,
        cwd=ROOT,
        env=os.environ | {"DATA_DIR": str(evidence_dir.parent)},
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(400):
            if any(path.stat().st_size for path in (evidence_dir / "tmp").glob("*")) or writer.returncode is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        writer.send_signal(signal.SIGKILL)
        await writer.wait()
    (left,) = list((evidence_dir / "tmp").iterdir())
    assert left.read_bytes().startswith(b"%PDF-1.4")
    assert os.listdir(evidence_dir) == ["tmp"], "half-written files stay out of the store"
    (evidence_dir / "tmp" / "tmp-upload-in-flight").write_bytes(b"%PDF")

    assert await collect_orphans(session, older_than=timedelta(hours=1)) == []
    _age(left)
    assert await collect_orphans(session, older_than=timedelta(hours=1)) == [str(left)]
    assert [path.name for path in (evidence_dir / "tmp").iterdir()] == ["tmp-upload-in-flight"]


async def test_the_evidence_gc_command_removes_only_old_unreferenced_files(
    own_database_url: str, tmp_path: Path
) -> None:
    env = environment(database_url=own_database_url, data_dir=tmp_path, SECRET_KEY="gc-test-secret-0123456789abcdef")
    engine = make_engine(own_database_url)
    async with AsyncSession(engine, expire_on_commit=False) as own:
        task = await _task(own)
        digest = hashlib.sha256(_pdf("referenced")).hexdigest()
        own.add(
            Evidence(task_id=task.id, filename="a.pdf", content_type="application/pdf", size_bytes=20, sha256=digest)
        )
        await own.commit()
    await engine.dispose()
    files = {
        name: tmp_path / "evidence" / digest[:2] / digest
        for name, digest in (
            ("referenced", digest),
            ("orphan", hashlib.sha256(b"orphan").hexdigest()),
            ("fresh", hashlib.sha256(b"fresh").hexdigest()),
        )
    } | {"temp": tmp_path / "evidence" / "tmp" / "tmpkilled", "other": tmp_path / "evidence" / "README"}
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    _age(*(path for name, path in files.items() if name != "fresh"))

    result = culturezone("evidence-gc", "--older-than-minutes", "30", env=env)

    assert result.returncode == 0, result.stderr
    assert "2 orphaned evidence file(s) removed" in result.stdout
    assert {name for name, path in files.items() if path.exists()} == {"referenced", "fresh", "other"}
    refused = culturezone("evidence-gc", "--older-than-minutes", "0", env=env)
    assert refused.returncode == 2 and files["referenced"].exists()
