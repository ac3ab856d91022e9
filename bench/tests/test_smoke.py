"""Smoke test of bench/run: the whole harness end to end on a tiny load.

    python3 -m pytest bench/tests -q

Runs bench/run at --scale 0.01, one repetition, every load (the end-to-end
and fixed-rate runs for 1 s), against all three brokers, writing into a
temp dir (not bench/results), and checks that it finished, that every load
completed on every broker and that the report has every section. It
asserts no figure: the benchmark measures, it does not judge.

Runs the strom binary named by STROM_BIN (scripts/test passes the debug
build), else target/release/strom, and needs the Kafka jars from
scripts/setup. Takes a few minutes on 2 cores, most of it JVMs starting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH_DIR))

from benchlib import harness  # noqa: E402

SECTIONS = (
    "## Throughput",
    "## Produce latency",
    "## End-to-end latency",
    "## Fan-out",
    "## Catch-up read",
    "## Many partitions",
    "## Start-up and recovery",
    "## Broker CPU seconds per GB moved",
    "## Broker peak RSS during each load",
    "## The clients' CPU seconds and the machine's busy cores",
    "## Broker resources",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    strom = Path(os.environ.get("STROM_BIN", harness.strom_binary()))
    assert strom.exists(), f"no {strom}: cargo build -p strom-server, then STROM_BIN=target/debug/strom"
    assert harness.have_kafka_jars(), "no Kafka jars in .deps/kafka: run scripts/setup"
    out = tmp_path_factory.mktemp("bench-smoke")
    argv = [sys.executable, str(BENCH_DIR / "run"), "--scale", "0.01", "--repeat", "1", "--strom-bin", str(strom),
            "--latency-seconds", "1", "--e2e-seconds", "1", "--out", str(out)]  # fmt: skip
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    assert finished.returncode == 0, finished.stderr[-4000:]
    return out


def test_report_has_every_section(smoke_run: Path) -> None:
    report = (smoke_run / "latest.md").read_text()
    for section in SECTIONS:
        assert section in report, f"{section!r} missing from the report"


def test_every_load_completed_on_every_broker(smoke_run: Path) -> None:
    result = json.loads((smoke_run / "latest.json").read_text())
    assert {broker["label"] for broker in result["brokers"]} == set(harness.BROKERS)
    keys = {load["key"] for load in result["loads"]}
    for group in ("e2e", "fanout", "catchup", "partitions", "lifecycle"):
        assert any(load["group"] == group for load in result["loads"]), f"no {group} load planned"
    for label in harness.BROKERS:
        per_load = result["results"][label]
        assert set(per_load) == keys
        failed = {key: folded["error"] for key, folded in per_load.items() if "error" in folded}
        assert not failed, f"{label}: {failed}"
        for key, folded in per_load.items():
            assert "cpu_s_per_gb" in folded["resources"], f"{label}: {key}: no CPU per GB"
            assert "broker_peak_rss_mib" in folded["resources"], f"{label}: {key}: no peak RSS"
            if not key.startswith(("catchup", "lifecycle")):
                assert "machine_busy" in folded["resources"], f"{label}: {key}: no clients' CPU"
            if key.startswith("catchup"):
                metrics = folded["metrics"]
                assert metrics["raw_records"] >= metrics["records"], f"{label}: raw fetches missed records"
                assert metrics["raw_mib_per_s"] > 0 and "raw_cpu_s_per_gb" in metrics, f"{label}: no raw fetch figures"
