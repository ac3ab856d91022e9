//! A hostile broker for the client's robustness tests: a TCP listener on
//! 127.0.0.1 that speaks just enough Kafka framing to read requests and
//! answers each one as a per-test script says, with valid messages encoded
//! by strom-protocol's own codec, or with hand-written (broken) bytes.
//!
//! Also here: a panic recorder, because a panic inside a task the client
//! spawned does not fail a test by itself. Tests run on tokio's
//! current-thread runtime, so the client's tasks run on the test's own
//! thread and the recorder can attribute each panic to its test by the
//! thread's name.

#![allow(dead_code)] // each test binary uses a different subset

pub mod answers;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use strom_client::ClientConfig;
use strom_protocol::frame::{decode_request_header, encode_response};
use strom_protocol::messages::{ApiKey, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Safety net for anything a test waits on: a client call still running
/// after this has hung (the timeouts under test are ~100x shorter).
pub const HANG: Duration = Duration::from_secs(20);

/// One request as the hostile broker read it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub api: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub request: Request,
    /// How many requests of this API the broker had read before this one
    /// (over all connections), so a script can turn hostile later.
    pub seen_before: usize,
    /// The broker's own port, for Metadata answers naming itself.
    pub port: u16,
}

/// What the broker does with one request.
pub enum Reply {
    /// A valid response, encoded at the request's version and correlation id.
    Respond(Response),
    /// A valid response body under another correlation id.
    RespondWithId(i32, Response),
    /// A frame body written after a correct length prefix (the caller
    /// writes the correlation id itself).
    Frame(Vec<u8>),
    /// Bytes written as they are, length prefix included (or not).
    Raw(Vec<u8>),
    /// Bytes written as they are, then the connection closed.
    RawThenClose(Vec<u8>),
    /// Close the connection.
    Close,
    /// Answer nothing; keep reading.
    Silence,
    /// Answer nothing and never read from this connection again.
    StopReading,
}

pub type Script = Arc<dyn Fn(&Incoming) -> Reply + Send + Sync>;

/// A running hostile broker; stops when dropped.
pub struct HostileBroker {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for HostileBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HostileBroker {
    /// A broker answering every request through `script`.
    pub async fn start(script: impl Fn(&Incoming) -> Reply + Send + Sync + 'static) -> Self {
        Self::listen(Some(Arc::new(script))).await
    }

    /// A broker that is healthy except for its answers to `api`.
    pub async fn hostile_for(
        api: ApiKey,
        hostile: impl Fn(&Incoming) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start(move |incoming| {
            if incoming.api == api {
                hostile(incoming)
            } else {
                answers::well_behaved(incoming)
            }
        })
        .await
    }

    /// A broker that accepts each connection and closes it at once.
    pub async fn closing_on_accept() -> Self {
        Self::listen(None).await
    }

    async fn listen(script: Option<Script>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counters = Arc::new(Mutex::new(std::collections::HashMap::new()));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let Some(script) = script.clone() else {
                    drop(socket);
                    continue;
                };
                tokio::spawn(serve(socket, script, counters.clone(), addr.port()));
            }
        });
        HostileBroker {
            addr,
            accepted,
            task,
        }
    }

    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// Client settings with short timeouts, so each hostile case ends fast.
    pub fn config(&self, extra: &[(&str, &str)]) -> ClientConfig {
        let mut pairs = vec![
            ("bootstrap.servers", self.bootstrap()),
            ("request.timeout.ms", "400".to_string()),
            ("socket.connection.setup.timeout.ms", "400".to_string()),
            ("delivery.timeout.ms", "1500".to_string()),
            ("retry.backoff.ms", "20".to_string()),
            ("reconnect.backoff.ms", "20".to_string()),
            ("reconnect.backoff.max.ms", "50".to_string()),
            ("linger.ms", "0".to_string()),
            ("fetch.max.wait.ms", "50".to_string()),
        ];
        pairs.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        ClientConfig::from_pairs(pairs).expect("valid test config")
    }
}

type Counters = Arc<Mutex<std::collections::HashMap<i16, usize>>>;

async fn serve(mut socket: TcpStream, script: Script, counters: Counters, port: u16) {
    loop {
        let Some(frame) = read_frame(&mut socket).await else {
            return;
        };
        let Ok(header) = decode_request_header(frame) else {
            return;
        };
        let (Some(api), Ok((request, _))) = (header.api_key, header.decode_body()) else {
            return;
        };
        let seen_before = {
            let mut counters = counters.lock().expect("counter lock");
            let seen = counters.entry(api as i16).or_insert(0);
            *seen += 1;
            *seen - 1
        };
        let incoming = Incoming {
            api,
            version: header.api_version(),
            correlation_id: header.correlation_id(),
            request,
            seen_before,
            port,
        };
        let bytes = match script(&incoming) {
            Reply::Respond(response) => encode(incoming.correlation_id, &incoming, &response),
            Reply::RespondWithId(id, response) => encode(id, &incoming, &response),
            Reply::Frame(body) => {
                let mut bytes = (body.len() as i32).to_be_bytes().to_vec();
                bytes.extend(body);
                bytes
            }
            Reply::Raw(bytes) => bytes,
            Reply::RawThenClose(bytes) => {
                let _ = socket.write_all(&bytes).await;
                return;
            }
            Reply::Close => return,
            Reply::Silence => continue,
            Reply::StopReading => {
                // Hold the socket open, unread, until the test ends.
                std::future::pending::<()>().await;
                return;
            }
        };
        if socket.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

async fn read_frame(socket: &mut TcpStream) -> Option<Bytes> {
    let mut prefix = [0u8; 4];
    socket.read_exact(&mut prefix).await.ok()?;
    let size = usize::try_from(i32::from_be_bytes(prefix)).ok()?;
    let mut frame = vec![0u8; size.min(64 << 20)];
    socket.read_exact(&mut frame).await.ok()?;
    Some(frame.into())
}

fn encode(correlation_id: i32, incoming: &Incoming, response: &Response) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_response(correlation_id, incoming.version, response, &mut out)
        .expect("the script's response encodes at the request's version");
    out.to_vec()
}

// ---- panics ----

static PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Records every panic with its thread's name (then runs the default hook).
pub fn record_panics() {
    HOOK.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or("?").to_string();
            if let Ok(mut panics) = PANICS.lock() {
                panics.push((thread, info.to_string()));
            }
            default_hook(info);
        }));
    });
}

/// Fails the test if anything panicked on this test's thread, including
/// tasks the client spawned on the test's current-thread runtime.
pub fn assert_no_panics() {
    let this = std::thread::current().name().unwrap_or("?").to_string();
    let panics: Vec<String> = PANICS
        .lock()
        .map(|p| {
            p.iter()
                .filter(|(thread, _)| *thread == this)
                .map(|(_, message)| message.clone())
                .collect()
        })
        .unwrap_or_default();
    assert!(panics.is_empty(), "the client panicked: {panics:#?}");
}

/// Runs a client call, failing the test if it hangs or anything panicked.
pub async fn guarded<T>(future: impl std::future::Future<Output = T>) -> T {
    record_panics();
    let outcome = tokio::time::timeout(HANG, future)
        .await
        .expect("the client hung past every configured timeout");
    assert_no_panics();
    outcome
}

/// Asserts that a failed delivery handed back the record that was sent
/// (with the timestamp the producer gave it).
pub fn assert_handed_back(
    failure: &strom_client::DeliveryError,
    sent: &strom_client::ProducerRecord,
) {
    let record = *failure.record.clone().expect("the failed record");
    let record = strom_client::ProducerRecord {
        timestamp: None,
        ..record
    };
    assert_eq!(&record, sent, "{failure:?}");
}
