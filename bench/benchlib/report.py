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


def _figure_table(report: dict, rows: list[tuple]) -> list[str]:
    """One row per figure: (row title, load key, cell(metrics) -> text,
    value(metrics) -> number for the ratio). Rows of loads not in the run
    are left out."""
    brokers = report["brokers"]
    strom_labels = [b["label"] for b in brokers if b["label"] != REFERENCE]
    header = (
        [""] + [b["title"] for b in brokers] + [f"{b['title']} / Kafka" for b in brokers if b["label"] != REFERENCE]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    planned = {load["key"] for load in report["loads"]}
    for title, key, cell, value in rows:
        if key not in planned:
            continue
        by_broker = {b["label"]: report["results"].get(b["label"], {}).get(key) for b in brokers}

        def number(result: dict | None) -> float | None:
            try:
                return value(result["metrics"]) if _usable(result) else None
            except (KeyError, TypeError):
                return None

        row = [title] + [_cell(by_broker[b["label"]], _guarded(cell)) for b in brokers]
        row += [_ratio(number(by_broker[label]), number(by_broker.get(REFERENCE))) for label in strom_labels]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _guarded(cell):
    """A cell that shows – for a figure its load did not report."""

    def text(metrics: dict) -> str:
        try:
            return cell(metrics)
        except (KeyError, TypeError):
            return "–"

    return text


def _percentiles(field: str):
    def cell(metrics: dict) -> str:
        latency = metrics[field]
        return " / ".join(_fmt_ms(latency[name]) for name in ("p50", "p99", "p999", "max"))

    return cell


def _mib_rate(records_field: str, mib_field: str):
    return lambda m: f"{m[records_field]:,.0f} rec/s · {m[mib_field]:.1f} MiB/s"


def _seconds(field: str):
    return lambda m: f"{m[field]:.2f} s"


def _loads_of(report: dict, kind: str) -> list[dict]:
    return [load for load in report["loads"] if load["kind"] == kind]


def added_sections(report: dict) -> list[str]:
    """End-to-end latency, fan-out, catch-up, many partitions, start-up and
    recovery, and every load's CPU per GB and peak RSS."""
    lines: list[str] = []
    sections = (
        (
            "e2e",
            "## End-to-end latency, produce → consume, ms: p50 / p99 / p99.9 / max "
            "(lower is better; ratio on p99 = Strom / Kafka)",
            "One librdkafka consumer (assign()) reads while a librdkafka producer (acks=all) sends on a fixed "
            "schedule. Every record carries its intended send time, and latency runs from that time to the "
            "consumer's receipt: a producer held up by the broker does not hide the wait (corrected for "
            "coordinated omission). The rate row is what the producer kept up (ratio above 1: more).",
            lambda load: [
                (load["title"], load["key"], _percentiles("latency_ms"), lambda m: m["latency_ms"]["p99"]),
                (
                    "… to the producer's acknowledgement",
                    load["key"],
                    _percentiles("ack_latency_ms"),
                    lambda m: m["ack_latency_ms"]["p99"],
                ),
                ("… rate kept up", load["key"], _mib_rate("records_per_s", "mib_per_s"), lambda m: m["records_per_s"]),
            ],  # fmt: skip
        ),
        (
            "fanout",
            "## Fan-out: one producer, consumer groups reading the same topic (higher is better)",
            "Every group (its own librdkafka consumer process, subscribe()) reads every record; each group's "
            "rate runs from the producer's start to the group's last record. Aggregate: the groups' rates added.",
            lambda load: [
                (
                    f"{load['title']}: aggregate consume",
                    load["key"],
                    _mib_rate("records_per_s", "mib_per_s"),
                    lambda m: m["records_per_s"],
                ),
                (
                    "… slowest group",
                    load["key"],
                    _mib_rate("slowest_records_per_s", "slowest_mib_per_s"),
                    lambda m: m["slowest_records_per_s"],
                ),
                (
                    "… producer",
                    load["key"],
                    _mib_rate("producer_records_per_s", "producer_mib_per_s"),
                    lambda m: m["producer_records_per_s"],
                ),
            ],  # fmt: skip
        ),
        (
            "catchup",
            "## Catch-up read (higher is better)",
            "The backlog is written first (Java producer, acks=1), then one Java consumer in a new group reads "
            "it all from the start; the rate leaves out joining the group. The backlog may still be in the OS "
            "page cache: this is the broker's read path, not the disk's. The ceiling is what the page cache and "
            "loopback allow: the same segment files, in the same cache state, sent with sendfile over one "
            "loopback connection to a reader that only receives them (the best of 5), in MiB of values per "
            "second; the share is the read's rate over it. Raw fetches: the same backlog read again by a reader "
            "that fetches as a consumer does (Fetch v4, one request in flight, 1 MiB per partition) but only walks "
            "the batch headers, so that the broker's read path, not the client, sets the pace; the broker's CPU "
            "seconds per GB of values during them (lower is better).",
            lambda load: [
                (
                    f"{load['title']}: read",
                    load["key"],
                    _mib_rate("records_per_s", "mib_per_s"),
                    lambda m: m["mib_per_s"],
                ),
                (
                    "… ceiling: the segment files sent over loopback",
                    load["key"],
                    lambda m: f"{m['ceiling_mib_per_s']:,.0f} MiB/s",
                    lambda m: None,  # the same machine's figure: no ratio
                ),
                (
                    "… the read's share of the ceiling",
                    load["key"],
                    lambda m: f"{m['ceiling_share'] * 100:.0f}%",
                    lambda m: None,  # the read's ratio again
                ),
                (
                    "… raw fetches: read",
                    load["key"],
                    lambda m: f"{m['raw_mib_per_s']:,.0f} MiB/s",
                    lambda m: m["raw_mib_per_s"],
                ),
                (
                    "… raw fetches: share of the ceiling",
                    load["key"],
                    lambda m: f"{m['raw_share'] * 100:.0f}%",
                    lambda m: None,  # the raw read's ratio again
                ),
                (
                    "… raw fetches: broker CPU s per GB (lower is better)",
                    load["key"],
                    lambda m: f"{m['raw_cpu_s_per_gb']:.2f}",
                    lambda m: m["raw_cpu_s_per_gb"],
                ),
                (
                    "… writing the backlog",
                    load["key"],
                    lambda m: f"{m['fill_mib_per_s']:.1f} MiB/s",
                    lambda m: m["fill_mib_per_s"],
                ),
            ],  # fmt: skip
        ),
        (
            "partitions",
            "## Many partitions at a low rate",
            "A librdkafka producer (acks=all) sends on a fixed schedule, record i to partition i mod N. "
            "Latency from each record's intended send time to its acknowledgement, ms. Ratios: Strom / Kafka.",
            lambda load: [
                (
                    f"{load['title']}: rate",
                    load["key"],
                    _mib_rate("records_per_s", "mib_per_s"),
                    lambda m: m["records_per_s"],
                ),
                (
                    "… latency p50 / p99 / p99.9 / max",
                    load["key"],
                    _percentiles("latency_ms"),
                    lambda m: m["latency_ms"]["p99"],
                ),
                (
                    "… creating the topic (CreateTopics answered)",
                    load["key"],
                    _seconds("create_topic_s"),
                    lambda m: m["create_topic_s"],
                ),
                (
                    "… then until every partition took a record (untimed warm-up)",
                    load["key"],
                    _seconds("partitions_ready_s"),
                    lambda m: m["partitions_ready_s"],
                ),
            ],  # fmt: skip
        ),
        (
            "lifecycle",
            "## Start-up and recovery, seconds (lower is better)",
            "A broker of each kind on a data dir of its own (started while the others idle). From the start of "
            "the broker process (Kafka: of its kafka.Kafka JVM; scripts/kafka formats the dir in a JVM before) "
            "to the first acknowledged record (acks=all, a one-partition topic) and to the last record of every "
            "partition of the filled topic being readable.",
            lambda load: [
                (
                    "Empty data dir → first ack (includes creating the topic)",
                    load["key"],
                    _seconds("empty_first_ack_s"),
                    lambda m: m["empty_first_ack_s"],
                ),
                (
                    f"SIGKILL after writing {load['title'].split(' with ')[-1]} → first ack",
                    load["key"],
                    _seconds("kill_first_ack_s"),
                    lambda m: m["kill_first_ack_s"],
                ),
                (
                    "… → last record readable",
                    load["key"],
                    _seconds("kill_last_readable_s"),
                    lambda m: m["kill_last_readable_s"],
                ),
                (
                    "Clean stop, restart → first ack",
                    load["key"],
                    _seconds("restart_first_ack_s"),
                    lambda m: m["restart_first_ack_s"],
                ),
                (
                    "… → last record readable",
                    load["key"],
                    _seconds("restart_last_readable_s"),
                    lambda m: m["restart_last_readable_s"],
                ),
                ("Data dir size, MiB", load["key"], lambda m: f"{m['data_mib']:,.0f}", lambda m: m["data_mib"]),
            ],  # fmt: skip
        ),
    )
    for kind, heading, note, rows_of in sections:
        kind_loads = _loads_of(report, kind)
        if not kind_loads:
            continue
        lines += ["", heading, "", note, ""]
        lines += _figure_table(report, [row for load in kind_loads for row in rows_of(load)])
    lines += _resources_per_load(report)
    lines += _machine_per_load(report)
    return lines


def _resources_per_load(report: dict) -> list[str]:
    def figure(result: dict | None, name: str) -> float | None:
        return (result or {}).get("resources", {}).get(name) if _usable(result) else None

    brokers = report["brokers"]
    lines: list[str] = []
    for name, heading, fmt in (
        ("cpu_s_per_gb", "## Broker CPU seconds per GB moved (lower is better; ratio = Strom / Kafka)",
         lambda v: f"{v:.2f}"),
        ("broker_peak_rss_mib", "## Broker peak RSS during each load, MiB (lower is better; ratio = Strom / Kafka)",
         lambda v: f"{v:,.0f}"),
    ):  # fmt: skip
        header = (
            ["Load"]
            + [b["title"] for b in brokers]
            + [f"{b['title']} / Kafka" for b in brokers if b["label"] != REFERENCE]
        )
        lines += ["", heading, ""]
        if name == "cpu_s_per_gb":
            lines += [
                "Broker CPU time (user + system, /proc/PID/stat) during the load over the GB (10^9 bytes of "
                "values) it moved: produced plus consumed. Catch-up: the read only. Start-up: the broker of its "
                "own over the backlog it wrote. Peak RSS: VmRSS sampled every 0.1 s during the load.",
                "",
            ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for load in report["loads"]:
            results = {b["label"]: report["results"].get(b["label"], {}).get(load["key"]) for b in brokers}
            values = {label: figure(result, name) for label, result in results.items()}
            row = [load["title"]] + ["–" if values[b["label"]] is None else fmt(values[b["label"]]) for b in brokers]
            row += [_ratio(values[b["label"]], values.get(REFERENCE)) for b in brokers if b["label"] != REFERENCE]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def _machine_per_load(report: dict) -> list[str]:
    """The clients' CPU and how busy the cores were, per load and broker:
    where they were all busy, a faster broker shows only as the CPU it
    left to the clients."""
    brokers = report["brokers"]

    def cell(result: dict | None) -> str:
        resources = (result or {}).get("resources", {}) if _usable(result) else {}
        if "machine_busy" not in resources:
            return "–"
        return f"{resources['clients_cpu_s']:.1f} s · {resources['machine_busy']:.0%}"

    rows = []
    for load in report["loads"]:
        results = [report["results"].get(b["label"], {}).get(load["key"]) for b in brokers]
        cells = [cell(result) for result in results]
        if any(c != "–" for c in cells):
            rows.append("| " + " | ".join([load["title"], *cells]) + " |")
    if not rows:
        return []
    return [
        "",
        "## The clients' CPU seconds and the machine's busy cores during each load",
        "",
        "CPU time (user + system) of the load's client processes, JVM start-up included, and the broker's "
        "plus theirs over the cores times the load's wall time. Near 100%, the clients and the broker share "
        "the machine to its limit: there, a broker's speed shows in the CPU it leaves the clients. The "
        "catch-up read and start-up time a part of their run and are left out.",
        "",
        "| Load | " + " | ".join(b["title"] for b in brokers) + " |",
        "|" + "---|" * (len(brokers) + 1),
        *rows,
    ]


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
        "other work on the machine falls on all of them alike; the page cache is written back (`sync`) "
        "before each. Topics: 6 partitions, replication factor 1, no compression.",
        "- Clients: kafka-tools 4.1.1 ProducerPerformance / ConsumerPerformance (Java client defaults "
        f"except acks: linger.ms=5, batch.size=16384) and librdkafka {report['librdkafka']} through "
        "confluent-kafka for Python (defaults except acks; consumers: fetch.queue.backoff.ms=10, as its 1 s "
        "default pause of a partition whose local queue is full would be what a run measures).",
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
    lines += added_sections(report)
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
