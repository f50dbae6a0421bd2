//! A software token: what a USB key (GM/T 0016 SKF device) holds for one holder, in a file —
//! named containers, each with a signing key pair and its certificate, an encryption key and
//! its certificate, and a *pending* signing key made for a request not yet answered. The
//! private keys are sealed under the PIN (PBES2: scrypt, AES-256-CBC, RFC 8018 §6.2) with a
//! check value inside, so a wrong PIN is told apart from a damaged file; certificates stay
//! readable without the PIN, as on a real key.
//!
//! Tests use it to play the applicant's USB key; `certhall token` wraps it for a tester by
//! hand. Signatures are SM3withSM2 with the GM/T 0009 default signer ID, the encryption key
//! arrives as a GM/T 0009 `SM2EnvelopedKey` to the container's signing key (as the CA's key
//! manager sends it), and is opened here.

use crate::csr::{make_csr, sm2_public_key};
use crate::envelope::{open, sm2_decrypt, Sm2Cipher};
use crate::error::{PkiError, Result};
use crate::signer::{KeySigner, Signer};
use base64::Engine;
use der::{DecodePem, Encode};
use pkcs8::pkcs5::{pbes2, scrypt};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use x509_cert::Certificate;

/// The file format's name and version.
pub const FORMAT: &str = "certhall-soft-token/1";
/// The shortest PIN accepted (USB keys ask for 6 or more).
pub const MIN_PIN: usize = 6;
/// The longest PIN accepted.
pub const MAX_PIN: usize = 32;
const CHECK: &str = "certhall-soft-token-secrets";
/// scrypt cost (2^14 × 8 × 128 B = 16 MiB): a PIN is short, so the file must be slow to guess.
const LOG_N: u8 = 14;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What anyone can read of a container without the PIN.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The container's name.
    pub name: String,
    /// The signing certificate (PEM), once imported.
    pub sign_cert: Option<String>,
    /// The encryption certificate (PEM), once imported.
    pub enc_cert: Option<String>,
    /// Whether a new signing key waits for its certificate.
    pub pending_request: bool,
}

#[derive(Serialize, Deserialize)]
struct TokenFile {
    format: String,
    label: String,
    log_n: u8,
    salt: String,
    iv: String,
    sealed: String,
    containers: Vec<ContainerInfo>,
}

#[derive(Serialize, Deserialize, Default)]
struct Secrets {
    check: String,
    keys: Vec<SecretKeys>,
}

#[derive(Serialize, Deserialize, Default)]
struct SecretKeys {
    name: String,
    sign: Option<String>,
    pending: Option<String>,
    enc: Option<String>,
}

struct Container {
    info: ContainerInfo,
    sign: Option<sm2::SecretKey>,
    pending: Option<sm2::SecretKey>,
    enc: Option<sm2::SecretKey>,
}

/// An opened software token (its keys in memory until dropped).
pub struct SoftToken {
    label: String,
    pin: String,
    containers: Vec<Container>,
}

impl std::fmt::Debug for SoftToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftToken")
            .field("label", &self.label)
            .field(
                "containers",
                &self
                    .containers
                    .iter()
                    .map(|c| &c.info.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn token_err(m: impl Into<String>) -> PkiError {
    PkiError::Key(m.into())
}

fn check_pin(pin: &str) -> Result<()> {
    let n = pin.chars().count();
    if !(MIN_PIN..=MAX_PIN).contains(&n) {
        return Err(token_err(format!(
            "the PIN must be {MIN_PIN} to {MAX_PIN} characters"
        )));
    }
    Ok(())
}

fn key_b64(k: &sm2::SecretKey) -> String {
    B64.encode(k.to_bytes())
}

fn key_from_b64(s: &str) -> Result<sm2::SecretKey> {
    let b = B64
        .decode(s)
        .map_err(|_| token_err("damaged token file: key encoding"))?;
    sm2::SecretKey::from_slice(&b).map_err(|_| token_err("damaged token file: key out of range"))
}

/// Parse a certificate (PEM) and take its SM2 public key.
pub fn cert_public_key(pem: &str) -> Result<(Certificate, sm2::PublicKey)> {
    let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|e| PkiError::Encoding {
        what: "certificate",
        detail: e.to_string(),
    })?;
    let pk = sm2_public_key(&cert.tbs_certificate.subject_public_key_info)?;
    Ok((cert, pk))
}

fn same_key(a: &sm2::PublicKey, b: &sm2::PublicKey) -> bool {
    a.to_encoded_point(false) == b.to_encoded_point(false)
}

impl SoftToken {
    /// A new empty token protected by `pin`.
    pub fn new(label: &str, pin: &str) -> Result<Self> {
        check_pin(pin)?;
        Ok(Self {
            label: label.to_owned(),
            pin: pin.to_owned(),
            containers: Vec::new(),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What a token file shows without the PIN: its label and containers.
    pub fn peek(json: &str) -> Result<(String, Vec<ContainerInfo>)> {
        let f = Self::file(json)?;
        Ok((f.label, f.containers))
    }

    fn file(json: &str) -> Result<TokenFile> {
        let f: TokenFile =
            serde_json::from_str(json).map_err(|e| token_err(format!("not a token file: {e}")))?;
        if f.format != FORMAT {
            return Err(token_err(format!(
                "token format {:?} is not {FORMAT}",
                f.format
            )));
        }
        Ok(f)
    }

    /// Opens a token file with its PIN; a wrong PIN is an error that says so.
    pub fn open(json: &str, pin: &str) -> Result<Self> {
        let f = Self::file(json)?;
        let salt = B64
            .decode(&f.salt)
            .map_err(|_| token_err("damaged token file: salt"))?;
        let iv: [u8; 16] = B64
            .decode(&f.iv)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| token_err("damaged token file: iv"))?;
        let sealed = B64
            .decode(&f.sealed)
            .map_err(|_| token_err("damaged token file: sealed part"))?;
        let params = scrypt::Params::new(f.log_n, 8, 1, 32)
            .map_err(|_| token_err("damaged token file: KDF parameters"))?;
        let scheme = pbes2::Parameters::scrypt_aes256cbc(params, &salt, &iv)
            .map_err(|_| token_err("damaged token file: KDF parameters"))?;
        let wrong = || token_err("wrong PIN");
        let plain = scheme.decrypt(pin, &sealed).map_err(|_| wrong())?;
        let secrets: Secrets = serde_json::from_slice(&plain).map_err(|_| wrong())?;
        if secrets.check != CHECK {
            return Err(wrong());
        }
        let mut containers = Vec::new();
        for info in f.containers {
            let s = secrets.keys.iter().find(|k| k.name == info.name);
            let load = |o: Option<&String>| o.map(|v| key_from_b64(v)).transpose();
            containers.push(Container {
                sign: load(s.and_then(|s| s.sign.as_ref()))?,
                pending: load(s.and_then(|s| s.pending.as_ref()))?,
                enc: load(s.and_then(|s| s.enc.as_ref()))?,
                info,
            });
        }
        Ok(Self {
            label: f.label,
            pin: pin.to_owned(),
            containers,
        })
    }

    /// The token as a file, keys sealed under the PIN (fresh salt and IV each time).
    pub fn to_json(&self) -> Result<String> {
        let secrets = Secrets {
            check: CHECK.into(),
            keys: self
                .containers
                .iter()
                .map(|c| SecretKeys {
                    name: c.info.name.clone(),
                    sign: c.sign.as_ref().map(key_b64),
                    pending: c.pending.as_ref().map(key_b64),
                    enc: c.enc.as_ref().map(key_b64),
                })
                .collect(),
        };
        let plain = serde_json::to_vec(&secrets).map_err(|e| token_err(e.to_string()))?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        rand::rngs::OsRng.fill_bytes(&mut iv);
        let params = scrypt::Params::new(LOG_N, 8, 1, 32).map_err(|e| token_err(e.to_string()))?;
        let scheme = pbes2::Parameters::scrypt_aes256cbc(params, &salt, &iv)
            .map_err(|e| token_err(e.to_string()))?;
        let sealed = scheme
            .encrypt(&self.pin, &plain)
            .map_err(|e| token_err(format!("seal: {e}")))?;
        let f = TokenFile {
            format: FORMAT.into(),
            label: self.label.clone(),
            log_n: LOG_N,
            salt: B64.encode(salt),
            iv: B64.encode(iv),
            sealed: B64.encode(sealed),
            containers: self.containers.iter().map(|c| c.info.clone()).collect(),
        };
        serde_json::to_string_pretty(&f).map_err(|e| token_err(e.to_string()))
    }

    /// Changes the PIN (the old one must be given again).
    pub fn change_pin(&mut self, old: &str, new: &str) -> Result<()> {
        if old != self.pin {
            return Err(token_err("wrong PIN"));
        }
        check_pin(new)?;
        self.pin = new.to_owned();
        Ok(())
    }

    /// The containers.
    pub fn containers(&self) -> Vec<ContainerInfo> {
        self.containers.iter().map(|c| c.info.clone()).collect()
    }

    fn get(&self, name: &str) -> Result<&Container> {
        self.containers
            .iter()
            .find(|c| c.info.name == name)
            .ok_or_else(|| token_err(format!("no container {name:?} on the token")))
    }

    fn get_or_add(&mut self, name: &str) -> Result<&mut Container> {
        if name.is_empty() || name.len() > 64 {
            return Err(token_err("a container name is 1 to 64 characters"));
        }
        let i = match self.containers.iter().position(|c| c.info.name == name) {
            Some(i) => i,
            None => {
                self.containers.push(Container {
                    info: ContainerInfo {
                        name: name.to_owned(),
                        sign_cert: None,
                        enc_cert: None,
                        pending_request: false,
                    },
                    sign: None,
                    pending: None,
                    enc: None,
                });
                self.containers.len() - 1
            }
        };
        Ok(&mut self.containers[i])
    }

    /// Makes a new signing key in `container` (kept pending, the current one stays) and
    /// returns a PKCS#10 request (DER) for it. The subject is `subject`, or else the current
    /// signing certificate's (a renewal asks for the same subject).
    pub fn new_request(
        &mut self,
        container: &str,
        subject: Option<x509_cert::name::Name>,
    ) -> Result<Vec<u8>> {
        let c = self.get_or_add(container)?;
        let subject = match subject {
            Some(s) => s,
            None => {
                let pem = c.info.sign_cert.as_deref().ok_or_else(|| {
                    token_err("the container has no certificate: give the request's subject")
                })?;
                cert_public_key(pem)?.0.tbs_certificate.subject
            }
        };
        let key = crate::keys::generate();
        let csr = make_csr(&key, subject)?;
        c.pending = Some(key);
        c.info.pending_request = true;
        Ok(csr)
    }

    /// Signs `msg` with the container's current signing key (SM3withSM2, GM/T 0009 default
    /// signer ID); DER `SM2Signature`.
    pub fn sign(&self, container: &str, msg: &[u8]) -> Result<Vec<u8>> {
        let key = self
            .get(container)?
            .sign
            .as_ref()
            .ok_or_else(|| token_err("the container has no signing key"))?;
        KeySigner::new(key)?.sign(msg)
    }

    /// The proof of possession for a renewal or a claim: the current signing key over
    /// SM3(challenge ‖ csr_der) (see [`crate::possession`]).
    pub fn prove_possession(
        &self,
        container: &str,
        challenge: &[u8],
        csr_der: &[u8],
    ) -> Result<Vec<u8>> {
        self.sign(container, &crate::possession::digest(challenge, csr_der))
    }

    /// Writes what the station answered into `container`: the signing certificate must carry
    /// the pending key (which becomes the current one) or the current key; the encryption
    /// key arrives enveloped to that signing key and must match the encryption certificate.
    pub fn import(
        &mut self,
        container: &str,
        sign_cert_pem: &str,
        enc: Option<(&str, &[u8])>,
    ) -> Result<()> {
        let (_, sign_pk) = cert_public_key(sign_cert_pem)?;
        let c = self.get_or_add(container)?;
        let key = match (&c.pending, &c.sign) {
            (Some(p), _) if same_key(&p.public_key(), &sign_pk) => p.clone(),
            (_, Some(s)) if same_key(&s.public_key(), &sign_pk) => s.clone(),
            _ => {
                return Err(token_err(
                    "the signing certificate is not for a key on this container",
                ))
            }
        };
        let enc_key = match enc {
            Some((enc_pem, envelope)) => {
                let (_, enc_pk) = cert_public_key(enc_pem)?;
                let k = open(envelope, &key)?;
                if !same_key(&k.public_key(), &enc_pk) {
                    return Err(token_err(
                        "the enveloped key does not match the encryption certificate",
                    ));
                }
                Some((enc_pem.trim().to_owned() + "\n", k))
            }
            None => None,
        };
        c.sign = Some(key);
        c.pending = None;
        c.info.pending_request = false;
        c.info.sign_cert = Some(sign_cert_pem.trim().to_owned() + "\n");
        if let Some((pem, k)) = enc_key {
            c.info.enc_cert = Some(pem);
            c.enc = Some(k);
        }
        Ok(())
    }

    /// Writes an encryption key delivered again (key recovery) into its own container
    /// `container`: the envelope is opened with the signing key of `via`, and the key must
    /// match `enc_cert_pem`.
    pub fn import_recovered(
        &mut self,
        container: &str,
        via: &str,
        enc_cert_pem: &str,
        envelope: &[u8],
    ) -> Result<()> {
        let (_, enc_pk) = cert_public_key(enc_cert_pem)?;
        let via_key = self
            .get(via)?
            .sign
            .clone()
            .ok_or_else(|| token_err("the container has no signing key"))?;
        let k = open(envelope, &via_key)?;
        if !same_key(&k.public_key(), &enc_pk) {
            return Err(token_err(
                "the enveloped key does not match the encryption certificate",
            ));
        }
        let c = self.get_or_add(container)?;
        c.enc = Some(k);
        c.info.enc_cert = Some(enc_cert_pem.trim().to_owned() + "\n");
        Ok(())
    }

    /// Decrypts an SM2 ciphertext (GM/T 0009 `SM2Cipher`, DER) made to the container's
    /// encryption certificate.
    pub fn decrypt(&self, container: &str, cipher_der: &[u8]) -> Result<Vec<u8>> {
        use der::Decode;
        let key = self
            .get(container)?
            .enc
            .as_ref()
            .ok_or_else(|| token_err("the container has no encryption key"))?;
        let c = Sm2Cipher::from_der(cipher_der)
            .map_err(|e| PkiError::Envelope(format!("SM2Cipher DER: {e}")))?;
        sm2_decrypt(key, &c)
    }

    /// Encrypts `msg` to a certificate's public key as DER `SM2Cipher` (what a bidder does
    /// with the encryption certificate; here for tests and the command line).
    pub fn encrypt_to(cert_pem: &str, msg: &[u8]) -> Result<Vec<u8>> {
        let (_, pk) = cert_public_key(cert_pem)?;
        Ok(crate::envelope::sm2_encrypt(&pk, msg, &mut rand::rngs::OsRng)?.to_der()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_under_the_pin_and_signs_with_the_current_key() {
        let mut t = SoftToken::new("t", "12345678").unwrap();
        assert!(SoftToken::new("t", "123").is_err());
        let subject: x509_cert::name::Name = "CN=Test,O=Unit".parse().unwrap();
        let csr = t.new_request("main", Some(subject)).unwrap();
        let checked = crate::csr::parse_csr(&csr).unwrap();
        // No certificate yet: the pending key cannot sign.
        assert!(t.sign("main", b"x").is_err());
        let json = t.to_json().unwrap();
        assert!(SoftToken::open(&json, "87654321")
            .unwrap_err()
            .to_string()
            .contains("wrong PIN"));
        let t2 = SoftToken::open(&json, "12345678").unwrap();
        let (label, info) = SoftToken::peek(&json).unwrap();
        assert_eq!(label, "t");
        assert!(info[0].pending_request);
        assert_eq!(
            t2.get("main")
                .unwrap()
                .pending
                .as_ref()
                .unwrap()
                .public_key()
                .to_encoded_point(false),
            checked.public_key.to_encoded_point(false)
        );
        // The file does not hold the key in clear.
        let d = B64.encode(t2.get("main").unwrap().pending.as_ref().unwrap().to_bytes());
        assert!(!json.contains(&d));
    }
}
