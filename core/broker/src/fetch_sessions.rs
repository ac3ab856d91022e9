//! Fetch sessions (KIP-227). A consumer that fetches many partitions asks,
//! with a full fetch at epoch 0, for a session; after that each fetch of
//! the session names only the partitions whose fetch position changed
//! (and those to forget), and its answer carries only the partitions with
//! something new: records, a moved high watermark or log start, an error.
//! A consumer of 1,000 partitions at the tail then sends and receives a
//! few bytes per fetch instead of 1,000 partitions both ways.
//!
//! The broker keeps, per session, every partition's fetch position and
//! what it last told the client. [`FetchSessions::begin`] turns a session's
//! fetch back into the full fetch it stands for, so the handler and the
//! access checks (ACLs are checked on every partition at every fetch) see
//! a plain fetch; [`FetchSessions::finish`] trims the answer to what
//! changed. Bounded: `max.incremental.fetch.session.cache.slots` sessions
//! and [`MAX_CACHED_PARTITIONS`] partitions in all; a fetch that finds no
//! room gets no session (session id 0) and its client keeps sending full
//! fetches, which always work. Followers (Strom's own) fetch without one.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indexmap::{Equivalent, IndexMap};
use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::fetch_response::PartitionData;
use strom_protocol::messages::{FetchRequest, FetchResponse};

use crate::handlers::fetch::{fetching_replica, served_bytes};

/// The first version with sessions.
const SESSIONS_FROM: i16 = 7;
/// The first version naming topics by id.
const TOPIC_IDS_FROM: i16 = 13;
/// A full fetch that asks for a new session.
const INITIAL_EPOCH: i32 = 0;
/// A full fetch that wants no session (and closes the one it names).
const FINAL_EPOCH: i32 = -1;
/// Partitions all sessions together may hold: about 15 MB. A consumer of
/// 10,000 partitions fits ten times over.
pub const MAX_CACHED_PARTITIONS: usize = 100_000;
/// A session unused this long may make room for a new one (Kafka's
/// `min.incremental.fetch.session.eviction.ms` default).
const IDLE_BEFORE_EVICTION: Duration = Duration::from_secs(120);

pub struct FetchSessions {
    /// `max.incremental.fetch.session.cache.slots`; 0: no sessions.
    slots: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    sessions: HashMap<i32, Session>,
    /// Partitions held by all sessions.
    partitions: usize,
}

struct Session {
    /// The epoch the session's next fetch must carry.
    epoch: i32,
    /// Who made it: only the same principal may use or close it.
    principal: String,
    /// Made by a fetch of v13 or later, which names topics by id.
    by_id: bool,
    last_used: Instant,
    /// In the order they are read: a partition that returned records
    /// moves to the end, so a response cut short by its size limit does
    /// not keep starving the same partitions.
    partitions: IndexMap<Key, Cached>,
}

/// A partition as a session's fetches name it.
#[derive(Clone, PartialEq, Eq)]
enum Key {
    Named(String, i32),
    Id(Uuid, i32),
}

/// [`Key`] borrowed from a request or a response, to look one up
/// without copying the topic name.
#[derive(PartialEq, Eq, Hash)]
enum KeyRef<'a> {
    Named(&'a str, i32),
    Id(Uuid, i32),
}

impl KeyRef<'_> {
    fn of(by_id: bool, topic: &str, topic_id: Uuid, partition: i32) -> KeyRef<'_> {
        if by_id {
            KeyRef::Id(topic_id, partition)
        } else {
            KeyRef::Named(topic, partition)
        }
    }

    fn to_owned(&self) -> Key {
        match *self {
            KeyRef::Named(topic, partition) => Key::Named(topic.to_owned(), partition),
            KeyRef::Id(id, partition) => Key::Id(id, partition),
        }
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        match (self, key) {
            (KeyRef::Named(a, p), Key::Named(b, q)) => p == q && *a == b.as_str(),
            (KeyRef::Id(a, p), Key::Id(b, q)) => p == q && a == b,
            _ => false,
        }
    }
}

// `Equivalent` lookups need a `KeyRef` to hash as its `Key` does.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Key::Named(topic, partition) => KeyRef::Named(topic, *partition).hash(state),
            Key::Id(id, partition) => KeyRef::Id(*id, *partition).hash(state),
        }
    }
}

/// One partition of a session.
struct Cached {
    /// What the client last asked for it: offset, size limit, epochs.
    wanted: FetchPartition,
    /// What the client was last told; -1 (never told, or an error since)
    /// makes the next answer carry the partition.
    high_watermark: i64,
    log_start_offset: i64,
}

impl Cached {
    /// A partition the client has not been told about yet.
    fn new(wanted: FetchPartition) -> Cached {
        Cached {
            wanted,
            high_watermark: -1,
            log_start_offset: -1,
        }
    }

    /// Whether `data` tells the client something new, as Kafka decides
    /// it; remembers what it tells.
    fn must_answer(&mut self, data: &PartitionData) -> bool {
        let mut news = served_bytes(data) > 0
            || data.error_code != error_codes::NONE
            || data.diverging_epoch.epoch >= 0
            || data.preferred_read_replica >= 0;
        if self.high_watermark != data.high_watermark {
            self.high_watermark = data.high_watermark;
            news = true;
        }
        if self.log_start_offset != data.log_start_offset {
            self.log_start_offset = data.log_start_offset;
            news = true;
        }
        if data.error_code != error_codes::NONE {
            // Answered again once the error is gone.
            self.high_watermark = -1;
        }
        news
    }
}

/// What [`FetchSessions::begin`] makes of a fetch.
pub enum Begun {
    /// Serve this full fetch, then hand its answer and the ticket to
    /// [`FetchSessions::finish`].
    Serve(FetchRequest, Ticket),
    /// Answer at once: an unknown session, a wrong epoch.
    Answer(FetchResponse),
}

/// What [`FetchSessions::finish`] does with the answer to a fetch.
pub struct Ticket(Kind);

enum Kind {
    /// No session: the answer says session 0.
    Sessionless,
    /// A full fetch asking for a session: one is made from its answer
    /// when there is room.
    New {
        principal: String,
        by_id: bool,
        wanted: Vec<(Key, FetchPartition)>,
    },
    /// A fetch of session `id`: the answer keeps only what changed.
    /// `max_bytes`: what the fetch may carry (the request's limit under
    /// the broker's `fetch.max.bytes`).
    Incremental { id: i32, max_bytes: usize },
}

impl FetchSessions {
    pub fn new(slots: usize) -> FetchSessions {
        FetchSessions {
            slots,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Sessions held now, and the partitions in them.
    pub fn held(&self) -> (usize, usize) {
        let cache = self.lock();
        (cache.sessions.len(), cache.partitions)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the session fields of `request` (from `principal`);
    /// `fetch_max_bytes`: the broker's cap on an answer's record bytes.
    pub fn begin(
        &self,
        request: FetchRequest,
        version: i16,
        principal: &str,
        fetch_max_bytes: usize,
    ) -> Begun {
        if version < SESSIONS_FROM {
            return Begun::Serve(request, Ticket(Kind::Sessionless));
        }
        let (id, epoch) = (request.session_id, request.session_epoch);
        if epoch == INITIAL_EPOCH || epoch == FINAL_EPOCH {
            if id != 0 {
                self.close(id, principal);
            }
            if epoch == FINAL_EPOCH || self.slots == 0 || fetching_replica(&request) >= 0 {
                return Begun::Serve(request, Ticket(Kind::Sessionless));
            }
            let by_id = version >= TOPIC_IDS_FROM;
            let wanted = request
                .topics
                .iter()
                .flat_map(|topic| {
                    topic.partitions.iter().map(move |p| {
                        let key = KeyRef::of(by_id, &topic.topic, topic.topic_id, p.partition);
                        (key.to_owned(), p.clone())
                    })
                })
                .collect();
            let ticket = Ticket(Kind::New {
                principal: principal.to_owned(),
                by_id,
                wanted,
            });
            return Begun::Serve(request, ticket);
        }
        self.continue_session(request, version, principal, fetch_max_bytes)
    }

    /// An incremental fetch of session `request.session_id`.
    fn continue_session(
        &self,
        mut request: FetchRequest,
        version: i16,
        principal: &str,
        fetch_max_bytes: usize,
    ) -> Begun {
        let id = request.session_id;
        let mut cache = self.lock();
        let Cache {
            sessions,
            partitions: held,
        } = &mut *cache;
        let Some(session) = sessions.get_mut(&id).filter(|s| s.principal == principal) else {
            return refusal(error_codes::FETCH_SESSION_ID_NOT_FOUND);
        };
        if session.by_id != (version >= TOPIC_IDS_FROM) {
            return refusal(error_codes::FETCH_SESSION_TOPIC_ID_ERROR);
        }
        if session.epoch != request.session_epoch {
            return refusal(error_codes::INVALID_FETCH_SESSION_EPOCH);
        }
        let by_id = session.by_id;
        let before = session.partitions.len();
        for forgotten in &request.forgotten_topics_data {
            for &partition in &forgotten.partitions {
                let key = KeyRef::of(by_id, &forgotten.topic, forgotten.topic_id, partition);
                // O(1): the last partition takes its place in the order
                // (shifting would make a long forget list cost its
                // length times the session's size, under the lock).
                session.partitions.swap_remove(&key);
            }
        }
        let added = request
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter(|(t, p)| {
                !session.partitions.contains_key(&KeyRef::of(
                    by_id,
                    &t.topic,
                    t.topic_id,
                    p.partition,
                ))
            })
            .count();
        if *held - before + session.partitions.len() + added > MAX_CACHED_PARTITIONS {
            // No room to grow: the client starts over with a full fetch,
            // which gets a session only if one fits.
            *held -= before;
            sessions.remove(&id);
            tracing::debug!(
                session = id,
                "fetch session dropped: its partitions would pass the cache's bound"
            );
            return refusal(error_codes::FETCH_SESSION_ID_NOT_FOUND);
        }
        for topic in std::mem::take(&mut request.topics) {
            for wanted in topic.partitions {
                let key = KeyRef::of(by_id, &topic.topic, topic.topic_id, wanted.partition);
                match session.partitions.get_mut(&key) {
                    Some(cached) => cached.wanted = wanted,
                    None => {
                        session
                            .partitions
                            .insert(key.to_owned(), Cached::new(wanted));
                    }
                }
            }
        }
        *held = *held - before + session.partitions.len();
        request.forgotten_topics_data.clear();
        if session.partitions.is_empty() {
            // Nothing left to fetch: the session ends (as in Kafka).
            sessions.remove(&id);
            return Begun::Serve(request, Ticket(Kind::Sessionless));
        }
        session.epoch = next_epoch(session.epoch);
        session.last_used = Instant::now();
        request.topics = full_topics(&session.partitions);
        let max_bytes = (request.max_bytes.max(0) as usize).min(fetch_max_bytes);
        Begun::Serve(request, Ticket(Kind::Incremental { id, max_bytes }))
    }

    /// Gives `response` its session id, making or trimming a session as
    /// `ticket` says.
    pub fn finish(&self, ticket: Ticket, response: &mut FetchResponse) {
        response.session_id = 0;
        match ticket.0 {
            Kind::Sessionless => {}
            Kind::New {
                principal,
                by_id,
                wanted,
            } => {
                if response.error_code == error_codes::NONE {
                    response.session_id = self.open(principal, by_id, wanted, response);
                }
            }
            Kind::Incremental { id, max_bytes } => {
                let mut cache = self.lock();
                // Gone since (closed by a full fetch, or made room for a
                // new one): the whole answer goes, with session 0, which
                // tells the client to start a new session.
                if let Some(session) = cache.sessions.get_mut(&id) {
                    trim(session, response, max_bytes);
                    response.session_id = id;
                }
            }
        }
    }

    /// A new session for the partitions of a full fetch and its answer;
    /// its id, or 0 when there is no room.
    fn open(
        &self,
        principal: String,
        by_id: bool,
        wanted: Vec<(Key, FetchPartition)>,
        response: &FetchResponse,
    ) -> i32 {
        let mut partitions: IndexMap<Key, Cached> = wanted
            .into_iter()
            .map(|(key, wanted)| (key, Cached::new(wanted)))
            .collect();
        if partitions.is_empty() {
            return 0;
        }
        for topic in &response.responses {
            for data in &topic.partitions {
                let key = KeyRef::of(by_id, &topic.topic, topic.topic_id, data.partition_index);
                if let Some(cached) = partitions.get_mut(&key) {
                    cached.must_answer(data);
                }
            }
        }
        let mut cache = self.lock();
        if !make_room(&mut cache, self.slots, partitions.len()) {
            return 0;
        }
        let id = loop {
            // Random, so that one client cannot guess another's.
            let id = rand::random::<i32>() & i32::MAX;
            if id != 0 && !cache.sessions.contains_key(&id) {
                break id;
            }
        };
        cache.partitions += partitions.len();
        cache.sessions.insert(
            id,
            Session {
                epoch: next_epoch(INITIAL_EPOCH),
                principal,
                by_id,
                last_used: Instant::now(),
                partitions,
            },
        );
        id
    }

    fn close(&self, id: i32, principal: &str) {
        let mut cache = self.lock();
        if cache
            .sessions
            .get(&id)
            .is_some_and(|s| s.principal == principal)
        {
            if let Some(session) = cache.sessions.remove(&id) {
                cache.partitions -= session.partitions.len();
            }
        }
    }
}

/// Whether a session of `size` partitions fits, evicting the least
/// recently used session when that makes it fit and that session is
/// idle or smaller (as Kafka's cache does); a busy client's session is
/// never pushed out by a smaller one.
fn make_room(cache: &mut Cache, slots: usize, size: usize) -> bool {
    loop {
        let fits = cache.sessions.len() < slots && cache.partitions + size <= MAX_CACHED_PARTITIONS;
        if fits {
            return true;
        }
        if size > MAX_CACHED_PARTITIONS {
            return false;
        }
        let now = Instant::now();
        let evictable = cache
            .sessions
            .iter()
            .min_by_key(|(_, s)| s.last_used)
            .filter(|(_, s)| {
                now.duration_since(s.last_used) >= IDLE_BEFORE_EVICTION || s.partitions.len() < size
            })
            .map(|(&id, _)| id);
        let Some(id) = evictable else {
            return false;
        };
        if let Some(session) = cache.sessions.remove(&id) {
            cache.partitions -= session.partitions.len();
        }
    }
}

/// Keeps in `response` the partitions with news for the client. When
/// the records filled the answer (`max_bytes`), those that returned some
/// move to the end of the session's order, so that the next fetch reads
/// the others first (as Kafka does; below the limit every partition with
/// records was served, and the order costs nothing).
fn trim(session: &mut Session, response: &mut FetchResponse, max_bytes: usize) {
    let by_id = session.by_id;
    let mut served = Vec::new();
    let mut served_bytes_total = 0;
    for topic in &mut response.responses {
        topic.partitions.retain(|data| {
            let key = KeyRef::of(by_id, &topic.topic, topic.topic_id, data.partition_index);
            let Some((index, _, cached)) = session.partitions.get_full_mut(&key) else {
                return true;
            };
            let bytes = served_bytes(data);
            if bytes > 0 {
                served.push(index);
                served_bytes_total += bytes;
            }
            cached.must_answer(data)
        });
    }
    response.responses.retain(|t| !t.partitions.is_empty());
    if served.is_empty() {
        return;
    }
    // "Filled": within one partition's limit of it, as the next partition
    // would have taken up to that much.
    let largest_share = session
        .partitions
        .values()
        .map(|c| c.wanted.partition_max_bytes.max(0) as usize)
        .max()
        .unwrap_or(0);
    if served_bytes_total + largest_share < max_bytes {
        return;
    }
    let mut is_served = vec![false; session.partitions.len()];
    for index in served {
        is_served[index] = true;
    }
    let all = std::mem::take(&mut session.partitions);
    let mut first = IndexMap::with_capacity(all.len());
    let mut last = Vec::new();
    for ((key, cached), served) in all.into_iter().zip(is_served) {
        if served {
            last.push((key, cached));
        } else {
            first.insert(key, cached);
        }
    }
    first.extend(last);
    session.partitions = first;
}

/// The topics of a full fetch of every partition of a session, in its
/// order (a topic repeats where its partitions are not adjacent).
fn full_topics(partitions: &IndexMap<Key, Cached>) -> Vec<FetchTopic> {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for (key, cached) in partitions {
        let (topic, topic_id) = match key {
            Key::Named(name, _) => (name.as_str(), Uuid::ZERO),
            Key::Id(id, _) => ("", *id),
        };
        // A session keys its partitions by name or by id, never both:
        // only that one is compared (a fetch of 1,000 partitions makes
        // 1,000 of these).
        let same = topics.last().is_some_and(|t| match key {
            Key::Named(name, _) => t.topic == *name,
            Key::Id(id, _) => t.topic_id == *id,
        });
        if !same {
            topics.push(FetchTopic {
                topic: topic.to_owned(),
                topic_id,
                ..Default::default()
            });
        }
        if let Some(last) = topics.last_mut() {
            last.partitions.push(cached.wanted.clone());
        }
    }
    topics
}

/// The epoch after `epoch`, skipping 0 on wrapping (as clients count).
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

fn refusal(error_code: i16) -> Begun {
    Begun::Answer(FetchResponse {
        error_code,
        session_id: 0,
        ..Default::default()
    })
}
