//! What many clients together may take from the broker: connections
//! (`max.connections`, `max.connections.per.ip`, file descriptors) and the
//! memory of requests being read and handled (`queued.max.request.bytes`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use strom_protocol::messages::{ApiKey, ProduceRequest};

use crate::config::BrokerSettings;

/// What a request of `size` bytes on the wire counts for in
/// `queued.max.request.bytes`: the memory it may take once decoded and
/// answered. Produce keeps its records as slices of the frame, cut out of
/// it for the log: twice its size, and a few KiB for its decoded entries,
/// which [`decode_budget`] holds it to. Other requests become a structure
/// per item several times the item's few wire bytes, and a response per
/// item: a Metadata request naming 7 million short topic names took 38
/// times its 42 MB, ListOffsets repeating one partition 9 times its 96 MB.
pub fn footprint(api_key: i16, size: usize) -> usize {
    if api_key == ApiKey::Produce as i16 {
        size.saturating_mul(2)
            .saturating_add(PRODUCE_ENTRIES_ALLOWANCE)
    } else {
        size.saturating_mul(40)
    }
}

/// What a Produce may take for its decoded entries beyond its own size:
/// enough for a small request of a few entries that hold no batch
/// (answered with an error each, as Kafka answers them).
const PRODUCE_ENTRIES_ALLOWANCE: usize = 4096;

/// How much memory the arrays of a `size`-byte request may take once
/// decoded ([`strom_protocol::codec::decode_within`]); past it the request
/// is refused. A Produce may take what it counts for ([`footprint`]),
/// which a request of real batches decodes well within (a partition entry
/// takes 64 bytes in memory and carries a batch of at least 61 wire
/// bytes), but one made of bare entries (a partition index and null
/// records, 8 wire bytes) would decode to 8 times its size: refused.
/// Other requests count for 40 times their size, above what any measured
/// shape of them takes.
pub fn decode_budget(api_key: i16, size: usize) -> usize {
    if api_key == ApiKey::Produce as i16 {
        footprint(api_key, size)
    } else {
        usize::MAX
    }
}

/// Bytes of requests in the broker at once, all connections together.
///
/// A request is counted before it is read, by its size ([`footprint`]).
/// A Produce can turn out to need more once decoded: an answer per
/// partition entry, which for entries of tiny batches weighs more than
/// the entries themselves. It takes the rest from an overdraft of the
/// same size ([`RequestMemory::overdraw`]). Requests waiting there hold
/// their first share, but nothing that holds the overdraft waits for
/// either, so they cannot stall each other. Requests together take about
/// twice `queued.max.request.bytes`: more only while some wait for the
/// overdraft, each holding its frame and decoded entries (up to 1.5 times
/// its first share), and small requests may add [`SMALL_LANE`]. Once
/// appended, a Produce keeps only what its answer needs while it waits for
/// its commit ([`MemoryShare::shrink_to`]).
#[derive(Debug)]
pub struct RequestMemory {
    /// `None`: no limit (`queued.max.request.bytes` = -1).
    pools: Option<Pools>,
}

#[derive(Debug)]
struct Pools {
    counted: Arc<Semaphore>,
    overdraft: Arc<Semaphore>,
    /// Where a small request goes when `counted` has no room for it now
    /// ([`SMALL_REQUEST`]).
    small_lane: Arc<Semaphore>,
    limit: usize,
    /// Requests waiting for memory now (see [`FrameArrival`]).
    waiting: AtomicUsize,
}

/// Requests that count for at most this much ([`footprint`]: heartbeats,
/// offset commits, metadata and fetch requests, produces of a few records)
/// may go past the requests queued for `queued.max.request.bytes`: when
/// the pool has no room for them at once, they take it from a small lane
/// of their own ([`SMALL_LANE`]). The pool hands memory out first come,
/// first served, so without the lane one large Produce waiting for its
/// share held up every heartbeat of the broker behind it until the
/// requests before it were answered, even while memory for them was free
/// (Kafka's pool lets any request in while some memory is free).
pub const SMALL_REQUEST: usize = 64 * 1024;
/// The small lane's size (or the whole limit, if smaller): room for 64
/// requests of [`SMALL_REQUEST`], thousands of heartbeats.
pub const SMALL_LANE: usize = 4 * 1024 * 1024;

impl Pools {
    /// Waits until `size` bytes of `pool` are free and takes them; more
    /// than the whole limit waits for all of it, so it still passes, alone.
    async fn take(&self, pool: &Arc<Semaphore>, size: usize) -> Option<OwnedSemaphorePermit> {
        if let Some(permit) = self.try_take(pool, size) {
            return Some(permit);
        }
        let wanted = self.wanted(size);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        // Counted down however the wait ends (its connection may close).
        let _waiting = DropGuard(|| {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        });
        pool.clone().acquire_many_owned(wanted).await.ok()
    }

    /// [`Pools::take`] if `size` bytes of `pool` are free now.
    fn try_take(&self, pool: &Arc<Semaphore>, size: usize) -> Option<OwnedSemaphorePermit> {
        pool.clone().try_acquire_many_owned(self.wanted(size)).ok()
    }

    /// The permits a request of `size` bytes takes: at most the limit.
    fn wanted(&self, size: usize) -> u32 {
        u32::try_from(size.clamp(1, self.limit)).unwrap_or(u32::MAX)
    }
}

/// Runs its closure when dropped.
pub(crate) struct DropGuard<F: FnMut()>(pub(crate) F);

impl<F: FnMut()> Drop for DropGuard<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// A request frame being read while it holds its share of request
/// memory, which it takes before its bytes arrive (so that frames cannot
/// deadlock each other halfway). A client that announced a large frame
/// and then stalled or trickled would hold that share for as long as it
/// liked: three connections announcing 100 MiB Produces and sending
/// nothing more froze every other request of the broker for
/// `connections.max.idle.ms`. So while other requests wait for memory, a
/// frame must begin within [`ARRIVAL_FIRST`] of taking its share (its
/// first [`ARRIVAL_FIRST_BYTES`], or all of it if smaller: a client writes
/// its request whole, so that much waits in the socket by then) and
/// arrive whole within [`ARRIVAL_WHOLE`], or its connection is closed. A
/// stalled frame then holds its share for a second, a trickling one for a
/// few, and keeping memory away from others takes sending whole requests,
/// which are answered and give it back. Without waiters a slow client
/// keeps all the time `connections.max.idle.ms` gives it.
pub struct FrameArrival {
    started: Instant,
    /// What the frame must have by [`ARRIVAL_FIRST`].
    first: usize,
}

/// See [`FrameArrival`].
pub const ARRIVAL_FIRST: Duration = Duration::from_secs(1);
/// See [`FrameArrival`]: a TCP receive window's worth.
pub const ARRIVAL_FIRST_BYTES: usize = 64 * 1024;
/// See [`FrameArrival`]: 100 MiB (`socket.request.max.bytes`) at 20 MiB/s.
pub const ARRIVAL_WHOLE: Duration = Duration::from_secs(5);

impl FrameArrival {
    /// A `size`-byte frame that has taken its share.
    pub fn begin(size: usize) -> FrameArrival {
        FrameArrival {
            started: Instant::now(),
            first: size.min(ARRIVAL_FIRST_BYTES),
        }
    }

    /// Why the frame must give its memory back, having `received` bytes
    /// so far, if it must: it falls behind while other requests wait.
    pub fn too_slow(&self, received: usize, memory: &RequestMemory) -> Option<String> {
        let elapsed = self.started.elapsed();
        let behind =
            elapsed >= ARRIVAL_WHOLE || (elapsed >= ARRIVAL_FIRST && received < self.first);
        (behind && memory.others_waiting()).then(|| {
            format!(
                "{received} bytes arrived in {:.1} s (a request must send its first {} within {} s and arrive whole within {} s) while other requests wait for request memory (queued.max.request.bytes)",
                elapsed.as_secs_f64(),
                self.first,
                ARRIVAL_FIRST.as_secs(),
                ARRIVAL_WHOLE.as_secs(),
            )
        })
    }
}

/// A request's share of request memory, given back once its answer is
/// written (when this is dropped).
#[derive(Debug, Default)]
pub struct MemoryShare {
    counted: Option<OwnedSemaphorePermit>,
    overdrawn: Option<OwnedSemaphorePermit>,
}

impl MemoryShare {
    /// Gives back all but `keep` bytes of the share, what it overdrew
    /// first: a request that freed most of its memory before its answer
    /// is due (a Produce once appended, waiting for its commit) must not
    /// keep others waiting for memory it no longer holds. In a cluster
    /// those others include the followers' fetches that commit it.
    pub fn shrink_to(&mut self, keep: usize) {
        let mut keep = keep;
        for permit in [&mut self.counted, &mut self.overdrawn] {
            let Some(held) = permit.as_ref().map(|p| p.num_permits()) else {
                continue;
            };
            if keep >= held {
                keep -= held;
            } else if keep == 0 {
                *permit = None;
            } else {
                drop(permit.as_mut().and_then(|p| p.split(held - keep)));
                keep = 0;
            }
        }
    }
}

impl RequestMemory {
    pub fn new(settings: &BrokerSettings) -> RequestMemory {
        let limit = usize::try_from(settings.queued_max_request_bytes)
            .ok()
            .map(|bytes| bytes.clamp(1, Semaphore::MAX_PERMITS));
        RequestMemory {
            pools: limit.map(|limit| Pools {
                counted: Arc::new(Semaphore::new(limit)),
                overdraft: Arc::new(Semaphore::new(limit)),
                small_lane: Arc::new(Semaphore::new(limit.min(SMALL_LANE))),
                limit,
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// The limit, if there is one.
    pub fn limit(&self) -> Option<usize> {
        self.pools.as_ref().map(|pools| pools.limit)
    }

    /// Whether some request waits for memory now.
    pub fn others_waiting(&self) -> bool {
        self.pools
            .as_ref()
            .is_some_and(|pools| pools.waiting.load(Ordering::Relaxed) > 0)
    }

    /// Waits until `size` more bytes fit, then holds them in the share. A
    /// request larger than the whole limit waits for all of it, so it
    /// still gets through, alone.
    pub async fn reserve(&self, size: usize) -> MemoryShare {
        let Some(pools) = &self.pools else {
            return MemoryShare::default();
        };
        let counted = if size <= SMALL_REQUEST {
            match pools.try_take(&pools.counted, size) {
                Some(permit) => Some(permit),
                None => pools.take(&pools.small_lane, size).await,
            }
        } else {
            pools.take(&pools.counted, size).await
        };
        MemoryShare {
            counted,
            overdrawn: None,
        }
    }

    /// Grows `share` to `needed` bytes in all, waiting for the part beyond
    /// what it holds in the overdraft.
    pub async fn overdraw(&self, share: &mut MemoryShare, needed: usize) {
        let Some(pools) = &self.pools else {
            return;
        };
        let permits =
            |permit: &Option<OwnedSemaphorePermit>| permit.as_ref().map_or(0, |p| p.num_permits());
        let overdrawn = permits(&share.overdrawn);
        let held = permits(&share.counted) + overdrawn;
        // Never more than the overdraft can still give this share, which
        // would wait for itself.
        let extra = needed.saturating_sub(held).min(pools.limit - overdrawn);
        if extra == 0 {
            return;
        }
        if let Some(more) = pools.take(&pools.overdraft, extra).await {
            match &mut share.overdrawn {
                Some(permit) => permit.merge(more),
                None => share.overdrawn = Some(more),
            }
        }
    }
}

/// What a Produce of `size` bytes needs once decoded: its frame, its
/// decoded arrays (`decoded` bytes), and what it needs while it waits for
/// its commit ([`produce_waiting_need`]).
pub fn produce_need(size: usize, decoded: usize, produce: &ProduceRequest) -> usize {
    size.saturating_add(decoded)
        .saturating_add(produce_waiting_need(produce))
}

/// What a Produce still needs once its batches are appended, while it
/// waits for its commit (followers' fetches, the group commit's sync):
/// for each topic and partition entry its answer and the broker's
/// bookkeeping on the way (`PRODUCE_BYTES_PER_ENTRY`). Its frame and
/// decoded form are gone by then; batches the tail cache kept are counted
/// there (`strom.fetch.cache.bytes`).
pub fn produce_waiting_need(produce: &ProduceRequest) -> usize {
    let entries: usize = produce
        .topic_data
        .iter()
        .map(|topic| 1 + topic.partition_data.len())
        .sum();
    entries.saturating_mul(PRODUCE_BYTES_PER_ENTRY)
}

/// Memory a Produce's partition entry takes beyond its decoded form: the
/// answer, its error message if any, the encoded answer and the batch's
/// place among the request's. By hand, 250,000 entries of distinct
/// partitions with 24-byte records (an 8 MB frame) took a release broker
/// 92 MB: 8 MB of frame, 16 of decoded entries, 272 bytes per entry more.
const PRODUCE_BYTES_PER_ENTRY: usize = 320;

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max.connections.per.ip` reached for this address.
    PerIp,
    /// Too few file descriptors left: the logs need theirs to roll
    /// segments and create partitions.
    FileDescriptors,
}

/// Counts connections, overall and per IP address.
#[derive(Debug)]
pub struct Connections {
    max_total: usize,
    max_per_ip: usize,
    /// The soft `RLIMIT_NOFILE`, if known.
    fd_limit: Option<usize>,
    open: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    closed: Notify,
    fds_counted: Mutex<FdCount>,
}

/// Descriptors kept free for the logs: a segment roll takes three (log,
/// offset index, time index), a new partition as many.
fn fd_reserve(fd_limit: usize) -> usize {
    (fd_limit / 16).max(64)
}

impl Connections {
    pub fn new(settings: &BrokerSettings, fd_limit: Option<usize>) -> Arc<Connections> {
        let count = |value: i32| usize::try_from(value).unwrap_or(0);
        Arc::new(Connections {
            max_total: count(settings.max_connections),
            max_per_ip: count(settings.max_connections_per_ip),
            fd_limit,
            open: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            closed: Notify::new(),
            fds_counted: Mutex::new(FdCount {
                fds: open_fd_count().unwrap_or(0),
                connections: 0,
                at: Instant::now(),
            }),
        })
    }

    /// Waits while `max.connections` are open: like Kafka, the broker stops
    /// accepting rather than refusing.
    pub async fn wait_for_room(&self) {
        loop {
            let notified = self.closed.notified();
            if self.open.load(Ordering::Acquire) < self.max_total {
                return;
            }
            notified.await;
        }
    }

    /// Admits a connection just accepted from `ip`, or says why it must be
    /// closed. The slot counts it until dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refusal> {
        if self.fds_nearly_exhausted() {
            return Err(Refusal::FileDescriptors);
        }
        {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            let from_ip = per_ip.entry(ip).or_insert(0);
            if *from_ip >= self.max_per_ip {
                if *from_ip == 0 {
                    per_ip.remove(&ip);
                }
                return Err(Refusal::PerIp);
            }
            *from_ip += 1;
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        Ok(ConnectionSlot {
            connections: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Counting the open descriptors costs a directory listing, so it is
    /// done only when an estimate (the last count, plus the connections
    /// opened since) comes within twice the reserve of the limit, or when
    /// the count is a second old (the logs open files too).
    fn fds_nearly_exhausted(&self) -> bool {
        let Some(limit) = self.fd_limit else {
            return false;
        };
        let reserve = fd_reserve(limit);
        let open = self.open();
        let mut counted = self.fds_counted.lock().unwrap_or_else(|e| e.into_inner());
        let estimate = counted.fds + open.saturating_sub(counted.connections);
        if estimate + 2 * reserve < limit && counted.at.elapsed() < Duration::from_secs(1) {
            return false;
        }
        let Some(fds) = open_fd_count() else {
            return false;
        };
        *counted = FdCount {
            fds,
            connections: open,
            at: Instant::now(),
        };
        fds + reserve >= limit
    }
}

/// The last count of open descriptors, and of connections at that time.
#[derive(Debug)]
struct FdCount {
    fds: usize,
    connections: usize,
    at: Instant,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionSlot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let connections = &self.connections;
        {
            let mut per_ip = connections.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(from_ip) = per_ip.get_mut(&self.ip) {
                *from_ip -= 1;
                if *from_ip == 0 {
                    per_ip.remove(&self.ip);
                }
            }
        }
        connections.open.fetch_sub(1, Ordering::AcqRel);
        connections.closed.notify_waiters();
    }
}

/// Descriptors this process has open, where the system says (Linux).
fn open_fd_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count())
}

/// Raises the soft open-file limit to the hard one, as Kafka's packaging
/// asks operators to do, and returns the limit in force.
pub fn raise_fd_limit() -> Option<usize> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum {
        if limit.current.is_some_and(|soft| soft < hard) {
            limit.current = Some(hard);
            if let Err(e) = setrlimit(Resource::Nofile, limit) {
                tracing::debug!("cannot raise the open-file limit: {e}");
            }
        }
    }
    getrlimit(Resource::Nofile)
        .current
        .map(|soft| usize::try_from(soft).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;

    fn settings(pairs: &[(&str, &str)]) -> BrokerSettings {
        BrokerConfig::from_pairs(pairs).unwrap().settings().clone()
    }

    #[test]
    fn connections_past_the_per_ip_limit_are_refused_until_one_closes() {
        let connections = Connections::new(&settings(&[("max.connections.per.ip", "2")]), None);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let first = connections.admit(ip).unwrap();
        let _second = connections.admit(ip).unwrap();
        assert_eq!(connections.admit(ip).unwrap_err(), Refusal::PerIp);
        let _elsewhere = connections
            .admit(other)
            .expect("another address has its own count");
        drop(first);
        let _again = connections.admit(ip).expect("room again after a close");
        assert_eq!(connections.open(), 3);
    }

    #[test]
    fn zero_per_ip_refuses_every_connection() {
        let connections = Connections::new(&settings(&[("max.connections.per.ip", "0")]), None);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(connections.admit(ip).unwrap_err(), Refusal::PerIp);
        assert_eq!(connections.open(), 0);
    }

    #[tokio::test]
    async fn request_memory_waits_for_room_and_lets_a_huge_request_through_alone() {
        let memory = RequestMemory::new(&settings(&[("queued.max.request.bytes", "1000000")]));
        let held = memory.reserve(600_000).await;
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            memory.reserve(600_000),
        );
        assert!(
            waiting.await.is_err(),
            "600,000 + 600,000 bytes exceed the 1,000,000-byte limit"
        );
        drop(held);
        let huge = memory.reserve(5_000_000).await;
        assert_eq!(
            huge.counted.map(|p| p.num_permits()),
            Some(1_000_000),
            "over the limit: all of it"
        );
        let unlimited = RequestMemory::new(&settings(&[("queued.max.request.bytes", "-1")]));
        let mut share = unlimited.reserve(1 << 40).await;
        unlimited.overdraw(&mut share, 1 << 41).await;
        assert!(share.counted.is_none() && share.overdrawn.is_none());
    }

    #[tokio::test]
    async fn small_requests_pass_a_large_one_waiting_for_memory_within_their_lane() {
        let memory = Arc::new(RequestMemory::new(&settings(&[(
            "queued.max.request.bytes",
            "1000000",
        )])));
        let soon = |size| tokio::time::timeout(Duration::from_millis(200), memory.reserve(size));
        let held = memory.reserve(900_000).await;
        let large = tokio::spawn({
            let memory = memory.clone();
            async move { memory.reserve(500_000).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            memory.others_waiting(),
            "500,000 more bytes wait for the 900,000 held"
        );
        // Small requests go past it, within their lane: fifteen of 64 KiB
        // fit in the 1,000,000 bytes here, the sixteenth waits.
        let mut small = Vec::new();
        for _ in 0..15 {
            small.push(soon(SMALL_REQUEST).await.expect("a small request passes"));
        }
        assert!(soon(SMALL_REQUEST).await.is_err(), "the lane is bounded");
        assert!(!large.is_finished());
        drop(held);
        let large = tokio::time::timeout(Duration::from_secs(5), large).await;
        assert!(large.is_ok(), "the large one goes on once memory is free");
    }

    #[tokio::test]
    async fn a_request_needing_more_than_it_was_counted_for_draws_on_the_overdraft() {
        let memory = RequestMemory::new(&settings(&[("queued.max.request.bytes", "1000")]));
        let memory = &memory;
        let within = |share: MemoryShare, ms| async move {
            let mut share = share;
            let grown = tokio::time::timeout(
                std::time::Duration::from_millis(ms),
                memory.overdraw(&mut share, 1500),
            )
            .await;
            (grown.is_ok(), share)
        };
        // The first share's full limit is taken; the second still comes from
        // the overdraft, which holds the rest.
        let first = memory.reserve(1000).await;
        let (grown, first) = within(first, 1000).await;
        assert!(grown, "500 more bytes from the overdraft");
        assert_eq!(first.overdrawn.as_ref().map(|p| p.num_permits()), Some(500));
        // Asking again for what it holds takes nothing more; asking for
        // more adds to it, up to the whole overdraft.
        let (grown, mut first) = within(first, 1000).await;
        assert!(grown);
        assert_eq!(first.overdrawn.as_ref().map(|p| p.num_permits()), Some(500));
        memory.overdraw(&mut first, 1700).await;
        assert_eq!(first.overdrawn.as_ref().map(|p| p.num_permits()), Some(700));
        memory.overdraw(&mut first, 1_000_000).await;
        assert_eq!(
            first.overdrawn.as_ref().map(|p| p.num_permits()),
            Some(1000)
        );
        drop(first);
        let second = memory.reserve(400).await;
        let third = memory.reserve(400).await;
        let (grown, second) = within(second, 1000).await;
        assert!(grown, "1,100 more bytes: all of the overdraft");
        assert_eq!(
            second.overdrawn.as_ref().map(|p| p.num_permits()),
            Some(1000)
        );
        let (grown, third) = within(third, 50).await;
        assert!(!grown, "the overdraft is taken: the third waits");
        drop(second);
        let (grown, _third) = within(third, 1000).await;
        assert!(grown, "and goes on once the second is answered");
    }

    #[tokio::test]
    async fn a_shrunk_share_gives_back_what_it_overdrew_first_then_its_own() {
        let memory = RequestMemory::new(&settings(&[("queued.max.request.bytes", "1000")]));
        let held = |share: &MemoryShare| {
            let permits = |p: &Option<OwnedSemaphorePermit>| p.as_ref().map(|p| p.num_permits());
            (permits(&share.counted), permits(&share.overdrawn))
        };
        let mut share = memory.reserve(800).await;
        memory.overdraw(&mut share, 1100).await;
        assert_eq!(held(&share), (Some(800), Some(300)));
        share.shrink_to(900);
        assert_eq!(held(&share), (Some(800), Some(100)));
        share.shrink_to(300);
        assert_eq!(held(&share), (Some(300), None));
        share.shrink_to(5000);
        assert_eq!(held(&share), (Some(300), None), "shrinking never grows");
        // What it gave back is free for others at once.
        let other = tokio::time::timeout(Duration::from_secs(5), memory.reserve(700)).await;
        assert!(other.is_ok(), "700 bytes are free next to the 300 kept");
        share.shrink_to(0);
        assert_eq!(held(&share), (None, None));
    }
}
