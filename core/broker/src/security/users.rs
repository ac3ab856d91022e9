//! SCRAM credentials: who may log in, stored salted and hashed (RFC 5802:
//! the salt, iteration count, StoredKey and ServerKey, never a password).
//!
//! On one node they live in `scram-credentials.json` in the data dir,
//! readable by the broker's user only, replaced atomically on every
//! change. SASL/PLAIN logins are checked against the same credentials, so
//! one user list serves every mechanism.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use strom_protocol::sasl::{ScramCredential, ScramMechanism};

use crate::topic_store::{retire_imported, write_private_atomically, MetadataStoreError};

const FILE_NAME: &str = "scram-credentials.json";
const DECOY_SECRET_FILE: &str = "scram-decoy.secret";

/// Every user's credentials, by user name, then mechanism.
pub type Credentials = BTreeMap<String, Vec<ScramCredential>>;

pub struct ScramUsers {
    path: PathBuf,
    users: RwLock<Credentials>,
    /// Derives the decoy credentials of unknown users (see
    /// [`ScramCredential::decoy`]).
    decoy_secret: [u8; 32],
}

/// One change AlterUserScramCredentials asks for.
pub enum CredentialChange {
    Upsert(String, ScramCredential),
    Delete(String, ScramMechanism),
}

impl ScramUsers {
    /// Loads the credentials of `data_dir` (none if it has no file yet).
    pub fn open(data_dir: &Path) -> Result<ScramUsers, MetadataStoreError> {
        let path = data_dir.join(FILE_NAME);
        let users = match std::fs::read(&path) {
            Ok(bytes) => decode(&bytes).map_err(|reason| MetadataStoreError::Corrupt {
                path: path.clone(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Credentials::new(),
            Err(source) => return Err(MetadataStoreError::Io { path, source }),
        };
        Ok(ScramUsers {
            path,
            users: RwLock::new(users),
            decoy_secret: decoy_secret(data_dir)?,
        })
    }

    /// `user`'s credential for `mechanism`; for an unknown user or
    /// mechanism a decoy no password matches, so a login fails the same
    /// way whether the user exists or not. The flag says which it was.
    pub fn for_login(&self, user: &str, mechanism: ScramMechanism) -> (ScramCredential, bool) {
        match self.credential(user, mechanism) {
            Some(credential) => (credential, true),
            None => (
                ScramCredential::decoy(mechanism, user, &self.decoy_secret),
                false,
            ),
        }
    }

    pub fn credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.read()
            .get(user)?
            .iter()
            .find(|c| c.mechanism == mechanism)
            .cloned()
    }

    /// Every credential of `user` (PLAIN checks a password against one).
    pub fn credentials_of(&self, user: &str) -> Vec<ScramCredential> {
        self.read().get(user).cloned().unwrap_or_default()
    }

    /// Users with their mechanisms and iterations, sorted by name.
    pub fn describe(&self) -> Vec<(String, Vec<(ScramMechanism, u32)>)> {
        self.read()
            .iter()
            .map(|(user, creds)| {
                let mechanisms = creds.iter().map(|c| (c.mechanism, c.iterations)).collect();
                (user.clone(), mechanisms)
            })
            .collect()
    }

    /// Applies `changes` and persists them before they take effect: if the
    /// file cannot be written, nothing changes.
    pub fn apply(&self, changes: Vec<CredentialChange>) -> Result<(), MetadataStoreError> {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let mut next = users.clone();
        for change in changes {
            apply_change(&mut next, change);
        }
        write_private_atomically(&self.path, &encode(&next))?;
        *users = next;
        Ok(())
    }

    /// Every user's credentials.
    pub fn snapshot(&self) -> Credentials {
        self.read().clone()
    }

    /// Renames the credentials file once its users are in a cluster's
    /// metadata, so a later start does not offer them again (and bring
    /// back a user the cluster has since deleted).
    pub fn retire_file(&self) -> std::io::Result<()> {
        retire_imported(&self.path)
    }

    /// In a cluster the metadata log holds the credentials: each node
    /// takes the whole set from its table after applying a change.
    pub fn replace_replicated(&self, users: Credentials) {
        *self.users.write().unwrap_or_else(|e| e.into_inner()) = users;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Credentials> {
        self.users.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Applies one change to `users` (also what a replicated record does).
pub fn apply_change(users: &mut Credentials, change: CredentialChange) {
    match change {
        CredentialChange::Upsert(user, credential) => {
            let creds = users.entry(user).or_default();
            creds.retain(|c| c.mechanism != credential.mechanism);
            creds.push(credential);
        }
        CredentialChange::Delete(user, mechanism) => {
            if let Some(creds) = users.get_mut(&user) {
                creds.retain(|c| c.mechanism != mechanism);
                if creds.is_empty() {
                    users.remove(&user);
                }
            }
        }
    }
}

/// A credential as stored in the file and in the metadata log: binary
/// fields in hex.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCredential {
    mechanism: String,
    iterations: u32,
    salt: String,
    stored_key: String,
    server_key: String,
}

impl From<&ScramCredential> for StoredCredential {
    fn from(c: &ScramCredential) -> StoredCredential {
        StoredCredential {
            mechanism: c.mechanism.name().to_string(),
            iterations: c.iterations,
            salt: hex(&c.salt),
            stored_key: hex(&c.stored_key),
            server_key: hex(&c.server_key),
        }
    }
}

impl TryFrom<StoredCredential> for ScramCredential {
    type Error = String;

    fn try_from(c: StoredCredential) -> Result<ScramCredential, String> {
        let mechanism = ScramMechanism::from_name(&c.mechanism)
            .ok_or_else(|| format!("unknown mechanism {}", c.mechanism))?;
        Ok(ScramCredential {
            mechanism,
            salt: unhex(&c.salt)?,
            iterations: c.iterations,
            stored_key: unhex(&c.stored_key)?,
            server_key: unhex(&c.server_key)?,
        })
    }
}

fn encode(users: &Credentials) -> Vec<u8> {
    let stored: BTreeMap<&String, Vec<StoredCredential>> = users
        .iter()
        .map(|(user, creds)| (user, creds.iter().map(StoredCredential::from).collect()))
        .collect();
    // Plain data always serialises.
    serde_json::to_vec_pretty(&stored).unwrap_or_default()
}

fn decode(bytes: &[u8]) -> Result<Credentials, String> {
    let stored: BTreeMap<String, Vec<StoredCredential>> =
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    stored
        .into_iter()
        .map(|(user, creds)| {
            let creds = creds
                .into_iter()
                .map(|c| ScramCredential::try_from(c).map_err(|e| format!("{user}: {e}")))
                .collect::<Result<Vec<_>, String>>()?;
            Ok((user, creds))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .filter(|pair| pair.len() == 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("'{text}' is not hex"))
        })
        .collect()
}

/// The decoy secret of this data dir, made on first use and kept: a new
/// one per start would show a watcher which users do not exist (their
/// salts would change across restarts, real users' would not).
fn decoy_secret(data_dir: &Path) -> Result<[u8; 32], MetadataStoreError> {
    let path = data_dir.join(DECOY_SECRET_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => bytes.try_into().map_err(|_| MetadataStoreError::Corrupt {
            path,
            reason: "expected 32 bytes".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; 32] = rand::random();
            write_private_atomically(&path, &secret)?;
            Ok(secret)
        }
        Err(source) => Err(MetadataStoreError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_survive_a_reopen_and_the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let users = ScramUsers::open(dir.path()).unwrap();
        let alice = ScramCredential::from_password(
            ScramMechanism::Sha512,
            "secret",
            b"salty".to_vec(),
            4096,
        );
        users
            .apply(vec![CredentialChange::Upsert(
                "alice".into(),
                alice.clone(),
            )])
            .unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the broker's user reads credentials");
        let reopened = ScramUsers::open(dir.path()).unwrap();
        assert_eq!(
            reopened.credential("alice", ScramMechanism::Sha512),
            Some(alice)
        );
        assert!(reopened
            .credential("alice", ScramMechanism::Sha256)
            .is_none());
        reopened
            .apply(vec![CredentialChange::Delete(
                "alice".into(),
                ScramMechanism::Sha512,
            )])
            .unwrap();
        assert!(ScramUsers::open(dir.path()).unwrap().describe().is_empty());
    }

    #[test]
    fn an_unknown_user_gets_a_decoy_that_no_password_opens() {
        let dir = tempfile::tempdir().unwrap();
        let users = ScramUsers::open(dir.path()).unwrap();
        let (decoy, known) = users.for_login("mallory", ScramMechanism::Sha256);
        assert!(!known);
        assert!(!decoy.verify_password(""));
        assert_eq!(
            users.for_login("mallory", ScramMechanism::Sha256).0.salt,
            decoy.salt
        );
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_user_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            b"{\"alice\": [{\"mechanism\": 1}]}",
        )
        .unwrap();
        assert!(ScramUsers::open(dir.path()).is_err());
    }
}
