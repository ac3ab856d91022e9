"""Repetitions of one load on one broker, folded into one figure.

Each number is the median over the repetitions that completed (each field
on its own), and `spread` is (max - min) / 2 / median of the record rate,
so a reader can tell a difference from noise.
"""

from __future__ import annotations

import statistics

LATENCY_FIELDS = ("avg", "p50", "p95", "p99", "p999", "max")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fold(runs: list[dict]) -> dict:
    """One result from the repetitions: median metrics, failures listed."""
    good = [run for run in runs if "error" not in run]
    failed = [run for run in runs if "error" in run]
    folded: dict = {"repetitions": len(runs), "completed": len(good), "runs": runs}
    if failed:
        folded["error"] = f"{len(failed)} of {len(runs)} runs failed; first: {failed[0]['error']}"
    if not good:
        return folded
    rates = [run["metrics"]["records_per_s"] for run in good]
    metrics = {
        "records_per_s": _median(rates),
        "mib_per_s": _median([run["metrics"]["mib_per_s"] for run in good]),
        "spread": (max(rates) - min(rates)) / 2 / _median(rates) if len(rates) > 1 else 0.0,
    }
    if all("latency_ms" in run["metrics"] for run in good):
        metrics["latency_ms"] = {
            field: _median([run["metrics"]["latency_ms"][field] for run in good]) for field in LATENCY_FIELDS
        }
    if all("group_join_ms" in run["metrics"] for run in good):
        metrics["group_join_ms"] = _median([run["metrics"]["group_join_ms"] for run in good])
    folded["metrics"] = metrics
    folded["broker_cpu_s"] = round(sum(run.get("broker_cpu_s", 0) for run in good), 2)
    folded["wall_s"] = round(sum(run.get("wall_s", 0) for run in runs), 2)
    return folded
