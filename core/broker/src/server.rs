//! The broker's main loop: bind, load, announce readiness, accept
//! connections until shutdown, then close every log cleanly.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::clock::now_ms;
use crate::config::{BrokerConfig, HostPort, SecurityProtocol};
use crate::data_dir_lock::DataDirLock;
use crate::error::BrokerError;
use crate::limits::{raise_fd_limit, Connections, Refusal};
use crate::security::{tls, Listener};
use crate::state::Broker;
use crate::topic_table::ListenerEndpoint;

/// Runs a broker until `shutdown` resolves. Prints the ready line on stdout
/// once it accepts connections:
/// `strom ready: serving Kafka on HOST:PORT (data dir DIR)`.
pub async fn run(
    config: BrokerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BrokerError> {
    // Before anything in the dir is read or written.
    let _lock = DataDirLock::acquire(&config.data_dir())?;
    let settings = config.settings();
    // Replica fetchers dial the other brokers' first listener: plain, or
    // with security.inter.broker.protocol=SSL over TLS (the settings
    // checked it is an SSL listener then). Never with SASL.
    let first_protocol = settings.listeners[0].protocol;
    let fetchable = match settings.inter_broker_tls {
        true => first_protocol == SecurityProtocol::Ssl,
        false => first_protocol == SecurityProtocol::Plaintext,
    };
    if settings.is_clustered() && !fetchable {
        return Err(BrokerError::Config(crate::config::ConfigError::Invalid {
            key: "listeners".into(),
            reason: format!(
                "in a cluster the first listener must be PLAINTEXT (brokers replicate through it), or SSL with security.inter.broker.protocol=SSL, not {}; list the other listeners after it",
                settings.listeners[0].name
            ),
        }));
    }
    // Before the logs are opened, so /readyz can say they are recovering.
    let http = crate::http::start(settings).await?;
    let mut bound = Vec::new();
    for spec in &settings.listeners {
        let address = spec.bind.to_string();
        let socket = TcpListener::bind(&address)
            .await
            .map_err(|source| BrokerError::Bind {
                addr: address.clone(),
                source,
            })?;
        let port = socket
            .local_addr()
            .map_err(|source| BrokerError::Bind {
                addr: address.clone(),
                source,
            })?
            .port();
        let acceptor = match spec.protocol {
            SecurityProtocol::Ssl => {
                Some(tls::server_config(settings.security_for(&spec.name), true)?)
            }
            SecurityProtocol::SaslSsl => Some(tls::server_config(
                settings.security_for(&spec.name),
                false,
            )?),
            _ => None,
        }
        .map(TlsAcceptor::from);
        // In a cluster, brokers fetch from each other over the first
        // listener; with inter-broker TLS they prove who they are by
        // certificate instead of being trusted for coming in there.
        let inter_broker =
            bound.is_empty() && settings.is_clustered() && !settings.inter_broker_tls;
        let mechanisms = settings.security_for(&spec.name).sasl_mechanisms.clone();
        bound.push((
            socket,
            Listener::new(spec, port, acceptor, inter_broker, mechanisms),
        ));
    }
    // The first listener is the one other brokers and the ready line name.
    let first = bound[0].1.advertised.clone();
    let first_bound = bound[0]
        .0
        .local_addr()
        .map_err(|source| BrokerError::Bind {
            addr: first.to_string(),
            source,
        })?;
    let broker = Arc::new(Broker::open(
        config,
        first.host.clone(),
        i32::from(first.port),
    )?);
    if let Some(http) = &http {
        http.status.opened(&broker);
        // A wildcard bind is reached at the broker's advertised host.
        let host = match http.address.ip() {
            ip if ip.is_unspecified() => first.host.clone(),
            ip => ip.to_string(),
        };
        broker.set_http_address(crate::http::join_host_port(&host, http.address.port()));
    }
    broker.set_listeners(
        bound
            .iter()
            .map(|(_, listener)| ListenerEndpoint {
                name: listener.name.clone(),
                host: listener.advertised.host.clone(),
                port: i32::from(listener.advertised.port),
            })
            .collect(),
    );
    if broker.config.settings().is_clustered() {
        let node = crate::cluster::start(&broker).await?;
        tracing::info!(
            node = broker.node_id,
            cluster_listener = %node.quorum.local_addr(),
            "joined the metadata quorum"
        );
        broker.set_cluster(node.clone());
        node.catch_up(&broker).await;
        node.import_topics(&broker).await;
        node.import_users(&broker).await;
        node.import_acls(&broker).await;
        node.import_quotas(&broker).await;
    }
    let listed: Vec<String> = bound
        .iter()
        .map(|(socket, listener)| {
            let port = socket.local_addr().map(|a| a.port()).unwrap_or_default();
            format!("{}://{}:{port}", listener.name, listener.advertised.host)
        })
        .collect();
    // Before the listeners, which end the line: readers take the rest of
    // the line after "listeners " as the list.
    let http_part = match &http {
        Some(http) => {
            http.status.serving();
            format!("; console on http://{}", http.address)
        }
        None => String::new(),
    };
    // A closed stdout (its reader gone) must not stop the broker: the
    // line is for whoever watches, not a condition of serving.
    let _ = writeln!(
        std::io::stdout(),
        "strom ready: serving Kafka on {first_bound} (data dir {}){http_part}; listeners {}",
        broker.data_dir.display(),
        listed.join(",")
    );
    let served = serve_listeners(broker, bound, shutdown).await;
    drop(http);
    served
}

/// Accepts connections on `listener` until `shutdown` resolves; then closes
/// the broker's logs, failing if any could not be closed cleanly. Tests
/// call this with a listener on `127.0.0.1:0`.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BrokerError> {
    let advertised = HostPort {
        host: broker.advertised_host.clone(),
        port: u16::try_from(broker.advertised_port).unwrap_or_default(),
    };
    serve_listeners(
        broker,
        vec![(listener, Listener::plaintext(advertised))],
        shutdown,
    )
    .await
}

/// [`serve`] on every listener at once.
pub async fn serve_listeners(
    broker: Arc<Broker>,
    listeners: Vec<(TcpListener, Arc<Listener>)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BrokerError> {
    let settings = broker.config.settings();
    let retention_period =
        Duration::from_millis(settings.log_retention_check_interval_ms.max(1000) as u64);
    let mut background = vec![
        tokio::spawn(every(
            broker.clone(),
            retention_period,
            Broker::enforce_retention,
        )),
        tokio::spawn(every(
            broker.clone(),
            strom_storage::READERS_GONE_AFTER,
            Broker::drop_unread_tail_caches,
        )),
    ];
    if settings.log_cleaner_enable {
        // Kafka's cleaner sleeps `log.cleaner.backoff.ms` between passes.
        let cleaner_period = Duration::from_millis(settings.log_cleaner_backoff_ms.max(100) as u64);
        background.push(tokio::spawn(every(
            broker.clone(),
            cleaner_period,
            Broker::clean_compacted_logs,
        )));
    }
    let group_tasks = crate::group::start(&broker);
    let limits = Connections::new(settings, raise_fd_limit());
    let mut refusals = RefusalLog::default();
    let mut connections = JoinSet::new();
    // One acceptor per listener feeds the loop below. Each admits what it
    // accepts before it waits for room again, so `max.connections` counts
    // every connection accepted, on whichever listener.
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::channel(1);
    let acceptors: Vec<_> = listeners
        .into_iter()
        .map(|(socket, listener)| {
            let (limits, accepted) = (limits.clone(), accepted_tx.clone());
            tokio::spawn(async move {
                loop {
                    let next = accept_with_room(&socket, &limits)
                        .await
                        .map(|(stream, peer)| (limits.admit(peer.ip()), stream, peer));
                    if accepted.send((next, listener.clone())).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some((accepted, listener)) = accepted_rx.recv() => match accepted {
                Ok((Ok(slot), stream, peer)) => {
                    let serve = crate::connection::serve(broker.clone(), stream, peer, listener);
                    connections.spawn(async move {
                        serve.await;
                        drop(slot);
                    });
                }
                Ok((Err(refusal), stream, peer)) => {
                    refusals.note(refusal, peer);
                    drop(stream);
                }
                Err(e) => {
                    // Running out of file descriptors must not end the broker.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    if let Some(node) = broker.cluster() {
        tracing::info!("shutting down: handing off leaderships");
        node.shut_down(broker.node_id).await;
    }
    tracing::info!("shutting down: closing connections and flushing logs");
    for task in background.iter().chain(&group_tasks).chain(&acceptors) {
        task.abort();
    }
    connections.shutdown().await;
    let closing = broker.clone();
    let closed = match tokio::task::spawn_blocking(move || closing.close()).await {
        Ok(closed) => closed,
        Err(e) => Err(BrokerError::UncleanShutdown {
            failed: 0,
            first: format!("the close task failed: {e}"),
        }),
    };
    match &closed {
        Ok(()) => tracing::info!("shutdown complete"),
        Err(e) => tracing::error!("shutdown incomplete: {e}"),
    }
    closed
}

/// Accepts the next connection once `max.connections` leaves room for it.
async fn accept_with_room(
    listener: &TcpListener,
    limits: &Connections,
) -> std::io::Result<(TcpStream, SocketAddr)> {
    limits.wait_for_room().await;
    listener.accept().await
}

/// Logs refused connections at most once a second, with how many were
/// refused since: a flood of connections must not become a flood of lines.
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    fn note(&mut self, refusal: Refusal, peer: SocketAddr) {
        self.unlogged += 1;
        if self
            .last
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let why = match refusal {
            Refusal::PerIp => "max.connections.per.ip reached for its address",
            Refusal::FileDescriptors => {
                "too few file descriptors left (the logs need theirs; raise the open-file limit)"
            }
        };
        tracing::warn!(%peer, refused = self.unlogged, "closing new connection: {why}");
        self.last = Some(Instant::now());
        self.unlogged = 0;
    }
}

/// Runs `job` on the blocking pool once every `period` (first after one
/// period), never two at once: a slow pass delays the next.
async fn every(broker: Arc<Broker>, period: Duration, job: fn(&Broker, i64)) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate
    loop {
        ticker.tick().await;
        let broker = broker.clone();
        let _ = tokio::task::spawn_blocking(move || job(&broker, now_ms())).await;
    }
}
