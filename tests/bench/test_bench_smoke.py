"""Every benchmark runs at a tiny size so that it never rots."""

import re

from tests.support.processes import culturezone, environment

FIGURE = re.compile(r"^([a-z_]+): ([0-9.]+)( [A-Za-z]+)?$")


def test_bench_indicators_prints_every_figure(database_url: str, tmp_path) -> None:
    env = environment(database_url=database_url, data_dir=tmp_path, SECRET_KEY="bench-smoke-secret-0123456789")
    result = culturezone("bench", "indicators", "--scale", "0.002", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = {}
    for line in result.stdout.strip().splitlines():
        match = FIGURE.match(line)
        assert match, f"not a `name: value [unit]` line: {line!r}"
        figures[match.group(1)] = float(match.group(2))
    assert set(figures) >= {
        "engine_s",
        "floor_s",
        "ratio",
        "engine_s_tenth",
        "engine_s_half",
        "incremental_ms",
        "peak_rss_mb",
        "cpu_reference_s",
    }
    assert figures["engine_s"] > 0 and figures["floor_s"] > 0
    assert figures["cpu_reference_s"] > 0  # every bench ends with this machine's speed of the day


def test_an_unknown_bench_is_refused_with_the_names_it_could_be(database_url: str, tmp_path) -> None:
    env = environment(database_url=database_url, data_dir=tmp_path, SECRET_KEY="bench-smoke-secret-0123456789")
    result = culturezone("bench", "indicator", env=env)
    assert result.returncode == 2
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())  # typer draws the message in a box
    assert "Invalid value for name: one of: api, citizen, federation, fuzz, indicators, reports" in words
    assert result.stdout == ""
