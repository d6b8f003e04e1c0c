"""Profiling helpers for the benchmarks (not part of a benchmark run)."""
