//! 证书注销 from the staff console (issue 19 item 6, issue 15 item 4): a production clerk finds
//! a certificate by 业务单号 or serial, chooses an RFC 5280 reason and writes a 说明; the CA
//! revokes the pair (the signing certificate and its encryption certificate, whichever serial
//! was given) and publishes a CRL with both at once; OCSP answers `revoked` from the same
//! moment (it reads the revocation rows). The order's history, the audit log and the SMS to
//! the account that holds the certificate commit together after the CA answered; pressing
//! again after a crash in between finishes what the CA already did (docs/ARCHITECTURE.md,
//! "Revocation console").

use crate::authz::{Permission, StaffActor};
use crate::certificates::{normalise_serial, CertStatus};
use crate::clock::Millis;
use crate::desk::{CaCertificate, CertAuthority, ProductionStore};
use crate::model::{Effects, OutgoingSms};
use crate::orders::OrderBook;
use crate::ports::{AuditStore, UserStore};
use crate::{AppError, AppResult};
use domain::CertType;
use std::sync::Arc;

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

/// A certificate as the console lists it.
#[derive(Debug, Clone)]
pub struct ConsoleCert {
    /// The certificate as the CA holds it.
    pub cert: CaCertificate,
    /// The other certificate of its pair (from the order line), when known.
    pub partner: Option<String>,
    /// Whether it is the pair's signing certificate (`None`: not issued on an order line).
    pub signing: Option<bool>,
    /// Status now.
    pub status: CertStatus,
    /// The order and line it was issued on, if any.
    pub order: Option<(String, i64)>,
}

/// What a revocation did.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// The serial given.
    pub serial: String,
    /// The pair's other certificate, revoked with it.
    pub partner: Option<String>,
    /// Which certificate.
    pub kind: CertType,
    /// Holder.
    pub holder: String,
    /// The CRL published with them (0 when this press only finished an earlier one).
    pub crl_number: i64,
    /// The order it was issued on.
    pub order: Option<String>,
    /// Whether the account holding it was sent the SMS.
    pub sms_sent: bool,
    /// Electronic seals bound to the pair's signing certificate, marked revoked with it.
    pub seals_revoked: u64,
    /// When.
    pub at: Millis,
}

/// The revocation console's use cases.
#[derive(Clone)]
pub struct Revocations {
    pub(crate) book: OrderBook,
    pub(crate) lines: Arc<dyn ProductionStore>,
    pub(crate) ca: Option<Arc<dyn CertAuthority>>,
    pub(crate) users: Arc<dyn UserStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) seals: Arc<dyn crate::desk::SealStore>,
}

/// The history entry an order gets when a certificate of it is revoked: what a second
/// press looks for to tell a finished revocation from one the process died in.
fn history_line(serial: &str, reason: RevokeReason) -> String {
    format!("证书已注销(序列号{serial},原因:{})", reason.label())
}

fn unavailable(e: crate::GatewayError) -> AppError {
    AppError::Unavailable(e.to_string())
}

impl Revocations {
    fn ca(&self) -> AppResult<&Arc<dyn CertAuthority>> {
        self.ca
            .as_ref()
            .ok_or_else(|| AppError::Conflict("本网厅未配置CA服务,暂不能注销证书".into()))
    }

    /// The certificates of an order (by 业务单号) or the one certificate with a serial.
    /// Nothing found is an empty list; a query that is neither is refused beside the field.
    pub async fn find(&self, actor: &StaffActor, query: &str) -> AppResult<Vec<ConsoleCert>> {
        actor.require(Permission::RevokeCertificates)?;
        let ca = self.ca()?;
        let q = query.trim();
        if q.is_empty() {
            return Err(AppError::invalid("q", "请输入业务单号或证书序列号"));
        }
        let now = self.book.now();
        let mut out = Vec::new();
        if domain::OrderNo::parse(q).is_ok() {
            let o = match self.book.get(q).await {
                Ok(o) => o,
                Err(AppError::NotFound) => return Ok(out),
                Err(e) => return Err(e),
            };
            for l in self.lines.cert_lines(o.id).await? {
                for (serial, partner, signing) in [
                    (l.sign_serial.clone(), l.enc_serial.clone(), true),
                    (l.enc_serial.clone(), l.sign_serial.clone(), false),
                ] {
                    let Some(serial) = serial else { continue };
                    if let Some(cert) = ca.certificate(&serial).await.map_err(unavailable)? {
                        out.push(ConsoleCert {
                            status: CertStatus::of(&cert, now),
                            cert,
                            partner,
                            signing: Some(signing),
                            order: Some((o.no.to_string(), l.line)),
                        });
                    }
                }
            }
            return Ok(out);
        }
        let serial = normalise_serial(q).map_err(|_| {
            AppError::invalid("q", "请输入业务单号(如XB20260101001)或十六进制的证书序列号")
        })?;
        if let Some(cert) = ca.certificate(&serial).await.map_err(unavailable)? {
            let order = self.lines.line_of_serial(&serial).await?;
            let (partner, signing) = match &order {
                Some((no, line)) => {
                    let o = self.book.get(no).await?;
                    let l = self
                        .lines
                        .cert_lines(o.id)
                        .await?
                        .into_iter()
                        .find(|l| l.line == *line);
                    match l {
                        Some(l) if l.sign_serial.as_deref() == Some(serial.as_str()) => {
                            (l.enc_serial, Some(true))
                        }
                        Some(l) => (l.sign_serial, Some(false)),
                        None => (None, None),
                    }
                }
                None => (None, None),
            };
            out.push(ConsoleCert {
                status: CertStatus::of(&cert, now),
                cert,
                partner,
                signing,
                order,
            });
        }
        Ok(out)
    }

    /// Revokes the pair of `serial` for `reason` with the 说明 `note` (both checked first,
    /// each refusal beside its field); then, with one commit, the order's history entry,
    /// the audit row and the SMS to the account the order belongs to. A certificate already
    /// revoked is refused, unless its order lacks the history entry (the process stopped
    /// after the CA answered): then this press writes what was missing.
    pub async fn revoke(
        &self,
        actor: &StaffActor,
        serial: &str,
        reason: &str,
        note: &str,
    ) -> AppResult<Revoked> {
        actor.require(Permission::RevokeCertificates)?;
        let ca = self.ca()?;
        let serial = normalise_serial(serial)?;
        let reason = RevokeReason::parse(reason)?;
        let note = check_note(note)?;
        let Some(cert) = ca.certificate(&serial).await.map_err(unavailable)? else {
            return Err(AppError::invalid("serial", "本CA没有该序列号的证书"));
        };
        let order = match self.lines.line_of_serial(&serial).await? {
            Some((no, _)) => Some(self.book.get(&no).await?),
            None => None,
        };
        let entry = history_line(&serial, reason);
        let (partner, crl_number) = match cert.revoked_at {
            None => {
                let r = ca.revoke(&serial, reason).await.map_err(|e| match e {
                    crate::GatewayError::Refused(_) => {
                        AppError::Conflict("该证书已注销或不属于本CA".into())
                    }
                    other => unavailable(other),
                })?;
                (r.partner, r.crl_number)
            }
            Some(at) => {
                let finished = match &order {
                    Some(o) => self
                        .book
                        .store
                        .order_events(o.id)
                        .await?
                        .iter()
                        .any(|e| e.what.starts_with(&format!("证书已注销(序列号{serial}"))),
                    None => true,
                };
                if finished {
                    return Err(AppError::Conflict(format!(
                        "该证书已于{}注销",
                        crate::certificates::app_day(at)
                    )));
                }
                (None, 0)
            }
        };
        let now = self.book.now();
        // The unit's seals bind its signing certificate: they go with it (whichever of the
        // pair was given), before the history entry, so a second press finds them done too.
        let sign_serial = match &order {
            Some(o) => self
                .lines
                .cert_lines(o.id)
                .await?
                .into_iter()
                .find(|l| {
                    l.sign_serial.as_deref() == Some(serial.as_str())
                        || l.enc_serial.as_deref() == Some(serial.as_str())
                })
                .and_then(|l| l.sign_serial)
                .unwrap_or_else(|| serial.clone()),
            None => serial.clone(),
        };
        let seals_revoked = self.seals.revoke_seals_of(&sign_serial, now).await?;
        let audit = self.book.audit_event(
            format!("staff:{}", actor.id),
            "certificate.revoke",
            format!("cert:{serial}"),
            actor.ip.as_deref(),
            serde_json::json!({
                "serial": serial,
                "partner": partner,
                "reason": reason.key(),
                "note": note,
                "crl_number": crl_number,
                "seals_revoked": seals_revoked,
                "order": order.as_ref().map(|o| o.no.to_string()),
            }),
        );
        let mut sms_sent = false;
        match &order {
            Some(o) => {
                let sms = match self.users.user_by_id(o.user_id).await? {
                    Some(user) => vec![OutgoingSms {
                        phone: user.phone,
                        template: REVOKED_SMS.into(),
                        params: vec![
                            ("name".into(), cert.holder.clone()),
                            ("kind".into(), cert.kind.label().into()),
                            ("serial".into(), serial.clone()),
                            ("date".into(), crate::certificates::app_day(now)),
                            ("reason".into(), reason.label().into()),
                        ],
                        order_no: Some(o.no.to_string()),
                        queued_at: now,
                    }],
                    None => Vec::new(),
                };
                sms_sent = !sms.is_empty();
                let fx = Effects {
                    audit: vec![audit],
                    sms,
                };
                // The history entry keeps the order's state; if someone saved the order in
                // between (a shipment recorded…), read it again and write once more.
                let mut o = o.clone();
                for attempt in 0..3 {
                    let change = self
                        .book
                        .change(&o, format!("staff:{}", actor.id), entry.clone())
                        .effects(fx.clone());
                    match self.book.save(change).await {
                        Ok(()) => break,
                        Err(AppError::Stale) if attempt < 2 => {
                            o = self.book.get(o.no.as_str()).await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            None => self.audit.append_audit(vec![audit]).await?,
        }
        Ok(Revoked {
            serial,
            partner,
            kind: cert.kind,
            holder: cert.holder,
            crl_number,
            order: order.map(|o| o.no.to_string()),
            sms_sent,
            seals_revoked,
            at: now,
        })
    }
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
