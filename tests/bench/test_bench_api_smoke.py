"""`culturezone bench api` at a tiny size, so that it never rots."""

import re

from tests.support.processes import culturezone, environment

FIGURE = re.compile(r"^([a-z0-9_]+): ([0-9.]+)( [A-Za-z]+)?$")


def test_bench_api_prints_throughput_and_latency_beside_the_baseline(database_url: str, tmp_path) -> None:
    env = environment(database_url=database_url, data_dir=tmp_path, SECRET_KEY="bench-api-smoke-secret-0123456789")
    result = culturezone("bench", "api", "--scale", "0.002", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = {}
    for line in result.stdout.strip().splitlines():
        match = FIGURE.match(line)
        assert match, f"not a `name: value [unit]` line: {line!r}"
        figures[match.group(1)] = float(match.group(2))
    assert set(figures) >= {"rps", "p50_ms", "p99_ms", "baseline_rps", "baseline_p99_ms", "ratio", "requests", "errors"}
    assert figures["requests"] >= 20 and figures["workers"] == 2
    assert figures["rps"] > 0 and figures["baseline_rps"] > 0 and figures["baseline_errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert abs(figures["ratio"] - figures["rps"] / figures["baseline_rps"]) < 0.01
