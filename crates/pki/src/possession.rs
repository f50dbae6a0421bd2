//! Proof of possession of a certificate's signing key for renewal and for claiming a
//! certificate: the hall hands out a single-use challenge, the holder's token signs
//! `SM3(challenge ‖ DER(CSR))` with the *current* (old) signing key, SM3withSM2 with the
//! GM/T 0009 default signer ID (the signature's own hash takes Z_A ‖ that digest). Binding the
//! CSR into the signed digest means a proof made for one new key cannot be replayed for another.

use crate::error::{PkiError, Result};
use crate::signer::{verify, Signer};
use sm3::{Digest, Sm3};

/// The digest the old key signs: SM3(challenge ‖ csr_der).
pub fn digest(challenge: &[u8], csr_der: &[u8]) -> [u8; 32] {
    let mut h = Sm3::new();
    h.update(challenge);
    h.update(csr_der);
    h.finalize().into()
}

/// Sign the proof with `old` (the certificate's current signing key); DER `SM2Signature`.
pub fn sign(old: &(impl Signer + ?Sized), challenge: &[u8], csr_der: &[u8]) -> Result<Vec<u8>> {
    old.sign(&digest(challenge, csr_der))
}

/// Check a proof against the old certificate's public key.
pub fn check(old: &sm2::PublicKey, challenge: &[u8], csr_der: &[u8], sig_der: &[u8]) -> Result<()> {
    verify(old, &digest(challenge, csr_der), sig_der).map_err(|_| {
        PkiError::BadSignature(
            "the proof of possession does not verify with the certificate's public key".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::KeySigner;

    #[test]
    fn proof_binds_key_challenge_and_csr() {
        let old = crate::keys::generate();
        let s = KeySigner::new(&old).unwrap();
        let sig = sign(&s, b"challenge-1", b"csr-a").unwrap();
        check(&old.public_key(), b"challenge-1", b"csr-a", &sig).unwrap();
        assert!(check(&old.public_key(), b"challenge-2", b"csr-a", &sig).is_err());
        assert!(check(&old.public_key(), b"challenge-1", b"csr-b", &sig).is_err());
        let other = crate::keys::generate();
        assert!(check(&other.public_key(), b"challenge-1", b"csr-a", &sig).is_err());
    }
}
