"""`culturezone bench api` at a tiny size, so that it never rots."""

from tests.support.processes import bench_figures


def test_bench_api_prints_throughput_and_latency_beside_the_baseline(database_url: str, tmp_path) -> None:
    figures = bench_figures("api", "--scale", "0.002", database_url=database_url, data_dir=tmp_path)
    assert set(figures) >= {"rps", "p50_ms", "p99_ms", "baseline_rps", "baseline_p99_ms", "ratio", "requests", "errors"}
    assert figures["requests"] >= 20 and figures["workers"] == 2
    assert figures["rps"] > 0 and figures["baseline_rps"] > 0 and figures["baseline_errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert abs(figures["ratio"] - figures["rps"] / figures["baseline_rps"]) < 0.01
