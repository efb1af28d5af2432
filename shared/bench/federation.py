"""`culturezone bench federation`: one city pulls N district instances (real uvicorn processes, one database each)
with R changed rows apiece; a second round finds nothing new. Prints `name: value [unit]` lines."""

import asyncio
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared.auth.models import Role, User
from shared.auth.scope import SYSTEM
from shared.auth.service import issue_api_token
from shared.db import make_engine, write_intent
from shared.db_admin import ROOT, drop_database, migrate, recreate_database, sibling_url
from shared.federation.peers import register_peer
from shared.federation.puller import PullOptions, pull_all_peers
from shared.federation.schemas import PeerCreate
from shared.orgunits.models import KIND_LEVELS, OrgUnit, OrgUnitKind
from shared.statistics.elements import sync_elements
from shared.statistics.models import DataValue

STREETS, COMMUNITIES = 10, 10  # per district: 10 streets of 10 communities
BENCH_SECRET = "federation-bench-secret-0123456789abcdef"
PEERS_AT_ONCE = 2


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: every socket stays bound until all are chosen, so that no port is handed out
    twice (two districts on one port: the second one fails to bind while the first answers its health check)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


async def _seed_district(url: str, *, index: int, rows: int) -> str:
    """A district tree with `rows` figures and a peer token scoped to its root; the token."""
    engine = make_engine(url)
    write_intent.set(True)
    code = f"4101{index + 1:02d}"
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            population = (await sync_elements(session))["population"]
            root = OrgUnit(code=code, name=f"区{index}", kind=OrgUnitKind.district, level=2, path="")
            session.add(root)
            await session.flush()
            root.path = f"/{root.id}/"
            leaves: list[int] = []
            for s in range(STREETS):
                street = OrgUnit(code=f"{code}{s + 1:03d}000", name=f"街道{s}", kind=OrgUnitKind.street,
                                 level=KIND_LEVELS[OrgUnitKind.street], parent_id=root.id, path="")  # fmt: skip
                session.add(street)
                await session.flush()
                street.path = f"{root.path}{street.id}/"
                for c in range(COMMUNITIES):
                    community = OrgUnit(
                        code=f"{code}{s + 1:03d}{c + 1:03d}", name=f"社区{c}", kind=OrgUnitKind.community, level=4,
                        parent_id=street.id, path="",
                    )  # fmt: skip
                    session.add(community)
                    await session.flush()
                    community.path = f"{street.path}{community.id}/"
                    leaves.append(community.id)  # type: ignore[arg-type]
            user = User(username="city-puller", role=Role.peer, org_unit_id=root.id)
            session.add(user)
            await session.flush()
            _row, token = await issue_api_token(session, actor=SYSTEM, user_id=user.id, name="city")  # type: ignore[arg-type]
            await session.commit()
            batch: list[dict[str, Any]] = []
            for n in range(rows):
                year = 1000 + n // len(leaves)
                batch.append({"element_id": population.id, "org_unit_id": leaves[n % len(leaves)], "period": str(year),
                              "period_type": "year", "period_start": f"{year}-01-01", "period_end": f"{year}-12-31",
                              "value": n, "source": "bench"})  # fmt: skip
                if len(batch) == 5000 or n == rows - 1:
                    for row in batch:
                        row["period_start"] = _date(row["period_start"])
                        row["period_end"] = _date(row["period_end"])
                    await session.execute(insert(DataValue.__table__), batch)
                    await session.commit()
                    batch = []
        if url.startswith("postgresql"):
            # A serving district's tables have been vacuumed and analysed long since; a freshly bulk-loaded one
            # would spend the measured pull setting hint bits and racing autovacuum.
            async with engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM (ANALYZE)"))
        return token
    finally:
        await engine.dispose()


async def _drop(urls: list[str]) -> None:
    for url in urls:
        await drop_database(url)


def _date(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


async def _prepare(urls: list[str], *, rows: int) -> list[str]:
    for url in urls:
        await recreate_database(url)
    await asyncio.gather(*(asyncio.to_thread(migrate, url) for url in urls))
    return [await _seed_district(url, index=i, rows=rows) for i, url in enumerate(urls[1:])]


async def _register(city_url: str, bases: list[str], tokens: list[str]) -> None:
    engine = make_engine(city_url)
    write_intent.set(True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await sync_elements(session)
            session.add(OrgUnit(code="410100", name="市", kind=OrgUnitKind.city, level=1, path="/1/"))
            await session.flush()
            for i, (base, token) in enumerate(zip(bases, tokens, strict=True)):
                data = PeerCreate(name=f"d{i:02d}", base_url=base, covered_org_unit_code="410100", token=token)
                await register_peer(session, actor=SYSTEM, data=data)
            await session.commit()
    finally:
        await engine.dispose()


def _puller(city_url: str, page_limit: int, secret: str, queue: Any) -> None:
    """The city's pull rounds, in a process of their own so that its peak memory is the puller's alone."""
    os.environ["SECRET_KEY"] = secret

    async def rounds() -> dict[str, float]:
        engine = make_engine(city_url)
        # Two peers at a time: here the twenty districts serve from the same two cores the city writes with, and
        # more pages in flight only make them fight (measured: 6,746 rows/s with 2, 4,599 with 4, 4,798 with 8).
        options = PullOptions(page_limit=page_limit, timeout_s=120, concurrency=PEERS_AT_ONCE)
        started = time.perf_counter()
        first = await pull_all_peers(engine=engine, options=options)
        pull_s = time.perf_counter() - started
        started = time.perf_counter()
        second = await pull_all_peers(engine=engine, options=options)
        idle = time.perf_counter() - started
        await engine.dispose()
        failed = [r.error for r in first + second if not r.ok]
        if failed:
            raise RuntimeError(f"pull failed: {failed[:3]}")
        return {"rows": sum(r.rows for r in first), "pull_s": pull_s, "idle_round_s": idle,
                "idle_rows": sum(r.rows for r in second)}  # fmt: skip

    try:
        figures: dict[str, Any] = asyncio.run(rounds())
    except Exception as exc:  # reported by the parent, which fails with it
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(figures)


def run_federation_bench(*, url: str, districts: int = 20, rows: int = 50_000, page_limit: int = 5000) -> Iterator[str]:
    """Seed, serve, pull twice; yield the figure lines."""
    os.environ["SECRET_KEY"] = os.environ.get("SECRET_KEY") or BENCH_SECRET
    # The districts listen on loopback, which the outbound policy refuses unless allowed (the puller's process too).
    os.environ["OUTBOUND_ALLOWLIST"] = ",".join(filter(None, [os.environ.get("OUTBOUND_ALLOWLIST"), "127.0.0.1/32"]))
    from shared.config import get_settings

    get_settings.cache_clear()
    stem = url.rsplit("/", 1)[-1].removesuffix(".db")
    urls = [sibling_url(url, f"{stem}_city")] + [sibling_url(url, f"{stem}_d{i:02d}") for i in range(districts)]
    processes: list[subprocess.Popen[bytes]] = []
    bases = []
    try:
        started = time.perf_counter()
        tokens = asyncio.run(_prepare(urls, rows=rows))
        seed_s = time.perf_counter() - started
        for district_url, port in zip(urls[1:], _free_ports(districts), strict=True):
            env = os.environ | {
                "DATABASE_URL": district_url,
                "SECRET_KEY": os.environ["SECRET_KEY"],
                "LOG_LEVEL": "warning",
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "shared.cli", "serve", "api", "--port", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            _wait(base, process)
        asyncio.run(_register(urls[0], bases, tokens))
        for base, token in zip(bases, tokens, strict=True):
            # Serving instances run for months: the first request of each route pays a one-off set-up (FastAPI
            # builds the route's state, about a CPU-second), which is not part of the pulling measured below.
            for path in ("manifest", "changes?limit=1"):
                httpx.get(f"{base}/federation/v1/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        queue: Any = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=_puller, args=(urls[0], page_limit, os.environ["SECRET_KEY"], queue)
        )
        child.start()
        figures = queue.get(timeout=3600)
        child.join()
        if "error" in figures:
            raise RuntimeError(f"the puller failed: {figures['error']}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        # A full-size run leaves about 2 GB of scratch databases (the city's alone is 1 GB): gone once measured.
        asyncio.run(_drop(urls))
    yield f"districts: {districts}"
    yield f"serving_processes: {len(processes)}"
    yield f"peers_at_once: {PEERS_AT_ONCE}"
    yield f"seed_s: {seed_s:.2f} s"
    yield f"rows: {int(figures['rows'])}"
    yield f"pull_s: {figures['pull_s']:.2f} s"
    yield f"rows_per_s: {figures['rows'] / figures['pull_s']:.0f}"
    yield f"idle_round_s: {figures['idle_round_s']:.3f} s"
    yield f"idle_rows: {int(figures['idle_rows'])}"
    yield f"peak_rss_mb: {figures['peak_rss_mb']:.1f} MB"


def _wait(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600  # twenty processes importing at once on two cores take a while
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the district at {base} did not start (exit code {process.poll()})")
