"""SIGKILL at random points: an import and a computation leave the database as it was before or as it is after,
never in between, and a rerun finishes the work; a killed scheduler leader's lock dies with it.

(The federation pull and scheduler jobs do not exist yet: only leadership is shown here.)"""

import asyncio
import fcntl
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.scheduler.leader import LOCK_KEY
from shared.bench.synthetic import Size, load_province
from shared.db import make_engine
from shared.db_admin import migrate, server_dsn, sibling_url
from shared.indicators.engine.results import COLUMNS as RESULT_COLUMNS
from tests.support.databases import recreate_database
from tests.support.processes import ROOT, culturezone, environment, free_port, start_service
from tests.support.snapshots import Fingerprint, clone_database, fingerprint, wait_until_idle

SEED = 4_0003
RANDOM_KILLS = 2
SECRET = "crash-test-secret-0123456789abcdef"
ELEMENTS = ("population", "book_holdings", "new_books", "loans", "library_visits", "culture_spending")
YEARS = range(2016, 2020)
# What each command writes, without surrogate ids and timestamps: a killed transaction still moves a PostgreSQL
# sequence, so the rows a later run writes differ from a reference run's in those columns and nothing else.
IMPORT_CONTENT = {
    "data_value": [
        "element_id",
        "org_unit_id",
        "facility_id",
        "period",
        "period_type",
        "period_start",
        "period_end",
        "value",
        "source",
        "version",
    ],
    "data_element": ["code", "name", "unit", "value_type", "aggregation", "period_types", "version"],
    "audit_entry": ["user_id", "username", "action", "entity"],
}
COMPUTE_CONTENT = {"indicator_result": [name for name in RESULT_COLUMNS if name != "computed_at"]}


@dataclass(frozen=True, slots=True)
class Kill:
    """Where one SIGKILL landed and what it left."""

    point: str
    finished_first: bool
    state: str


def _communities() -> list[str]:
    return [f"99{d:02d}00{s:03d}{c:03d}" for d in range(1, 6) for s in range(1, 11) for c in range(1, 11)]


def _units_csv() -> str:
    lines = ["code,name,level,kind,parent_code,opened_on,closed_on", "990000,合成市,1,city,,,"]
    for d in range(1, 6):
        district = f"99{d:02d}00"
        lines.append(f"{district},合成{d}区,2,district,990000,,")
        for s in range(1, 11):
            street = f"{district}{s:03d}000"
            lines.append(f"{street},街道{d}-{s},3,street,{district},,")
            lines += [f"{street[:9]}{c:03d},社区{d}-{s}-{c},4,community,{street},," for c in range(1, 11)]
    return "\n".join(lines) + "\n"


def _values_csv(*, elements: tuple[str, ...], years: range, shift: int) -> str:
    lines = ["element,org_unit_code,facility_code,period,value"]
    for year in years:
        for number, element in enumerate(elements):
            lines += [
                f"{element},{code},,{year},{(index * 7 + number * 13 + year + shift) % 5000 + 100}"
                for index, code in enumerate(_communities())
            ]
    return "\n".join(lines) + "\n"


def _env(url: str, data_dir: Path) -> dict[str, str]:
    return environment(database_url=url, data_dir=data_dir, SECRET_KEY=SECRET, DEMO_MODE="false")


@dataclass(frozen=True, slots=True)
class Command:
    """A command to kill, what it writes, and how to see from outside that it is writing or has committed."""

    args: list[str]
    content: dict[str, list[str]]
    writing: str  # pattern of the statement it runs inside its transaction (PostgreSQL)
    committed: str  # a query whose answer changes when its transaction commits


async def _pg_watch(process: subprocess.Popen[bytes], *, url: str, query: str, args: tuple[object, ...] = ()) -> bool:
    """Poll a PostgreSQL query until it answers something else than at first."""
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        first = await connection.fetchval(query, *args)
        while process.poll() is None:
            if await connection.fetchval(query, *args) != first:
                return True
            await asyncio.sleep(0.003)
        return False
    finally:
        await connection.close()


def _sqlite_watch(process: subprocess.Popen[bytes], *, url: str, query: str) -> bool:
    """Poll an SQLite query until it answers something else than at first; BEGIN IMMEDIATE answers "locked" while
    another connection holds the write lock."""
    locking = query.startswith("BEGIN")
    probe = sqlite3.connect(make_url(url).database or "", timeout=0 if locking else 5, isolation_level=None)

    def answer() -> object:
        if not locking:
            return probe.execute(query).fetchone()
        try:
            probe.execute(query)
        except sqlite3.OperationalError:
            return "locked"
        probe.execute("ROLLBACK")
        return "free"

    try:
        first = answer()
        while process.poll() is None:
            if answer() != first:
                return True
            time.sleep(0.003)
        return False
    finally:
        probe.close()


def _wait_for(moment: float | str, process: subprocess.Popen[bytes], *, url: str, command: Command) -> str:
    """Wait until the moment to kill: a delay in seconds, "writing" (inside its transaction, having written) or
    "committed" (its transaction visible to others); where that is."""
    if isinstance(moment, float):
        time.sleep(moment)
        return f"after {moment:.2f} s"
    sqlite = url.startswith("sqlite")
    if moment == "writing" and sqlite:
        seen = _sqlite_watch(process, url=url, query="BEGIN IMMEDIATE")
    elif moment == "writing":
        query = (
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = $1 AND backend_xid IS NOT NULL AND query LIKE $2"
        )
        seen = asyncio.run(_pg_watch(process, url=url, query=query, args=(make_url(url).database, command.writing)))
    else:
        seen = (
            _sqlite_watch(process, url=url, query=command.committed)
            if sqlite
            else asyncio.run(_pg_watch(process, url=url, query=command.committed))
        )
    assert seen, f"the command ended before it was seen {moment}"
    return {"writing": "while writing in its transaction", "committed": "right after its commit"}[moment]


def _kill(command: Command, *, env: dict[str, str], moment: float | str) -> tuple[str, bool, float]:
    """Start the command, SIGKILL it at the moment; where that was, whether it had already finished, and when."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", *command.args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    point = _wait_for(moment, process, url=env["DATABASE_URL"], command=command)
    finished = process.poll() is not None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return point, finished and process.returncode == 0, time.monotonic() - started


def _describe(state: Fingerprint, *, before: Fingerprint, after: Fingerprint) -> str:
    return "; ".join(
        f"{table} {state.get(table)} (before {before.get(table)}, after {after.get(table)})"
        for table in sorted(set(state) | set(before))
        if state.get(table) != before.get(table)
    )


def _all_or_nothing(*, before_url: str, command: Command, data_dir: Path) -> list[Kill]:
    """Kill the command right after it commits, while it writes, and at seeded random delays spread over a run,
    from the before state each time; every kill must leave the before state or the after state that a final run
    to completion gives (the first kill: the after state)."""
    stem = Path(make_url(before_url).database or "").stem
    work = sibling_url(before_url, f"{stem}_work")
    before = fingerprint(before_url, content=command.content)
    clone_database(before_url, work)
    rng = random.Random(SEED)
    moments: list[float | str] = ["committed", "writing"]
    kills = []
    while moments:
        moment = moments.pop(0)
        point, finished, seconds = _kill(command, env=_env(work, data_dir), moment=moment)
        if moment == "committed":
            # One random delay in each of RANDOM_KILLS equal slices of 1.2 runs: start-up, work and the end.
            slices = [1.2 * seconds * part / RANDOM_KILLS for part in range(RANDOM_KILLS + 1)]
            moments += [rng.uniform(low, high) for low, high in pairwise(slices)]
        wait_until_idle(work)
        kills.append((point, finished, fingerprint(work, content=command.content)))
        if kills[-1][2] != before:
            clone_database(before_url, work)
    rerun = culturezone(*command.args, env=_env(work, data_dir))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = fingerprint(work, content=command.content)
    assert after != before
    for point, _finished, state in kills:
        assert state in (before, after), f"killed {point}, the database is in between: " + _describe(
            state, before=before, after=after
        )
    outcomes = [Kill(point, finished, "before" if state == before else "after") for point, finished, state in kills]
    print(f"\n{' '.join(command.args[:2])}: {outcomes}")
    assert outcomes[0].state == "after", "a kill right after the commit must leave the after state"
    return outcomes


def test_a_killed_data_value_import_leaves_all_or_nothing(own_database_url: str, tmp_path: Path) -> None:
    env = _env(own_database_url, tmp_path)
    files = {
        "units.csv": _units_csv(),
        "last_month.csv": _values_csv(elements=ELEMENTS[:2], years=YEARS, shift=1),
        "values.csv": _values_csv(elements=ELEMENTS, years=YEARS, shift=0),
    }
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    for kind, name in (("org_units", "units.csv"), ("data_values", "last_month.csv")):
        prepared = culturezone("import", kind, str(tmp_path / name), env=env)
        assert prepared.returncode == 0, prepared.stderr[-2000:]
    command = Command(
        args=["import", "data_values", str(tmp_path / "values.csv")],
        content=IMPORT_CONTENT,
        writing="%",
        committed="SELECT count(*) FROM audit_entry",
    )
    kills = _all_or_nothing(before_url=own_database_url, command=command, data_dir=tmp_path)
    assert len(kills) == RANDOM_KILLS + 2 and not kills[1].finished_first


async def _province(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await load_province(connection, size=Size.province(0.01))
    await engine.dispose()


async def _change_figures(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE data_value SET value = value * 2 + 1 WHERE period = '2019'"))
        await connection.execute(text("DELETE FROM activity WHERE id % 3 = 0"))
    await engine.dispose()


def test_a_killed_computation_leaves_the_old_results_or_the_new_ones(own_database_url: str, tmp_path: Path) -> None:
    stem = Path(make_url(own_database_url).database or "").stem
    url = sibling_url(own_database_url, f"{stem}_compute")
    recreate_database(url)
    migrate(url)
    asyncio.run(_province(url))
    args = ["compute", "--org-unit", "900000", "--period", "2019"]
    first = culturezone(*args, env=_env(url, tmp_path))
    assert first.returncode == 0, first.stderr[-2000:]
    asyncio.run(_change_figures(url))
    command = Command(
        args=args,
        content=COMPUTE_CONTENT,
        writing="INSERT INTO indicator_result%",
        committed="SELECT max(computed_at) FROM indicator_result",
    )
    kills = _all_or_nothing(before_url=url, command=command, data_dir=tmp_path)
    assert len(kills) == RANDOM_KILLS + 2 and not kills[1].finished_first


async def _pg_lock_holders(url: str) -> int:
    dsn, name = server_dsn(url)
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1 AND l.objid = $2",
            name,
            LOCK_KEY,
        )
    finally:
        await connection.close()


def _lock_holders(url: str, data_dir: Path) -> int:
    if not url.startswith("sqlite"):
        return asyncio.run(_pg_lock_holders(url))
    path = data_dir / "scheduler.lock"
    if not path.exists():
        return 0
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return 0


def _eventually(predicate: Callable[[], bool], *, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _leads(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/scheduler/status", timeout=2).json()["leader"]


def test_a_killed_leader_releases_its_lock_and_a_restarted_scheduler_takes_over(
    own_database_url: str, tmp_path: Path
) -> None:
    env = _env(own_database_url, tmp_path) | {"SCHEDULER_TICK_SECONDS": "0.2"}
    port = free_port()
    leader = start_service("scheduler", port=port, env=env)
    restarted = None
    try:
        assert _eventually(lambda: _leads(port))
        assert _lock_holders(own_database_url, tmp_path) == 1
        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=10)
        assert _eventually(lambda: _lock_holders(own_database_url, tmp_path) == 0)
        port = free_port()
        restarted = start_service("scheduler", port=port, env=env)
        assert _eventually(lambda: _leads(port), seconds=5)
        assert _lock_holders(own_database_url, tmp_path) == 1
    finally:
        for process in (leader, restarted):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
