//! Telling a dead broker from a slow one before its session runs out.
//!
//! A broker that misses heartbeats may be slow, partitioned away, or
//! dead. Only the first two deserve the whole `broker.session.timeout.ms`:
//! when a broker's process is gone, its host's kernel refuses connections
//! to the port it listened on, which a slow or cut-off broker never does
//! (a stopped or overloaded process still has its listening socket; a
//! partition gives a timeout, not a refusal). So the controller dials a
//! quiet broker's cluster listener, and a refusal fences it at once: a
//! SIGKILLed leader's partitions move in about a second instead of a
//! session.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// How long a probe waits for a connection: anything but a refusal within
/// it counts as "maybe alive".
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The brokers among `quiet` (id, cluster address) whose address refuses
/// connections.
pub async fn refusing(quiet: Vec<(i32, String)>) -> Vec<i32> {
    let mut probes = JoinSet::new();
    for (id, address) in quiet {
        probes.spawn(async move {
            let attempt = tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect(&address)).await;
            let refused = matches!(
                attempt,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused
            );
            refused.then_some(id)
        });
    }
    let mut refused = Vec::new();
    while let Some(done) = probes.join_next().await {
        if let Ok(Some(id)) = done {
            refused.push(id);
        }
    }
    refused.sort_unstable();
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_refuses_and_a_listening_one_does_not() {
        let listening = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listening.local_addr().unwrap().to_string();
        let closed = {
            let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            gone.local_addr().unwrap().to_string()
        };
        let found = refusing(vec![(1, open), (2, closed)]).await;
        assert_eq!(found, vec![2]);
    }
}
