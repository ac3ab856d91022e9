"""What the bench scripts share around the loads: paths, building strom,
the kafka-tools jars, the broker kinds, starting and stopping one broker
and keeping its log.

Used by bench/run (the broker benchmark) and bench/run-clients (the client
benchmark).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import brokers

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
BENCH_JARS = REPO_ROOT / ".deps" / "bench"
BENCH_JARS_STAMP = REPO_ROOT / ".deps" / "bench-resolved.sha256"

# Both brokers skip the wait for more members before a group's first
# rebalance (scripts/kafka sets this for Kafka), so the group consumer's
# join time is not a fixed 3 s on one side only.
GROUP_SETTINGS = {"group.initial.rebalance.delay.ms": "0"}

BROKERS = {
    "strom-fsync": {
        "title": "Strom fsync",
        "durability": "Strom's default `strom.flush.policy=fsync`: acknowledged (acks=1 and acks=all) "
        "after a sync to disk (group commit: one syncfs for the data dir); survives power loss.",
        "settings": dict(GROUP_SETTINGS),
    },
    "strom-page-cache": {
        "title": "Strom page-cache",
        "durability": "`strom.flush.policy=page-cache`: acknowledged once in the OS page cache; "
        "survives a broker crash, not power loss (Kafka's default guarantee).",
        "settings": {**GROUP_SETTINGS, "strom.flush.policy": "page-cache"},
    },
    "kafka": {
        "title": "Kafka 4.1.1",
        "durability": "Apache Kafka's default (no log.flush.interval.*): acknowledged once in the OS "
        "page cache; survives a broker crash, not power loss.",
        "settings": {},
    },
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def build_strom() -> Path:
    log("cargo build --release -p strom-server")
    subprocess.run(["cargo", "build", "--release", "-p", "strom-server"], cwd=REPO_ROOT, check=True)
    return strom_binary()


def strom_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "release" / "strom"


def have_kafka_jars() -> bool:
    return any((REPO_ROOT / ".deps" / "kafka").glob("kafka_2.13-*.jar"))


def ensure_bench_jars() -> None:
    """kafka-tools and its classpath in .deps/bench/, resolved once per pom."""
    pom = BENCH_DIR / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if BENCH_JARS_STAMP.exists() and BENCH_JARS_STAMP.read_text().strip() == digest:
        return
    log("resolving kafka-tools into .deps/bench/ (maven)")
    shutil.rmtree(BENCH_JARS, ignore_errors=True)
    result = subprocess.run(
        ["mvn", "-q", "-B", "--no-transfer-progress", "-f", str(pom), "dependency:copy-dependencies"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"bench: maven failed:\n{result.stdout}\n{result.stderr}")
    BENCH_JARS_STAMP.write_text(digest + "\n")


def git_commit() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return commit or "unknown"


def count_log_levels(path: Path) -> tuple[int, int]:
    warn = error = 0
    try:
        with open(path, errors="replace") as lines:
            for line in lines:
                if " WARN " in line or "WARN " in line[:40]:
                    warn += 1
                if " ERROR " in line or "ERROR " in line[:40]:
                    error += 1
    except OSError:
        pass
    return warn, error


def start_broker(label: str, strom: Path, work_dir: Path) -> tuple[dict, brokers.BrokerRun | None]:
    spec = BROKERS[label]
    broker_dir = work_dir / label
    broker_dir.mkdir()
    info = {"label": label, "title": spec["title"], "durability": spec["durability"], "settings": spec["settings"]}
    log(f"starting {spec['title']}")
    try:
        if label == "kafka":
            run = brokers.start_kafka(REPO_ROOT, broker_dir, label, spec["settings"])
        else:
            run = brokers.start_strom(strom, broker_dir, label, spec["settings"])
    except brokers.BrokerStartError as err:
        info["error"] = str(err)[:2000]
        log(f"{label}: {info['error']}")
        return info, None
    info["startup_s"] = run.startup_s
    return info, run


def stop_broker(info: dict, run: brokers.BrokerRun, log_prefix: str = "", results_dir: Path = RESULTS_DIR) -> None:
    """Stops the broker and keeps its log in `results_dir` (bench/results/)
    as `<log_prefix><label>.log` (Kafka's stderr beside it)."""
    info["stop"] = run.stop()
    log(f"stopped {info['title']}: {info['stop']}")
    saved_log = results_dir / f"{log_prefix}{info['label']}.log"
    if info["label"] == "kafka":
        kafka_log = run.stderr_path.parent / "kafka" / "kafka.log"
        if kafka_log.exists():
            shutil.copyfile(kafka_log, saved_log)
        shutil.copyfile(run.stderr_path, results_dir / f"{log_prefix}kafka.stderr.log")
    else:
        shutil.copyfile(run.stderr_path, saved_log)
    info["log_warn"], info["log_error"] = count_log_levels(saved_log)
