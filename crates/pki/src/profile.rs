//! Certificate profiles of GM/T 0015-2012 (and the 2023 edition where it differs): the unit's
//! certificate (机构证书) and the person-in-unit certificate (机构个人证书), each as a signing
//! and as an encryption certificate. docs/PROFILES.md lists every field with its clause.

use crate::error::{PkiError, Result};
use crate::names::{check_name_value, IdNumber, Uscc};
use std::str::FromStr;

/// Who the certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// 机构证书: the unit itself; subject O and CN are the unit name.
    Org,
    /// 机构个人证书: a named person in the unit; subject O is the unit, CN the person.
    OrgIndividual,
}

impl Profile {
    /// The name used in the CLI, the database and docs/PROFILES.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Org => "org",
            Profile::OrgIndividual => "org-individual",
        }
    }
}

impl FromStr for Profile {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "org" => Ok(Profile::Org),
            "org-individual" => Ok(Profile::OrgIndividual),
            _ => Err(PkiError::profile(
                "profile",
                "must be org or org-individual",
            )),
        }
    }
}

/// What the key is for; decides keyUsage (GM/T 0015-2012 §5.2.4.1.3, RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Usage {
    /// Signing certificate: `digitalSignature`, `nonRepudiation` (contentCommitment).
    Signing,
    /// Encryption certificate: `keyEncipherment`, `dataEncipherment`.
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

/// The named person of a 机构个人证书.
#[derive(Debug, Clone)]
pub struct Person {
    /// 申请人姓名, the CN.
    pub name: String,
    /// 身份证号码, carried in the IdentifyCode extension.
    pub id_number: IdNumber,
}

/// Subject data, taken from the approved order (never from the CSR: RFC 5280 leaves subject
/// choice to the CA, and GM/T 0015 §5.2.2.6 puts it on the CA's verification).
#[derive(Debug, Clone)]
pub struct SubjectData {
    /// 单位名称: O, and CN for a 机构证书.
    pub org: String,
    /// 统一社会信用代码.
    pub uscc: Uscc,
    /// The person for a 机构个人证书; `None` for a 机构证书.
    pub person: Option<Person>,
}

impl SubjectData {
    /// Build and check subject data for `profile` from raw strings.
    pub fn new(
        profile: Profile,
        org: &str,
        uscc: &str,
        person: Option<(&str, &str)>,
    ) -> Result<Self> {
        check_name_value("org", org)?;
        let uscc = Uscc::parse(uscc)?;
        let person = match (profile, person) {
            (Profile::Org, None) => None,
            (Profile::Org, Some(_)) => {
                return Err(PkiError::profile("person", "a 机构证书 names no person"))
            }
            (Profile::OrgIndividual, None) => {
                return Err(PkiError::profile(
                    "person",
                    "a 机构个人证书 needs the person's name and ID number",
                ))
            }
            (Profile::OrgIndividual, Some((name, id))) => {
                check_name_value("person", name)?;
                Some(Person {
                    name: name.to_string(),
                    id_number: IdNumber::parse(id)?,
                })
            }
        };
        Ok(Self {
            org: org.to_string(),
            uscc,
            person,
        })
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
