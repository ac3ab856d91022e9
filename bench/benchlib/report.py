"""The markdown report: machine, brokers, throughput, latency, resources.

Ratios are Strom / Kafka: above 1 means Strom did more records per second;
for latency, below 1 means Strom answered sooner.
"""

from __future__ import annotations

import math

REFERENCE = "kafka"


def _fmt_rate(metrics: dict) -> str:
    spread = metrics.get("spread", 0.0)
    noise = f" ±{spread * 100:.0f}%" if spread else ""
    return f"{metrics['records_per_s']:,.0f} rec/s{noise} · {metrics['mib_per_s']:.1f} MiB/s"


def _fmt_ms(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _ratio(strom: float | None, kafka: float | None) -> str:
    if not strom or not kafka:
        return "–"
    return f"{strom / kafka:.2f}×"


def _usable(result: dict | None) -> bool:
    return result is not None and "metrics" in result


def _cell(result: dict | None, cell) -> str:
    if result is None:
        return "not run"
    if "metrics" not in result:
        return f"**failed**: {result.get('error', 'no result')[:120]}"
    text = cell(result["metrics"])
    if "error" in result:
        text += f" ({result['repetitions'] - result['completed']} run(s) failed)"
    return text


def _table(report: dict, metric_name: str, cell, value) -> list[str]:
    """One row per load; columns: each broker, then each Strom's ratio."""
    brokers = report["brokers"]
    strom_labels = [b["label"] for b in brokers if b["label"] != REFERENCE]
    header = (
        ["Load"] + [b["title"] for b in brokers] + [f"{b['title']} / Kafka" for b in brokers if b["label"] != REFERENCE]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for load in report["loads"]:
        if not metric_name_applies(metric_name, load):
            continue
        row = [load["title"]]
        by_broker = {b["label"]: report["results"].get(b["label"], {}).get(load["key"]) for b in brokers}
        for broker in brokers:
            row.append(_cell(by_broker[broker["label"]], cell))
        kafka_result = by_broker.get(REFERENCE)
        kafka_value = value(kafka_result["metrics"]) if _usable(kafka_result) else None
        for label in strom_labels:
            result = by_broker[label]
            row.append(_ratio(value(result["metrics"]) if _usable(result) else None, kafka_value))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def metric_name_applies(metric_name: str, load: dict) -> bool:
    if metric_name == "throughput":
        return load["kind"] in ("produce", "consume")
    return load["kind"] in ("produce", "latency")


def _latency_cell(metrics: dict) -> str:
    latency = metrics["latency_ms"]
    return f"{_fmt_ms(latency['avg'])} / {_fmt_ms(latency['p50'])} / {_fmt_ms(latency['p99'])}"


def render(report: dict) -> str:
    machine = report["machine"]
    titles = {broker["label"]: broker["title"] for broker in report["brokers"]}
    lines = [
        "# Strom vs Apache Kafka 4.1.1: broker benchmark",
        "",
        f"- Date: {report['date']}; Strom commit {report['commit']} (the work tree may hold uncommitted changes); "
        f"produced by `bench/run` (scale {report['scale']}, {report['repetitions']} repetitions)",
        f"- Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB memory, "
        f"Linux {machine['kernel']}; load average {machine['loadavg_start']} at the start, "
        f"{report.get('loadavg_end', '?')} at the end (other work on the machine shows here)",
        f"- Disk: fdatasync of a 16 KiB append in the run's temp dir took p50 {machine['fdatasync_ms']['p50']:.2f} ms, "
        f"p99 {machine['fdatasync_ms']['p99']:.2f} ms",
        "- All brokers run side by side on loopback, each from a fresh data dir; every load runs against one "
        "broker at a time, each load on all brokers before the next (order rotated per repetition), so "
        "other work on the machine falls on all of them alike. Topics: 6 partitions, replication factor 1, "
        "no compression.",
        "- Clients: kafka-tools 4.1.1 ProducerPerformance / ConsumerPerformance (Java client defaults "
        f"except acks: linger.ms=5, batch.size=16384) and librdkafka {report['librdkafka']} through "
        "confluent-kafka for Python (defaults except acks).",
        f"- Each figure is the median of {report['repetitions']} runs (the fixed-rate run: 1); "
        "±N% is half the range of the record rates.",
        "",
        "Durability of an acknowledged write:",
        "",
    ]
    for broker in report["brokers"]:
        lines.append(f"- **{broker['title']}**: {broker['durability']}")
    lines += [
        "",
        "## Throughput (higher is better; ratio = Strom / Kafka, above 1: Strom faster)",
        "",
        "Producer rates are over the whole run including the final flush; consumer rates leave out "
        "joining the group (Java) and count from assign() to the last record (librdkafka). MiB = 2^20 bytes of values.",
        "",
    ]
    lines += _table(report, "throughput", _fmt_rate, lambda m: m["records_per_s"])
    lines += [
        "",
        "## Produce latency, ms: avg / p50 / p99 "
        "(lower is better; ratio on p99 = Strom / Kafka, below 1: Strom faster)",
        "",
        "From send() to the acknowledgement as the client sees it. ProducerPerformance rounds percentiles "
        "down to whole ms; librdkafka's are exact. The unthrottled runs measure queueing in the client "
        "as much as the broker: the fixed-rate run is the latency figure.",
        "",
    ]
    lines += _table(report, "latency", _latency_cell, lambda m: m["latency_ms"]["p99"])
    lines += [
        "",
        "## Broker resources",
        "",
        "| Broker | Startup s | Peak RSS MiB | Broker CPU s over all loads | Loads wall s | Stop s / exit "
        "| Log lines WARN / ERROR |",
        "|---|---|---|---|---|---|---|",
    ]
    load_titles = {load["key"]: load["title"] for load in report["loads"]}
    for broker in report["brokers"]:
        results = report["results"].get(broker["label"], {}).values()
        cpu = sum(r.get("broker_cpu_s", 0) for r in results)
        wall = sum(r.get("wall_s", 0) for r in results)
        stop = broker.get("stop", {})
        lines.append(
            f"| {broker['title']} | {broker.get('startup_s', '–')} | {stop.get('peak_rss_mib', '–')} | "
            f"{cpu:.1f} | {wall:.0f} | {stop.get('stop_s', '–')} / {stop.get('exit_status', '–')} | "
            f"{broker.get('log_warn', '–')} / {broker.get('log_error', '–')} |"
        )
    failures = [
        f"- {titles.get(label, label)}: {load_titles.get(key, key)}: {result['error']}"
        for label, per_broker in report["results"].items()
        for key, result in per_broker.items()
        if "error" in result
    ] + [f"- {broker['title']}: {broker['error']}" for broker in report["brokers"] if "error" in broker]
    if failures:
        lines += ["", "## Failures", ""] + failures
    lines += [
        "",
        "CPU the brokers used while idle (another broker under load), over the whole run: "
        + ", ".join(
            f"{titles.get(label, label)} {seconds:.1f} s" for label, seconds in report.get("idle_cpu_s", {}).items()
        )
        + ".",
        f"Full run took {report['total_s']:.0f} s. Raw numbers, every repetition: latest.json; "
        "broker logs: *.log beside it.",
    ]
    return "\n".join(lines) + "\n"
