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

/// scrypt cost of new key files: N = 2^14, r = 8, p = 1 (16 MiB), the parameters of
/// `openssl pkcs8 -topk8 -scrypt` and within OpenSSL 3.0's default 32 MiB limit (the pkcs8
/// crate's default N = 2^17 needs 128 MiB: "illegal scrypt parameters"). Files written with
/// the old parameters still open here (the parameters travel in the file).
pub const SCRYPT_LOG_N: u8 = 14;
/// scrypt block size r.
pub const SCRYPT_R: u32 = 8;
/// scrypt parallelism p.
pub const SCRYPT_P: u32 = 1;

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
    use rand::RngCore;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let scrypt = pkcs8::pkcs5::scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, 32)
        .map_err(|e| PkiError::Key(format!("scrypt parameters: {e}")))?;
    let params = pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(scrypt, &salt, &iv)
        .map_err(|e| PkiError::Key(format!("PBES2 parameters: {e}")))?;
    let plain = secret
        .to_pkcs8_der()
        .map_err(|e| PkiError::Key(format!("PKCS#8: {e}")))?;
    let doc = pkcs8::PrivateKeyInfo::try_from(plain.as_bytes())
        .map_err(|e| PkiError::Key(format!("PKCS#8: {e}")))?
        .encrypt_with_params(params, passphrase.as_bytes())
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
