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
/// `IdentifyCode` — 个人身份标识码 (GM/T 0015-2012 §5.2.4.2.9; private extension arc 1.2.156.10260.4.1).
pub const IDENTIFY_CODE: Oid = Oid::new_unwrap("1.2.156.10260.4.1.1");
/// The 统一社会信用代码 (unified social credit code, GB 32100) extension. GM/T 0015-2023 adds this
/// item to the 1.2.156.10260.4.1 arc of GM/T 0015-2012 §5.2.4.2 (which held 工商注册号 .3,
/// 组织机构代码 .4 and 税号 .5 — the three numbers the USCC replaced). See docs/PROFILES.md.
pub const USCC: Oid = Oid::new_unwrap("1.2.156.10260.4.1.6");
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
