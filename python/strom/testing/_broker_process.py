"""The test broker's process (`strom.testing.Broker` starts it):

    python -m strom.testing._broker_process OWNED_DIR strom-args...

Runs `strom server` (with --stop-on-stdin-close it stops when its parent,
which holds its stdin pipe, is gone, even killed by SIGKILL). If the parent
is gone, it then removes OWNED_DIR and the log file beside it: a test run
killed midway leaves no broker and no temporary dir behind. Otherwise the
parent is there to read the log and clean up. An empty OWNED_DIR (a data
dir the caller chose) is kept.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
from pathlib import Path

from strom._strom import run_cli


def main() -> None:
    owned, *args = sys.argv[1:]
    status = run_cli(["strom", *args])
    if owned and _parent_gone():
        shutil.rmtree(owned, ignore_errors=True)
        Path(f"{owned}.log").unlink(missing_ok=True)
    sys.exit(status)


def _parent_gone() -> bool:
    """Whether stdin, the parent's pipe, is at its end (ready, and empty)."""
    readable, _, _ = select.select([0], [], [], 0)
    return bool(readable) and os.read(0, 1) == b""


if __name__ == "__main__":
    main()
