"""Every migration downgrades and upgrades again on a database holding the demo: one revision at a time down to
the first, back to head, then down to base and up; the demo's rows in the tables the downgrades keep come back
intact."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import make_engine
from shared.db_admin import sibling_url
from tests.support.processes import ROOT, culturezone, environment
from tests.support.snapshots import clone_database, fingerprint, table_columns

# A downgrade loses the tables it drops and the rows that belong to them: facility figures go with the facilities.
FACILITY_FIGURES = {"data_value": "facility_id IS NOT NULL"}
KEPT_ROWS = {"data_value": "facility_id IS NULL"}
# Tables a migration fills as it creates them: the federation change log starts with every row already there
# (so that a peer added later receives them), and the instance gets its identity.
FILLED_BY_MIGRATION = {"federation_change", "federation_instance"}


def _alembic(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _version(url: str) -> str | None:
    engine = make_engine(url)
    async with engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    await engine.dispose()
    return version


def _revisions() -> list[str]:
    """Every revision, head first."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]


def test_every_migration_goes_down_and_up_on_a_database_holding_the_demo(own_database_url: str, tmp_path: Path) -> None:
    env = environment(database_url=own_database_url, data_dir=tmp_path, DEMO_MODE="true")
    loaded = culturezone("demo", env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert (tmp_path / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600  # the demo's passwords: owner only
    stem = Path(make_url(own_database_url).database or "").stem
    demo = sibling_url(own_database_url, f"{stem}_demo")
    clone_database(own_database_url, demo)
    revisions = _revisions()

    for revision in revisions[1:]:
        down = _alembic("downgrade", "-1", url=own_database_url)
        assert down.returncode == 0, f"downgrade to {revision}: {down.stderr[-3000:]}"
    lowest = table_columns(own_database_url)
    up = _alembic("upgrade", "head", url=own_database_url)
    assert up.returncode == 0, f"upgrade from {revisions[-1]} with data: {up.stderr[-3000:]}"

    head = table_columns(own_database_url)
    kept = {
        table: [column for column in columns if column in lowest.get(table, [])]
        for table, columns in head.items()
        if table in lowest and table != "alembic_version"
    }
    assert set(kept) >= {"org_unit", "plan", "task", "evidence", "user_account", "data_value", "audit_entry"}
    survivors = fingerprint(own_database_url, content=kept, where=KEPT_ROWS)
    original = fingerprint(demo, content=kept, where=KEPT_ROWS)
    assert {table: survivors[table] for table in kept} == {table: original[table] for table in kept}
    assert all(survivors[table][0] > 0 for table in ("org_unit", "task", "progress_update", "evidence", "data_value"))
    emptied = fingerprint(own_database_url, content={}, where=FACILITY_FIGURES)
    dropped = [table for table in head if table not in lowest and table not in FILLED_BY_MIGRATION]
    assert all(emptied[table][0] == 0 for table in dropped), "dropped tables come back empty"
    assert emptied["federation_change"][0] >= survivors["org_unit"][0], "the change log starts with every row"
    assert emptied["data_value"][0] == 0 < fingerprint(demo, content={}, where=FACILITY_FIGURES)["data_value"][0]

    for args in (("downgrade", "base"), ("upgrade", "head")):
        result = _alembic(*args, url=own_database_url)
        assert result.returncode == 0, f"alembic {' '.join(args)} with data: {result.stderr[-3000:]}"
    assert asyncio.run(_version(own_database_url)) == revisions[0]
