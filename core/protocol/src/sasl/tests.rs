//! Whole exchanges, ScramClient against ScramServer, and hostile input.

use super::*;
use crate::base64;

const M: ScramMechanism = ScramMechanism::Sha512;
const SECRET: &[u8] = b"cluster decoy secret";
const CLIENT_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
const SERVER_NONCE: &str = "3rfcNHYJY1ZVvWVs7j";

fn stored(password: &str) -> ScramCredential {
    ScramCredential::from_password(M, password, b"a salt".to_vec(), 4096)
}

/// Runs an exchange in which every step but the server's `client_final`
/// must succeed; `tamper` rewrites the client-final message in transit.
/// `None` for the credential means an unknown user, answered with a decoy.
fn exchange(
    username: &str,
    password: &str,
    credential: Option<&ScramCredential>,
    tamper: impl FnOnce(String) -> String,
) -> Result<(), SaslError> {
    let mut client = ScramClient::new(M, username, password, CLIENT_NONCE.into());
    let mut server = ScramServer::new(M, SERVER_NONCE.into());
    let first = server
        .client_first(&client.client_first().unwrap())
        .unwrap();
    assert_eq!(first.username, username);
    let decoy = ScramCredential::decoy(M, &first.username, SECRET);
    let server_first = server.server_first(credential.unwrap_or(&decoy)).unwrap();
    let client_final = client.server_first(&server_first).unwrap();
    let client_final = tamper(String::from_utf8(client_final).unwrap());
    let server_final = server.client_final(client_final.as_bytes())?;
    client.server_final(&server_final).unwrap();
    assert!(server.is_complete() && client.is_complete());
    Ok(())
}

/// Rewrites the client-final message in transit.
type Tamper = fn(String) -> String;

fn flip_proof_byte(message: String) -> String {
    let (head, proof) = message.split_once(",p=").unwrap();
    let mut proof = base64::decode(proof).unwrap();
    proof[7] ^= 0x01;
    format!("{head},p={}", base64::encode(&proof))
}

#[test]
fn sha512_exchange_succeeds() {
    assert_eq!(
        exchange("alice", "s3cret", Some(&stored("s3cret")), |m| m),
        Ok(())
    );
    // A name that needs escaping survives the trip.
    assert_eq!(
        exchange("a,b=c", "s3cret", Some(&stored("s3cret")), |m| m),
        Ok(())
    );
}

#[test]
fn sha512_failures_happen_at_client_final() {
    let good = stored("s3cret");
    let cases: Vec<(&str, Option<&ScramCredential>, Tamper, SaslError)> = vec![
        ("wrong", Some(&good), |m| m, SaslError::InvalidProof),
        (
            "s3cret",
            Some(&good),
            flip_proof_byte,
            SaslError::InvalidProof,
        ),
        (
            "s3cret",
            Some(&good),
            |m| m.replace("vWVs7j", "vWVs7k"),
            SaslError::NonceMismatch,
        ),
        (
            "s3cret",
            Some(&good),
            |m| m.replace("c=biws", "c=eSws"),
            SaslError::ChannelBindingMismatch,
        ),
        ("s3cret", None, |m| m, SaslError::InvalidProof),
        ("", None, |m| m, SaslError::InvalidProof),
    ];
    for (password, credential, tamper, error) in cases {
        assert_eq!(exchange("alice", password, credential, tamper), Err(error));
    }
}

/// librdkafka up to 2.x writes its own nonce again in front of the
/// combined one in client-final; Kafka accepts that (the proof covers the
/// message as sent), and so must Strom, or Debian's kcat cannot log in.
#[test]
fn a_final_nonce_with_the_client_nonce_repeated_in_front_is_accepted() {
    let credential = stored("s3cret");
    let mut server = ScramServer::new(M, SERVER_NONCE.into());
    let first_bare = format!("n=alice,r={CLIENT_NONCE}");
    server
        .client_first(format!("n,,{first_bare}").as_bytes())
        .unwrap();
    let server_first = String::from_utf8(server.server_first(&credential).unwrap()).unwrap();
    let without_proof = format!("c=biws,r={CLIENT_NONCE}{CLIENT_NONCE}{SERVER_NONCE}");
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let salted = M.salted_password("s3cret", &credential.salt, credential.iterations);
    let client_key = M.hmac(&salted, b"Client Key");
    let signature = M.hmac(&M.hash(&client_key), auth_message.as_bytes());
    let proof = scram::xor(&client_key, &signature);
    let client_final = format!("{without_proof},p={}", base64::encode(&proof));
    assert!(server.client_final(client_final.as_bytes()).is_ok());
}

#[test]
fn decoy_salt_is_stable_per_name() {
    let server_first = |name: &str| {
        let mut server = ScramServer::new(M, SERVER_NONCE.into());
        let first = format!("n,,n={name},r={CLIENT_NONCE}");
        server.client_first(first.as_bytes()).unwrap();
        let reply = server
            .server_first(&ScramCredential::decoy(M, name, SECRET))
            .unwrap();
        String::from_utf8(reply).unwrap()
    };
    let ghost = server_first("ghost");
    assert_eq!(ghost, server_first("ghost"));
    assert_ne!(ghost, server_first("ghost2"));
    assert!(ghost.ends_with(",i=4096"));
}

/// A tiny xorshift: the test needs variety, not quality.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Every prefix and many single-byte corruptions of valid messages, plus
/// random bytes, go through every step: errors are fine, panics are not.
#[test]
fn hostile_input_never_panics() {
    let credential = ScramCredential::from_password(
        ScramMechanism::Sha256,
        "pencil",
        base64::decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap(),
        4096,
    );
    let client_first = b"n,a=user,n=user,r=rOprNGfwEbeRWgbNEkqO,tokenauth=true".to_vec();
    let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
        s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        .to_vec();
    let client_final = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
        p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        .to_vec();
    let server_final = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec();

    let mut inputs: Vec<Vec<u8>> = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for valid in [&client_first, &server_first, &client_final, &server_final] {
        inputs.extend((0..valid.len()).map(|n| valid[..n].to_vec()));
        for i in 0..valid.len() {
            for byte in [0, b',', b'=', b'n', 0xff] {
                let mut bad = valid.clone();
                bad[i] = byte;
                inputs.push(bad);
            }
        }
    }
    for _ in 0..200 {
        let len = (next(&mut rng) % 64) as usize;
        inputs.push((0..len).map(|_| next(&mut rng) as u8).collect());
    }

    for input in &inputs {
        let _ = ScramServer::new(ScramMechanism::Sha256, "nonce".into()).client_first(input);
        let mut server = ScramServer::new(ScramMechanism::Sha256, "nonce".into());
        server.client_first(&client_first).unwrap();
        server.server_first(&credential).unwrap();
        let _ = server.client_final(input);

        let _ = parse_plain(input);
        let _ = base64::decode(&String::from_utf8_lossy(input));
    }
    let new_client = || {
        let mut client = ScramClient::new(
            ScramMechanism::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        client.client_first().unwrap();
        client
    };
    for input in &inputs {
        let _ = new_client().server_first(input);
    }
    // Reaching server_final costs a PBKDF2 run each time, so only the
    // corruptions of a server-final message go there.
    for input in inputs.iter().filter(|i| i.first() == Some(&b'v')) {
        let mut client = new_client();
        client.server_first(&server_first).unwrap();
        let _ = client.server_final(input);
    }
}
