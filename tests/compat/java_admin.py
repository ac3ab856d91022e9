"""The Java Admin client (java/AdminDriver.java) as a long-lived subprocess:
one command line in, one JSON line out, so the JVM starts once per test."""

from __future__ import annotations

import json
import subprocess

from clients import JAVA_CLASSPATH

REPLY_TIMEOUT_S = 60.0


class JavaAdmin:
    def __init__(self, bootstrap: str):
        self._proc = subprocess.Popen(
            ["java", "-cp", JAVA_CLASSPATH, "KafkaDriver", "admin", bootstrap],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def call(self, *fields) -> dict:
        """Runs one admin command; returns its JSON reply (with "error" set
        if the Admin call failed)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write("\t".join(str(f) for f in fields) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise AssertionError(f"Java admin driver died: {self._stderr()}")
        return json.loads(line)

    def ok(self, *fields) -> dict:
        reply = self.call(*fields)
        assert "error" not in reply, f"{fields[0]} failed: {reply}"
        return reply

    def _stderr(self) -> str:
        self._proc.kill()
        _, err = self._proc.communicate(timeout=REPLY_TIMEOUT_S)
        return err[-5000:]

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=REPLY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
