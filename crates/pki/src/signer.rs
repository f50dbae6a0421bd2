//! SM2 signing with the GM/T 0009 signer ID, the `Signer` abstraction (key file now, HSM later),
//! and the DER form of an SM2 signature.
//!
//! ```asn1
//! SM2Signature ::= SEQUENCE {          -- GM/T 0009-2012 §7.3
//!     R INTEGER,
//!     S INTEGER }
//! ```

use crate::error::{PkiError, Result};
use crate::oid;
use der::asn1::{BitString, UintRef};
use der::{Decode, Encode, Sequence};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// The default user ID of GM/T 0009-2012 §10 ("1234567812345678"), hashed into Z_A
/// (GM/T 0003.2-2012 §5.5). Used for every signature this CA makes or checks.
pub const DEFAULT_SIGNER_ID: &str = "1234567812345678";

/// DER form of an SM2 signature, `SEQUENCE { r INTEGER, s INTEGER }` (GM/T 0009-2012 §7.3).
#[derive(Sequence)]
struct SigDer<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Encode a raw `r ‖ s` signature as DER `SM2Signature`.
pub fn signature_to_der(sig: &sm2::dsa::Signature) -> Result<Vec<u8>> {
    let r = sig.r_bytes();
    let s = sig.s_bytes();
    let v = SigDer {
        r: UintRef::new(&r)?,
        s: UintRef::new(&s)?,
    };
    Ok(v.to_der()?)
}

/// Decode a DER `SM2Signature` into the raw form.
pub fn signature_from_der(der: &[u8]) -> Result<sm2::dsa::Signature> {
    let v =
        SigDer::from_der(der).map_err(|e| PkiError::BadSignature(format!("signature DER: {e}")))?;
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    let (rb, sb) = (v.r.as_bytes(), v.s.as_bytes());
    if rb.len() > 32 || sb.len() > 32 {
        return Err(PkiError::BadSignature("r or s longer than 32 bytes".into()));
    }
    r[32 - rb.len()..].copy_from_slice(rb);
    s[32 - sb.len()..].copy_from_slice(sb);
    sm2::dsa::Signature::from_scalars(r, s)
        .map_err(|_| PkiError::BadSignature("r or s out of range".into()))
}

/// `AlgorithmIdentifier { algorithm sm2sign-with-sm3, parameters absent }` (GM/T 0015 §5.2.1.3;
/// like RFC 5758 §3.2 for ECDSA, the parameters field is omitted).
pub fn sm3_with_sm2() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SM3_WITH_SM2,
        parameters: None,
    }
}

/// SubjectPublicKeyInfo of an SM2 key: `id-ecPublicKey` with the named curve `sm2-1`
/// (GM/T 0015-2012 §5.2.2.7, RFC 5480 §2.1.1), uncompressed point.
pub fn spki_of(pk: &sm2::PublicKey) -> Result<SubjectPublicKeyInfoOwned> {
    let point = pk.to_encoded_point(false);
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::EC_PUBLIC_KEY,
            parameters: Some(der::Any::from(&oid::SM2_CURVE)),
        },
        subject_public_key: BitString::from_bytes(point.as_bytes())?,
    })
}

/// Verify a DER SM3withSM2 signature over `msg` with the default signer ID.
pub fn verify(pk: &sm2::PublicKey, msg: &[u8], sig_der: &[u8]) -> Result<()> {
    let sig = signature_from_der(sig_der)?;
    crate::fast::verify(pk, DEFAULT_SIGNER_ID.as_bytes(), msg, &sig)
}

/// What the CA needs from a private key: its public half and SM3withSM2 signatures with the
/// default signer ID, DER-encoded. A key file ([`KeySigner`]) and an HSM implement it alike.
pub trait Signer: Send + Sync {
    /// The public key matching the signatures.
    fn public_key(&self) -> &sm2::PublicKey;
    /// Sign `msg` (a DER to-be-signed structure) and return the DER `SM2Signature`.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>>;
}

/// A software signer over an SM2 private key held in memory (loaded from a key file).
pub struct KeySigner {
    key: crate::fast::FastKey,
}

impl KeySigner {
    /// Wrap a secret key, with Z_A computed once for the default signer ID.
    pub fn new(secret: &sm2::SecretKey) -> Result<Self> {
        Ok(Self {
            key: crate::fast::FastKey::new(secret, DEFAULT_SIGNER_ID.as_bytes())?,
        })
    }
}

impl std::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySigner").finish_non_exhaustive()
    }
}

impl Signer for KeySigner {
    fn public_key(&self) -> &sm2::PublicKey {
        self.key.public_key()
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        signature_to_der(&self.key.sign(msg)?)
    }
}

impl<S: Signer + ?Sized> Signer for std::sync::Arc<S> {
    fn public_key(&self) -> &sm2::PublicKey {
        (**self).public_key()
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        (**self).sign(msg)
    }
}

/// Sign `tbs` and return the signature as the BIT STRING of a certificate, CRL or OCSP response.
pub(crate) fn sign_bits(signer: &(impl Signer + ?Sized), tbs: &[u8]) -> Result<BitString> {
    Ok(BitString::from_bytes(&signer.sign(tbs)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_signature_round_trip_and_verify() {
        let sk = sm2::SecretKey::random(&mut rand::rngs::OsRng);
        let s = KeySigner::new(&sk).unwrap();
        let sig = s.sign(b"hello").unwrap();
        assert_eq!(sig[0], 0x30);
        verify(s.public_key(), b"hello", &sig).unwrap();
        assert!(verify(s.public_key(), b"hellO", &sig).is_err());
    }
}
