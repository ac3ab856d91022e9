//! Encrypted private keys in PEM files, for the broker's keystore
//! (`ssl.keystore.location` with `ssl.key.password`) and the client's key
//! (`ssl.key.location` / `ssl.key.pem` with `ssl.key.password`): PKCS#8
//! `ENCRYPTED PRIVATE KEY` blocks (PBES2: PBKDF2 or scrypt with AES-CBC),
//! as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes them.

/// The first PEM block labelled `label` in `text`, armour included.
pub fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}

/// The encrypted key block of `text`, if it has one.
pub fn encrypted_key(text: &str) -> Option<&str> {
    pem_block(text, "ENCRYPTED PRIVATE KEY")
}

/// Whether `text` holds a key in OpenSSL's legacy encrypted format
/// (`Proc-Type: 4,ENCRYPTED`), which is not read: it says how to convert.
pub fn is_legacy_encrypted(text: &str) -> bool {
    text.contains("Proc-Type: 4,ENCRYPTED")
}

/// The PKCS#8 DER of an `ENCRYPTED PRIVATE KEY` PEM block.
pub fn decrypt_pkcs8(block: &str, password: &str) -> Result<Vec<u8>, String> {
    use pkcs8::der::Decode;
    let (_, der) = pkcs8::der::pem::decode_vec(block.as_bytes()).map_err(|e| e.to_string())?;
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::from_der(&der).map_err(|e| e.to_string())?;
    let decrypted = encrypted
        .decrypt(password)
        .map_err(|_| "wrong password or unsupported encryption".to_string())?;
    Ok(decrypted.as_bytes().to_vec())
}

/// What to tell a user whose legacy-format key cannot be read.
pub const CONVERT_LEGACY: &str = "the key is in OpenSSL's legacy encrypted format; convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out KEY.p8";
