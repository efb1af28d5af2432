"""The `culturezone` command: migrate, users, imports, demo data, and starting the services."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from pydantic import ValidationError

from shared.auth.models import Role
from shared.config import get_settings

app = typer.Typer(help="CultureZone: the demonstration-zone platform.", no_args_is_help=True, add_completion=False)
ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("api", "ingest", "scheduler")


def alembic_config() -> Config:
    """Alembic settings pointing at the packaged migrations and the configured database."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", get_settings().resolved_database_url)
    return config


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Upgrade the database schema (alembic upgrade)."""
    command.upgrade(alembic_config(), revision)
    typer.echo(f"database at {revision}")


@app.command("create-user")
def create_user(
    username: str,
    password: Annotated[str, typer.Option(help="at least 10 characters")],
    role: Annotated[Role, typer.Option(help="admin, plan_manager, department_reporter, unit_clerk, viewer …")],
    org_unit: Annotated[str | None, typer.Option(help="org-unit code; none means the whole tree")] = None,
    department: Annotated[str | None, typer.Option(help="department name inside the org unit")] = None,
) -> None:
    """Create a user (the first admin of a fresh installation comes from here)."""
    from shared.admin import create_user_by_codes

    user_id = asyncio.run(
        create_user_by_codes(
            username=username, password=password, role=role, org_unit_code=org_unit, department_name=department
        )
    )
    typer.echo(f"user {username} created (id {user_id})")


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="tasks or org_units")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    plan_id: Annotated[int | None, typer.Option(help="the plan a task table belongs to")] = None,
) -> None:
    """Import an xlsx/csv file in one transaction; prints every bad row when it refuses."""
    from shared.admin import import_as_system
    from shared.errors import AppError

    try:
        summary = asyncio.run(import_as_system(kind=kind, path=file, plan_id=plan_id))
    except AppError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        for error in exc.errors:
            typer.echo(
                f"  row {error.get('row')} {error.get('column') or error.get('field') or ''}: {error.get('message')}",
                err=True,
            )
        raise typer.Exit(2) from exc
    typer.echo(summary.model_dump_json(indent=2))


@app.command()
def compute(
    org_unit: Annotated[str, typer.Option(help="code of the subtree's root")],
    period: Annotated[str, typer.Option(help="2019, 2019Q1 or 2019-03")],
    codes: Annotated[list[str] | None, typer.Option("--code", help="only these indicators (repeatable)")] = None,
) -> None:
    """Compute the indicators of a subtree for a period and store the results."""
    from shared.admin import compute_as_system
    from shared.errors import AppError

    try:
        summary = asyncio.run(compute_as_system(org_unit_code=org_unit, period=period, codes=codes))
    except AppError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{summary.results} results of {summary.indicators} indicators for {org_unit} {summary.period} "
        f"in {summary.seconds:.2f} s"
    )


@app.command()
def bench(
    name: Annotated[str, typer.Argument(help="indicators, api, citizen, federation, fuzz or reports")],
    scale: Annotated[float, typer.Option(help="fraction of the full size (1.0 = the issue's province)")] = 1.0,
    cases: Annotated[int, typer.Option(help="fuzz: requests generated over both apps' OpenAPI")] = 2000,
    districts: Annotated[int, typer.Option(help="federation: district instances (one process and database each)")] = 20,
) -> None:
    """Run a benchmark on a scratch database beside the configured one; prints `name: value [unit]` lines."""
    from importlib import import_module

    from sqlalchemy.engine import make_url

    from shared.bench import SCRATCH_SUFFIX, cpu_reference_s
    from shared.db_admin import sibling_url

    if name not in SCRATCH_SUFFIX:
        raise typer.BadParameter(f"one of: {', '.join(SCRATCH_SUFFIX)}", param_hint="name")
    source = get_settings().resolved_database_url
    url = sibling_url(source, f"{Path(make_url(source).database or 'culturezone').stem}_{SCRATCH_SUFFIX[name]}")
    arguments: dict[str, dict[str, int | float]] = {
        "federation": {"districts": districts, "rows": max(1, int(50_000 * scale))},
        "fuzz": {"cases": cases},
    }
    run = getattr(import_module(f"shared.bench.{name}"), f"run_{name}_bench")
    for line in run(url=url, **arguments.get(name, {"scale": scale})):
        typer.echo(line)
    # This machine's speed has differed by half from one day to the next: the same loop timed after every bench
    # tells whether two runs' figures are comparable.
    typer.echo(f"cpu_reference_s: {cpu_reference_s():.3f} s")


@app.command()
def schedule(
    once: Annotated[bool, typer.Option("--once", help="run one tick of the calendar and exit")] = False,
    at: Annotated[str | None, typer.Option("--now", help="the tick's clock, ISO 8601 (default: now)")] = None,
    until: Annotated[str | None, typer.Option(help="simulate: tick from --now to this instant")] = None,
    step_hours: Annotated[float, typer.Option(help="simulate: hours between ticks")] = 24.0,
    skip: Annotated[list[str] | None, typer.Option(help="leave this job out (repeatable)")] = None,
) -> None:
    """Run the reporting calendar's jobs by hand (idempotent: safe beside a running scheduler)."""
    from datetime import UTC, datetime, timedelta

    from services.scheduler.jobs import JOBS
    from services.scheduler.runner import run_tick

    if not once:
        raise typer.BadParameter(
            "use --once (the service itself is `culturezone serve scheduler`)", param_hint="--once"
        )

    def instant(text: str, name: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise typer.BadParameter("not an ISO 8601 date-time", param_hint=name) from exc
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    start = instant(at, "--now") if at else datetime.now(UTC)
    end = instant(until, "--until") if until else start
    if step_hours <= 0:
        raise typer.BadParameter("must be positive", param_hint="--step-hours")
    unknown = set(skip or []) - {job.name for job in JOBS}
    if unknown:
        raise typer.BadParameter(f"no such job: {', '.join(sorted(unknown))}", param_hint="--skip")
    jobs = [job for job in JOBS if job.name not in set(skip or [])]

    async def ticks() -> None:
        from shared.db import dispose_engine

        moment = start
        while moment <= end:
            ran = await run_tick(now=moment, jobs=jobs)
            typer.echo(f"{moment.isoformat()}: {', '.join(ran) or 'nothing due'}")
            moment += timedelta(hours=step_hours)
        await dispose_engine()

    asyncio.run(ticks())


@app.command()
def sync(
    peer: Annotated[
        list[str] | None, typer.Option("--peer", help="only this peer (repeatable; paused ones too)")
    ] = None,
    compact_days: Annotated[
        float | None, typer.Option(help="also compact this instance's own change log older than this many days")
    ] = None,
) -> None:
    """Pull every active federation peer (or those named) once; exit code 1 when one failed."""
    from shared.federation.service import compact_now, pull_now

    results = asyncio.run(pull_now(names=peer))
    for result in results:
        state = "ok" if result.ok else f"FAILED: {result.error}"
        typer.echo(f"{result.peer}: {result.rows} rows in {result.pages} pages, {result.seconds:.2f} s, {state}")
    if not results:
        typer.echo("no active peers")
    if compact_days is not None:
        typer.echo(f"compacted {asyncio.run(compact_now(days=compact_days))} superseded changes")
    if any(not result.ok for result in results):
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Load the demo district, plan and users into an empty database (DEMO_MODE only)."""
    from shared.demo.loader import load_demo

    for line in asyncio.run(load_demo()):
        typer.echo(line)


@app.command("evidence-gc")
def evidence_gc(
    older_than_minutes: Annotated[
        int, typer.Option(min=1, help="grace period: leave files younger than this (uploads in flight)")
    ] = 60,
) -> None:
    """Delete evidence files no row references (failed or killed uploads) and stale temporary files."""
    from datetime import timedelta

    from shared.tasks.evidence_gc import collect_orphans_now

    removed = asyncio.run(collect_orphans_now(older_than=timedelta(minutes=older_than_minutes)))
    for path in removed:
        typer.echo(f"removed {path}")
    typer.echo(f"{len(removed)} orphaned evidence file(s) removed")


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="api, ingest or scheduler")],
    host: Annotated[str | None, typer.Option(help="default: BIND_HOST (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(envvar="UVICORN_WORKERS")] = 1,
) -> None:
    """Run one service in the foreground, as production does."""
    settings = get_settings()
    host = host or settings.bind_host
    if service == "scheduler":
        from services.scheduler.main import run

        run(host=host, port=port or settings.scheduler_port)
        return
    if service not in ("api", "ingest"):
        raise typer.BadParameter("api, ingest or scheduler", param_hint="service")
    import uvicorn

    default_port = settings.api_port if service == "api" else settings.ingest_port
    uvicorn.run(
        f"services.{service}.main:app",
        host=host,
        port=port or default_port,
        workers=workers,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,  # only the proxy may say who the client is
    )


@app.command()
def up(host: Annotated[str, typer.Option()] = "127.0.0.1") -> None:
    """Migrate, load demo data when the database is empty, start all three services, wait for Ctrl-C."""
    settings = get_settings()
    migrate("head")
    if settings.demo_mode:
        demo()
    processes = [
        subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", name, "--host", host], env=os.environ.copy())
        for name in SERVICES
    ]
    time.sleep(2)
    typer.echo(
        f"\nCultureZone is running:\n  API       http://{host}:{settings.api_port}/docs\n"
        f"  ingest    http://{host}:{settings.ingest_port}/docs\n"
        f"  scheduler http://{host}:{settings.scheduler_port}/healthz\n"
        f"  data      {settings.data_dir.resolve()}\nPress Ctrl-C to stop."
    )
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def main() -> None:
    """The console entry point: a setting that cannot be read is named, with why, instead of a traceback."""
    try:
        app()
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            typer.echo(f"refused: the setting {name} ({error['input']!r}): {error['msg']}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
