"""The bounded contract fuzz: schemathesis against both apps' OpenAPI finds no 5xx and no answer off its schema."""

from pathlib import Path

from tests.support.processes import culturezone, environment

CASES = 400


def test_both_apps_keep_their_openapi_contract(database_url: str, tmp_path: Path) -> None:
    env = environment(database_url=database_url, data_dir=tmp_path)
    result = culturezone("bench", "fuzz", "--cases", str(CASES), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    failures = result.stderr[-6000:]  # each failure with the curl line that reproduces it
    assert int(figures["operations"]) >= 60
    assert int(figures["cases"]) >= CASES * 3 // 4
    assert int(figures["server_errors"]) == 0, failures
    assert int(figures["schema_violations"]) == 0, failures
    assert int(figures["edge_cases"]) >= 300  # cursors, calendar-end dates and hostile text on every route
    assert int(figures["edge_cursor_cases"]) > 0 and int(figures["edge_date_cases"]) > 0
    assert int(figures["edge_server_errors"]) == 0, failures
