"""Running one load generator as a child process, bounded in time."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass


@dataclass
class Finished:
    """What a load generator did: exit status, output, wall time."""

    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool

    def failure(self) -> str | None:
        """A one-line reason when the run did not complete, else None."""
        if self.timed_out:
            return f"timed out after {self.wall_s:.0f} s"
        if self.returncode != 0:
            last = (self.stderr.strip().splitlines() or self.stdout.strip().splitlines() or [""])[-1]
            return f"exit status {self.returncode}: {last[:300]}"
        return None

    def last_json_line(self) -> dict:
        """The metrics a load generator prints as its last stdout line
        (one JSON object); {} when there is none."""
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {}


def run_bounded(argv: list[str], timeout_s: float, env: dict | None = None) -> Finished:
    """Runs argv to completion, or kills it after timeout_s."""
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        timed_out = True
    return Finished(
        returncode=process.returncode,
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        wall_s=round(time.monotonic() - started, 2),
        timed_out=timed_out,
    )
