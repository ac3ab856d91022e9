"""The client benchmark's markdown report (bench/run-clients).

Ratios are Strom client / other client: for throughput above 1 means the
Strom client moved more records per second; for latency below 1 means it
saw its records acknowledged sooner.
"""

from __future__ import annotations

from .report import _cell, _fmt_ms, _fmt_rate, _ratio, _usable

REFERENCE = "strom"


def _latency_cell(metrics: dict) -> str:
    latency = metrics["latency_ms"]
    return f"{_fmt_ms(latency['avg'])} / {_fmt_ms(latency['p50'])} / {_fmt_ms(latency['p99'])}"


def _table(report: dict, kinds: tuple[str, ...], cell, values) -> list[str]:
    """One row per load; columns: each client, then Strom client / each other."""
    clients = report["clients"]
    others = [c for c in clients if c["label"] != REFERENCE]
    header = ["Load"] + [c["title"] for c in clients] + [f"Strom / {c['title']}" for c in others]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = sorted((row for row in report["loads"] if row["kind"] in kinds), key=lambda row: kinds.index(row["kind"]))
    for row in rows:
        results = {c["label"]: report["results"].get(c["label"], {}).get(row["key"]) for c in clients}
        line = [row["title"]] + [_cell(results[c["label"]], cell) for c in clients]
        strom = results.get(REFERENCE)
        for other in others:
            result = results[other["label"]]
            ratios = []
            for value in values:
                mine = value(strom["metrics"]) if _usable(strom) else None
                theirs = value(result["metrics"]) if _usable(result) else None
                ratios.append(_ratio(mine, theirs))
            line.append(" · ".join(ratios))
        lines.append("| " + " | ".join(line) + " |")
    return lines


def render(report: dict) -> str:
    machine = report["machine"]
    broker = report["broker"]
    lines = [
        "# Strom client vs librdkafka vs the Java client: client benchmark",
        "",
        f"- Date: {report['date']}; Strom commit {report['commit']} (the work tree may hold uncommitted changes); "
        f"produced by `bench/run-clients` (scale {report['scale']}, {report['repetitions']} repetitions)",
        f"- Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB memory, "
        f"Linux {machine['kernel']}; load average {machine['loadavg_start']} at the start, "
        f"{report.get('loadavg_end', '?')} at the end (other work on the machine shows here)",
        f"- Broker: one **{broker['title']}** on loopback, fresh data dir; {broker['durability']} "
        "Topics: 6 partitions, replication factor 1.",
        "- Every client runs each load against the same broker in turn (order rotated per repetition), "
        "each in its own process; the load generator shares the CPUs with the broker.",
        "- Producer settings, the same for all three: acks=all, linger.ms=5, batch.size=16384, "
        "compression.type=none, no key (sticky partitioning); everything else is each client's default:",
        "",
    ]
    for client in report["clients"]:
        lines.append(f"  - **{client['title']}**: {client['settings']}")
    lines += [
        "",
        f"Each figure is the median of {report['repetitions']} runs; ±N% is half the range of the record rates.",
        "",
        "## Throughput (higher is better; ratio = Strom client / other, above 1: Strom client faster)",
        "",
        "Producer rates run from the first send to the end of the final flush. Consumer rates: Strom client "
        "and librdkafka from the first record received to the last (assign(), no group); Java from the end "
        "of the group join to the last record. MiB = 2^20 bytes of values.",
        "",
    ]
    lines += _table(report, ("produce", "consume"), _fmt_rate, [lambda m: m["records_per_s"]])
    lines += [
        "",
        "## Produce latency, ms: avg / p50 / p99 "
        "(lower is better; ratios on p50 · p99 = Strom client / other, below 1: Strom client faster)",
        "",
        "From handing the record to the client (including any wait for buffer space) to its delivery "
        "report or callback. The fixed-rate run is the latency figure; unthrottled runs mostly measure "
        "queueing inside the client. ProducerPerformance rounds percentiles down to whole ms.",
        "",
    ]
    lines += _table(
        report,
        ("latency", "produce"),
        _latency_cell,
        [lambda m: m["latency_ms"]["p50"], lambda m: m["latency_ms"]["p99"]],
    )
    lines += [
        "",
        "## Broker CPU per client",
        "",
        "| Client | Broker CPU s over its loads | Loads wall s |",
        "|---|---|---|",
    ]
    for client in report["clients"]:
        results = report["results"].get(client["label"], {}).values()
        cpu = sum(r.get("broker_cpu_s", 0) for r in results)
        wall = sum(r.get("wall_s", 0) for r in results)
        lines.append(f"| {client['title']} | {cpu:.1f} | {wall:.0f} |")
    titles = {client["label"]: client["title"] for client in report["clients"]}
    load_titles = {row["key"]: row["title"] for row in report["loads"]}
    failures = [
        f"- {titles.get(label, label)}: {load_titles.get(key, key)}: {result['error']}"
        for label, per_client in report["results"].items()
        for key, result in per_client.items()
        if "error" in result
    ] + [f"- {message}" for message in report.get("errors", [])]
    if failures:
        lines += ["", "## Failures", ""] + failures
    stop = broker.get("stop", {})
    lines += [
        "",
        f"Broker: started in {broker.get('startup_s', '–')} s, peak RSS {stop.get('peak_rss_mib', '–')} MiB, "
        f"stopped in {stop.get('stop_s', '–')} s with status {stop.get('exit_status', '–')}, "
        f"log WARN / ERROR lines {broker.get('log_warn', '–')} / {broker.get('log_error', '–')}. "
        f"Full run took {report['total_s']:.0f} s. Raw numbers, every repetition: clients-latest.json.",
    ]
    return "\n".join(lines) + "\n"
