//! One view of a seal or a seal signature, whatever its edition.

use crate::asn1::{self, CertList, Edition};
use crate::{Result, SealError, MAX_FILE, MAX_PICTURE};
use der::asn1::{BitString, GeneralizedTime, UtcTime};
use der::{Any, Decode, Encode};

/// A seal, read by structure.
#[derive(Clone, Debug)]
pub struct SealView {
    /// Edition, from the structure.
    pub edition: Edition,
    /// The header's version field (as written; not trusted for the edition).
    pub header_version: u32,
    /// Header id (must be `ES`).
    pub header_id: String,
    /// Vendor id.
    pub vid: String,
    /// 电子印章标识.
    pub es_id: String,
    /// 1 单位印章, 2 个人印章.
    pub kind: u32,
    /// 印章名称.
    pub name: String,
    /// The signers' certificates (or their digests).
    pub cert_list: CertList,
    /// Unix seconds.
    pub create_date: u64,
    /// Unix seconds.
    pub valid_start: u64,
    /// Unix seconds.
    pub valid_end: u64,
    /// Picture type (`PNG`…).
    pub picture_type: String,
    /// Picture file.
    pub picture: Vec<u8>,
    /// Display width, mm.
    pub width_mm: u32,
    /// Display height, mm.
    pub height_mm: u32,
    /// 制章人证书 DER.
    pub maker_cert: Vec<u8>,
    /// Signature algorithm OID.
    pub sign_alg: der::asn1::ObjectIdentifier,
    /// The seal-maker's DER `SM2Signature`.
    pub signed_value: Vec<u8>,
    /// The exact bytes the seal-maker signed (DER of `SES_SealInfo` as found).
    pub signed_bytes: Vec<u8>,
    /// The whole seal's DER.
    pub der: Vec<u8>,
}

/// A seal signature, read by structure.
#[derive(Clone, Debug)]
pub struct SignatureView {
    /// Edition.
    pub edition: Edition,
    /// TBS version.
    pub version: u32,
    /// The seal inside.
    pub seal: SealView,
    /// Signing time, unix seconds.
    pub time: u64,
    /// The document hash as signed.
    pub data_hash: Vec<u8>,
    /// Document property.
    pub property_info: String,
    /// 签章者证书 DER.
    pub signer_cert: Vec<u8>,
    /// Algorithm.
    pub sign_alg: der::asn1::ObjectIdentifier,
    /// The signer's DER `SM2Signature`.
    pub signature: Vec<u8>,
    /// The exact bytes the signer signed (DER of `TBS_Sign`).
    pub signed_bytes: Vec<u8>,
}

fn fmt(what: &'static str, e: impl std::fmt::Display) -> SealError {
    SealError::Format {
        what,
        detail: e.to_string(),
    }
}

fn bits(b: &BitString) -> Vec<u8> {
    b.raw_bytes().to_vec()
}

fn gt(t: &GeneralizedTime) -> u64 {
    t.to_unix_duration().as_secs()
}

fn utc(t: &UtcTime) -> u64 {
    t.to_unix_duration().as_secs()
}

/// The first element of a DER SEQUENCE, as its exact bytes.
fn first_element(der: &[u8]) -> Result<Vec<u8>> {
    let outer = Any::from_der(der).map_err(|e| fmt("电子印章", e))?;
    let mut reader = der::SliceReader::new(outer.value()).map_err(|e| fmt("电子印章", e))?;
    let first = <Any as der::Decode>::decode(&mut reader).map_err(|e| fmt("电子印章", e))?;
    first.to_der().map_err(|e| fmt("电子印章", e))
}

/// Reads a PEM (`-----BEGIN …-----`) or Base64 text, or DER.
fn unarmour(input: &[u8]) -> Vec<u8> {
    if input.first() == Some(&0x30) {
        return input.to_vec();
    }
    let Ok(text) = std::str::from_utf8(input) else {
        return input.to_vec();
    };
    if text.contains("-----BEGIN") {
        if let Ok((_, der)) = der::pem::decode_vec(text.trim().as_bytes()) {
            return der;
        }
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .unwrap_or_else(|_| input.to_vec())
}

/// Read a seal of any edition.
pub fn seal(input: &[u8]) -> Result<SealView> {
    if input.len() > MAX_FILE {
        return Err(SealError::TooLarge {
            what: "电子印章文件",
            len: input.len(),
            max: MAX_FILE,
        });
    }
    let der = unarmour(input);
    let edition = Edition::of_seal(&der).ok_or_else(|| SealError::Format {
        what: "电子印章",
        detail: "不是任何一版 SESeal 的结构(GM/T 0031-2014、GB/T 38540-2020/2025)".into(),
    })?;
    let view = match edition {
        Edition::Gmt0031_2014 => {
            let s = asn1::SealV2::from_der(&der).map_err(|e| fmt("电子印章", e))?;
            let info = &s.e_seal_info;
            SealView {
                edition,
                header_version: info.header.version,
                header_id: info.header.id.to_string(),
                vid: info.header.vid.to_string(),
                es_id: info.es_id.to_string(),
                kind: info.property.kind,
                name: info.property.name.clone(),
                cert_list: CertList::Certs(
                    info.property
                        .cert_list
                        .iter()
                        .map(|o| o.as_bytes().to_vec())
                        .collect(),
                ),
                create_date: utc(&info.property.create_date),
                valid_start: utc(&info.property.valid_start),
                valid_end: utc(&info.property.valid_end),
                picture_type: info.picture.kind.to_string(),
                picture: info.picture.data.as_bytes().to_vec(),
                width_mm: info.picture.width,
                height_mm: info.picture.height,
                maker_cert: s.sign_info.cert.as_bytes().to_vec(),
                sign_alg: s.sign_info.signature_algorithm,
                signed_value: bits(&s.sign_info.sign_data),
                signed_bytes: first_element(&der)?,
                der: der.clone(),
            }
        }
        Edition::Gbt38540_2020 | Edition::Gbt38540_2025 => {
            let s = asn1::Seal::from_der(&der).map_err(|e| fmt("电子印章", e))?;
            let info = &s.e_seal_info;
            SealView {
                edition,
                header_version: info.header.version,
                header_id: info.header.id.to_string(),
                vid: info.header.vid.to_string(),
                es_id: info.es_id.to_string(),
                kind: info.property.kind,
                name: info.property.name.clone(),
                cert_list: info
                    .property
                    .certs()
                    .map_err(|e| fmt("电子印章的证书列表", e))?,
                create_date: gt(&info.property.create_date),
                valid_start: gt(&info.property.valid_start),
                valid_end: gt(&info.property.valid_end),
                picture_type: info.picture.kind.to_string(),
                picture: info.picture.data.as_bytes().to_vec(),
                width_mm: info.picture.width,
                height_mm: info.picture.height,
                maker_cert: s.cert.as_bytes().to_vec(),
                sign_alg: s.sign_alg_id,
                signed_value: bits(&s.signed_value),
                signed_bytes: first_element(&der)?,
                der: der.clone(),
            }
        }
    };
    if view.header_id != "ES" {
        return Err(SealError::Format {
            what: "电子印章",
            detail: format!("头信息标识应为“ES”,实为“{}”", view.header_id),
        });
    }
    if !matches!(view.header_version, 1 | 2 | 4 | 5) {
        return Err(SealError::Format {
            what: "电子印章",
            detail: format!(
                "头信息版本号 {} 不属于任何一版标准(2014 版为 1 或 2,2020 版为 4,2025 版为 5)",
                view.header_version
            ),
        });
    }
    if view.picture.len() > MAX_PICTURE {
        return Err(SealError::TooLarge {
            what: "印章图片",
            len: view.picture.len(),
            max: MAX_PICTURE,
        });
    }
    Ok(view)
}

/// Parse the 2014 edition's `timeInfo` (a BIT STRING holding UTCTime text `YYMMDDhhmmssZ`,
/// or the DER of a UTCTime/GeneralizedTime, as tools write either).
fn time_info_v2(b: &[u8]) -> Option<u64> {
    if let Ok(t) = UtcTime::from_der(b) {
        return Some(utc(&t));
    }
    if let Ok(t) = GeneralizedTime::from_der(b) {
        return Some(gt(&t));
    }
    let s = std::str::from_utf8(b).ok()?;
    let mut der = vec![0x17, s.len() as u8];
    der.extend_from_slice(s.as_bytes());
    UtcTime::from_der(&der).ok().map(|t| utc(&t))
}

/// Read a seal signature of any edition.
pub fn signature(input: &[u8]) -> Result<SignatureView> {
    if input.len() > MAX_FILE {
        return Err(SealError::TooLarge {
            what: "电子签章文件",
            len: input.len(),
            max: MAX_FILE,
        });
    }
    let der = unarmour(input);
    let edition = Edition::of_signature(&der).ok_or_else(|| SealError::Format {
        what: "电子签章",
        detail: "不是任何一版 SES_Signature 的结构".into(),
    })?;
    let tbs_bytes = first_element(&der)?;
    match edition {
        Edition::Gmt0031_2014 => {
            let s = asn1::SignatureV2::from_der(&der).map_err(|e| fmt("电子签章", e))?;
            let seal_der = s.to_sign.e_seal.to_der().map_err(|e| fmt("电子签章", e))?;
            let time =
                time_info_v2(s.to_sign.time_info.raw_bytes()).ok_or_else(|| SealError::Format {
                    what: "电子签章",
                    detail: "签章时间无法识别".into(),
                })?;
            Ok(SignatureView {
                edition,
                version: s.to_sign.version,
                seal: seal(&seal_der)?,
                time,
                data_hash: bits(&s.to_sign.data_hash),
                property_info: s.to_sign.property_info.to_string(),
                signer_cert: s.to_sign.cert.as_bytes().to_vec(),
                sign_alg: s.to_sign.signature_algorithm,
                signature: bits(&s.signature),
                signed_bytes: tbs_bytes,
            })
        }
        Edition::Gbt38540_2020 | Edition::Gbt38540_2025 => {
            let s = asn1::Signature::from_der(&der).map_err(|e| fmt("电子签章", e))?;
            let seal_der = s.to_sign.e_seal.to_der().map_err(|e| fmt("电子签章", e))?;
            Ok(SignatureView {
                edition,
                version: s.to_sign.version,
                seal: seal(&seal_der)?,
                time: gt(&s.to_sign.time_info),
                data_hash: bits(&s.to_sign.data_hash),
                property_info: s.to_sign.property_info.to_string(),
                signer_cert: s.cert.as_bytes().to_vec(),
                sign_alg: s.signature_alg_id,
                signature: bits(&s.signature),
                signed_bytes: tbs_bytes,
            })
        }
    }
}

/// Whether the bytes look like a signature rather than a seal (for tools that take either).
pub fn is_signature(input: &[u8]) -> bool {
    let der = unarmour(input);
    Edition::of_signature(&der).is_some() && Edition::of_seal(&der).is_none()
}
