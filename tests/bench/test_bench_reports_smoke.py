"""`culturezone bench reports` at a tiny size, so that it never rots."""

from tests.support.processes import bench_figures


def test_bench_reports_prints_every_figure(database_url: str, tmp_path) -> None:
    figures = bench_figures("reports", "--scale", "0.01", database_url=database_url, data_dir=tmp_path)
    assert set(figures) >= {"aggregate_s", "xlsx_s", "pdf_s", "reports"}
    # 1 city, 1 district (12 x 0.01 rounds up to one), 2 towns, 50 villages: every one reports.
    assert figures["reports"] == 54
