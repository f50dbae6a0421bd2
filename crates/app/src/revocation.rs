//! The staff revocation console's vocabulary (issue 19 item 6, issue 15 item 4): the RFC 5280
//! reasons staff may choose, in Chinese, and the 说明 every revocation must carry. The use
//! case that revokes the pair, refreshes the CRL and OCSP and audits is still to come (see
//! docs/ARCHITECTURE.md, "Revocation console").

use crate::{AppError, AppResult};

/// SMS template sent to the handler when a certificate pair is revoked.
pub const REVOKED_SMS: &str = "cert_revoked";
/// Most characters a 说明 may have.
pub const NOTE_MAX: usize = 200;

/// An RFC 5280 §5.3.1 reason a staff member may choose. certificateHold is not offered (a
/// hold cannot be told apart from a revocation by most relying parties, and the hall has no
/// 解冻 business); privilegeWithdrawn and the CA reasons are not for subscriber certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// 密钥泄露 (keyCompromise): the key is never certified again.
    KeyCompromise,
    /// 信息变更 (affiliationChanged).
    AffiliationChanged,
    /// 被取代 (superseded).
    Superseded,
    /// 停止使用 (cessationOfOperation).
    CessationOfOperation,
    /// 未指定 (unspecified).
    Unspecified,
}

impl RevokeReason {
    /// Every reason, in the order the form lists them.
    pub const ALL: [RevokeReason; 5] = [
        RevokeReason::KeyCompromise,
        RevokeReason::AffiliationChanged,
        RevokeReason::Superseded,
        RevokeReason::CessationOfOperation,
        RevokeReason::Unspecified,
    ];
    /// What the form and the SMS say.
    pub fn label(self) -> &'static str {
        match self {
            RevokeReason::KeyCompromise => "密钥泄露",
            RevokeReason::AffiliationChanged => "信息变更",
            RevokeReason::Superseded => "被取代",
            RevokeReason::CessationOfOperation => "停止使用",
            RevokeReason::Unspecified => "未指定",
        }
    }
    /// The RFC 5280 name (form value, API, audit).
    pub fn key(self) -> &'static str {
        match self {
            RevokeReason::KeyCompromise => "keyCompromise",
            RevokeReason::AffiliationChanged => "affiliationChanged",
            RevokeReason::Superseded => "superseded",
            RevokeReason::CessationOfOperation => "cessationOfOperation",
            RevokeReason::Unspecified => "unspecified",
        }
    }
    /// The posted reason; anything else (certificateHold included) is refused beside the field.
    pub fn parse(s: &str) -> AppResult<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.key() == s.trim())
            .ok_or_else(|| AppError::invalid("reason", "请从列表中选择注销原因"))
    }
}

/// Checks the 说明: 1–[`NOTE_MAX`] characters after trimming, no control characters.
pub fn check_note(s: &str) -> AppResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(AppError::invalid("note", "请填写注销说明"));
    }
    if t.chars().count() > NOTE_MAX {
        return Err(AppError::invalid(
            "note",
            format!("注销说明不能超过{NOTE_MAX}个字"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(AppError::invalid(
            "note",
            "注销说明含有不可见字符,请重新填写",
        ));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_five_offered_and_hold_is_refused() {
        for r in RevokeReason::ALL {
            assert_eq!(RevokeReason::parse(r.key()).ok(), Some(r));
        }
        for bad in ["certificateHold", "removeFromCRL", "", "密钥泄露", "6"] {
            assert!(
                matches!(
                    RevokeReason::parse(bad),
                    Err(AppError::Invalid {
                        field: "reason",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert_eq!(RevokeReason::KeyCompromise.label(), "密钥泄露");
    }

    #[test]
    fn the_note_is_required_and_bounded() {
        for bad in ["", "   ", "\u{7}abc"] {
            assert!(
                matches!(
                    check_note(bad),
                    Err(AppError::Invalid { field: "note", .. })
                ),
                "{bad:?}"
            );
        }
        assert!(check_note(&"字".repeat(NOTE_MAX + 1)).is_err());
        assert_eq!(
            check_note(&"字".repeat(NOTE_MAX))
                .ok()
                .map(|s| s.chars().count()),
            Some(NOTE_MAX)
        );
        assert_eq!(
            check_note("  USB Key 丢失 ").ok().as_deref(),
            Some("USB Key 丢失")
        );
    }
}
