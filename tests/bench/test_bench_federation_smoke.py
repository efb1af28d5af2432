"""`culturezone bench federation` at a tiny size (two districts, a few rows), so that it never rots."""

from pathlib import Path

from sqlalchemy.engine import make_url

from shared.db_admin import sibling_url
from tests.support.databases import database_exists
from tests.support.processes import bench_figures


def test_bench_federation_prints_its_figures(database_url: str, tmp_path) -> None:
    figures = bench_figures(
        "federation", "--districts", "2", "--scale", "0.002", database_url=database_url, data_dir=tmp_path
    )
    assert set(figures) >= {"rows", "pull_s", "rows_per_s", "idle_round_s", "peak_rss_mb", "districts"}
    assert figures["districts"] == 2 and figures["serving_processes"] == 2
    assert figures["rows"] >= 2 * 100  # every district's figures, units and catalogue elements arrived
    assert figures["idle_rows"] == 0  # the second round finds nothing new
    # pull_s is printed to the hundredth: at this size (a quarter of a second) that alone moves the rate by 2%.
    slowest = figures["rows"] / (figures["pull_s"] + 0.005)
    fastest = figures["rows"] / max(figures["pull_s"] - 0.005, 0.001)
    assert slowest - 1 <= figures["rows_per_s"] <= fastest + 1
    # The scratch databases (the city's and each district's) are dropped once measured.
    stem = Path(make_url(database_url).database or "").stem
    scratch = [sibling_url(database_url, f"{stem}_fedbench_{name}") for name in ("city", "d00", "d01")]
    assert not [url for url in scratch if database_exists(url)]
