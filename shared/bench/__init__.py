"""Benchmarks behind `culturezone bench NAME`: figures printed one per line as `name: value [unit]`."""
