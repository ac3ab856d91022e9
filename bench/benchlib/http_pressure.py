"""Pressure on a broker's HTTP listener while a Kafka load runs: slow
clients that send half a request and dribble header lines (opening a new
connection whenever the broker closes one), and a scraper reading
/metrics and the console's /v1 answers every 100 ms. It measures what
this does to Kafka (the load's own figures); it asserts nothing."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

SLOW_CLIENTS = 60
SCRAPE_EVERY_S = 0.1
SCRAPED = ("/metrics", "/v1/topics", "/v1/groups", "/v1/history")


class HttpPressure:
    """`with HttpPressure("127.0.0.1:9644") as pressure:` ... then
    `pressure.summary()`."""

    def __init__(self, address: str):
        host, port = address.rsplit(":", 1)
        self.address = (host, int(port))
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._slow_clients, daemon=True),
            threading.Thread(target=self._scraper, daemon=True),
        ]
        self.scrapes = self.scrape_failures = self.reconnects = 0

    def __enter__(self) -> HttpPressure:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def summary(self) -> dict:
        return {
            "http_slow_clients": SLOW_CLIENTS,
            "http_scrapes": self.scrapes,
            "http_scrape_failures": self.scrape_failures,
            "http_slow_reconnects": self.reconnects,
        }

    def _open_slow(self) -> socket.socket | None:
        try:
            conn = socket.create_connection(self.address, timeout=2)
            conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n")
            return conn
        except OSError:
            return None

    def _slow_clients(self) -> None:
        clients = [self._open_slow() for _ in range(SLOW_CLIENTS)]
        while not self.stop.wait(1.0):
            for i, conn in enumerate(clients):
                try:
                    if conn is None:
                        raise OSError("not connected")
                    conn.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    if conn is not None:
                        conn.close()
                    clients[i] = self._open_slow()
                    self.reconnects += 1
        for conn in clients:
            if conn is not None:
                conn.close()

    def _scraper(self) -> None:
        host, port = self.address
        while not self.stop.is_set():
            for path in SCRAPED:
                started = time.monotonic()
                try:
                    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as answer:
                        answer.read()
                    self.scrapes += 1
                except OSError:
                    self.scrape_failures += 1
                self.stop.wait(max(0.0, SCRAPE_EVERY_S - (time.monotonic() - started)))
