//! Object identifiers used by the CA, each with the clause that assigns it.

use der::asn1::ObjectIdentifier as Oid;

/// `sm2-1 OBJECT IDENTIFIER ::= { 1 2 156 10197 1 301 }` — the SM2 curve (GM/T 0006-2012 §5, GM/T 0015 §5.2.2).
pub const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
/// `SM3withSM2 ::= { 1 2 156 10197 1 501 }` — SM2 signature with SM3 (GM/T 0006-2012 Table 3).
pub const SM3_WITH_SM2: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
/// `id-ecPublicKey ::= { iso(1) member-body(2) us(840) ansi-X9-62(10045) keyType(2) 1 }` (RFC 5480 §2.1.1).
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (P-256), named only to refuse it clearly (RFC 5480 §2.1.1.1).
pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// `rsaEncryption` (RFC 8017 Appendix C), named only to refuse it clearly.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// `SM3 ::= { 1 2 156 10197 1 401 }` (GM/T 0006-2012 Table 2).
pub const SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401");
/// `SM4 ::= { 1 2 156 10197 1 104 }` (GM/T 0006-2012 Table 1; the block cipher, used in ECB by GM/T 0009 §7.4 envelopes).
pub const SM4: Oid = Oid::new_unwrap("1.2.156.10197.1.104");
/// `id-sha1` (RFC 3279 §2.2.1), accepted in OCSP CertID (RFC 6960 §4.1.1).
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// `id-sha256` (RFC 5754 §2), accepted in OCSP CertID.
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `id-pkix-ocsp-basic` (RFC 6960 §4.2.1).
pub const OCSP_BASIC: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// `id-pkix-ocsp-nonce` (RFC 6960 §4.4.1).
pub const OCSP_NONCE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// `id-ad-ocsp` (RFC 5280 §4.2.2.1).
pub const AD_OCSP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1");
/// `id-ad-caIssuers` (RFC 5280 §4.2.2.1).
pub const AD_CA_ISSUERS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.2");
/// `IdentifyCode` — 个人身份标识码 of GM/T 0015-2012 §5.2.4.2 (arc 1.2.156.10260.4.1), the
/// CHOICE of residenterCardNumber [0] / militaryOfficerCardNumber [1] / passportNumber [2];
/// emitted when the profile names the 2012 edition (XiPKI `id_GMT_0015_IdentityCode`).
pub const IDENTIFY_CODE_2012: Oid = Oid::new_unwrap("1.2.156.10260.4.1.1");
/// 居民身份证号码 (Resident Identity Card Number) of GM/T 0015-2023, its own OID under the
/// IdentifyCode arc; PrintableString (XiPKI README, "China GM/T 0015-2023"). docs/PROFILES.md.
pub const ID_CARD_2023: Oid = Oid::new_unwrap("1.2.156.10260.4.1.1.1");
/// 组织机构代码 (OrganizationCode) of GM/T 0015-2012, PrintableString (XiPKI
/// `id_GMT_0015_OrganizationCode`); deployed relying parties read the unit's 18-character code
/// here, so a profile may also emit the 统一社会信用代码 under it.
pub const ORG_CODE_2012: Oid = Oid::new_unwrap("1.2.156.10260.4.1.4");
/// 统一社会信用代码 (Unified Social Credit Code) of GM/T 0015-2023, PrintableString (XiPKI
/// README, "China GM/T 0015-2023"). docs/PROFILES.md.
pub const USCC_2023: Oid = Oid::new_unwrap("1.2.156.10260.4.4");
/// `id-at-serialNumber` (X.520; RFC 5280 Appendix A, PrintableString): the subject's identifier
/// in the DN, which makes it unique per subject entity (RFC 5280 §4.1.2.6).
pub const AT_SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
/// `id-qt-cps` (RFC 5280 §4.2.1.4): the CPS pointer qualifier.
pub const QT_CPS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.2.1");
/// `id-at-commonName` (RFC 5280 Appendix A).
pub const AT_CN: Oid = Oid::new_unwrap("2.5.4.3");
/// `id-at-countryName`.
pub const AT_C: Oid = Oid::new_unwrap("2.5.4.6");
/// `id-at-organizationName`.
pub const AT_O: Oid = Oid::new_unwrap("2.5.4.10");
/// `id-at-organizationalUnitName`.
pub const AT_OU: Oid = Oid::new_unwrap("2.5.4.11");
/// `id-ce-cRLReasons` (RFC 5280 §5.3.1).
pub const CE_CRL_REASONS: Oid = Oid::new_unwrap("2.5.29.21");
/// `id-ce-cRLNumber` (RFC 5280 §5.2.3).
pub const CE_CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
