"""The Apache Kafka reference broker for this suite (STROM_TEST_KAFKA=1),
started by the repository's scripts/kafka as the compatibility suite
starts it (tests/compat/brokers.py)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def kafka_reference_broker(workdir: Path) -> Iterator[str]:
    sys.path.insert(0, str(REPO_ROOT / "tests" / "compat"))
    try:
        from brokers import kafka_broker  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    broker = kafka_broker(workdir)
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
