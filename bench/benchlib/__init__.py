"""Helpers for bench/run: broker processes, load generators, the report."""
