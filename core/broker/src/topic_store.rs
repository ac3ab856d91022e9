//! Broker metadata kept in the data directory, each file replaced
//! atomically (write temp, fsync, rename, fsync directory) so a crash
//! leaves either the old or the new version, never a torn one:
//!
//! - `topics/<name>.topic`: one topic's id, partition count, replication
//!   factor and config overrides, as `key=value` lines;
//! - `meta.properties`: cluster id and node id, created on first start;
//! - `producer-ids`: the bound below which producer ids may have been
//!   handed out, so ids are never reused across restarts.
//!
//! All functions do blocking file I/O: call them at startup or from
//! `tokio::task::spawn_blocking`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use strom_protocol::error_codes;
use uuid::Uuid;

use crate::config::{escape_value, parse_properties};

const TOPICS_DIR: &str = "topics";
const TOPIC_SUFFIX: &str = ".topic";
const TEMP_SUFFIX: &str = ".tmp";
const META_FILE: &str = "meta.properties";
const PRODUCER_IDS_FILE: &str = "producer-ids";
const FORMAT_VERSION: &str = "1";
const CONFIG_PREFIX: &str = "config.";
/// Producer ids reserved per fsync of `producer-ids`.
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;
/// Kafka's limit on topic name length.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// A metadata file could not be read or written, or holds nonsense.
#[derive(Debug, thiserror::Error)]
pub enum MetadataStoreError {
    #[error("metadata I/O on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("metadata file {path} is damaged: {reason}; restore it from a backup or remove it")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid topic name '{name}': {reason}")]
    InvalidTopicName { name: String, reason: String },
    #[error(
        "the data directory belongs to node.id {stored} but this broker is configured as node.id {configured}; \
         fix node.id or use another data directory"
    )]
    NodeIdMismatch { stored: i32, configured: i32 },
    #[error("no producer ids are left to hand out")]
    ProducerIdsExhausted,
}

impl MetadataStoreError {
    /// The Kafka error code to answer a client with.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            MetadataStoreError::InvalidTopicName { .. } => error_codes::INVALID_TOPIC_EXCEPTION,
            _ => error_codes::UNKNOWN_SERVER_ERROR,
        }
    }
}

type Result<T> = std::result::Result<T, MetadataStoreError>;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> MetadataStoreError + '_ {
    move |source| MetadataStoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> MetadataStoreError {
    MetadataStoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// What the broker remembers about one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    pub name: String,
    pub id: Uuid,
    pub partitions: i32,
    /// 1 until replication lands.
    pub replication_factor: i16,
    /// Config overrides (already validated by the config module).
    pub configs: BTreeMap<String, String>,
}

impl TopicMeta {
    /// A new topic with a fresh random id.
    pub fn new(
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<TopicMeta> {
        validate_topic_name(name)?;
        Ok(TopicMeta {
            name: name.to_string(),
            id: new_topic_id(),
            partitions,
            replication_factor,
            configs,
        })
    }

    fn to_file_text(&self) -> String {
        let mut text = String::from("# Strom topic metadata, replaced atomically by the broker.\n");
        text.push_str(&format!("format={FORMAT_VERSION}\n"));
        text.push_str(&format!("name={}\n", self.name));
        text.push_str(&format!("topic.id={}\n", self.id.hyphenated()));
        text.push_str(&format!("partitions={}\n", self.partitions));
        text.push_str(&format!("replication.factor={}\n", self.replication_factor));
        for (key, value) in &self.configs {
            text.push_str(&format!("{CONFIG_PREFIX}{key}={}\n", escape_value(value)));
        }
        text
    }

    fn from_file_text(path: &Path, text: &str) -> Result<TopicMeta> {
        let mut fields = BTreeMap::new();
        let mut configs = BTreeMap::new();
        for property in parse_properties(text) {
            match property.key.strip_prefix(CONFIG_PREFIX) {
                Some(config_key) => configs.insert(config_key.to_string(), property.value),
                None => fields.insert(property.key, property.value),
            };
        }
        let field = |key: &str| {
            fields
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| corrupt(path, format!("missing {key}")))
        };
        if field("format")? != FORMAT_VERSION {
            return Err(corrupt(path, "written by a newer Strom (unknown format)"));
        }
        let id = Uuid::parse_str(field("topic.id")?)
            .map_err(|e| corrupt(path, format!("topic.id: {e}")))?;
        let partitions: i32 = field("partitions")?
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| corrupt(path, "partitions is not a positive integer"))?;
        let replication_factor: i16 = field("replication.factor")?
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| corrupt(path, "replication.factor is not a positive integer"))?;
        Ok(TopicMeta {
            name: field("name")?.to_string(),
            id,
            partitions,
            replication_factor,
            configs,
        })
    }
}

/// A random topic id. Like Kafka, skips ids whose base64 form starts with
/// '-' (command-line tools would read them as flags); v4 ids are never the
/// reserved zero or metadata-topic ids.
pub fn new_topic_id() -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if !kafka_base64(&id).starts_with('-') {
            return id;
        }
    }
}

/// Kafka's text form of a UUID (cluster ids, topic ids in tools): URL-safe
/// base64 of the 16 bytes, without padding (22 characters).
pub fn kafka_base64(id: &Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Kafka's rule: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| {
        Err(MetadataStoreError::InvalidTopicName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return invalid("the name is empty");
    }
    if name == "." || name == ".." {
        return invalid("'.' and '..' are not allowed");
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return invalid("longer than 249 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return invalid("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

/// True when two different names would clash in metric names, where Kafka
/// treats '.' and '_' alike (Kafka refuses to create the second one).
pub fn topic_names_collide(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

fn topics_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(TOPICS_DIR)
}

fn topic_path(data_dir: &Path, name: &str) -> Result<PathBuf> {
    validate_topic_name(name)?;
    Ok(topics_dir(data_dir).join(format!("{name}{TOPIC_SUFFIX}")))
}

/// Reads every topic, sorted by name. Leftover temp files from a crash
/// mid-write are removed (the rename never happened, so the old file stands).
pub fn load_all(data_dir: &Path) -> Result<Vec<TopicMeta>> {
    let dir = topics_dir(data_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&dir)(e)),
    };
    let mut topics = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_error(&dir))?.path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if file_name.ends_with(TEMP_SUFFIX) {
            fs::remove_file(&path).map_err(io_error(&path))?;
            continue;
        }
        let Some(name) = file_name.strip_suffix(TOPIC_SUFFIX) else {
            continue;
        };
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        let meta = TopicMeta::from_file_text(&path, &text)?;
        if meta.name != name {
            return Err(corrupt(
                &path,
                format!("holds topic '{}', not '{name}'", meta.name),
            ));
        }
        topics.push(meta);
    }
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

/// Writes (or replaces) one topic's file atomically.
pub fn save(data_dir: &Path, meta: &TopicMeta) -> Result<()> {
    let path = topic_path(data_dir, &meta.name)?;
    ensure_dir(&topics_dir(data_dir))?;
    write_atomically(&path, meta.to_file_text().as_bytes())
}

/// Removes a topic's file; removing a topic that has none is not an error.
pub fn remove(data_dir: &Path, name: &str) -> Result<()> {
    let path = topic_path(data_dir, name)?;
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(&topics_dir(data_dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&path)(e)),
    }
}

/// Creates `dir` (and parents) if needed, making the new entry durable.
fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Temp file in the same directory, fsync, rename over `path`, fsync the
/// directory so the rename itself survives a crash.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomically_with_mode(path, contents, 0o644)
}

/// [`write_atomically`] for a file only the broker's user may read
/// (credentials).
/// Renames a one-node metadata file (users, ACLs) to `<name>.imported`
/// once a cluster's metadata holds what it held, so a later start does not
/// offer it again (and bring back what the cluster has since deleted).
pub(crate) fn retire_imported(path: &Path) -> std::io::Result<()> {
    let mut retired = path.as_os_str().to_owned();
    retired.push(".imported");
    match fs::rename(path, retired) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

pub(crate) fn write_private_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomically_with_mode(path, contents, 0o600)
}

fn write_atomically_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(TEMP_SUFFIX);
    let temp = PathBuf::from(temp_name);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temp)
        .map_err(io_error(&temp))?;
    file.write_all(contents).map_err(io_error(&temp))?;
    file.sync_all().map_err(io_error(&temp))?;
    drop(file);
    fs::rename(&temp, path).map_err(io_error(path))?;
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

fn read_properties(path: &Path) -> Result<Option<BTreeMap<String, String>>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(
            parse_properties(&text)
                .into_iter()
                .map(|p| (p.key, p.value))
                .collect(),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// The identity of this broker's data directory (`meta.properties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerIdentity {
    pub cluster_id: String,
    pub node_id: i32,
}

/// Reads `meta.properties`, or creates it with a new cluster id on first
/// start. A data directory written by another node id is refused.
pub fn load_or_create_identity(data_dir: &Path, node_id: i32) -> Result<BrokerIdentity> {
    ensure_dir(data_dir)?;
    let path = data_dir.join(META_FILE);
    if let Some(props) = read_properties(&path)? {
        let cluster_id = props
            .get("cluster.id")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| corrupt(&path, "missing cluster.id"))?;
        let stored: i32 = props
            .get("node.id")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| corrupt(&path, "missing or invalid node.id"))?;
        if stored != node_id {
            return Err(MetadataStoreError::NodeIdMismatch {
                stored,
                configured: node_id,
            });
        }
        return Ok(BrokerIdentity {
            cluster_id: cluster_id.clone(),
            node_id,
        });
    }
    let meta = BrokerIdentity {
        cluster_id: kafka_base64(&new_topic_id()),
        node_id,
    };
    let text = format!(
        "# Strom data directory identity; do not edit.\nversion=1\ncluster.id={}\nnode.id={}\n",
        meta.cluster_id, meta.node_id
    );
    write_atomically(&path, text.as_bytes())?;
    Ok(meta)
}

/// Hands out producer ids that are never reused, even across restarts:
/// before the first id of a block is handed out, the block's end is
/// persisted (fsync), and a restart continues from the persisted end.
/// A crash wastes at most the rest of one block.
#[derive(Debug)]
pub struct ProducerIdBlock {
    path: PathBuf,
    next: i64,
    reserved_end: i64,
    block_size: i64,
}

impl ProducerIdBlock {
    /// Opens (or starts) the allocator in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<ProducerIdBlock> {
        ProducerIdBlock::open_with_block_size(data_dir, PRODUCER_ID_BLOCK_SIZE)
    }

    /// As [`ProducerIdBlock::open`] with a chosen block size (at least 1).
    pub fn open_with_block_size(data_dir: &Path, block_size: i64) -> Result<ProducerIdBlock> {
        ensure_dir(data_dir)?;
        let path = data_dir.join(PRODUCER_IDS_FILE);
        let bound = match read_properties(&path)? {
            Some(props) => props
                .get("producer.id.bound")
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .ok_or_else(|| corrupt(&path, "missing or invalid producer.id.bound"))?,
            None => 0,
        };
        Ok(ProducerIdBlock {
            path,
            next: bound,
            reserved_end: bound,
            block_size: block_size.max(1),
        })
    }

    /// Every id below this may have been handed out.
    pub fn bound(&self) -> i64 {
        self.reserved_end
    }

    /// The next unused producer id.
    pub fn next_id(&mut self) -> Result<i64> {
        if self.next >= self.reserved_end {
            let end = self
                .reserved_end
                .checked_add(self.block_size)
                .ok_or(MetadataStoreError::ProducerIdsExhausted)?;
            let text = format!(
                "# Producer ids below this bound may have been used.\nproducer.id.bound={end}\n"
            );
            write_atomically(&self.path, text.as_bytes())?;
            self.reserved_end = end;
        }
        let id = self.next;
        self.next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> TopicMeta {
        let configs = BTreeMap::from([
            ("retention.ms".to_string(), "1000".to_string()),
            ("cleanup.policy".to_string(), "compact,delete".to_string()),
        ]);
        TopicMeta::new(name, 3, 1, configs).unwrap()
    }

    #[test]
    fn topics_round_trip_through_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            load_all(dir.path()).unwrap().is_empty(),
            "no topics dir yet"
        );
        let orders = sample("orders");
        let mut odd = sample("__consumer_offsets");
        odd.configs
            .insert("message.format.version".into(), " odd\nvalue ".into());
        save(dir.path(), &orders).unwrap();
        save(dir.path(), &odd).unwrap();
        assert_eq!(load_all(dir.path()).unwrap(), vec![odd, orders]);
    }

    #[test]
    fn save_replaces_and_remove_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut topic = sample("t");
        save(dir.path(), &topic).unwrap();
        topic.partitions = 8;
        topic.configs.clear();
        save(dir.path(), &topic).unwrap();
        assert_eq!(load_all(dir.path()).unwrap(), vec![topic.clone()]);
        let leftovers: Vec<_> = fs::read_dir(topics_dir(dir.path())).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");

        remove(dir.path(), "t").unwrap();
        assert!(load_all(dir.path()).unwrap().is_empty());
        remove(dir.path(), "t").unwrap();
    }

    #[test]
    fn a_crash_before_rename_keeps_the_old_version() {
        let dir = tempfile::tempdir().unwrap();
        let topic = sample("t");
        save(dir.path(), &topic).unwrap();
        let temp = topics_dir(dir.path()).join("t.topic.tmp");
        fs::write(&temp, "format=1\nname=t\npartit").unwrap();
        assert_eq!(load_all(dir.path()).unwrap(), vec![topic]);
        assert!(!temp.exists());
    }

    #[test]
    fn damaged_files_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &sample("t")).unwrap();
        let path = topics_dir(dir.path()).join("t.topic");
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("partitions=3", "partitions=x");
        fs::write(&path, text).unwrap();
        let err = load_all(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("t.topic") && err.to_string().contains("partitions"),
            "{err}"
        );

        fs::write(
            &path,
            fs::read_to_string(&path)
                .unwrap()
                .replace("name=t", "name=u"),
        )
        .unwrap();
        assert!(load_all(dir.path()).is_err());
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        for good in [
            "a",
            "orders.v1",
            "my_topic-2",
            "__consumer_offsets",
            &"x".repeat(249),
        ] {
            assert!(validate_topic_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/y",
            "ünï",
            &"x".repeat(250),
        ] {
            let err = validate_topic_name(bad).unwrap_err();
            assert_eq!(
                err.kafka_error_code(),
                error_codes::INVALID_TOPIC_EXCEPTION,
                "{bad}"
            );
        }
        assert!(save(
            Path::new("."),
            &TopicMeta {
                name: "../x".into(),
                ..sample("x")
            }
        )
        .is_err());
        assert!(topic_names_collide("a.b", "a_b"));
        assert!(!topic_names_collide("a.b", "a.b"));
        assert!(!topic_names_collide("a.b", "a-b"));
    }

    #[test]
    fn kafka_base64_matches_known_encodings() {
        assert_eq!(kafka_base64(&Uuid::nil()), "AAAAAAAAAAAAAAAAAAAAAA");
        let id = Uuid::from_bytes([0xfb; 16]);
        assert_eq!(kafka_base64(&id), "-_v7-_v7-_v7-_v7-_v7-w");
        for _ in 0..100 {
            assert!(!kafka_base64(&new_topic_id()).starts_with('-'));
        }
    }

    #[test]
    fn identity_is_created_once_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = load_or_create_identity(&data, 1).unwrap();
        assert_eq!(first.cluster_id.len(), 22);
        assert_eq!(load_or_create_identity(&data, 1).unwrap(), first);
        let err = load_or_create_identity(&data, 2).unwrap_err();
        assert!(matches!(
            err,
            MetadataStoreError::NodeIdMismatch {
                stored: 1,
                configured: 2
            }
        ));
    }

    #[test]
    fn producer_ids_are_never_reused_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let mut block = ProducerIdBlock::open_with_block_size(dir.path(), 3).unwrap();
        for _ in 0..4 {
            seen.push(block.next_id().unwrap());
        }
        drop(block);
        for _ in 0..2 {
            let mut block = ProducerIdBlock::open_with_block_size(dir.path(), 3).unwrap();
            seen.push(block.next_id().unwrap());
        }
        assert_eq!(
            seen,
            vec![0, 1, 2, 3, 6, 9],
            "a reopen skips the rest of the reserved block"
        );

        fs::write(dir.path().join(PRODUCER_IDS_FILE), "producer.id.bound=-4\n").unwrap();
        assert!(ProducerIdBlock::open(dir.path()).is_err());
    }

    #[test]
    fn producer_ids_run_out_instead_of_wrapping() {
        let dir = tempfile::tempdir().unwrap();
        let bound = format!("producer.id.bound={}\n", i64::MAX - 1);
        fs::write(dir.path().join(PRODUCER_IDS_FILE), bound).unwrap();
        let mut block = ProducerIdBlock::open_with_block_size(dir.path(), 10).unwrap();
        assert!(matches!(
            block.next_id(),
            Err(MetadataStoreError::ProducerIdsExhausted)
        ));
    }
}
