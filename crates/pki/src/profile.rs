//! Certificate profiles of GM/T 0015-2012 (and the 2023 edition where it differs): the unit's
//! certificate (机构证书) and the person-in-unit certificate (机构个人证书), each as a signing
//! and as an encryption certificate. docs/PROFILES.md lists every field with its clause.
//!
//! The certificate kind is [`domain::CertType`], the one enum of the workspace; a profile is
//! keyed by it. The profile's own name (`org`, `org-individual`) is what the CLI's
//! `--profile`, the issuance log and docs/PROFILES.md use.

use crate::error::{PkiError, Result};
use crate::names::check_name_value;
pub use domain::{CertType, CreditCode, IdNumber};

/// The GM/T 0015 profile name of a certificate kind: `org` (机构证书) or `org-individual`
/// (机构个人证书), as in docs/PROFILES.md and the `profile` column of the issuance log.
pub fn profile_name(kind: CertType) -> &'static str {
    match kind {
        CertType::Org => "org",
        CertType::OrgPerson => "org-individual",
    }
}

/// The certificate kind of a profile name: `org` or `org-individual` (the CLI's historic
/// spelling), or the catalogue's key `org_person`.
pub fn parse_profile(name: &str) -> Result<CertType> {
    match name {
        "org" => Ok(CertType::Org),
        "org-individual" | "org_person" => Ok(CertType::OrgPerson),
        _ => Err(PkiError::profile(
            "profile",
            "must be org or org-individual",
        )),
    }
}

/// What the key is for; decides keyUsage (GM/T 0015-2012 §5.2.4.1.3, RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Usage {
    /// Signing certificate: `digitalSignature`, `nonRepudiation` (contentCommitment).
    Signing,
    /// Encryption certificate: `keyEncipherment`, `dataEncipherment`, `keyAgreement` (SM2 key
    /// exchange, e.g. TLCP; GM/T 0015 encryption certificates and the real samples carry it).
    Encryption,
}

impl Usage {
    /// Name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Signing => "sign",
            Usage::Encryption => "enc",
        }
    }
}

/// Which edition of GM/T 0015 encodes the identifier extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edition {
    /// GM/T 0015-2023 as XiPKI implements it: 统一社会信用代码 under `1.2.156.10260.4.4`, the
    /// 身份证号码 under `1.2.156.10260.4.1.1.1`, each a PrintableString.
    #[default]
    Gmt2023,
    /// GM/T 0015-2012: the 身份证号码 as `IdentifyCode ::= CHOICE { residenterCardNumber [0]
    /// PrintableString, … }` (EXPLICIT tag) under `1.2.156.10260.4.1.1`, the unit's code under
    /// 组织机构代码 `1.2.156.10260.4.1.4`.
    Gmt2012,
}

/// Which subject attribute carries the unit's 统一社会信用代码.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnitCodeInDn {
    /// `serialNumber` (X.520 2.5.4.5) of the 机构证书; a 机构个人证书 carries the person's
    /// identifier there instead (see [`PersonIdInDn`]).
    #[default]
    SerialNumber,
    /// `OU` (2.5.4.11), as SZCA's certificates carry it, in both kinds.
    Ou,
    /// Not in the DN (only in the extension): then two units of one name share a DN and the
    /// CA refuses the second.
    None,
}

/// Which subject attribute carries the 身份证号码 of a 机构个人证书.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PersonIdInDn {
    /// `serialNumber` (2.5.4.5), PrintableString.
    #[default]
    SerialNumber,
    /// Not in the DN: then two people of one name in one unit share a DN and the CA refuses
    /// the second.
    None,
}

/// The identifier extensions and the DN layout of the CA's end-entity certificates: data
/// (`[profile]` of `ca.toml`), not constants, so a CA can match what its relying platforms
/// read. The default follows GM/T 0015-2023 as XiPKI does. docs/PROFILES.md shows each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CertProfile {
    /// Encoding of the identifier extensions.
    pub edition: Edition,
    /// With the 2023 edition, also put the 统一社会信用代码 under the 2012 组织机构代码 arc
    /// `1.2.156.10260.4.1.4`, which deployed middleware reads.
    pub unit_code_2012_arc: bool,
    /// Where the DN carries the unit's code.
    pub unit_code_in_dn: UnitCodeInDn,
    /// Where the DN of a 机构个人证书 carries the person's 身份证号码.
    pub person_id_in_dn: PersonIdInDn,
}

impl CertProfile {
    /// The subject DN's `(attribute, value)` pairs for `s`, in order: C, O, [OU], CN,
    /// [serialNumber] (GM/T 0015 §5.2.2.6 for C, O, CN).
    pub fn dn<'a>(&self, s: &'a SubjectData) -> Vec<(der::asn1::ObjectIdentifier, &'a str)> {
        use crate::oid;
        let mut v = vec![(oid::AT_C, "CN"), (oid::AT_O, s.org())];
        if self.unit_code_in_dn == UnitCodeInDn::Ou {
            v.push((oid::AT_OU, s.uscc().as_str()));
        }
        match s.person() {
            None => {
                v.push((oid::AT_CN, s.org()));
                if self.unit_code_in_dn == UnitCodeInDn::SerialNumber {
                    v.push((oid::AT_SERIAL_NUMBER, s.uscc().as_str()));
                }
            }
            Some(p) => {
                v.push((oid::AT_CN, p.name()));
                if self.person_id_in_dn == PersonIdInDn::SerialNumber {
                    v.push((oid::AT_SERIAL_NUMBER, p.id_number().as_str()));
                }
            }
        }
        v
    }
}

/// The named person of a 机构个人证书.
#[derive(Debug, Clone)]
pub struct Person {
    name: String,
    id_number: IdNumber,
}

impl Person {
    /// 申请人姓名, the CN.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// 身份证号码 (GB 11643, parsed by `domain`), carried in the IdentifyCode extension.
    pub fn id_number(&self) -> &IdNumber {
        &self.id_number
    }
}

/// Subject data, taken from the approved order (never from the CSR: RFC 5280 leaves subject
/// choice to the CA, and GM/T 0015 §5.2.2.6 puts it on the CA's verification). It exists only
/// checked: names fit a certificate (RFC 5280 Appendix A, ub-name 64, no control characters),
/// the 统一社会信用代码 and 身份证号码 are the parsed `domain` types, and a person is present
/// exactly for a 机构个人证书.
#[derive(Debug, Clone)]
pub struct SubjectData {
    org: String,
    uscc: CreditCode,
    person: Option<Person>,
}

impl SubjectData {
    /// Subject data of a certificate of `kind`: `person` (name, ID number) must be given for a
    /// 机构个人证书 and only for it.
    pub fn new(
        kind: CertType,
        org: &str,
        uscc: CreditCode,
        person: Option<(&str, IdNumber)>,
    ) -> Result<Self> {
        check_name_value("org", org)?;
        let person = match (kind, person) {
            (CertType::Org, None) => None,
            (CertType::Org, Some(_)) => {
                return Err(PkiError::profile("person", "a 机构证书 names no person"))
            }
            (CertType::OrgPerson, None) => {
                return Err(PkiError::profile(
                    "person",
                    "a 机构个人证书 needs the person's name and ID number",
                ))
            }
            (CertType::OrgPerson, Some((name, id_number))) => {
                check_name_value("person", name)?;
                Some(Person {
                    name: name.to_string(),
                    id_number,
                })
            }
        };
        Ok(Self {
            org: org.to_string(),
            uscc,
            person,
        })
    }

    /// The certificate kind these data are for.
    pub fn kind(&self) -> CertType {
        if self.person.is_some() {
            CertType::OrgPerson
        } else {
            CertType::Org
        }
    }
    /// 单位名称: O, and CN for a 机构证书.
    pub fn org(&self) -> &str {
        &self.org
    }
    /// 统一社会信用代码 (GB 32100, parsed by `domain`).
    pub fn uscc(&self) -> &CreditCode {
        &self.uscc
    }
    /// The person of a 机构个人证书; `None` for a 机构证书.
    pub fn person(&self) -> Option<&Person> {
        self.person.as_ref()
    }
    /// Who the subject entity is (RFC 5280 §4.1.2.6: one DN per entity): the unit by its
    /// 统一社会信用代码, a person in a unit by both codes. Personal data: the storage keeps
    /// only a keyed hash of it.
    pub fn entity(&self) -> String {
        match &self.person {
            None => format!("org:{}", self.uscc.as_str()),
            Some(p) => format!("person:{}:{}", self.uscc.as_str(), p.id_number.as_str()),
        }
    }
}

/// The validity the order may ask for: 办理年限 1–5 years (SPEC B3).
pub fn check_years(years: u16) -> Result<()> {
    if (1..=5).contains(&years) {
        Ok(())
    } else {
        Err(PkiError::profile("years", "办理年限 must be 1 to 5 years"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_round_trip() {
        for kind in [CertType::Org, CertType::OrgPerson] {
            assert_eq!(parse_profile(profile_name(kind)).unwrap(), kind);
            assert_eq!(parse_profile(kind.key()).unwrap(), kind);
        }
        assert!(parse_profile("person").is_err());
    }
}
