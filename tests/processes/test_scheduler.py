"""Scheduler processes: exactly one leader, and a standby takes over when the leader dies."""

import signal
import time

import httpx
import pytest

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
