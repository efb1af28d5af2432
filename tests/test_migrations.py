"""The schema comes only from migrations, and they match the models exactly."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.support.databases import recreate_database


def _alembic(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )


def test_upgraded_database_has_no_drift_from_the_models(database_url: str) -> None:
    check = _alembic("check", url=database_url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_migrations_go_down_and_up_again_on_an_empty_database(database_url: str) -> None:
    url = (
        database_url + "_migrations"
        if "postgresql" in database_url
        else (database_url.replace("test.db", "migrations.db"))
    )
    recreate_database(url)
    for args in (("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head"), ("check",)):
        result = _alembic(*args, url=url)
        assert result.returncode == 0, f"alembic {' '.join(args)}: {result.stderr}"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py")))
def test_migration_files_are_date_named(name: str) -> None:
    date_part = name.split("-", 1)[0]
    assert len(date_part) == 15 and date_part[4] == date_part[7] == date_part[10] == "_", name
