//! Random tokens, password hashing (argon2id), code hashing and TOTP (RFC 6238).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system's CSPRNG, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// A 6-digit code, uniform over 000000–999999.
pub fn six_digit_code() -> String {
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

/// SHA-256 of a session token, hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Keyed hash of an SMS code bound to its phone and purpose.
pub fn code_hash(key: &[u8], phone: &str, purpose: &str, code: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(phone.as_bytes());
    mac.update(b"\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail; keep a total function.
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// argon2id cost settings.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordCost {
    /// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordCost {
    /// Cheap settings for tests only.
    pub fn for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .unwrap_or_else(|_| Params::default());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hashes a password to a PHC string.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Checks a password against a PHC string (parameters are read from the string).
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => self
                .argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the time of one verification, so an unknown account answers as slowly as a known one.
    pub fn waste(&self, password: &str) {
        let _ = self.hash(password);
    }
}

/// TOTP time step (RFC 6238 default).
pub const TOTP_STEP_SECONDS: i64 = 30;

/// HOTP (RFC 4226) with HMAC-SHA1 and 6 digits.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// Checks a TOTP code at `now_ms`, allowing one step of clock drift either way; returns the
/// matching step so the caller can refuse its reuse.
pub fn totp_match(secret: &[u8], code: &str, now_ms: i64) -> Option<i64> {
    let step = now_ms.div_euclid(1000) / TOTP_STEP_SECONDS;
    (step - 1..=step + 1)
        .find(|s| *s >= 0 && constant_time_eq(&hotp(secret, *s as u64), code.trim()))
}

/// The code an authenticator shows at `now_ms` (for tests and the first-run printout).
pub fn totp_now(secret: &[u8], now_ms: i64) -> String {
    hotp(secret, (now_ms.div_euclid(1000) / TOTP_STEP_SECONDS) as u64)
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI to put in an authenticator app.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotp_matches_rfc4226_vectors() {
        let secret = b"12345678901234567890";
        let expected = ["755224", "287082", "359152", "969429", "338314"];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, i as u64), *e);
        }
    }

    #[test]
    fn totp_matches_rfc6238_vector_and_allows_one_step() {
        // RFC 6238 Appendix B: T = 59 s, SHA-1 → 94287082 (8 digits); 6 digits → 287082.
        let secret = b"12345678901234567890";
        assert_eq!(totp_now(secret, 59_000), "287082");
        assert_eq!(totp_match(secret, "287082", 59_000), Some(1));
        assert_eq!(totp_match(secret, "287082", 89_000), Some(1));
        assert_eq!(totp_match(secret, "287082", 150_000), None);
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }

    #[test]
    fn passwords_round_trip() {
        let cost = PasswordCost::for_tests();
        let phc = cost.hash("s3cret-密码").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(cost.verify("s3cret-密码", &phc));
        assert!(!cost.verify("s3cret-密", &phc));
        assert!(!cost.verify("x", "not a phc string"));
    }

    #[test]
    fn codes_are_six_digits_and_bound() {
        let c = six_digit_code();
        assert_eq!(c.len(), 6);
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
        let k = [7u8; 32];
        assert_ne!(
            code_hash(&k, "13800138000", "login", "123456"),
            code_hash(&k, "13800138000", "reset_password", "123456")
        );
        assert_ne!(
            code_hash(&k, "13800138000", "login", "123456"),
            code_hash(&k, "13800138001", "login", "123456")
        );
    }
}
