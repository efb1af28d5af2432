"""`culturezone bench citizen` at a tiny size, so that it never rots."""

from tests.support.processes import bench_figures


def test_bench_citizen_prints_catalogue_and_booking_figures_beside_the_baseline(database_url: str, tmp_path) -> None:
    figures = bench_figures("citizen", "--scale", "0.001", database_url=database_url, data_dir=tmp_path)
    assert set(figures) >= {
        "catalog_rps",
        "catalog_p50_ms",
        "catalog_p99_ms",
        "baseline_rps",
        "catalog_ratio",
        "booking_rps",
        "booking_p50_ms",
        "booking_p99_ms",
    }
    assert figures["items"] == 20 and figures["bookings_seeded"] == 500 and figures["workers"] == 2
    assert figures["catalog_errors"] == 0 and figures["baseline_errors"] == 0 and figures["booking_errors"] == 0
    assert figures["catalog_requests"] >= 40 and figures["booking_requests"] >= 20
    assert 0 < figures["catalog_p50_ms"] <= figures["catalog_p99_ms"]
    assert 0 < figures["booking_p50_ms"] <= figures["booking_p99_ms"]
    assert abs(figures["catalog_ratio"] - figures["catalog_rps"] / figures["baseline_rps"]) < 0.01
