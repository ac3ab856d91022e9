//! OAUTHBEARER logins (KIP-255, KIP-768): the client sends a signed JWT
//! from its identity provider; the broker checks it against the provider's
//! public keys (a JWKS file: `sasl.oauthbearer.jwks.endpoint.url` as a
//! `file:` URL) and Kafka's claims:
//!
//! - the signature, RS256/384/512 or ES256/384, by the key its `kid`
//!   names (any key when it names none); unsigned (`alg: none`) tokens
//!   are refused;
//! - `exp` (required) and `nbf`, within `sasl.oauthbearer.clock.skew.seconds`;
//! - `iss` and `aud` when `sasl.oauthbearer.expected.issuer` and
//!   `.audience` are set;
//! - the principal from `sasl.oauthbearer.sub.claim.name` (`sub`).
//!
//! The login lasts until the token expires (or `connections.max.reauth.ms`
//! ends it sooner): clients log in again with a fresh token.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;
use strom_protocol::base64::decode_url;

/// The OAUTHBEARER settings, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuthSettings {
    /// `sasl.oauthbearer.jwks.endpoint.url`, a `file:` URL's path.
    pub jwks_file: Option<PathBuf>,
    pub expected_issuer: Option<String>,
    pub expected_audience: Vec<String>,
    pub sub_claim: String,
    pub clock_skew: Duration,
}

/// One public key of the JWKS.
enum PublicKey {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
}

#[derive(Clone, Copy, PartialEq)]
enum Curve {
    P256,
    P384,
}

struct Jwk {
    kid: Option<String>,
    key: PublicKey,
}

/// Validates tokens against the keys of the JWKS file.
pub struct TokenValidator {
    settings: OAuthSettings,
    keys: Vec<Jwk>,
}

/// A valid token: who it names and when it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidToken {
    pub principal: String,
    pub expires: SystemTime,
}

impl TokenValidator {
    /// Reads the JWKS file; an error says what is wrong with it.
    pub fn open(settings: OAuthSettings) -> Result<TokenValidator, String> {
        let path = settings.jwks_file.clone().ok_or(
            "OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url (a file: URL of the provider's JWKS)",
        )?;
        let text =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let keys = parse_jwks(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if keys.is_empty() {
            return Err(format!(
                "{}: no usable key (RSA or EC P-256/P-384)",
                path.display()
            ));
        }
        Ok(TokenValidator { settings, keys })
    }

    /// Checks `token` at `now`; the error says why it is refused (for the
    /// log: the client is told only that the login failed).
    pub fn validate(&self, token: &str, now: SystemTime) -> Result<ValidToken, String> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a signed JWT (three dot-separated parts)".into());
        };
        let json = |part: &str, what: &str| -> Result<Value, String> {
            let bytes = decode_url(part).ok_or_else(|| format!("{what} is not base64url"))?;
            serde_json::from_slice(&bytes).map_err(|e| format!("{what} is not JSON: {e}"))
        };
        let header = json(header_b64, "header")?;
        let claims = json(claims_b64, "claims")?;
        let signature = decode_url(signature_b64).ok_or("signature is not base64url")?;
        let alg = header["alg"].as_str().ok_or("header has no alg")?;
        let signed = &token.as_bytes()[..header_b64.len() + 1 + claims_b64.len()];
        let kid = header["kid"].as_str();
        let candidates = self
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid);
        let mut verified = false;
        for jwk in candidates {
            if verify(alg, &jwk.key, signed, &signature)? {
                verified = true;
                break;
            }
        }
        if !verified {
            return Err(format!(
                "signature does not verify with the JWKS keys (kid {kid:?})"
            ));
        }
        self.check_claims(&claims, now)
    }

    fn check_claims(&self, claims: &Value, now: SystemTime) -> Result<ValidToken, String> {
        let skew = self.settings.clock_skew;
        let time = |name: &str| {
            claims[name]
                .as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(|t| UNIX_EPOCH + Duration::from_secs_f64(t))
        };
        let expires = time("exp").ok_or("no exp claim")?;
        if now > expires + skew {
            return Err("expired".into());
        }
        if let Some(not_before) = time("nbf") {
            if now + skew < not_before {
                return Err("not valid yet (nbf)".into());
            }
        }
        if let Some(issuer) = &self.settings.expected_issuer {
            if claims["iss"].as_str() != Some(issuer.as_str()) {
                return Err(format!("issuer {} is not {issuer}", claims["iss"]));
            }
        }
        if !self.settings.expected_audience.is_empty() {
            let audiences: Vec<&str> = match &claims["aud"] {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !audiences
                .iter()
                .any(|a| self.settings.expected_audience.iter().any(|e| e == a))
            {
                return Err(format!("audience {} is not expected", claims["aud"]));
            }
        }
        let principal = claims[self.settings.sub_claim.as_str()]
            .as_str()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("no {} claim", self.settings.sub_claim))?;
        Ok(ValidToken {
            principal: principal.to_string(),
            expires,
        })
    }
}

/// Whether `signature` over `signed` verifies with `key` under `alg`; an
/// error for an algorithm Strom does not accept.
fn verify(alg: &str, key: &PublicKey, signed: &[u8], signature: &[u8]) -> Result<bool, String> {
    let ok = match (alg, key) {
        ("RS256" | "RS384" | "RS512", PublicKey::Rsa { n, e }) => {
            let params = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                _ => &signature::RSA_PKCS1_2048_8192_SHA512,
            };
            RsaPublicKeyComponents { n, e }
                .verify(params, signed, signature)
                .is_ok()
        }
        (
            "ES256",
            PublicKey::Ec {
                curve: Curve::P256,
                point,
            },
        ) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(signed, signature)
            .is_ok(),
        (
            "ES384",
            PublicKey::Ec {
                curve: Curve::P384,
                point,
            },
        ) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
            .verify(signed, signature)
            .is_ok(),
        ("RS256" | "RS384" | "RS512" | "ES256" | "ES384", _) => false,
        (other, _) => return Err(format!("algorithm {other} is not accepted")),
    };
    Ok(ok)
}

/// The usable keys of a JWKS document (others are skipped).
fn parse_jwks(text: &[u8]) -> Result<Vec<Jwk>, String> {
    let document: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let keys = document["keys"].as_array().ok_or("no keys array")?;
    let field = |key: &Value, name: &str| key[name].as_str().and_then(decode_url);
    Ok(keys
        .iter()
        .filter(|k| k["use"].as_str().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let key = match (k["kty"].as_str()?, k["crv"].as_str()) {
                ("RSA", _) => PublicKey::Rsa {
                    n: field(k, "n")?,
                    e: field(k, "e")?,
                },
                ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                    let mut point = vec![0x04];
                    point.extend(field(k, "x")?);
                    point.extend(field(k, "y")?);
                    let curve = if crv == "P-256" {
                        Curve::P256
                    } else {
                        Curve::P384
                    };
                    PublicKey::Ec { curve, point }
                }
                _ => return None,
            };
            Some(Jwk {
                kid: k["kid"].as_str().map(str::to_string),
                key,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use strom_protocol::base64::encode;

    fn url(bytes: &[u8]) -> String {
        encode(bytes)
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    }

    struct Provider {
        key: EcdsaKeyPair,
        jwks: tempfile::NamedTempFile,
    }

    fn provider() -> Provider {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key");
        let point = key.public_key().as_ref();
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
            "x": url(&point[1..33]), "y": url(&point[33..65]),
        }]});
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), jwks.to_string()).expect("written");
        Provider { key, jwks: file }
    }

    fn token(provider: &Provider, header: Value, claims: Value) -> String {
        let signed = format!(
            "{}.{}",
            url(header.to_string().as_bytes()),
            url(claims.to_string().as_bytes())
        );
        let signature = provider
            .key
            .sign(&SystemRandom::new(), signed.as_bytes())
            .expect("signs");
        format!("{signed}.{}", url(signature.as_ref()))
    }

    fn validator(provider: &Provider) -> TokenValidator {
        TokenValidator::open(OAuthSettings {
            jwks_file: Some(provider.jwks.path().to_path_buf()),
            expected_issuer: Some("https://idp.example".into()),
            expected_audience: vec!["kafka".into()],
            sub_claim: "sub".into(),
            clock_skew: Duration::from_secs(30),
        })
        .expect("opens")
    }

    #[test]
    fn a_signed_token_names_its_subject_and_bad_ones_are_refused() {
        let idp = provider();
        let check = validator(&idp);
        let now = SystemTime::now();
        let in_an_hour = now
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            + 3600;
        let header = serde_json::json!({"alg": "ES256", "kid": "k1"});
        let claims = serde_json::json!({"sub": "alice", "exp": in_an_hour, "iss": "https://idp.example", "aud": ["kafka"]});
        let good = token(&idp, header.clone(), claims.clone());
        let valid = check.validate(&good, now).expect("valid");
        assert_eq!(valid.principal, "alice");

        let expired = token(
            &idp,
            header.clone(),
            serde_json::json!({"sub": "alice", "exp": 1, "iss": "https://idp.example", "aud": "kafka"}),
        );
        assert!(check
            .validate(&expired, now)
            .unwrap_err()
            .contains("expired"));
        let other_aud = token(
            &idp,
            header.clone(),
            serde_json::json!({"sub": "alice", "exp": in_an_hour, "iss": "https://idp.example", "aud": "other"}),
        );
        assert!(check
            .validate(&other_aud, now)
            .unwrap_err()
            .contains("audience"));
        let mut tampered = good.clone();
        tampered.insert(good.find('.').expect("dot") + 2, 'x');
        assert!(check.validate(&tampered, now).is_err());
        let stranger = token(&provider(), header, claims.clone());
        assert!(check
            .validate(&stranger, now)
            .unwrap_err()
            .contains("signature"));
        let unsigned = format!(
            "{}.{}.",
            url(br#"{"alg":"none"}"#),
            url(claims.to_string().as_bytes())
        );
        assert!(check.validate(&unsigned, now).is_err());
        for junk in ["", "a.b", "a.b.c.d", "!!.??.##"] {
            assert!(check.validate(junk, now).is_err(), "{junk}");
        }
    }
}
