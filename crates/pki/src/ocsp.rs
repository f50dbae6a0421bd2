//! RFC 6960 OCSP: request parsing, SM3withSM2-signed basic responses, and a responder that
//! serves pre-signed responses and signs fresh ones only when a nonce is asked for.
//!
//! ```asn1
//! OCSPResponse ::= SEQUENCE {                                  -- RFC 6960 §4.2.1
//!    responseStatus         OCSPResponseStatus,
//!    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
//! BasicOCSPResponse ::= SEQUENCE {
//!    tbsResponseData      ResponseData,
//!    signatureAlgorithm   AlgorithmIdentifier,                 -- SM3withSM2
//!    signature            BIT STRING,                          -- DER SM2Signature
//!    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//! ```

use crate::crl::Reason;
use crate::error::{PkiError, Result};
use crate::issue::CaCert;
use crate::oid;
use crate::signer::{sign_bits, sm3_with_sm2, Signer};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::Sha256;
use sm3::{Digest, Sm3};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};
use x509_cert::ext::Extension;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
    Version,
};

/// Largest OCSP request accepted (RFC 6960 requests are a few hundred bytes).
pub const MAX_OCSP_REQUEST: usize = 8 * 1024;
/// Most CertIDs answered in one request.
pub const MAX_REQUESTS: usize = 16;
/// Largest nonce accepted (RFC 8954 §2.1: 1..=32 octets).
pub const MAX_NONCE: usize = 32;
/// Fresh signatures a responder makes per minute for answers it cannot pre-sign (a nonce
/// asked for, a serial it has no kept answer for); past it, nonce requests get the kept
/// answer without the nonce and the rest `tryLater` (RFC 5019 §4, RFC 6960 §2.3 and §5).
pub const FRESH_SIGNATURES_PER_MINUTE: usize = 60;

/// A parsed OCSP request: the CertIDs asked about and the nonce if one was asked for.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    /// The CertIDs, in order.
    pub cert_ids: Vec<CertId>,
    /// The nonce (the OCTET STRING's content per RFC 8954, or the raw value), if present.
    pub nonce: Option<Vec<u8>>,
    /// The nonce extension's extnValue exactly as sent, echoed byte for byte (RFC 6960
    /// §4.4.1: clients compare the bytes; some send the nonce unwrapped).
    pub nonce_ext: Option<Vec<u8>>,
}

/// Parse a DER `OCSPRequest` (RFC 6960 §4.1.1), within the size and count limits above.
pub fn parse_request(der: &[u8]) -> Result<ParsedRequest> {
    if der.len() > MAX_OCSP_REQUEST {
        return Err(PkiError::TooLarge {
            what: "OCSP request",
            len: der.len(),
            max: MAX_OCSP_REQUEST,
        });
    }
    let req = OcspRequest::from_der(der).map_err(|e| PkiError::Encoding {
        what: "OCSP request",
        detail: e.to_string(),
    })?;
    let list = &req.tbs_request.request_list;
    if list.is_empty() || list.len() > MAX_REQUESTS {
        return Err(PkiError::Encoding {
            what: "OCSP request",
            detail: format!("must ask about 1..={MAX_REQUESTS} certificates"),
        });
    }
    let mut nonce = None;
    let mut nonce_ext = None;
    for e in req.tbs_request.request_extensions.iter().flatten() {
        if e.extn_id == oid::OCSP_NONCE {
            // RFC 6960 §4.4.1: extnValue holds the nonce; RFC 8954 wraps it in an OCTET STRING.
            let raw = e.extn_value.as_bytes();
            let v = OctetString::from_der(raw)
                .map(|o| o.as_bytes().to_vec())
                .unwrap_or_else(|_| raw.to_vec());
            if v.is_empty() || v.len() > MAX_NONCE {
                return Err(PkiError::Encoding {
                    what: "OCSP request",
                    detail: "nonce must be 1..=32 octets".into(),
                });
            }
            nonce = Some(v);
            nonce_ext = Some(raw.to_vec());
        } else if e.critical {
            return Err(PkiError::Encoding {
                what: "OCSP request",
                detail: format!("unsupported critical extension {}", e.extn_id),
            });
        }
    }
    Ok(ParsedRequest {
        cert_ids: list.iter().map(|r| r.req_cert.clone()).collect(),
        nonce,
        nonce_ext,
    })
}

/// Decode the GET form of a request: the last path segment, URL-encoded base64 of the DER
/// (RFC 6960 Appendix A.1).
pub fn decode_get(segment: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    if segment.len() > MAX_OCSP_REQUEST * 2 {
        return Err(PkiError::TooLarge {
            what: "OCSP request",
            len: segment.len(),
            max: MAX_OCSP_REQUEST * 2,
        });
    }
    let mut s = String::with_capacity(segment.len());
    let b = segment.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match h {
                Some(c) => s.push(c as char),
                None => {
                    return Err(PkiError::Encoding {
                        what: "OCSP request",
                        detail: "bad percent-encoding".into(),
                    })
                }
            }
            i += 3;
        } else {
            s.push(b[i] as char);
            i += 1;
        }
    }
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| PkiError::Encoding {
            what: "OCSP request",
            detail: format!("base64: {e}"),
        })
}

/// What the CA knows of a serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertState {
    /// Issued by this CA and not revoked.
    Good,
    /// Revoked at the time, for the reason.
    Revoked {
        /// revocationTime
        at: SystemTime,
        /// revocationReason
        reason: Reason,
    },
    /// Not issued by this CA (RFC 6960 §2.2 "unknown").
    Unknown,
}

/// Where the responder learns a serial's state (the CA's database in the product).
pub trait StatusLookup {
    /// The state of `serial` issued by this responder's CA.
    fn status(&self, serial: &[u8]) -> CertState;
}

/// A bare OCSP response without responseBytes, for errors (RFC 6960 §2.3).
pub fn error_response(status: OcspResponseStatus) -> Vec<u8> {
    let r = OcspResponse {
        response_status: status,
        response_bytes: None,
    };
    r.to_der()
        .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, status as u8])
}

#[derive(Clone)]
struct Cached {
    der: std::sync::Arc<Vec<u8>>,
    state: CertState,
    refresh_after: SystemTime,
    next_update: SystemTime,
}

/// The OCSP responder of one CA. Responses are signed by the CA itself (RFC 6960 §4.2.2.2,
/// first case), responderID byKey.
pub struct Responder<S: Signer> {
    ca: CaCert,
    signer: S,
    /// (hash algorithm, issuerNameHash, issuerKeyHash) for SHA-1, SM3, SHA-256.
    hashes: Vec<(der::asn1::ObjectIdentifier, Vec<u8>, Vec<u8>)>,
    key_hash_sha1: Vec<u8>,
    validity: Duration,
    cache: RwLock<HashMap<Vec<u8>, Cached>>,
    /// (start of the current minute, fresh signatures made in it).
    fresh: std::sync::Mutex<(SystemTime, usize)>,
}

/// Most `unknown` answers kept (each costs one signature, made within the fresh budget).
pub const MAX_UNKNOWN_KEPT: usize = 10_000;

impl<S: Signer> Responder<S> {
    /// A responder for `ca` whose responses are valid for `validity` (nextUpdate − thisUpdate)
    /// and are re-signed once half of that has passed.
    pub fn new(ca: CaCert, signer: S, validity: Duration) -> Result<Self> {
        let name = ca.subject().to_der()?;
        let key = ca
            .cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let hashes = vec![
            (
                oid::SHA1,
                Sha1::digest(&name).to_vec(),
                Sha1::digest(&key).to_vec(),
            ),
            (
                oid::SM3,
                Sm3::digest(&name).to_vec(),
                Sm3::digest(&key).to_vec(),
            ),
            (
                oid::SHA256,
                Sha256::digest(&name).to_vec(),
                Sha256::digest(&key).to_vec(),
            ),
        ];
        let key_hash_sha1 = Sha1::digest(&key).to_vec();
        Ok(Self {
            ca,
            signer,
            hashes,
            key_hash_sha1,
            validity,
            cache: RwLock::new(HashMap::new()),
            fresh: std::sync::Mutex::new((SystemTime::UNIX_EPOCH, 0)),
        })
    }

    /// The CA this responder answers for.
    pub fn ca(&self) -> &CaCert {
        &self.ca
    }

    /// Takes one fresh signature from this minute's budget ([`FRESH_SIGNATURES_PER_MINUTE`]).
    fn take_fresh(&self, now: SystemTime) -> bool {
        let Ok(mut f) = self.fresh.lock() else {
            return false;
        };
        if now
            .duration_since(f.0)
            .map_or(true, |d| d >= Duration::from_secs(60))
        {
            *f = (now, 0);
        }
        if f.1 < FRESH_SIGNATURES_PER_MINUTE {
            f.1 += 1;
            true
        } else {
            false
        }
    }

    /// The kept answer for `serial` if it is still valid at `now` and says `st`.
    fn kept(
        &self,
        serial: &[u8],
        st: CertState,
        now: SystemTime,
    ) -> Option<std::sync::Arc<Vec<u8>>> {
        let c = self.cache.read().ok()?;
        let hit = c.get(serial)?;
        (hit.next_update > now && hit.state == st).then(|| hit.der.clone())
    }

    /// Whether `id` names this responder's CA (issuerNameHash and issuerKeyHash, SHA-1, SM3
    /// or SHA-256).
    pub fn is_ours(&self, id: &CertId) -> bool {
        self.ours(id)
    }

    fn ours(&self, id: &CertId) -> bool {
        self.hashes.iter().any(|(alg, n, k)| {
            id.hash_algorithm.oid == *alg
                && id.issuer_name_hash.as_bytes() == n
                && id.issuer_key_hash.as_bytes() == k
        })
    }

    /// The SHA-1 CertID of `serial` under this CA (what `openssl ocsp` sends by default).
    pub fn cert_id(&self, serial: &[u8]) -> Result<CertId> {
        let (alg, n, k) = &self.hashes[0];
        Ok(CertId {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: *alg,
                parameters: Some(der::Any::from(Null)),
            },
            issuer_name_hash: OctetString::new(n.clone())?,
            issuer_key_hash: OctetString::new(k.clone())?,
            serial_number: x509_cert::serial_number::SerialNumber::new(serial)?,
        })
    }

    /// Sign a successful response for the given CertIDs and states.
    pub fn sign_response(
        &self,
        items: &[(CertId, CertState)],
        nonce_ext: Option<&[u8]>,
        now: SystemTime,
    ) -> Result<Vec<u8>> {
        let this_update = gt(now)?;
        let next = gt(now + self.validity)?;
        let mut responses = Vec::with_capacity(items.len());
        for (id, st) in items {
            let cert_status = match st {
                CertState::Good => CertStatus::Good(Null),
                CertState::Unknown => CertStatus::Unknown(Null),
                CertState::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: gt(*at)?,
                    revocation_reason: if *reason == Reason::Unspecified {
                        None
                    } else {
                        Some(reason.to_crl_reason())
                    },
                }),
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update,
                next_update: Some(next),
                single_extensions: None,
            });
        }
        let response_extensions = match nonce_ext {
            Some(n) => Some(vec![Extension {
                extn_id: oid::OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(n)?,
            }]),
            None => None,
        };
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(OctetString::new(self.key_hash_sha1.clone())?),
            produced_at: this_update,
            responses,
            response_extensions,
        };
        let tbs = data.to_der()?;
        let signature = sign_bits(&self.signer, &tbs)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: sm3_with_sm2(),
            signature,
            certs: None,
        };
        let resp = OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: oid::OCSP_BASIC,
                response: OctetString::new(basic.to_der()?)?,
            }),
        };
        Ok(resp.to_der()?)
    }

    /// Pre-sign the response for `serial` in `state` and keep it for serving.
    pub fn presign(&self, serial: &[u8], state: CertState, now: SystemTime) -> Result<()> {
        let der = self.sign_response(&[(self.cert_id(serial)?, state)], None, now)?;
        if state == CertState::Unknown {
            let mut c = self
                .cache
                .write()
                .map_err(|_| PkiError::Signer("cache poisoned".into()))?;
            c.retain(|_, v| v.state != CertState::Unknown || v.next_update > now);
            let unknowns = c.values().filter(|v| v.state == CertState::Unknown).count();
            if unknowns >= MAX_UNKNOWN_KEPT {
                return Ok(());
            }
        }
        let c = Cached {
            der: std::sync::Arc::new(der),
            state,
            refresh_after: now + self.validity / 2,
            next_update: now + self.validity,
        };
        self.cache
            .write()
            .map_err(|_| PkiError::Signer("cache poisoned".into()))?
            .insert(serial.to_vec(), c);
        Ok(())
    }

    /// Serials whose pre-signed response is due for refresh at `now` (half its validity gone).
    pub fn due_for_refresh(&self, now: SystemTime) -> Vec<Vec<u8>> {
        self.cache
            .read()
            .map(|c| {
                c.iter()
                    .filter(|(_, v)| v.refresh_after <= now && v.state != CertState::Unknown)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of pre-signed responses held.
    pub fn cached(&self) -> usize {
        self.cache.read().map(|c| c.len()).unwrap_or(0)
    }

    /// Answer a DER request. Never fails: malformed input gets `malformedRequest`, a CertID
    /// of another issuer `unauthorized`, a signing failure `internalError` (RFC 6960 §2.3).
    ///
    /// What may make the CA sign is bounded (RFC 5019 §4, RFC 6960 §5): a request for one
    /// SHA-1 CertID is answered from the kept (pre-signed) answer of its serial — `unknown`
    /// answers too, so asking again about a serial never issued costs nothing. A new answer
    /// for an issued serial (or one whose status changed) is signed and kept. Everything else
    /// (a nonce asked for, a first `unknown`, other hash algorithms, several CertIDs) is signed
    /// fresh within [`FRESH_SIGNATURES_PER_MINUTE`]; past it a nonce request gets the kept
    /// answer without the nonce, and the rest `tryLater`.
    pub fn respond(&self, request: &[u8], lookup: &dyn StatusLookup, now: SystemTime) -> Vec<u8> {
        self.respond_shared(request, lookup, now).as_ref().clone()
    }

    /// Like [`respond`](Self::respond), returning the kept bytes without copying (for the
    /// HTTP edge and the benchmark).
    pub fn respond_shared(
        &self,
        request: &[u8],
        lookup: &dyn StatusLookup,
        now: SystemTime,
    ) -> std::sync::Arc<Vec<u8>> {
        use std::sync::Arc;
        let parsed = match parse_request(request) {
            Ok(p) => p,
            Err(_) => return Arc::new(error_response(OcspResponseStatus::MalformedRequest)),
        };
        if !parsed.cert_ids.iter().all(|id| self.ours(id)) {
            return Arc::new(error_response(OcspResponseStatus::Unauthorized));
        }
        let single =
            parsed.cert_ids.len() == 1 && parsed.cert_ids[0].hash_algorithm.oid == oid::SHA1;
        if single {
            let serial = parsed.cert_ids[0].serial_number.as_bytes();
            // The lookup is authoritative: a kept answer whose status has changed (a
            // revocation since it was signed) is re-signed at once, not served.
            let st = lookup.status(serial);
            if parsed.nonce_ext.is_none() || !self.take_fresh(now) {
                if let Some(hit) = self.kept(serial, st, now) {
                    return hit;
                }
                let may_sign = st != CertState::Unknown
                    || (parsed.nonce_ext.is_none() && self.take_fresh(now));
                if !may_sign {
                    return Arc::new(error_response(OcspResponseStatus::TryLater));
                }
                if self.presign(serial, st, now).is_ok() {
                    if let Some(hit) = self.kept(serial, st, now) {
                        return hit;
                    }
                }
                return Arc::new(
                    self.sign_response(&[(parsed.cert_ids[0].clone(), st)], None, now)
                        .unwrap_or_else(|_| error_response(OcspResponseStatus::InternalError)),
                );
            }
            // A nonce, within the budget: signed fresh below.
        } else if !self.take_fresh(now) {
            return Arc::new(error_response(OcspResponseStatus::TryLater));
        }
        let items: Vec<_> = parsed
            .cert_ids
            .iter()
            .map(|id| (id.clone(), lookup.status(id.serial_number.as_bytes())))
            .collect();
        Arc::new(
            self.sign_response(&items, parsed.nonce_ext.as_deref(), now)
                .unwrap_or_else(|_| error_response(OcspResponseStatus::InternalError)),
        )
    }
}

/// What an HTTP cache needs of a response (RFC 5019 §6.2): thisUpdate (`Last-Modified`),
/// nextUpdate (`Expires`) and a hash of the bytes (`ETag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMeta {
    /// thisUpdate of the first SingleResponse.
    pub this_update: SystemTime,
    /// nextUpdate of the first SingleResponse.
    pub next_update: SystemTime,
    /// Hex of the first 16 bytes of SM3 over the response DER.
    pub etag: String,
}

/// The cache metadata of a successful DER response; `None` for error responses.
pub fn response_meta(der: &[u8]) -> Option<ResponseMeta> {
    let r = OcspResponse::from_der(der).ok()?;
    let basic = BasicOcspResponse::from_der(r.response_bytes?.response.as_bytes()).ok()?;
    let first = basic.tbs_response_data.responses.first()?;
    let t = |g: &OcspGeneralizedTime| g.0.to_system_time();
    Some(ResponseMeta {
        this_update: t(&first.this_update),
        next_update: t(first.next_update.as_ref()?),
        etag: Sm3::digest(der)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

/// Build a DER OCSP request for `ids`, with an optional nonce (tests, the benchmark).
pub fn make_request(ids: Vec<CertId>, nonce: Option<&[u8]>) -> Result<Vec<u8>> {
    let request_extensions = match nonce {
        Some(n) => Some(vec![Extension {
            extn_id: oid::OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new(n)?.to_der()?)?,
        }]),
        None => None,
    };
    let req = OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: ids
                .into_iter()
                .map(|id| x509_ocsp::Request {
                    req_cert: id,
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions,
        },
        optional_signature: None,
    };
    Ok(req.to_der()?)
}

/// GeneralizedTime in whole seconds, "Z" (RFC 6960 §4.2.2.1 via RFC 5280 §4.1.2.5.2).
fn gt(t: SystemTime) -> Result<OcspGeneralizedTime> {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(d.as_secs()))?;
    Ok(OcspGeneralizedTime(
        der::asn1::GeneralizedTime::from_date_time(dt),
    ))
}
