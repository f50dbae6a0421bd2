//! Making seals: the seal-maker's certificate and `SESeal` in the edition asked for.

use crate::asn1::{self, Edition, Header, PictureInfo};
use crate::{Result, SealError, MAX_PICTURE};
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, UtcTime};
use der::{Any, DateTime, Encode};
use pki::issue::{key_id, random_serial, CaCert};
use pki::names::{build_name, x509_time};
use pki::signer::{sm3_with_sm2, spki_of};
use pki::{oid, Signer};
use rand::RngCore;
use std::time::{Duration, SystemTime};
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

/// The vendor id this hall writes in `SES_Header.vid`.
pub const VENDOR_ID: &str = "certhall";

/// 印章类型 (GB/T 38540-2020 §6 `SES_ESPropertyInfo.type`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum SealKind {
    /// 1 单位印章.
    Unit = 1,
    /// 2 个人印章.
    Person = 2,
}

/// What goes into a seal.
#[derive(Clone, Debug)]
pub struct SealSpec {
    /// Which standard to write.
    pub edition: Edition,
    /// 电子印章标识, unique (IA5).
    pub es_id: String,
    /// 单位印章 or 个人印章.
    pub kind: SealKind,
    /// 印章名称 (the unit's name).
    pub name: String,
    /// The signers' certificates (DER): the unit's 机构证书 (signing).
    pub signer_certs: Vec<Vec<u8>>,
    /// 制作日期.
    pub created: SystemTime,
    /// 有效起始.
    pub valid_start: SystemTime,
    /// 有效终止.
    pub valid_end: SystemTime,
    /// The picture (PNG).
    pub picture_png: Vec<u8>,
    /// Display width, mm.
    pub width_mm: u32,
    /// Display height, mm.
    pub height_mm: u32,
}

fn field(field: &'static str, e: impl std::fmt::Display) -> SealError {
    SealError::Field {
        field,
        reason: e.to_string(),
    }
}

fn gtime(field_name: &'static str, t: SystemTime) -> Result<GeneralizedTime> {
    // Whole seconds: DER GeneralizedTime has no fraction here (X.690 §11.7 allows none
    // to be written for a whole second).
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| field(field_name, e))?
        .as_secs();
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| field(field_name, e))?;
    Ok(GeneralizedTime::from_date_time(dt))
}

fn utime(field_name: &'static str, t: SystemTime) -> Result<UtcTime> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| field(field_name, e))?
        .as_secs();
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| field(field_name, e))?;
    UtcTime::from_date_time(dt).map_err(|e| field(field_name, e))
}

fn ia5(name: &'static str, s: &str) -> Result<Ia5String> {
    Ia5String::new(s).map_err(|e| field(name, e))
}

fn header(edition: Edition) -> Result<Header> {
    Ok(Header {
        id: ia5("头信息", "ES")?,
        version: edition.header_version(),
        vid: ia5("厂商标识", VENDOR_ID)?,
    })
}

fn picture(spec: &SealSpec) -> Result<PictureInfo> {
    if spec.picture_png.len() > MAX_PICTURE {
        return Err(SealError::TooLarge {
            what: "印章图片",
            len: spec.picture_png.len(),
            max: MAX_PICTURE,
        });
    }
    if spec.width_mm == 0 || spec.height_mm == 0 || spec.width_mm > 200 || spec.height_mm > 200 {
        return Err(SealError::Field {
            field: "印章尺寸",
            reason: format!(
                "显示尺寸 {}×{} 毫米不在 1–200 毫米之间",
                spec.width_mm, spec.height_mm
            ),
        });
    }
    Ok(PictureInfo {
        kind: ia5("图片类型", "PNG")?,
        data: OctetString::new(spec.picture_png.clone()).map_err(|e| field("印章图片", e))?,
        width: spec.width_mm,
        height: spec.height_mm,
    })
}

/// Make a `SESeal`: the seal information, signed by the seal-maker (SM3withSM2, GM/T 0009
/// default signer ID) over DER(`SES_SealInfo`). Returns the seal's DER.
pub fn make_seal(spec: &SealSpec, maker: &dyn Signer, maker_cert: &[u8]) -> Result<Vec<u8>> {
    if spec.signer_certs.is_empty() {
        return Err(SealError::Field {
            field: "签章者证书",
            reason: "印章至少要绑定一张签章者证书".into(),
        });
    }
    if spec.valid_end <= spec.valid_start {
        return Err(SealError::Field {
            field: "印章有效期",
            reason: "有效终止日期早于起始日期".into(),
        });
    }
    let certs: Vec<OctetString> = spec
        .signer_certs
        .iter()
        .map(|c| OctetString::new(c.clone()))
        .collect::<der::Result<_>>()
        .map_err(|e| field("签章者证书", e))?;
    let es_id = ia5("电子印章标识", &spec.es_id)?;
    let maker_cert_octets =
        OctetString::new(maker_cert.to_vec()).map_err(|e| field("制章人证书", e))?;
    match spec.edition {
        Edition::Gmt0031_2014 => {
            let info = asn1::SealInfoV2 {
                header: header(spec.edition)?,
                es_id,
                property: asn1::PropertyInfoV2 {
                    kind: spec.kind as u32,
                    name: spec.name.clone(),
                    cert_list: certs,
                    create_date: utime("制作日期", spec.created)?,
                    valid_start: utime("有效起始日期", spec.valid_start)?,
                    valid_end: utime("有效终止日期", spec.valid_end)?,
                },
                picture: picture(spec)?,
                ext_datas: None,
            };
            let tbs = info.to_der()?;
            let sig = maker.sign(&tbs)?;
            let seal = asn1::SealV2 {
                e_seal_info: info,
                sign_info: asn1::SignInfoV2 {
                    cert: maker_cert_octets,
                    signature_algorithm: oid::SM3_WITH_SM2,
                    sign_data: BitString::from_bytes(&sig)?,
                },
            };
            Ok(seal.to_der()?)
        }
        Edition::Gbt38540_2020 | Edition::Gbt38540_2025 => {
            let list = <Any as der::Decode>::from_der(&certs.to_der()?)?;
            let info = asn1::SealInfo {
                header: header(spec.edition)?,
                es_id,
                property: asn1::PropertyInfo {
                    kind: spec.kind as u32,
                    name: spec.name.clone(),
                    cert_list_type: 1,
                    cert_list: list,
                    create_date: gtime("制作日期", spec.created)?,
                    valid_start: gtime("有效起始日期", spec.valid_start)?,
                    valid_end: gtime("有效终止日期", spec.valid_end)?,
                },
                picture: picture(spec)?,
                ext_datas: None,
            };
            let tbs = info.to_der()?;
            let sig = maker.sign(&tbs)?;
            let seal = asn1::Seal {
                e_seal_info: info,
                cert: maker_cert_octets,
                sign_alg_id: oid::SM3_WITH_SM2,
                signed_value: BitString::from_bytes(&sig)?,
                time_stamp: None,
            };
            Ok(seal.to_der()?)
        }
    }
}

fn ext<T: Encode + const_oid::AssociatedOid>(critical: bool, v: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(v.to_der()?)?,
    })
}

/// The seal-maker (制章人) certificate: an end-entity SM2 certificate issued by the CA to the
/// key that signs seals (cA FALSE; keyUsage digitalSignature + nonRepudiation, critical).
/// Verifiers trust it by listing it (see [`crate::verify::Trust::seal_makers`]).
pub fn seal_maker_cert(
    ca_signer: &dyn Signer,
    ca: &CaCert,
    maker_pk: &sm2::PublicKey,
    org: &str,
    now: SystemTime,
    years: u64,
    rng: &mut impl RngCore,
) -> Result<Vec<u8>> {
    let not_after = now + Duration::from_secs(years * 365 * 86_400);
    if not_after
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX)
        > ca.not_after()
    {
        return Err(SealError::Field {
            field: "制章人证书有效期",
            reason: "制章人证书不能晚于签发它的 CA 证书到期".into(),
        });
    }
    let subject = build_name(&[
        (oid::AT_C, "CN"),
        (oid::AT_O, org),
        (oid::AT_CN, "电子印章制章人"),
    ])?;
    let exts = vec![
        ext(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        ext(
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
        )?,
        ext(
            false,
            &SubjectKeyIdentifier(OctetString::new(key_id(maker_pk))?),
        )?,
        ext(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ca.key_id.clone())?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&random_serial(rng))?,
        signature: sm3_with_sm2(),
        issuer: ca.subject().clone(),
        validity: Validity {
            not_before: x509_time(now)?,
            not_after: x509_time(not_after)?,
        },
        subject,
        subject_public_key_info: spki_of(maker_pk)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    let (_, der) = pki::issue::sign_tbs(ca_signer, tbs)?;
    Ok(der)
}
