//! Field encryption for personal data at rest (I2): AES-256-GCM with a key id in front of
//! every ciphertext, so keys can rotate (new writes use the current key; old rows still
//! open), and a keyed hash (HMAC-SHA256) for lookups that must not reveal the value.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use app::StoreError;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::BTreeMap;

/// Encryption keys by id, the id new writes use, and the lookup-hash key.
#[derive(Clone)]
pub struct Vault {
    keys: BTreeMap<u8, [u8; 32]>,
    current: u8,
    hash_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Vault(keys={:?}, current={})",
            self.keys.keys().collect::<Vec<_>>(),
            self.current
        )
    }
}

impl Vault {
    /// A vault from keys; `current` must be among them.
    pub fn new(
        keys: BTreeMap<u8, [u8; 32]>,
        current: u8,
        hash_key: [u8; 32],
    ) -> Result<Self, StoreError> {
        if !keys.contains_key(&current) {
            return Err(StoreError::Other(format!(
                "encryption key {current} is not configured"
            )));
        }
        Ok(Self {
            keys,
            current,
            hash_key,
        })
    }

    /// A vault with fresh random keys (tests).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        let mut h = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        rand::rngs::OsRng.fill_bytes(&mut h);
        Self {
            keys: BTreeMap::from([(1, k)]),
            current: 1,
            hash_key: h,
        }
    }

    /// Encrypts `plain`; `context` (e.g. the column name) is bound as associated data so a
    /// ciphertext cannot be moved to another column.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let key = self
            .keys
            .get(&self.current)
            .ok_or_else(|| StoreError::Other("no current key".into()))?;
        let cipher =
            Aes256Gcm::new_from_slice(key).map_err(|e| StoreError::Other(e.to_string()))?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Other("encryption failed".into()))?;
        let mut out = Vec::with_capacity(13 + ct.len());
        out.push(self.current);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`Vault::seal`] made with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < 13 + 16 {
            return Err(StoreError::Other("ciphertext too short".into()));
        }
        let key = self.keys.get(&sealed[0]).ok_or_else(|| {
            StoreError::Other(format!("encryption key {} is not configured", sealed[0]))
        })?;
        let cipher =
            Aes256Gcm::new_from_slice(key).map_err(|e| StoreError::Other(e.to_string()))?;
        cipher
            .decrypt(
                Nonce::from_slice(&sealed[1..13]),
                Payload {
                    msg: &sealed[13..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Other(format!("cannot decrypt {context}")))
    }

    /// Encrypts a string.
    pub fn seal_str(&self, context: &str, plain: &str) -> Result<Vec<u8>, StoreError> {
        self.seal(context, plain.as_bytes())
    }

    /// Decrypts a string.
    pub fn open_str(&self, context: &str, sealed: &[u8]) -> Result<String, StoreError> {
        String::from_utf8(self.open(context, sealed)?)
            .map_err(|_| StoreError::Other(format!("{context} is not UTF-8")))
    }

    /// Keyed hash for equality lookups (hex); `kind` separates the uses.
    pub fn lookup_hash(&self, kind: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_rotates() {
        let v1 = Vault::random();
        let sealed = v1.seal_str("users.phone", "13800138000").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"13800138000"));
        assert_eq!(v1.open_str("users.phone", &sealed).unwrap(), "13800138000");
        assert!(
            v1.open_str("staff.totp", &sealed).is_err(),
            "context is bound"
        );
        // Rotation: key 2 becomes current, key 1 still opens old rows.
        let mut keys = v1.keys.clone();
        keys.insert(2, [9u8; 32]);
        let v2 = Vault::new(keys, 2, v1.hash_key).unwrap();
        assert_eq!(v2.open_str("users.phone", &sealed).unwrap(), "13800138000");
        assert_eq!(v2.seal_str("x", "y").unwrap()[0], 2);
        assert_eq!(v1.lookup_hash("phone", "1"), v2.lookup_hash("phone", "1"));
        assert_ne!(v1.lookup_hash("phone", "1"), v1.lookup_hash("ip", "1"));
    }
}
