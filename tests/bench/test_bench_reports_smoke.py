"""`culturezone bench reports` at a tiny size, so that it never rots."""

import re

from tests.support.processes import culturezone, environment

FIGURE = re.compile(r"^([a-z_]+): ([0-9.]+)( [A-Za-z]+)?$")


def test_bench_reports_prints_every_figure(database_url: str, tmp_path) -> None:
    env = environment(database_url=database_url, data_dir=tmp_path, SECRET_KEY="bench-smoke-secret-0123456789")
    result = culturezone("bench", "reports", "--scale", "0.01", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = {}
    for line in result.stdout.strip().splitlines():
        match = FIGURE.match(line)
        assert match, f"not a `name: value [unit]` line: {line!r}"
        figures[match.group(1)] = float(match.group(2))
    assert set(figures) >= {"aggregate_s", "xlsx_s", "pdf_s", "reports"}
    # 1 city, 1 district (12 x 0.01 rounds up to one), 2 towns, 50 villages: every one reports.
    assert figures["reports"] == 54
