"""`strom` / `python -m strom`: the strom command line (the broker and the
client commands), shipped inside the package's native module."""

from __future__ import annotations

import sys

from strom._strom import run_cli


def main() -> None:
    sys.exit(run_cli(["strom", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
