"""`culturezone bench api`: the main read and write endpoints under concurrent load on loopback, beside the
no-database /healthz of the same server in the same run."""

import asyncio
import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shared.db_admin import ROOT, migrate, recreate_database

DISTRICT = "410105"
# Three reads of each kind for one write of each kind, as people mostly look and sometimes report.
MIX = ("tasks", "indicators", "tasks", "data_value", "indicators", "tasks", "indicators", "progress")
Request = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class Load:
    """How hard one phase pushes: concurrent workers, at most this many requests, for at most this long."""

    requests: int
    workers: int
    seconds: float

    @classmethod
    def of(cls, scale: float) -> "Load":
        """20,000 requests from 64 workers (at most a minute) at scale 1.0."""
        return cls(
            requests=max(20, round(20_000 * scale)),
            workers=max(2, min(64, round(64 * scale))),
            seconds=max(5.0, 60 * scale),
        )


@dataclass(frozen=True)
class Phase:
    """What one phase measured."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu_seconds: float | None

    @property
    def rps(self) -> float:
        """Answered requests per second of wall time."""
        return self.requests / self.seconds

    @property
    def server_cpu_ms(self) -> float | None:
        """CPU time of the API process per request, in milliseconds."""
        return None if self.server_cpu_seconds is None else self.server_cpu_seconds / self.requests * 1000

    def percentile_ms(self, fraction: float) -> float:
        """A latency percentile in milliseconds."""
        return self.latencies[min(len(self.latencies) - 1, int(fraction * len(self.latencies)))] * 1000


@dataclass(frozen=True)
class Targets:
    """Ids of the demo data the requests touch."""

    plan_id: int
    district_id: int
    task_ids: list[int]
    unit_codes: list[str]

    def request(self, index: int) -> Request:
        """The index-th request of the mix."""
        kind = MIX[index % len(MIX)]
        if kind == "tasks":
            return "GET", f"/api/v1/plans/{self.plan_id}/tasks?limit=50", None
        if kind == "indicators":
            return "GET", f"/api/v1/org-units/{self.district_id}/indicators?period=2020", None
        if kind == "data_value":
            code = self.unit_codes[index % len(self.unit_codes)]
            figure = {"element": "population", "org_unit_code": code, "period": "2020", "value": 5000 + index}
            return "PUT", "/api/v1/data-values", {"values": [figure]}
        task_id = self.task_ids[index % len(self.task_ids)]
        report = {"note": "压力测试进度", "percent_complete": 10 + index % 80}
        return "POST", f"/api/v1/tasks/{task_id}/progress", report


def _demo_admin_password(env: dict[str, str]) -> str:
    """Load the demo into the scratch database; the admin's password it prints."""
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    match = re.search(r"^\s+admin\s+(\S+)\s+\(admin\)", result.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"the demo printed no admin password: {result.stdout[-1000:]} {result.stderr[-1000:]}")
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_api(*, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`culturezone serve api` in its own process, once /healthz answers."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "serve", "api", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"the API did not start (exit code {server.poll()}): {log.read_text()[-2000:]}")


async def _targets(client: httpx.AsyncClient) -> Targets:
    plan_id = (await client.get("/api/v1/plans")).raise_for_status().json()[0]["id"]
    district = (await client.get("/api/v1/org-units", params={"code": DISTRICT})).raise_for_status().json()
    tasks = (await client.get(f"/api/v1/plans/{plan_id}/tasks", params={"limit": 50})).raise_for_status().json()
    units = (
        (await client.get("/api/v1/org-units", params={"kind": "community", "limit": 100})).raise_for_status().json()
    )
    return Targets(
        plan_id=plan_id,
        district_id=district["items"][0]["id"],
        task_ids=[task["id"] for task in tasks["items"]],
        unit_codes=[unit["code"] for unit in units["items"]],
    )


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU a process has used so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(
    clients: list[httpx.AsyncClient], *, load: Load, request: Callable[[int], Request], server_pid: int
) -> Phase:
    """Send requests from concurrent workers, one keep-alive connection each, until the count or the time runs out."""
    latencies: list[float] = []
    counts = {"issued": 0, "errors": 0}
    deadline = time.perf_counter() + load.seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while counts["issued"] < load.requests and time.perf_counter() < deadline:
            method, path, body = request(counts["issued"])
            counts["issued"] += 1
            sent = time.perf_counter()
            try:
                ok = (await client.request(method, path, json=body)).is_success
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - sent)
            counts["errors"] += not ok

    cpu_before = _cpu_seconds(server_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients[: load.workers]))
    elapsed = time.perf_counter() - started
    cpu_after = _cpu_seconds(server_pid)
    return Phase(
        requests=len(latencies),
        errors=counts["errors"],
        seconds=elapsed,
        latencies=sorted(latencies),
        server_cpu_seconds=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
    )


async def _measure(*, base_url: str, password: str, load: Load, server_pid: int) -> tuple[Phase, Phase]:
    """The mix, then /healthz, each after a short warm-up.

    Every worker has its own client: one httpx pool shared by 64 connections costs the client more CPU per
    request than /healthz costs the server, and the baseline would measure the client."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1), timeout=60)
            )
            for _ in range(load.workers)
        ]
        login = await clients[0].post("/api/v1/auth/token", data={"username": "admin", "password": password})
        token = login.raise_for_status().json()["access_token"]
        for client in clients:
            client.headers["Authorization"] = f"Bearer {token}"
        targets = await _targets(clients[0])
        warm_up = Load(requests=2 * load.workers, workers=load.workers, seconds=load.seconds)
        phases = []
        for request in (targets.request, lambda _index: ("GET", "/healthz", None)):
            await _drive(clients, load=warm_up, request=request, server_pid=server_pid)
            phases.append(await _drive(clients, load=load, request=request, server_pid=server_pid))
    return phases[0], phases[1]


def run_api_bench(*, url: str, scale: float) -> Iterator[str]:
    """Yield the figures, one `name: value [unit]` line each."""
    load = Load.of(scale)
    asyncio.run(recreate_database(url))
    migrate(url)
    with tempfile.TemporaryDirectory(prefix="culturezone-apibench-") as data_dir:
        env = os.environ | {
            "DATABASE_URL": url,
            "DATA_DIR": data_dir,
            "DEMO_MODE": "true",
            "SECRET_KEY": secrets.token_urlsafe(48),
        }
        password = _demo_admin_password(env)
        port = _free_port()
        server = _start_api(env=env, port=port, log=Path(data_dir) / "api.log")
        try:
            mixed, baseline = asyncio.run(
                _measure(base_url=f"http://127.0.0.1:{port}", password=password, load=load, server_pid=server.pid)
            )
        finally:
            server.terminate()
            server.wait(timeout=15)
    yield f"workers: {load.workers}"
    yield f"requests: {mixed.requests}"
    yield f"errors: {mixed.errors}"
    yield f"rps: {mixed.rps:.1f}"
    yield f"p50_ms: {mixed.percentile_ms(0.50):.1f} ms"
    yield f"p99_ms: {mixed.percentile_ms(0.99):.1f} ms"
    yield f"baseline_errors: {baseline.errors}"
    yield f"baseline_rps: {baseline.rps:.1f}"
    yield f"baseline_p50_ms: {baseline.percentile_ms(0.50):.1f} ms"
    yield f"baseline_p99_ms: {baseline.percentile_ms(0.99):.1f} ms"
    yield f"ratio: {mixed.rps / baseline.rps:.3f}"
    if mixed.server_cpu_ms is not None and baseline.server_cpu_ms is not None:
        yield f"api_cpu_ms: {mixed.server_cpu_ms:.2f} ms"
        yield f"baseline_api_cpu_ms: {baseline.server_cpu_ms:.2f} ms"
