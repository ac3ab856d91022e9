"""Repetitions of one load on one broker, folded into one figure.

Each number is the median over the repetitions that completed (each field
on its own), and `spread` is (max - min) / 2 / median of the record rate,
so a reader can tell a difference from noise.
"""

from __future__ import annotations

import statistics

LATENCY_FIELDS = ("avg", "p50", "p95", "p99", "p999", "max")
RESOURCES = ("cpu_s_per_gb", "broker_peak_rss_mib", "clients_cpu_s", "machine_busy")


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
    for name, median in _other_medians([run["metrics"] for run in good]).items():
        metrics.setdefault(name, median)
    folded["metrics"] = metrics
    folded["broker_cpu_s"] = round(sum(run.get("broker_cpu_s", 0) for run in good), 2)
    folded["wall_s"] = round(sum(run.get("wall_s", 0) for run in runs), 2)
    folded["resources"] = _other_medians([{key: run[key] for key in RESOURCES if key in run} for run in good])
    return folded


def _other_medians(metrics_of_runs: list[dict]) -> dict:
    """The median of every number (and of every number in a dict of them)
    that all runs report: the loads' own figures (start-up times, the
    slowest group's rate, e2e percentiles) without a list of names here."""
    if not metrics_of_runs:
        return {}
    medians: dict = {}
    for name, value in metrics_of_runs[0].items():
        if isinstance(value, bool) or not all(name in m for m in metrics_of_runs):
            continue
        if isinstance(value, (int, float)):
            medians[name] = _median([m[name] for m in metrics_of_runs])
        elif isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values()):
            fields = [field for field in value if all(field in (m[name] or {}) for m in metrics_of_runs)]
            medians[name] = {field: _median([m[name][field] for m in metrics_of_runs]) for field in fields}
    return medians
