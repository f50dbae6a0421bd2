//! PKCS#10 certificate requests (RFC 2986): parse from PEM or DER, accept only SM2 keys on
//! the SM2 curve, check proof of possession (the request's own SM3withSM2 signature).
//!
//! ```asn1
//! CertificationRequest ::= SEQUENCE {                          -- RFC 2986 §4.2
//!     certificationRequestInfo CertificationRequestInfo,
//!     signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
//!     signature          BIT STRING }
//! ```

use crate::error::{PkiError, Result};
use crate::oid;
use crate::signer::verify;
use der::{Decode, Encode, Tag, Tagged};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

/// Largest CSR accepted, PEM or DER (a real SM2 CSR is well under 2 KB).
pub const MAX_CSR_LEN: usize = 16 * 1024;

/// A CSR that parsed, carries an SM2 key, and whose signature proves possession of it.
#[derive(Debug, Clone)]
pub struct CheckedCsr {
    /// The requester's SM2 public key.
    pub public_key: sm2::PublicKey,
    /// The subject the requester wrote (ignored for issuance: the order decides the subject).
    pub subject: String,
    /// The DER of the request.
    pub der: Vec<u8>,
}

/// If `input` looks like PEM, decode it with the expected labels; otherwise take it as DER.
pub fn pem_or_der(input: &[u8], labels: &[&str], what: &'static str) -> Result<Vec<u8>> {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    if input[start..].starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(&input[start..]).map_err(|_| PkiError::Encoding {
            what,
            detail: "PEM is not ASCII".into(),
        })?;
        let (label, der) =
            der::pem::decode_vec(text.trim_end().as_bytes()).map_err(|e| PkiError::Encoding {
                what,
                detail: format!("PEM: {e}"),
            })?;
        if !labels.contains(&label) {
            return Err(PkiError::Encoding {
                what,
                detail: format!("PEM label {label:?} is not {}", labels.join(" or ")),
            });
        }
        Ok(der)
    } else {
        Ok(input.to_vec())
    }
}

/// Take an SM2 public key from a SubjectPublicKeyInfo, refusing anything else with a message
/// that says what it was: `id-ecPublicKey` with the named curve `sm2-1` only (GM/T 0015-2012
/// §5.2.2.7); RSA, P-256 and explicit curve parameters (RFC 5480 §2.1.1 `specifiedCurve`) are refused.
pub fn sm2_public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<sm2::PublicKey> {
    let alg = &spki.algorithm;
    if alg.oid == oid::RSA_ENCRYPTION {
        return Err(PkiError::KeyAlgorithm(
            "RSA keys are refused; an SM2 key is required".into(),
        ));
    }
    if alg.oid != oid::EC_PUBLIC_KEY {
        return Err(PkiError::KeyAlgorithm(format!(
            "key algorithm {} is not id-ecPublicKey with SM2",
            alg.oid
        )));
    }
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| PkiError::KeyAlgorithm("EC key without curve parameters".into()))?;
    if params.tag() != Tag::ObjectIdentifier {
        return Err(PkiError::KeyAlgorithm(
            "explicit curve parameters are refused; use the named curve sm2-1".into(),
        ));
    }
    let curve: der::asn1::ObjectIdentifier = params
        .decode_as()
        .map_err(|e| PkiError::KeyAlgorithm(format!("curve OID: {e}")))?;
    if curve == oid::P256 {
        return Err(PkiError::KeyAlgorithm(
            "P-256 (secp256r1) keys are refused; an SM2 key is required".into(),
        ));
    }
    if curve != oid::SM2_CURVE {
        return Err(PkiError::KeyAlgorithm(format!(
            "curve {curve} is refused; only sm2-1 (1.2.156.10197.1.301)"
        )));
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| PkiError::KeyAlgorithm("public key BIT STRING has unused bits".into()))?;
    if bits.len() != 65 && bits.len() != 33 {
        return Err(PkiError::KeyAlgorithm(
            "public key is not a 256-bit SEC1 point".into(),
        ));
    }
    sm2::PublicKey::from_sec1_bytes(bits)
        .map_err(|_| PkiError::KeyAlgorithm("public key point is not on the SM2 curve".into()))
}

/// Parse a PKCS#10 request (PEM "CERTIFICATE REQUEST" or DER), check its key and its signature.
pub fn parse_csr(input: &[u8]) -> Result<CheckedCsr> {
    if input.len() > MAX_CSR_LEN {
        return Err(PkiError::TooLarge {
            what: "certificate request",
            len: input.len(),
            max: MAX_CSR_LEN,
        });
    }
    let der = pem_or_der(
        input,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "certificate request",
    )?;
    let req = CertReq::from_der(&der).map_err(|e| PkiError::Encoding {
        what: "certificate request",
        detail: e.to_string(),
    })?;
    let public_key = sm2_public_key(&req.info.public_key)?;
    if req.algorithm.oid != oid::SM3_WITH_SM2 {
        return Err(PkiError::SignatureAlgorithm(req.algorithm.oid.to_string()));
    }
    let info_der = req.info.to_der()?;
    let sig = req
        .signature
        .as_bytes()
        .ok_or_else(|| PkiError::BadSignature("signature BIT STRING has unused bits".into()))?;
    if verify(&public_key, &info_der, sig).is_err() {
        // OpenSSL 3.0 (`openssl req -sm3` without `-sigopt distid:…`) signs with an empty SM2
        // signer ID: Z_A over ENTL = 0 (checked against the real openssl in
        // tests/it/relying.rs). The key is possessed, but the request is not GM/T 0009.
        let empty_id = crate::signer::signature_from_der(sig)
            .and_then(|s| crate::fast::verify(&public_key, b"", &info_der, &s))
            .is_ok();
        return Err(PkiError::BadSignature(if empty_id {
            "the request was signed with an empty SM2 signer ID, not the GM/T 0009 default \
             1234567812345678 (OpenSSL 3.0 does this unless told): make it again with \
             `openssl req -new -sm3 -sigopt distid:1234567812345678 …`"
                .into()
        } else {
            "the request's signature does not verify: no proof of possession".into()
        }));
    }
    Ok(CheckedCsr {
        public_key,
        subject: req.info.subject.to_string(),
        der,
    })
}

/// Build a CSR for `secret` with the given subject (tests, the demo and the benchmark; a real
/// USB key makes its own).
pub fn make_csr(secret: &sm2::SecretKey, subject: x509_cert::name::Name) -> Result<Vec<u8>> {
    use crate::signer::{sign_bits, sm3_with_sm2, spki_of, KeySigner};
    let info = x509_cert::request::CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject,
        public_key: spki_of(&secret.public_key())?,
        attributes: Default::default(),
    };
    let signer = KeySigner::new(secret)?;
    let signature = sign_bits(&signer, &info.to_der()?)?;
    Ok(CertReq {
        info,
        algorithm: sm3_with_sm2(),
        signature,
    }
    .to_der()?)
}
