"""A Strom broker with its HTTP listener (console, API, metrics) on a free
port, and plain HTTP calls to it, for the monitoring and console tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from brokers import BrokerProcess, free_ports, strom_binary


def http_broker(tmp_path, *settings: str) -> tuple[BrokerProcess, int]:
    """A Strom broker (not started) with its HTTP listener on a free port;
    `settings` are KEY=VALUE broker settings."""
    (http_port,) = free_ports(1)
    data_dir = tmp_path / "data"
    extra = [arg for setting in settings for arg in ("--set", setting)]

    def command(port: int):
        return [str(strom_binary()), "server", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}",
                "--http-listen", f"127.0.0.1:{http_port}", *extra]  # fmt: skip

    return BrokerProcess("strom", command, data_dir, tmp_path / "strom.stderr"), http_port


def get(url: str, headers: dict | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of a GET; HTTP errors are answers too."""
    return call("GET", url, headers=headers)


def call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, str, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("Content-Type", ""), refused.read().decode()
