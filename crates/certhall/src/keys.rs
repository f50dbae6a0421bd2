//! The secret keys of one hall, kept in a TOML file readable only by its owner and created on
//! first start: field-encryption keys by id (rotate by adding a key and moving `current`), the
//! lookup-hash key, and the SMS-code key.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The keys file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    /// Id of the key new data is encrypted with.
    pub current: u8,
    /// Field-encryption keys (AES-256-GCM), hex, by id.
    pub field_keys: BTreeMap<String, String>,
    /// Key of the keyed lookup hash (HMAC-SHA256), hex. Never rotate: lookups depend on it.
    pub hash_key: String,
    /// Key of the SMS-code HMAC, hex.
    pub code_key: String,
}

fn key32(hex_str: &str, what: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(hex_str.trim()).with_context(|| format!("{what} is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{what} must be 32 bytes (64 hex digits)"))
}

/// Loaded keys.
pub struct Keys {
    /// The vault for the store.
    pub vault: store::Vault,
    /// The SMS-code key.
    pub code_key: Vec<u8>,
}

/// Reads the keys file, creating it with fresh random keys when it does not exist.
pub fn load_or_create(path: &Path) -> Result<Keys> {
    if !path.exists() {
        let fresh = KeysFile {
            current: 1,
            field_keys: BTreeMap::from([("1".to_owned(), hex::encode(rand::random::<[u8; 32]>()))]),
            hash_key: hex::encode(rand::random::<[u8; 32]>()),
            code_key: hex::encode(rand::random::<[u8; 32]>()),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_private(path, &toml::to_string(&fresh)?)?;
        eprintln!(
            "created keys file {} (back it up: encrypted data cannot be read without it)",
            path.display()
        );
    }
    load(path)
}

/// Reads an existing keys file (never creates one: `certhall doctor`).
pub fn load(path: &Path) -> Result<Keys> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read keys file {}", path.display()))?;
    let file: KeysFile = toml::from_str(&text)
        .with_context(|| format!("keys file {} is invalid", path.display()))?;
    let mut keys = BTreeMap::new();
    for (id, k) in &file.field_keys {
        let id: u8 = id
            .parse()
            .with_context(|| format!("key id {id} is not a number 0-255"))?;
        keys.insert(id, key32(k, "field key")?);
    }
    if keys.is_empty() {
        bail!("keys file has no field key");
    }
    let vault = store::Vault::new(keys, file.current, key32(&file.hash_key, "hash_key")?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Keys {
        vault,
        code_key: key32(&file.code_key, "code_key")?.to_vec(),
    })
}

pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}
