"""The markdown report of bench/python/run: records/s per client and load,
with the ratio to confluent-kafka, then what each client process used."""

from __future__ import annotations

from benchlib.client_runs import rate_cell, ratio_cell, resources_cell

REFERENCE = "confluent"
# The asyncio clients are also compared with confluent-kafka's own asyncio API.
ASYNC_REFERENCE = "confluent-aio"
ASYNC_CLIENTS = ("strom-aio", "confluent-aio", "aiokafka")

LOAD_TITLES = {
    "produce": "Producer, {records:,} × 100 B, acks=all",
    "consume-batch": "Consumer, batch API (≤500 per call)",
    "consume-single": "Consumer, one record per call",
}

# Said in the table header: what every producer was given, and which
# client defaults differ.
PRODUCER_DEFAULTS = {
    "strom": "idempotent, linger.ms=5, batch.size=1 MB, sticky",
    "strom-aio": "idempotent, linger.ms=5, batch.size=1 MB, sticky",
    "confluent": "not idempotent, linger.ms=5, batch.size=1 MB, sticky",
    "confluent-aio": "not idempotent, linger.ms=5, batch.size=1 MB, sticky",
    "kafka-python": "idempotent, linger_ms=0, batch_size=16 KiB, random",
    "aiokafka": "not idempotent, linger_ms=0, max_batch_size=16 KiB, random",
}

APIS = {
    "strom": ("produce() + poll()/flush()", "consume(500)", "poll()"),
    "strom-aio": ("produce() × 10,000, await each", "getmany(1.0, 500)", "async for"),
    "confluent": ("produce() + poll()/flush()", "consume(500)", "poll()"),
    "confluent-aio": ("await produce() × 10,000, flush(), await each", "consume(500)", "await poll()"),
    "kafka-python": ("send().add_errback(), flush()", "poll(max_records=500)", "for record in consumer"),
    "aiokafka": ("await send() × 10,000, await each", "getmany(max_records=500)", "async for"),
}


def render(report: dict) -> str:
    machine = report["machine"]
    broker = report["broker"]
    clients = report["clients"]
    results = report["results"]
    loads = report["loads"]
    records = report["records"]
    lines = [
        "# Python clients: Strom (sync and asyncio) vs confluent-kafka (sync and asyncio), kafka-python and aiokafka",
        "",
        f"- Date: {report['date']}; Strom commit {report['commit']} (the work tree may hold uncommitted changes); "
        f"produced by `bench/python/run` (scale {report['scale']}, {report['repetitions']} repetitions)",
        f"- Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB memory, "
        f"Linux {machine['kernel']}; load average {machine['loadavg_start']} at the start, "
        f"{report.get('loadavg_end', '?')} at the end (other work on the machine shows here); "
        f"Python {report.get('python', '?')}",
        f"- Broker: one **{broker['title']}** on loopback, fresh data dir; {broker['durability']} "
        f"Topics: {report['partitions']} partitions, replication factor 1.",
        "- Each client runs each load in its own process (same interpreter: the bench venv, which holds the "
        "release wheel of `strom` and sees the system's confluent-kafka, kafka-python and aiokafka), one process "
        "at a time, client order rotated per repetition; the client shares the CPUs with the broker.",
        f"- Producers: {records:,} records of 100 B, no key, acks=all set on every client; everything else "
        "(idempotence, linger, batch size, partitioner) is each client's default, listed in the table. "
        "A producer's time runs from the first send to the moment every record is acknowledged (final flush, "
        "or the last window's futures); delivery failures are checked the way an application does "
        "(delivery callback, errback, or the awaited futures).",
        f"- Consumers: a new group each run, subscribe, auto.offset.reset=earliest, auto commit on (the default), "
        f"reading a topic of {records:,} × 100 B written once by confluent-kafka, counting records and value "
        "bytes (and checking `error()` where the API hands errors back per message) until all are read. "
        "Rate from the first record received to the last; the group join (subscribe to first record) is "
        "shown below, not in the rate."
        + (
            " confluent-kafka wrote its partitions in turn (explicit partition, not the sticky partitioner, "
            "which leaves a short run's partitions very uneven); records per partition: "
            f"{', '.join(f'{n:,}' for n in report['fill_partitions'])}."
            if report.get("fill_partitions")
            else ""
        ),
        "",
    ]
    for client in clients:
        lines.append(f"  - **{client['title']}**: {client['settings']}")
    for label, why in report.get("skipped", {}).items():
        lines.append(f"  - **{label}**: SKIPPED: {why}")
    if report.get("errors"):
        lines += ["", "Errors: " + "; ".join(report["errors"])]
    lines += [
        "",
        f"Each figure is the median of {report['repetitions']} runs; ±N% is half the range of the record rates.",
        "",
        "## Throughput, records/s (higher is better; × = client / confluent-kafka)",
        "",
    ]
    header = ["Client", "Producer defaults (acks=all on all)"]
    for load in loads:
        header += [load["title"], "×"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    reference = results.get(REFERENCE, {})
    for client in clients:
        per_load = results.get(client["label"], {})
        row = [client["title"], PRODUCER_DEFAULTS[client["label"]]]
        for load in loads:
            mine = per_load.get(load["key"])
            row += [rate_cell(mine), ratio_cell(mine, reference.get(load["key"]))]
        lines.append("| " + " | ".join(row) + " |")
    async_rows = [client for client in clients if client["label"] in ASYNC_CLIENTS]
    async_reference = results.get(ASYNC_REFERENCE, {})
    if async_rows and async_reference:
        lines += [
            "",
            "## asyncio clients, × = client / confluent-kafka asyncio (`confluent_kafka.aio`)",
            "",
        ]
        header = ["Client"]
        for load in loads:
            header += [load["title"], "×"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for client in async_rows:
            per_load = results.get(client["label"], {})
            row = [client["title"]]
            for load in loads:
                mine = per_load.get(load["key"])
                row += [rate_cell(mine), ratio_cell(mine, async_reference.get(load["key"]))]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Calls used, and per run: client peak RSS · client CPU s (all threads) · broker CPU s",
        "",
    ]
    header = ["Client"]
    for load in loads:
        header += [f"{load['title']}: API", "resources"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for client in clients:
        per_load = results.get(client["label"], {})
        apis = dict(zip(("produce", "consume-batch", "consume-single"), APIS[client["label"]]))
        row = [client["title"]]
        for load in loads:
            row += [f"`{apis[load['key']]}`", resources_cell(per_load.get(load["key"]))]
        lines.append("| " + " | ".join(row) + " |")
    failures = [
        f"- {client['title']}, {load['key']}: {per_load[load['key']]['error']}"
        for client in clients
        for per_load in [results.get(client["label"], {})]
        for load in loads
        if "error" in per_load.get(load["key"], {})
    ]
    if failures:
        lines += ["", "## Failures", "", *failures]
    stop = broker.get("stop", {})
    lines += [
        "",
        f"Broker: started in {broker.get('startup_s', '?')} s, peak RSS {stop.get('peak_rss_mib', '?')} MiB, "
        f"stopped in {stop.get('stop_s', '?')} s with status {stop.get('exit_status', '?')}, "
        f"log WARN / ERROR lines {broker.get('log_warn', '?')} / {broker.get('log_error', '?')}. "
        f"Full run took {report.get('total_s', '?')} s. Raw numbers, every repetition: python-latest.json.",
    ]
    return "\n".join(lines) + "\n"
