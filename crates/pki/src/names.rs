//! Distinguished names, time fields and the identifiers of the order that go into certificates.
//!
//! ```asn1
//! Name ::= CHOICE { rdnSequence RDNSequence }                 -- RFC 5280 §4.1.2.4
//! RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
//! RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
//! Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }   -- RFC 5280 §4.1.2.5
//! ```

use crate::error::{PkiError, Result};
use crate::oid;
use der::asn1::{Any, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{DateTime, Tag, Tagged};
use std::time::{Duration, SystemTime};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::time::Time;

/// `ub-common-name INTEGER ::= 64` and `ub-organization-name INTEGER ::= 64` (RFC 5280 Appendix A.1).
pub const UB_NAME: usize = 64;

/// A name attribute value checked for use in a certificate: no NUL or other control
/// characters, no surrounding spaces, 1..=64 characters.
pub fn check_name_value(field: &'static str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(PkiError::profile(field, "must not be empty"));
    }
    if v.chars().count() > UB_NAME {
        return Err(PkiError::profile(
            field,
            format!("longer than {UB_NAME} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(PkiError::profile(
            field,
            "contains NUL or another control character",
        ));
    }
    if v.trim() != v {
        return Err(PkiError::profile(field, "has leading or trailing spaces"));
    }
    Ok(())
}

/// Build a Name from `(type, value)` pairs, one attribute per RDN, in the given order.
/// countryName is a PrintableString (RFC 5280 Appendix A.1, `X520countryName`); the other
/// attributes are UTF8String (RFC 5280 §4.1.2.4: "CAs MUST use UTF8String" for new certificates).
pub fn build_name(attrs: &[(der::asn1::ObjectIdentifier, &str)]) -> Result<Name> {
    let mut rdns = Vec::with_capacity(attrs.len());
    for (oid_, value) in attrs {
        let any = if *oid_ == oid::AT_C {
            Any::from(PrintableStringRef::new(value)?)
        } else {
            Any::from(Utf8StringRef::new(value)?)
        };
        let atv = AttributeTypeAndValue {
            oid: *oid_,
            value: any,
        };
        rdns.push(RelativeDistinguishedName::from(SetOfVec::try_from(vec![
            atv,
        ])?));
    }
    Ok(RdnSequence(rdns))
}

/// Read the string values of a name, for display and lints (value bytes of UTF8String,
/// PrintableString, IA5String, BMPString is refused).
pub fn name_values(name: &Name) -> Vec<(der::asn1::ObjectIdentifier, String)> {
    let mut out = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            let s = match atv.value.tag() {
                Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
                    String::from_utf8_lossy(atv.value.value()).into_owned()
                }
                _ => String::from("<non-string>"),
            };
            out.push((atv.oid, s));
        }
    }
    out
}

/// A one-line rendering of a name (`CN=…, O=…, C=…`), for logs of the CA's own names and CLI output.
pub fn display_name(name: &Name) -> String {
    name.to_string()
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub fn x509_time(t: SystemTime) -> Result<Time> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| PkiError::profile("time", "before 1970"))?;
    let d = Duration::from_secs(d.as_secs());
    let dt = DateTime::from_unix_duration(d)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    }
}

/// `t` plus `years` calendar years (29 February becomes 28 February), whole seconds.
pub fn add_years(t: SystemTime, years: u16) -> Result<SystemTime> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| PkiError::profile("time", "before 1970"))?;
    let dt = DateTime::from_unix_duration(Duration::from_secs(d.as_secs()))?;
    let y = dt.year() + years;
    let day = if dt.month() == 2 && dt.day() == 29 {
        28
    } else {
        dt.day()
    };
    let nd = DateTime::new(y, dt.month(), day, dt.hour(), dt.minutes(), dt.seconds())?;
    Ok(nd.to_system_time())
}

/// Unix seconds of a time field.
pub fn unix_secs(t: &Time) -> u64 {
    t.to_unix_duration().as_secs()
}

/// 统一社会信用代码, 18 characters with the GB 32100-2015 §4 check character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uscc(String);

impl Uscc {
    /// Parse and check the GB 32100 check character.
    pub fn parse(s: &str) -> Result<Self> {
        const CS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const W: [u32; 17] = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(PkiError::profile(
                "uscc",
                "统一社会信用代码 must be 18 characters",
            ));
        }
        let mut sum = 0u32;
        for (i, c) in b.iter().enumerate() {
            let v = CS.iter().position(|x| x == c).ok_or_else(|| {
                PkiError::profile(
                    "uscc",
                    "统一社会信用代码 has a character outside GB 32100's set",
                )
            })? as u32;
            if i < 17 {
                sum += v * W[i];
            } else {
                let check = (31 - sum % 31) % 31;
                if v != check {
                    return Err(PkiError::profile(
                        "uscc",
                        "统一社会信用代码 check character is wrong",
                    ));
                }
            }
        }
        Ok(Self(s.to_string()))
    }
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 公民身份号码, 18 characters with the GB 11643-1999 §6.2 check character.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdNumber(***)")
    }
}

impl IdNumber {
    /// Parse and check the ISO 7064 MOD 11-2 check character.
    pub fn parse(s: &str) -> Result<Self> {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const C: &[u8] = b"10X98765432";
        let b = s.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(PkiError::profile(
                "id_number",
                "身份证号码 must be 17 digits and a check character",
            ));
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(W)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        if C[(sum % 11) as usize] != b[17].to_ascii_uppercase() {
            return Err(PkiError::profile(
                "id_number",
                "身份证号码 check character is wrong",
            ));
        }
        Ok(Self(s.to_ascii_uppercase()))
    }
    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn uscc_and_id_check_digits() {
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert!(Uscc::parse("91350100M000100Y44").is_err());
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("110105194912310021").is_err());
    }
    #[test]
    fn leap_day_plus_one_year() {
        let t = DateTime::new(2024, 2, 29, 1, 2, 3)
            .unwrap()
            .to_system_time();
        let u = add_years(t, 1).unwrap();
        let d = DateTime::from_system_time(u).unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2025, 2, 28));
    }
}
