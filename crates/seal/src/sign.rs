//! Signing a document with a seal (what a bid platform's signing client does).

use crate::asn1::{self, Edition};
use crate::parse;
use crate::{Result, SealError};
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString};
use der::{DateTime, Decode, Encode};
use pki::{oid, Signer};
use sm3::{Digest, Sm3};
use std::time::{Duration, SystemTime};

/// SM3 of a document: what `dataHash` holds.
pub fn document_hash(document: &[u8]) -> [u8; 32] {
    Sm3::digest(document).into()
}

fn whole_seconds(t: SystemTime) -> Result<DateTime> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| SealError::Field {
            field: "签章时间",
            reason: e.to_string(),
        })?
        .as_secs();
    DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|e| SealError::Field {
        field: "签章时间",
        reason: e.to_string(),
    })
}

/// Sign `document` with `seal_der` as the holder of `signer_cert` (DER), at `at`. The
/// signature is SM3withSM2 (GM/T 0009 signer ID) over DER(`TBS_Sign`), in the seal's edition.
pub fn sign_document(
    seal_der: &[u8],
    signer: &dyn Signer,
    signer_cert: &[u8],
    document: &[u8],
    property_info: &str,
    at: SystemTime,
) -> Result<Vec<u8>> {
    let view = parse::seal(seal_der)?;
    let hash = document_hash(document);
    let prop = Ia5String::new(property_info).map_err(|e| SealError::Field {
        field: "原文属性",
        reason: format!("只能是 ASCII 字符:{e}"),
    })?;
    let cert = OctetString::new(signer_cert.to_vec())?;
    match view.edition {
        Edition::Gmt0031_2014 => {
            let seal = asn1::SealV2::from_der(&view.der)?;
            let time = der::asn1::UtcTime::from_date_time(whole_seconds(at)?)?;
            let tbs = asn1::TbsSignV2 {
                version: view.header_version,
                e_seal: seal,
                time_info: BitString::from_bytes(&time.to_der()?)?,
                data_hash: BitString::from_bytes(&hash)?,
                property_info: prop,
                cert,
                signature_algorithm: oid::SM3_WITH_SM2,
            };
            let sig = signer.sign(&tbs.to_der()?)?;
            Ok(asn1::SignatureV2 {
                to_sign: tbs,
                signature: BitString::from_bytes(&sig)?,
            }
            .to_der()?)
        }
        Edition::Gbt38540_2020 | Edition::Gbt38540_2025 => {
            let seal = asn1::Seal::from_der(&view.der)?;
            let tbs = asn1::TbsSign {
                version: view.header_version,
                e_seal: seal,
                time_info: GeneralizedTime::from_date_time(whole_seconds(at)?),
                data_hash: BitString::from_bytes(&hash)?,
                property_info: prop,
                ext_datas: None,
            };
            let sig = signer.sign(&tbs.to_der()?)?;
            Ok(asn1::Signature {
                to_sign: tbs,
                cert,
                signature_alg_id: oid::SM3_WITH_SM2,
                signature: BitString::from_bytes(&sig)?,
                time_stamp: None,
            }
            .to_der()?)
        }
    }
}
