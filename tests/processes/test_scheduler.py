"""Scheduler processes: exactly one leader, and a standby takes over when the leader dies or loses its lock."""

import asyncio
import signal
import time

import asyncpg
import httpx
import pytest

from services.scheduler.leader import LOCK_KEY
from shared.db_admin import server_dsn
from tests.support.processes import environment, free_port, start_service


def _status(port: int) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}/scheduler/status", timeout=2).json()


def _wait_for(predicate, *, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_one_leader_and_a_standby_that_takes_over(own_database_url: str, tmp_path: pytest.TempPathFactory) -> None:
    env = environment(
        database_url=own_database_url,
        data_dir=tmp_path,
        SECRET_KEY="scheduler-test-secret-0123456789",
        SCHEDULER_TICK_SECONDS="0.3",
    )
    ports = [free_port(), free_port()]
    processes = [start_service("scheduler", port=port, env=env) for port in ports]
    try:
        assert _wait_for(lambda: any(_status(port)["leader"] for port in ports))
        time.sleep(1)
        leaders = [port for port in ports if _status(port)["leader"]]
        assert len(leaders) == 1
        leader_index = ports.index(leaders[0])
        processes[leader_index].send_signal(signal.SIGKILL)
        processes[leader_index].wait(timeout=10)
        standby = ports[1 - leader_index]
        assert _wait_for(lambda: _status(standby)["leader"], seconds=30)
        assert httpx.get(f"http://127.0.0.1:{standby}/readyz").status_code == 200
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


async def _lock_sessions(url: str, *, terminate: bool = False) -> list[int]:
    """The backends holding the leader's lock in this database (terminated when asked)."""
    dsn, name = server_dsn(url)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT l.pid, CASE WHEN $3 THEN pg_terminate_backend(l.pid) END FROM pg_locks l "
            "JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1 AND l.objid = $2",
            name,
            LOCK_KEY,
            terminate,
        )
        return [row["pid"] for row in rows]
    finally:
        await connection.close()


async def _daily_runs(url: str) -> dict[str, int]:
    dsn, name = server_dsn(url)
    connection = await asyncpg.connect(f"{dsn.rsplit('/', 1)[0]}/{name}")
    try:
        rows = await connection.fetch(
            "SELECT name, runs FROM job_run WHERE name = ANY($1::text[])", ["recompute_indicators", "compact_changes"]
        )
        return {row["name"]: row["runs"] for row in rows}
    finally:
        await connection.close()


@pytest.mark.postgres
def test_a_leader_whose_lock_session_dies_stops_leading_and_the_standby_takes_over(
    own_database_url: str, tmp_path: pytest.TempPathFactory
) -> None:
    env = environment(
        database_url=own_database_url,
        data_dir=tmp_path,
        SECRET_KEY="scheduler-test-secret-0123456789",
        SCHEDULER_TICK_SECONDS="0.3",
        NIGHTLY_HOUR="0",
    )
    ports = [free_port(), free_port()]
    processes = [start_service("scheduler", port=port, env=env) for port in ports]
    try:
        assert _wait_for(lambda: any(_status(port)["leader"] for port in ports))
        leader = next(port for port in ports if _status(port)["leader"])
        standby = ports[1 - ports.index(leader)]
        assert _wait_for(lambda: len(asyncio.run(_daily_runs(own_database_url))) == 2)

        assert len(asyncio.run(_lock_sessions(own_database_url, terminate=True))) == 1

        assert _wait_for(lambda: _status(standby)["leader"], seconds=30)
        assert not _status(leader)["leader"]
        ticks_of_old_leader = _status(leader)["last_tick"]
        time.sleep(1.5)
        assert [_status(port)["leader"] for port in (leader, standby)] == [False, True]
        assert _status(leader)["last_tick"] == ticks_of_old_leader
        assert all(process.poll() is None for process in processes)
        assert asyncio.run(_daily_runs(own_database_url)) == {"recompute_indicators": 1, "compact_changes": 1}
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
