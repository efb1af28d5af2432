"""`culturezone bench fuzz`: schemathesis against the OpenAPI of the API and ingest apps, served in-process.

The run uses a scratch database (`<db>_fuzz`, demo data loaded so that ids exist) and a scratch DATA_DIR, in a
child process whose settings point at both; the apps are called over ASGI, no port is opened. Every request
goes out as the demo admin. Figures on stdout; each failure on stderr with a curl line that reproduces it.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.bench.edges import EdgeTally, run_edges
from shared.db_admin import ROOT, migrate, recreate_database

# Stored ids that replace generated ones half of the time, so that cases get past "no such org unit".
KNOWN_IDS = {
    "unit_id": "SELECT id FROM org_unit ORDER BY level, id LIMIT 6",
    "plan_id": "SELECT id FROM plan ORDER BY id LIMIT 3",
    "task_id": "SELECT id FROM task ORDER BY id LIMIT 6",
    "facility_id": "SELECT id FROM facility ORDER BY id LIMIT 6",
    "activity_id": "SELECT id FROM activity ORDER BY id LIMIT 6",
    "evidence_id": "SELECT id FROM evidence ORDER BY id LIMIT 3",
    "department_id": "SELECT id FROM department ORDER BY id LIMIT 4",
    "user_id": "SELECT id FROM user_account WHERE username <> 'admin' ORDER BY id LIMIT 4",
    "element": "SELECT code FROM data_element ORDER BY id LIMIT 6",
}
# Query parameters and body fields holding the same things as the path parameters above.
FIELDS = {
    "org_unit_id": "unit_id",
    "within": "unit_id",
    "plan_id": "plan_id",
    "task_id": "task_id",
    "facility_id": "facility_id",
    "department_id": "department_id",
    "element": "element",
}


def run_fuzz_bench(*, url: str, cases: int, seed: int = 0) -> Iterator[str]:
    """Prepare the scratch database, fuzz in a child process and yield its figures."""
    asyncio.run(recreate_database(url))
    migrate(url)
    with tempfile.TemporaryDirectory(prefix="culturezone-fuzz-") as data_dir:
        env = os.environ | {
            "DATABASE_URL": url,
            "DATA_DIR": data_dir,
            "DEMO_MODE": "true",
            "LOG_LEVEL": "error",
            "CITIZEN_RATE_PER_SECOND": "0",
        }
        demo = subprocess.run([sys.executable, "-m", "shared.cli", "demo"], cwd=ROOT, env=env, capture_output=True)
        if demo.returncode != 0:
            raise RuntimeError(f"the demo data did not load: {demo.stderr.decode(errors='replace')[-2000:]}")
        command = [sys.executable, "-m", "shared.bench.fuzz", "--cases", str(cases), "--seed", str(seed)]
        results = [
            subprocess.run(command + extra, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False)
            for extra in ([], ["--edges"])
        ]
    for result in results:
        if result.returncode != 0:
            raise RuntimeError(f"the fuzz process failed with exit code {result.returncode}")
        yield from result.stdout.splitlines()


@dataclass
class Tally:
    """What the run saw."""

    operations: int = 0
    cases: int = 0
    server_errors: int = 0
    schema_violations: int = 0

    def figures(self) -> list[str]:
        """The `name: value` lines."""
        return [
            f"operations: {self.operations}",
            f"cases: {self.cases}",
            f"server_errors: {self.server_errors}",
            f"schema_violations: {self.schema_violations}",
        ]


async def _admin_token_and_ids() -> tuple[str, int, dict[str, list[Any]]]:
    from sqlalchemy import select, text

    from shared.auth.models import User
    from shared.auth.security import issue_access_token
    from shared.config import get_settings
    from shared.db import make_engine
    from shared.indicators.engine.run import catalogue

    engine = make_engine(get_settings().resolved_database_url)
    try:
        async with engine.connect() as connection:
            admin = (await connection.execute(select(User.id).where(User.username == "admin"))).scalar_one()
            known = {name: list((await connection.execute(text(sql))).scalars()) for name, sql in KNOWN_IDS.items()}
    finally:
        await engine.dispose()
    known["code"] = [indicator.code for indicator in catalogue().indicators[:8]]
    known["year"] = [2019, 2020]
    return issue_access_token(user_id=admin, role="admin"), admin, {name: ids for name, ids in known.items() if ids}


def _with_known_ids(pair: tuple[Any, dict[str, Any]]) -> Any:
    """A generated case whose ids (in the path, the query and the body) are replaced by stored ones."""
    case, ids = pair
    for name in case.path_parameters:
        if name in ids:
            case.path_parameters[name] = ids[name]
    _replace_fields(case.query, ids)
    _replace_fields(case.body, ids)
    return case


def _replace_fields(value: Any, ids: dict[str, Any]) -> None:
    if isinstance(value, list):
        for item in value:
            _replace_fields(item, ids)
    elif isinstance(value, dict):
        for name, item in value.items():
            if FIELDS.get(name) in ids:
                value[name] = ids[FIELDS[name]]
            else:
                _replace_fields(item, ids)


def _describe(exc: BaseException) -> str:
    failures = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    return "; ".join(f"{getattr(failure, 'title', type(failure).__name__)}: {failure}" for failure in failures)


def fuzz(*, cases: int, seed: int) -> Tally:
    """About `cases` requests spread evenly over every operation of both apps, positive and negative."""
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from services.api.main import app as api_app
    from services.ingest.main import app as ingest_app

    token, admin_id, known = asyncio.run(_admin_token_and_ids())
    auth = {"Authorization": f"Bearer {token}"}
    known_ids = st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in known.items()})
    operations = [
        result.ok()
        for app in (api_app, ingest_app)
        for result in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations()
    ]
    tally = Tally(operations=len(operations))
    checks = {
        "server_errors": [not_a_server_error],
        "schema_violations": [response_schema_conformance, content_type_conformance, status_code_conformance],
    }

    def report(kind: str, case: Any, message: str) -> None:
        setattr(tally, kind, getattr(tally, kind) + 1)
        print(f"{kind}: {case.operation.label}: {message}"[:1500], file=sys.stderr)
        print(f"  {case.as_curl_command()}"[:1500], file=sys.stderr, flush=True)

    def exercise(case: Any) -> None:
        if case.path_parameters.get("user_id") == admin_id:
            case.path_parameters["user_id"] = known["user_id"][0]  # the fuzzing admin must stay active
        tally.cases += 1
        try:
            response = case.call(headers=auth)
        except Exception as exc:  # the app raised, so the client got a 500
            report("server_errors", case, f"{type(exc).__name__}: {exc}")
            return
        for kind, kind_checks in checks.items():
            try:
                case.validate_response(response, checks=kind_checks)
            except (AssertionError, BaseExceptionGroup) as exc:
                report(kind, case, f"{response.status_code}: {_describe(exc)}")

    examples = max(1, -(-cases // (2 * len(operations))))  # rounded up, so that many operations still make `cases`
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            generated = operation.as_strategy(generation_mode=mode)

            @hypothesis.seed(seed)
            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(st.one_of(generated, st.tuples(generated, known_ids).map(_with_known_ids)))
            def run(case: Any) -> None:
                exercise(case)

            try:
                run()
            except Unsatisfiable:  # nothing to negate: no parameters and no body
                continue
    return tally


def fuzz_edges() -> EdgeTally:
    """The explicit edge cases (shared/bench/edges.py) over both apps as the demo admin, in one event loop (a
    process of their own: the database pool belongs to the loop that opened it)."""
    from services.api.main import app as api_app
    from services.ingest.main import app as ingest_app
    from shared.db import dispose_engine

    async def run() -> EdgeTally:
        token, _admin_id, known = await _admin_token_and_ids()
        ids = {name: values[0] for name, values in known.items()}
        apps = [(api_app, api_app.openapi()), (ingest_app, ingest_app.openapi())]
        try:
            return await run_edges(apps, headers={"Authorization": f"Bearer {token}"}, ids=ids)
        finally:
            await dispose_engine()

    return asyncio.run(run())


def main() -> None:
    """The child process: fuzz, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edges", action="store_true", help="run the explicit edge cases instead")
    arguments = parser.parse_args()
    tally = fuzz_edges() if arguments.edges else fuzz(cases=arguments.cases, seed=arguments.seed)
    for line in tally.figures():
        print(line, flush=True)


if __name__ == "__main__":
    main()
