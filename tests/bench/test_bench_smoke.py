"""Every benchmark runs at a tiny size so that it never rots."""

import re

from tests.support.processes import bench_figures, culturezone, environment


def test_bench_indicators_prints_every_figure(database_url: str, tmp_path) -> None:
    figures = bench_figures("indicators", "--scale", "0.002", database_url=database_url, data_dir=tmp_path)
    assert set(figures) >= {
        "engine_s",
        "floor_s",
        "ratio",
        "engine_s_tenth",
        "engine_s_half",
        "incremental_ms",
        "peak_rss_mb",
    }
    assert figures["engine_s"] > 0 and figures["floor_s"] > 0


def test_an_unknown_bench_is_refused_with_the_names_it_could_be(database_url: str, tmp_path) -> None:
    env = environment(database_url=database_url, data_dir=tmp_path, SECRET_KEY="bench-smoke-secret-0123456789")
    result = culturezone("bench", "indicator", env=env)
    assert result.returncode == 2
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())  # typer draws the message in a box
    assert "Invalid value for name: one of: api, citizen, federation, fuzz, indicators, reports" in words
    assert result.stdout == ""
