//! The ASN.1 of electronic seals and seal signatures, in the three editions found in use.
//!
//! - **GM/T 0031-2014** (`SESv2` in the wild; tools write header version 1 or 2): `SESeal` has
//!   two elements, the seal information and a `SES_SignInfo`; property dates are `UTCTime`;
//!   the signer's certificate list is a bare `SEQUENCE OF OCTET STRING`.
//! - **GB/T 38540-2020** (header version 4): `SESeal` is flat — seal information, the
//!   seal-maker's certificate, the algorithm, the signature; dates are `GeneralizedTime`; the
//!   property carries `certListType` (1 certificates, 2 certificate digests).
//! - **GB/T 38540 revision (2025 edition, header version 5)**: the 2020 layout with an optional
//!   `timeStamp [0] EXPLICIT BIT STRING` after the seal's signature.
//!
//! Which edition a DER value is, is read from its *shape* ([`Edition::of_seal`]), never from the
//! version field. Clause-by-field notes are in `docs/SEAL.md`.

use der::asn1::{BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString, UtcTime};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};

/// `SES_Header ::= SEQUENCE { id IA5String ("ES"), version INTEGER, vid IA5String }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Header {
    /// Always `ES`.
    pub id: Ia5String,
    /// 1/2 (GM/T 0031-2014), 4 (GB/T 38540-2020), 5 (2025 edition).
    pub version: u32,
    /// Vendor id (厂商标识).
    pub vid: Ia5String,
}

/// `SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER,
/// height INTEGER }` — width and height are the display size in millimetres.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PictureInfo {
    /// `PNG`, `GIF`, `JPG`, `SVG`, `OFD`…
    pub kind: Ia5String,
    /// The picture file.
    pub data: OctetString,
    /// Display width, mm.
    pub width: u32,
    /// Display height, mm.
    pub height: u32,
}

/// `ExtData ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ExtData {
    /// Extension id.
    pub extn_id: ObjectIdentifier,
    /// Critical.
    #[asn1(default = "Default::default")]
    pub critical: bool,
    /// Value.
    pub extn_value: OctetString,
}

/// `CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }` (certListType 2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertDigestObj {
    /// Digest algorithm name, e.g. `SM3`.
    pub kind: der::asn1::PrintableString,
    /// Digest of the certificate DER.
    pub value: OctetString,
}

/// `SES_ESPropertyInfo` of GB/T 38540-2020 and 2025.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PropertyInfo {
    /// 1 单位印章, 2 个人印章.
    pub kind: u32,
    /// 印章名称.
    pub name: String,
    /// 1: `certList` holds certificates; 2: certificate digests.
    pub cert_list_type: u32,
    /// `SES_CertList`, a CHOICE chosen by `cert_list_type` (both arms are `SEQUENCE OF`).
    pub cert_list: Any,
    /// 制作日期.
    pub create_date: GeneralizedTime,
    /// 有效起始.
    pub valid_start: GeneralizedTime,
    /// 有效终止.
    pub valid_end: GeneralizedTime,
}

/// `SES_SealInfo` of GB/T 38540-2020 and 2025 (what the seal-maker signs).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealInfo {
    /// Header.
    pub header: Header,
    /// 电子印章标识 (unique).
    pub es_id: Ia5String,
    /// Properties.
    pub property: PropertyInfo,
    /// Picture.
    pub picture: PictureInfo,
    /// Custom data.
    #[asn1(optional = "true")]
    pub ext_datas: Option<Vec<ExtData>>,
}

/// `SESeal` of GB/T 38540-2020 (and, with `time_stamp`, the 2025 edition).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Seal {
    /// Seal information.
    pub e_seal_info: SealInfo,
    /// 制章人证书 (DER).
    pub cert: OctetString,
    /// Signature algorithm (SM3withSM2).
    pub sign_alg_id: ObjectIdentifier,
    /// DER `SM2Signature` over DER(`SES_SealInfo`).
    pub signed_value: BitString,
    /// 2025 edition: time stamp on the signature.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub time_stamp: Option<BitString>,
}

/// `TBS_Sign` of GB/T 38540-2020 / 2025.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsSign {
    /// Same as the seal's header version.
    pub version: u32,
    /// The seal used.
    pub e_seal: Seal,
    /// Signing time.
    pub time_info: GeneralizedTime,
    /// SM3 of the document (or of what the document format says is signed).
    pub data_hash: BitString,
    /// Document property (IA5String, e.g. the document's name).
    pub property_info: Ia5String,
    /// Custom data.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub ext_datas: Option<Vec<ExtData>>,
}

/// `SES_Signature` of GB/T 38540-2020 / 2025.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Signature {
    /// What is signed.
    pub to_sign: TbsSign,
    /// 签章者证书 (DER).
    pub cert: OctetString,
    /// Algorithm.
    pub signature_alg_id: ObjectIdentifier,
    /// DER `SM2Signature` over DER(`TBS_Sign`).
    pub signature: BitString,
    /// Time stamp on the signature.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub time_stamp: Option<BitString>,
}

/// `SES_ESPropertyInfo` of GM/T 0031-2014.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PropertyInfoV2 {
    /// 1 单位印章, 2 个人印章.
    pub kind: u32,
    /// 印章名称.
    pub name: String,
    /// 签章人证书列表.
    pub cert_list: Vec<OctetString>,
    /// 制作日期.
    pub create_date: UtcTime,
    /// 有效起始.
    pub valid_start: UtcTime,
    /// 有效终止.
    pub valid_end: UtcTime,
}

/// `SES_SealInfo` of GM/T 0031-2014.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealInfoV2 {
    /// Header.
    pub header: Header,
    /// 电子印章标识.
    pub es_id: Ia5String,
    /// Properties.
    pub property: PropertyInfoV2,
    /// Picture.
    pub picture: PictureInfo,
    /// Custom data.
    #[asn1(optional = "true")]
    pub ext_datas: Option<Vec<ExtData>>,
}

/// `SES_SignInfo ::= SEQUENCE { cert OCTET STRING, signatureAlgorithm OID, signData BIT STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignInfoV2 {
    /// 制章人证书.
    pub cert: OctetString,
    /// Algorithm.
    pub signature_algorithm: ObjectIdentifier,
    /// Signature over DER(`SES_SealInfo`).
    pub sign_data: BitString,
}

/// `SESeal` of GM/T 0031-2014.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SealV2 {
    /// Seal information.
    pub e_seal_info: SealInfoV2,
    /// The seal-maker's signature.
    pub sign_info: SignInfoV2,
}

/// `TBS_Sign` of GM/T 0031-2014.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsSignV2 {
    /// Version.
    pub version: u32,
    /// The seal.
    pub e_seal: SealV2,
    /// Signing time (a BIT STRING holding a UTCTime's text or a time stamp).
    pub time_info: BitString,
    /// SM3 of the document.
    pub data_hash: BitString,
    /// Document property.
    pub property_info: Ia5String,
    /// 签章人证书.
    pub cert: OctetString,
    /// Algorithm.
    pub signature_algorithm: ObjectIdentifier,
}

/// `SES_Signature ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }` of GM/T 0031-2014.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SignatureV2 {
    /// What is signed.
    pub to_sign: TbsSignV2,
    /// Signature over DER(`TBS_Sign`).
    pub signature: BitString,
}

/// The edition of a seal or signature, told by its structure.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Edition {
    /// GM/T 0031-2014.
    Gmt0031_2014,
    /// GB/T 38540-2020.
    Gbt38540_2020,
    /// GB/T 38540, 2025 edition (a time stamp on the seal's signature, or header version 5).
    Gbt38540_2025,
}

impl Edition {
    /// Chinese name with the standard.
    pub fn label(self) -> &'static str {
        match self {
            Edition::Gmt0031_2014 => "GM/T 0031-2014",
            Edition::Gbt38540_2020 => "GB/T 38540-2020",
            Edition::Gbt38540_2025 => "GB/T 38540-2025",
        }
    }

    /// The header version this hall writes for the edition.
    pub fn header_version(self) -> u32 {
        match self {
            Edition::Gmt0031_2014 => 2,
            Edition::Gbt38540_2020 => 4,
            Edition::Gbt38540_2025 => 5,
        }
    }
}

/// Elements of a DER SEQUENCE as raw TLVs, without decoding them.
fn elements(der: &[u8]) -> der::Result<Vec<Any>> {
    let outer = Any::from_der(der)?;
    if outer.tag() != Tag::Sequence {
        return Err(der::Error::from(der::ErrorKind::TagUnexpected {
            expected: Some(Tag::Sequence),
            actual: outer.tag(),
        }));
    }
    let mut reader = der::SliceReader::new(outer.value())?;
    let mut out = Vec::new();
    while !der::Reader::is_finished(&reader) {
        out.push(<Any as der::Decode>::decode(&mut reader)?);
    }
    Ok(out)
}

impl Edition {
    /// The edition of a DER `SESeal`, by shape: two elements whose second is a SEQUENCE
    /// (`SES_SignInfo`) is 2014; four or five with an OCTET STRING second is 2020/2025.
    pub fn of_seal(der: &[u8]) -> Option<Edition> {
        let els = elements(der).ok()?;
        match (els.len(), els.get(1).map(|a| a.tag())) {
            (2, Some(Tag::Sequence)) => Some(Edition::Gmt0031_2014),
            (4 | 5, Some(Tag::OctetString)) => {
                // The 2020 and 2025 layouts are the same but for the optional time stamp: a
                // time stamp, or a header claiming version 5, makes it the 2025 edition.
                let seal = Seal::from_der(der).ok()?;
                Some(
                    if seal.time_stamp.is_some() || seal.e_seal_info.header.version >= 5 {
                        Edition::Gbt38540_2025
                    } else {
                        Edition::Gbt38540_2020
                    },
                )
            }
            _ => None,
        }
    }

    /// The edition of a DER `SES_Signature`: two elements is 2014, four or five is 2020/2025
    /// (the embedded seal decides between those two).
    pub fn of_signature(der: &[u8]) -> Option<Edition> {
        let els = elements(der).ok()?;
        match els.len() {
            2 => Some(Edition::Gmt0031_2014),
            4 | 5 => {
                let tbs = elements(&els.first()?.to_der().ok()?).ok()?;
                Edition::of_seal(&tbs.get(1)?.to_der().ok()?)
            }
            _ => None,
        }
    }
}

/// `SES_CertList` read by `certListType`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum CertList {
    /// Certificates (DER).
    Certs(Vec<Vec<u8>>),
    /// (digest algorithm, digest) pairs.
    Digests(Vec<(String, Vec<u8>)>),
}

impl PropertyInfo {
    /// The certificate list, decoded by `certListType`.
    pub fn certs(&self) -> der::Result<CertList> {
        let der = self.cert_list.to_der()?;
        match self.cert_list_type {
            1 => Ok(CertList::Certs(
                Vec::<OctetString>::from_der(&der)?
                    .into_iter()
                    .map(|o| o.into_bytes())
                    .collect(),
            )),
            2 => Ok(CertList::Digests(
                Vec::<CertDigestObj>::from_der(&der)?
                    .into_iter()
                    .map(|d| (d.kind.to_string(), d.value.into_bytes()))
                    .collect(),
            )),
            _ => Err(der::Error::from(der::ErrorKind::Value {
                tag: Tag::Integer,
            })),
        }
    }
}
