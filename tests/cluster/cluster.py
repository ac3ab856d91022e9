"""Three `strom server` processes on loopback forming one cluster.

Each node gets its own Kafka port, cluster (Raft) port and data dir; the
ports stay the same across restarts so clients and peers find a restarted
node where it was. Settings shorten the failure timeouts so failovers take
seconds, not the production defaults' tens of seconds.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))

from brokers import REPO_ROOT, BrokerProcess, free_ports  # noqa: E402

from proxy import Proxy  # noqa: E402

FAST_FAILOVER = {
    "broker.heartbeat.interval.ms": "200",
    "broker.session.timeout.ms": "2000",
    "replica.lag.time.max.ms": "2000",
    "replica.fetch.wait.max.ms": "200",
    "leader.imbalance.check.interval.seconds": "2",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "6",
}


def strom_binary() -> str:
    return os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")


class Node(BrokerProcess):
    def __init__(self, node_id: int, kafka_port: int, command, data_dir: Path, log_path: Path):
        super().__init__(f"strom node {node_id}", command, data_dir, log_path)
        self.node_id = node_id
        self._port = kafka_port

    def kill(self) -> None:
        """SIGKILL: the node dies with no chance to hand anything off."""
        self._kill_group(signal.SIGKILL)

    def terminate(self) -> int:
        return self._terminate()

    def pause(self) -> None:
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGCONT)


class Cluster:
    """`partitionable`: every cluster link from one node to another goes
    through its own `Proxy` (each node is given its own --voters list with
    the proxies' ports), so `isolate(n)` cuts node n off from the others."""

    def __init__(
        self,
        root: Path,
        size: int = 3,
        settings: dict | None = None,
        partitionable: bool = False,
        observers: int = 0,
        sasl: bool = False,
        tls_first: bool = False,
    ):
        """`size` voters, then `observers` brokers that are not voters
        (they join the metadata quorum as learners). `sasl`: each node also
        serves a SASL_PLAINTEXT listener (`sasl_addresses`). `tls_first`:
        the first listener (the one brokers replicate over, and the ready
        line's) is SSL, and clients get a PLAINTEXT one (`plain_addresses`);
        the settings must then carry the TLS files."""
        total = size + observers
        ports = free_ports(4 * total)
        kafka_ports, raft_ports = ports[:total], ports[total : 2 * total]
        sasl_ports, http_ports = ports[2 * total : 3 * total], ports[3 * total :]
        # Each node's HTTP listener (console, API, metrics) on a port of its own.
        self.http_addresses = [f"127.0.0.1:{p}" for p in http_ports]
        self.sasl_addresses = [f"127.0.0.1:{p}" for p in sasl_ports] if sasl else []
        self.plain_addresses = [f"127.0.0.1:{p}" for p in sasl_ports] if tls_first else []
        self.raft_addresses = [f"127.0.0.1:{p}" for p in raft_ports]
        self.links: dict[tuple[int, int], Proxy] = {}
        if partitionable:
            for i in range(1, size + 1):
                for j in range(1, size + 1):
                    if i != j:
                        self.links[(i, j)] = Proxy(raft_ports[j - 1])

        def voters_seen_by(node_id: int) -> str:
            def address(j: int) -> int:
                link = self.links.get((node_id, j))
                return link.port if link else raft_ports[j - 1]

            return ",".join(f"{j}@127.0.0.1:{address(j)}" for j in range(1, size + 1))

        merged = {**FAST_FAILOVER, **(settings or {})}
        self.nodes: list[Node] = []
        for i in range(total):
            node_id = i + 1
            data_dir = root / f"node{node_id}"

            def command(port, node_id=node_id, data_dir=data_dir, kafka_port=kafka_ports[i], sasl_port=sasl_ports[i]):
                listen = f"PLAINTEXT://127.0.0.1:{port or kafka_port}"
                if tls_first:
                    listen = f"SSL://127.0.0.1:{port or kafka_port},PLAINTEXT://127.0.0.1:{sasl_port}"
                elif sasl:
                    listen += f",SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
                argv = [
                    strom_binary(), "server",
                    "--node-id", str(node_id),
                    "--listen", listen,
                    "--voters", voters_seen_by(node_id),
                    "--cluster-listen", f"127.0.0.1:{raft_ports[node_id - 1]}",
                    "--data-dir", str(data_dir),
                    "--http-listen", f"127.0.0.1:{http_ports[node_id - 1]}",
                ]  # fmt: skip
                for key, value in merged.items():
                    argv += ["--set", f"{key}={value}"]
                return argv

            self.nodes.append(Node(node_id, kafka_ports[i], command, data_dir, root / f"node{node_id}.log"))
        self.bootstrap = ",".join(f"127.0.0.1:{p}" for p in kafka_ports)

    def start(self) -> None:
        """Starts every node; if one fails to start, stops the others before
        raising, so no node outlives its test (a leftover node keeps
        calling its dead peers' ports, which a later test may be given)."""
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops every node, even when one fails to stop cleanly; then
        raises the first such failure. Every node gets its SIGTERM before
        any is waited for: stopped one after another, the last node had no
        quorum left to hand its leaderships to and sat out its whole
        controlled-shutdown timeout (9 s against 0-5 s for a three-node
        cluster)."""
        for node in self.nodes:
            try:
                node.resume()
            except Exception:
                pass
            node.request_stop()
        failure = None
        for node in self.nodes:
            try:
                node.stop()
            except Exception as e:  # noqa: BLE001 - raised below, after the rest stopped
                failure = failure or e
        if failure is not None:
            raise failure

    def isolate(self, node_id: int) -> None:
        """Cuts every cluster link to and from `node_id` (its Kafka port
        stays reachable for clients)."""
        for (i, j), link in self.links.items():
            if node_id in (i, j):
                link.cut()

    def heal(self) -> None:
        for link in self.links.values():
            link.heal()

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- node {n.node_id}\n{n.log_tail(lines)}" for n in self.nodes)


def wait_for(what: str, check, timeout: float = 30.0, interval: float = 0.2, show=None):
    """Polls `check` until it returns a truthy value; that value. On a
    timeout, `show()` (if given) says what the state was instead."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a failed probe is retried
            last_error = e
        time.sleep(interval)
    state = ""
    if show is not None:
        try:
            state = f"; instead: {show()}"
        except Exception as e:  # noqa: BLE001 - the timeout is the failure
            state = f"; the state could not be read: {e}"
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error}){state}")
