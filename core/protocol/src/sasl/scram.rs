//! SCRAM mechanisms and stored credentials (RFC 5802 section 3, RFC 7677),
//! with the key derivations both sides of an exchange share.

use std::fmt;
use std::num::NonZeroU32;

use ring::{digest, hmac, pbkdf2};

/// A SCRAM mechanism Kafka supports. SCRAM-SHA-1 is not one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    /// Kafka's bounds on the iteration count of a stored credential
    /// (`ScramMechanism.minIterations`/`maxIterations` in Java).
    pub const MIN_ITERATIONS: u32 = 4096;
    pub const MAX_ITERATIONS: u32 = 16384;

    /// The SASL mechanism name, as in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-256" => Some(Self::Sha256),
            "SCRAM-SHA-512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The `Mechanism` field of Alter/DescribeUserScramCredentials
    /// (0 is Kafka's UNKNOWN).
    pub fn kafka_type(self) -> i8 {
        match self {
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    pub fn from_kafka_type(value: i8) -> Option<Self> {
        match value {
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// `Hi(password, salt, iterations)` of RFC 5802, which is PBKDF2 with
    /// this mechanism's HMAC. The password is used as UTF-8 without SASLprep,
    /// as Kafka does. Zero iterations (meaningless) count as one.
    pub fn salted_password(self, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        let algorithm = match self {
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        };
        let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
        let mut out = vec![0; self.output_len()];
        pbkdf2::derive(algorithm, iterations, salt, password.as_bytes(), &mut out);
        out
    }

    /// Length of every hash, key, proof and signature of this mechanism.
    pub fn output_len(self) -> usize {
        self.digest_algorithm().output_len()
    }

    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// `H(data)`.
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_algorithm(), data)
            .as_ref()
            .to_vec()
    }

    /// `HMAC(key, data)`.
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        };
        hmac::sign(&hmac::Key::new(algorithm, key), data)
            .as_ref()
            .to_vec()
    }
}

impl fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `a == b`, in time that depends only on their lengths. ring's
/// public constant-time comparison is `hmac::verify`, so both sides are
/// compared as HMACs under one key: equal HMACs mean equal inputs, and the
/// key need not be secret because nothing leaks through the comparison.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"strom sasl constant-time compare");
    hmac::verify(&key, b, hmac::sign(&key, a).as_ref()).is_ok()
}

/// `a XOR b`, as long as the shorter one (callers check lengths).
pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// What a server stores for one user and mechanism: enough to verify a
/// client's proof and to prove itself, not enough to log in as the user.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub mechanism: ScramMechanism,
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl ScramCredential {
    /// Iteration count of a decoy, Kafka's default for new credentials.
    const DECOY_ITERATIONS: u32 = ScramMechanism::MIN_ITERATIONS;

    /// The credential for `SaltedPassword` (AlterUserScramCredentials sends
    /// the salted password, never the password).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: Vec<u8>,
        iterations: u32,
        salted_password: &[u8],
    ) -> Self {
        let (stored_key, server_key) = keys(mechanism, salted_password);
        Self {
            mechanism,
            salt,
            iterations,
            stored_key,
            server_key,
        }
    }

    pub fn from_password(
        mechanism: ScramMechanism,
        password: &str,
        salt: Vec<u8>,
        iterations: u32,
    ) -> Self {
        let salted = mechanism.salted_password(password, &salt, iterations);
        Self::from_salted_password(mechanism, salt, iterations, &salted)
    }

    /// Whether `password` is the one this credential was made from (how
    /// SASL/PLAIN logins are checked against SCRAM credentials). Runs the
    /// full derivation and compares in constant time.
    pub fn verify_password(&self, password: &str) -> bool {
        let salted = self
            .mechanism
            .salted_password(password, &self.salt, self.iterations);
        let (stored_key, server_key) = keys(self.mechanism, &salted);
        // `&`, not `&&`: both comparisons run whatever the first says.
        constant_time_eq(&stored_key, &self.stored_key)
            & constant_time_eq(&server_key, &self.server_key)
    }

    /// A credential for a user that does not exist, so that the server can
    /// run the whole exchange and fail at the proof exactly as for a wrong
    /// password: "no such user" and "wrong password" look the same.
    ///
    /// Everything derives from HMAC(`secret`, label, `username`), so the same
    /// name sees the same salt on every attempt (a fresh salt per attempt
    /// would give the game away); `secret` should be random and kept across
    /// restarts. The keys are pseudorandom, so matching them would take a
    /// hash preimage: no password does. The salt mimics the salts of Kafka's
    /// tools (`ScramFormatter.secureRandomBytes`: a 130-bit number written
    /// in base 36), so that it does not stand out from real ones.
    pub fn decoy(mechanism: ScramMechanism, username: &str, secret: &[u8]) -> Self {
        // A NUL between label and name keeps the derivations apart.
        let derive = |label: &str| {
            let input = [label.as_bytes(), b"\0", username.as_bytes()].concat();
            mechanism.hmac(secret, &input)
        };
        let salt = derive("decoy salt")
            .iter()
            .take(25)
            .filter_map(|b| char::from_digit(u32::from(b % 36), 36))
            .map(|c| c as u8)
            .collect();
        Self {
            mechanism,
            salt,
            iterations: Self::DECOY_ITERATIONS,
            stored_key: derive("decoy stored key"),
            server_key: derive("decoy server key"),
        }
    }
}

/// (StoredKey, ServerKey) of RFC 5802: `H(HMAC(SaltedPassword, "Client
/// Key"))` and `HMAC(SaltedPassword, "Server Key")`.
fn keys(mechanism: ScramMechanism, salted_password: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let client_key = mechanism.hmac(salted_password, b"Client Key");
    (
        mechanism.hash(&client_key),
        mechanism.hmac(salted_password, b"Server Key"),
    )
}

/// Keys stay out of logs: the stored key is password-equivalent for anyone
/// who can also see an exchange.
impl fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredential")
            .field("mechanism", &self.mechanism)
            .field("salt", &self.salt)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    #[test]
    fn names_and_kafka_types() {
        for m in BOTH {
            assert_eq!(ScramMechanism::from_name(m.name()), Some(m));
            assert_eq!(ScramMechanism::from_kafka_type(m.kafka_type()), Some(m));
        }
        assert_eq!(ScramMechanism::Sha256.name(), "SCRAM-SHA-256");
        assert_eq!(ScramMechanism::Sha512.kafka_type(), 2);
        assert_eq!(ScramMechanism::from_name("SCRAM-SHA-1"), None);
        assert_eq!(ScramMechanism::from_kafka_type(0), None);
        assert_eq!(ScramMechanism::Sha512.output_len(), 64);
    }

    /// RFC 7914 section 11, first PBKDF2-HMAC-SHA256 vector (c = 1).
    #[test]
    fn salted_password_is_pbkdf2() {
        let out = ScramMechanism::Sha256.salted_password("passwd", b"salt", 1);
        assert_eq!(out.len(), 32);
        assert_eq!(&out[..8], &[0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
        assert_eq!(
            ScramMechanism::Sha256.salted_password("passwd", b"salt", 0),
            out
        );
    }

    #[test]
    fn verify_password_both_mechanisms() {
        for m in BOTH {
            let cred = ScramCredential::from_password(m, "pencil", b"salty".to_vec(), 4096);
            assert_eq!(cred.stored_key.len(), m.output_len());
            assert!(cred.verify_password("pencil"));
            assert!(!cred.verify_password("pencil "));
            assert!(!cred.verify_password(""));
        }
    }

    #[test]
    fn decoys_are_stable_per_name_and_match_no_password() {
        let m = ScramMechanism::Sha512;
        let a = ScramCredential::decoy(m, "ghost", b"secret");
        assert_eq!(a, ScramCredential::decoy(m, "ghost", b"secret"));
        assert_ne!(a.salt, ScramCredential::decoy(m, "ghost2", b"secret").salt);
        assert_ne!(a.salt, ScramCredential::decoy(m, "ghost", b"other").salt);
        assert_eq!(a.salt.len(), 25);
        assert!(a
            .salt
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
        assert_eq!(a.iterations, 4096);
        assert_eq!(a.stored_key.len(), 64);
        assert_ne!(a.stored_key, a.server_key);
        assert!(!a.verify_password(""));
        assert!(!a.verify_password("ghost"));
    }

    #[test]
    fn debug_hides_keys() {
        let cred = ScramCredential::from_password(ScramMechanism::Sha256, "p", vec![1], 4096);
        let text = format!("{cred:?}");
        assert!(!text.contains("stored_key") && !text.contains("server_key"));
        assert!(text.contains("iterations: 4096"));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
