"""Benchmarks behind `culturezone bench NAME`: figures printed one per line as `name: value [unit]`."""

import time

# Each bench's scratch database, named after the configured one with this suffix; its module is
# shared.bench.NAME and its entry point run_NAME_bench.
SCRATCH_SUFFIX = {
    "api": "apibench",
    "citizen": "citizenbench",
    "federation": "fedbench",
    "fuzz": "fuzz",
    "indicators": "bench",
    "reports": "reportbench",
}


def cpu_reference_s() -> float:
    """Seconds a fixed pure-Python loop takes here (best of five): figures measured on different days compare by it."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(range(10**7))
        best = min(best, time.perf_counter() - started)
    return best
