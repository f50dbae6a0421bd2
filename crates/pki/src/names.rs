//! Distinguished names and time fields. (The identifiers of the order, 统一社会信用代码 and
//! 身份证号码, are `domain`'s parsed types; their check characters are computed there only.)
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
/// countryName and serialNumber are PrintableString (RFC 5280 Appendix A.1, `X520countryName`,
/// `X520SerialNumber`); the other
/// attributes are UTF8String (RFC 5280 §4.1.2.4: "CAs MUST use UTF8String" for new certificates).
pub fn build_name(attrs: &[(der::asn1::ObjectIdentifier, &str)]) -> Result<Name> {
    let mut rdns = Vec::with_capacity(attrs.len());
    for (oid_, value) in attrs {
        let any = if *oid_ == oid::AT_C || *oid_ == oid::AT_SERIAL_NUMBER {
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

#[cfg(test)]
mod tests {
    use super::*;
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
