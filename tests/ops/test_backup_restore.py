"""deploy/backup.sh and deploy/restore.sh: the demo, backed up and restored into a fresh database and a fresh data
directory, comes back with every row, every sequence and every evidence file."""

import asyncio
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import make_engine
from shared.db_admin import sibling_url
from tests.support.databases import recreate_database
from tests.support.processes import ROOT, culturezone, environment
from tests.support.snapshots import fingerprint

pytestmark = pytest.mark.postgres


def _script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / name), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _evidence_files(data_dir: Path) -> dict[str, str]:
    """sha256 of every stored evidence file by its path under evidence/, temporary files left out."""
    evidence = data_dir / "evidence"
    return {
        str(path.relative_to(evidence)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in evidence.rglob("*")
        if path.is_file() and path.relative_to(evidence).parts[0] != "tmp"
    }


async def _sequences(url: str) -> dict[str, int | None]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT sequencename, last_value FROM pg_sequences"))).all()
    await engine.dispose()
    return dict(rows)


def test_a_backup_restores_every_row_and_every_file(own_database_url: str, tmp_path: Path) -> None:
    assert shutil.which("pg_dump") and shutil.which("pg_restore"), "the PostgreSQL client tools are not installed"
    source = tmp_path / "source"
    env = environment(database_url=own_database_url, data_dir=source, DEMO_MODE="true")
    for command in ("migrate", "demo"):
        loaded = culturezone(command, env=env)
        assert loaded.returncode == 0, loaded.stderr[-2000:]
    (source / "evidence" / "tmp" / "tmp-upload-in-flight").write_bytes(b"%PDF-1.4 half")

    made = _script("backup.sh", str(tmp_path / "backups"), env=env)
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.strip())
    assert folder.parent == tmp_path / "backups" and folder.name.startswith("culturezone-")
    assert sorted(path.name for path in folder.iterdir()) == ["SHA256SUMS", "database.dump", "evidence.tar.gz"]

    target_url = sibling_url(own_database_url, f"{make_url(own_database_url).database}_restored")
    recreate_database(target_url)
    target = tmp_path / "restored"
    restore_env = environment(database_url=target_url, data_dir=target)
    restored = _script("restore.sh", str(folder), env=restore_env)
    assert restored.returncode == 0, restored.stderr

    before, after = fingerprint(own_database_url), fingerprint(target_url)
    assert after == before
    assert all(before[table][0] > 0 for table in ("org_unit", "task", "evidence", "data_value", "indicator_result"))
    assert asyncio.run(_sequences(target_url)) == asyncio.run(_sequences(own_database_url))
    files = _evidence_files(source)
    assert files and _evidence_files(target) == files
    assert all(name.rsplit("/", 1)[-1] == digest for name, digest in files.items())
    assert list((target / "evidence" / "tmp").iterdir()) == []
    assert culturezone("migrate", env=restore_env).returncode == 0

    again = _script("restore.sh", str(folder), env=restore_env)
    assert again.returncode == 1 and "not empty" in again.stderr
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    with open(damaged / "database.dump", "r+b") as dump:
        dump.seek(100)
        dump.write(b"\x00\x01\x02")
    refused = _script("restore.sh", str(damaged), env=restore_env)
    assert refused.returncode == 1 and "damaged" in refused.stderr
    assert fingerprint(target_url) == before
