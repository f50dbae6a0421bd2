//! SM2 private keys at rest: PKCS#8 (RFC 5958) encrypted with PBES2 (RFC 8018 §6.2;
//! scrypt key derivation, AES-256-CBC), PEM label `ENCRYPTED PRIVATE KEY`.
//!
//! ```asn1
//! EncryptedPrivateKeyInfo ::= SEQUENCE {                       -- RFC 5958 §3
//!     encryptionAlgorithm  EncryptionAlgorithmIdentifier,   -- id-PBES2
//!     encryptedData        EncryptedData }
//! ```

use crate::error::{PkiError, Result};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};

/// Make a new SM2 private key from the operating system's CSPRNG.
pub fn generate() -> sm2::SecretKey {
    sm2::SecretKey::random(&mut rand::rngs::OsRng)
}

/// Encrypt a private key under `passphrase` as PEM `ENCRYPTED PRIVATE KEY`.
pub fn encrypt_pem(secret: &sm2::SecretKey, passphrase: &str) -> Result<String> {
    if passphrase.len() < 8 {
        return Err(PkiError::Key(
            "the CA key passphrase must be at least 8 characters".into(),
        ));
    }
    let doc = secret
        .to_pkcs8_encrypted_der(&mut rand::rngs::OsRng, passphrase.as_bytes())
        .map_err(|e| PkiError::Key(format!("encrypt: {e}")))?;
    doc.to_pem("ENCRYPTED PRIVATE KEY", der::pem::LineEnding::LF)
        .map(|s| s.to_string())
        .map_err(|e| PkiError::Key(format!("PEM: {e}")))
}

/// Decrypt a PEM `ENCRYPTED PRIVATE KEY` (a wrong passphrase gives an error, never a key).
pub fn decrypt_pem(pem: &str, passphrase: &str) -> Result<sm2::SecretKey> {
    sm2::SecretKey::from_pkcs8_encrypted_pem(pem, passphrase.as_bytes()).map_err(|_| {
        PkiError::Key(
            "cannot decrypt the key: wrong passphrase or not an encrypted SM2 PKCS#8 key".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn encrypted_round_trip() {
        let k = generate();
        let pem = encrypt_pem(&k, "correct horse").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(
            decrypt_pem(&pem, "correct horse").unwrap().to_bytes(),
            k.to_bytes()
        );
        assert!(decrypt_pem(&pem, "wrong horse!").is_err());
    }
}
