//! 我的证书 (issue 14): every certificate the account's orders produced and every certificate
//! of this CA the account claimed, with its status (有效 / 即将到期 / 已过期 / 已吊销) and
//! what may be done with it now; and the proof of possession that claiming (and renewing)
//! rests on: a single-use challenge valid for five minutes on the injected clock, answered by
//! the old certificate's serial, a new PKCS#10 request and an SM3withSM2 signature by the old
//! key over SM3(challenge ‖ DER(CSR)). The CA checks what needs `pki` (the port
//! [`CertAuthority::prove`]); this service decides, consumes the challenge and keeps the claim.

use crate::clock::{Millis, DAY, MINUTE};
use crate::desk::{
    CaCertificate, CertAuthority, PossessionProof, PossessionRefusal, ProductionStore,
};
use crate::model::Effects;
use crate::orders::OrderBook;
use crate::ports::StoreResult;
use crate::{AppError, AppResult};
use async_trait::async_trait;
use domain::order::OrderState;
use domain::CertType;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a challenge may be answered.
pub const CHALLENGE_TTL: Millis = 5 * MINUTE;
/// Random octets in a challenge.
pub const CHALLENGE_LEN: usize = 32;
/// How many days before notAfter a certificate counts as 即将到期.
pub const EXPIRING_DAYS: i64 = 90;

/// What a challenge is for (a challenge answers only the purpose it was made for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Claiming a certificate into 我的证书.
    Claim,
    /// Renewing a certificate.
    Renew,
}

impl Purpose {
    /// Stored name.
    pub fn key(self) -> &'static str {
        match self {
            Purpose::Claim => "claim",
            Purpose::Renew => "renew",
        }
    }
    /// Parses the stored or posted name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "claim" => Some(Purpose::Claim),
            "renew" => Some(Purpose::Renew),
            _ => None,
        }
    }
}

/// What taking a challenge found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// It was open and is now used.
    Taken,
    /// It had been used before.
    Used,
    /// Its five minutes had passed.
    Expired,
    /// No such challenge for this account and purpose.
    Unknown,
}

/// A certificate claimed by an account.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Signing certificate serial (hex, upper case).
    pub serial: String,
    /// When.
    pub claimed_at: Millis,
}

/// Persistence of challenges and claims. Each method is one transaction.
#[async_trait]
pub trait CertStore: Send + Sync {
    /// Stores a challenge by its SHA-256 (hex) for `user_id` and `purpose`.
    async fn put_challenge(
        &self,
        user_id: i64,
        purpose: &str,
        hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// Marks the challenge used if it is open (one conditional update: of two answers at
    /// once one wins), else says why not.
    async fn take_challenge(
        &self,
        user_id: i64,
        purpose: &str,
        hash: &str,
        now: Millis,
    ) -> StoreResult<Taken>;
    /// Records that `user_id` claimed `serial`, with `effects`, unless it is claimed already;
    /// returns the account holding the claim after the call.
    async fn claim_certificate(
        &self,
        user_id: i64,
        serial: &str,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<i64>;
    /// The certificates an account claimed, oldest first.
    async fn claims_of_user(&self, user_id: i64) -> StoreResult<Vec<Claimed>>;
    /// Every certificate a reminder may concern: (account, signing serial) of each issued
    /// order line and each claim.
    async fn reminder_candidates(&self) -> StoreResult<Vec<(i64, String)>>;
    /// Records the `days` reminder of `serial` and commits `effects` (its SMS) with it, unless
    /// it was recorded before; true when it was new.
    async fn remind(
        &self,
        user_id: i64,
        serial: &str,
        days: i64,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<bool>;
}

/// Job kind: the daily expiry reminders.
pub const REMIND: &str = "certs.remind";
/// Days before notAfter a reminder goes out.
pub const REMINDER_DAYS: [i64; 3] = [90, 30, 7];
/// SMS template of the reminder.
pub const REMINDER_SMS: &str = "cert_expiry";

/// The reminder step due `left` milliseconds before notAfter: the smallest of
/// [`REMINDER_DAYS`] not yet passed (a step skipped while the worker was down is not sent
/// late next to a nearer one); none once expired.
pub fn reminder_due(left: Millis) -> Option<i64> {
    if left <= 0 {
        return None;
    }
    let mut days = REMINDER_DAYS;
    days.sort_unstable();
    days.into_iter().find(|d| left <= d * DAY)
}

/// A certificate's status on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// 有效.
    Valid,
    /// 即将到期 (within [`EXPIRING_DAYS`] of notAfter).
    Expiring,
    /// 已过期.
    Expired,
    /// 已吊销.
    Revoked,
}

impl CertStatus {
    /// What 我的证书 shows.
    pub fn label(self) -> &'static str {
        match self {
            CertStatus::Valid => "有效",
            CertStatus::Expiring => "即将到期",
            CertStatus::Expired => "已过期",
            CertStatus::Revoked => "已吊销",
        }
    }
    /// Machine name (API).
    pub fn key(self) -> &'static str {
        match self {
            CertStatus::Valid => "valid",
            CertStatus::Expiring => "expiring",
            CertStatus::Expired => "expired",
            CertStatus::Revoked => "revoked",
        }
    }
    /// The status of `c` at `now`.
    pub fn of(c: &CaCertificate, now: Millis) -> Self {
        if c.revoked_at.is_some() {
            CertStatus::Revoked
        } else if now > c.not_after {
            CertStatus::Expired
        } else if c.not_after - now <= EXPIRING_DAYS * DAY {
            CertStatus::Expiring
        } else {
            CertStatus::Valid
        }
    }
}

/// Where a certificate in 我的证书 came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Produced by this order of the account (业务单号, line).
    Order(String, i64),
    /// Claimed by serial with proof of possession.
    Claimed(Millis),
}

/// An action 我的证书 offers for a certificate now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 下载证书 (the signing certificate, PEM).
    Download,
}

impl Action {
    /// Button text.
    pub fn label(self) -> &'static str {
        match self {
            Action::Download => "下载证书",
        }
    }
    /// Machine name (API).
    pub fn key(self) -> &'static str {
        match self {
            Action::Download => "download",
        }
    }
}

/// One row of 我的证书.
#[derive(Debug, Clone)]
pub struct MyCert {
    /// 机构证书 or 机构个人证书.
    pub kind: CertType,
    /// Holder: the unit, or unit · person (no ID number).
    pub holder: String,
    /// The signing certificate as the CA holds it.
    pub cert: CaCertificate,
    /// The encryption certificate's serial, when known.
    pub enc_serial: Option<String>,
    /// Status now.
    pub status: CertStatus,
    /// Where it came from.
    pub source: Source,
    /// What may be done now.
    pub actions: Vec<Action>,
    /// The route a renewal would take now (实时续期, 人工审核续期 or none).
    pub renewal: domain::renewal::Route,
    /// When the 实时续期 window opens and closes (ms).
    pub window: (Millis, Millis),
    /// Bid openings still ahead bound to this certificate or its encryption certificate,
    /// earliest first (renewing before them would make those bids unopenable).
    pub bids: Vec<crate::bids::BidOpening>,
}

/// A challenge handed out.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The random octets, hex (what the token signs, decoded).
    pub hex: String,
    /// Until when it may be answered.
    pub expires_at: Millis,
}

/// What the holder sends back.
#[derive(Debug, Clone, Default)]
pub struct ProofInput {
    /// The old (current) signing certificate's serial, hex.
    pub serial: String,
    /// The certificate itself (PEM), optional: lets the hall tell another CA's certificate
    /// from an unknown serial.
    pub certificate: Option<String>,
    /// The challenge, hex.
    pub challenge: String,
    /// The new request (PEM or DER).
    pub csr: Vec<u8>,
    /// DER `SM2Signature` by the old key over SM3(challenge ‖ DER(CSR)).
    pub signature: Vec<u8>,
}

/// A proof that passed: the certificate proved and the new request (DER).
#[derive(Debug, Clone)]
pub struct Proven {
    /// The old certificate.
    pub cert: CaCertificate,
    /// The checked request, DER.
    pub csr_der: Vec<u8>,
}

fn hash_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Normalises a typed serial: hex digits, upper case, `:` and spaces dropped.
pub fn normalise_serial(s: &str) -> AppResult<String> {
    let clean: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if clean.is_empty()
        || clean.len() > 40
        || !clean.len().is_multiple_of(2)
        || !clean.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(AppError::invalid(
            "serial",
            "证书序列号应为十六进制数字(最多40位)",
        ));
    }
    Ok(clean)
}

/// 我的证书 and the proof of possession.
#[derive(Clone)]
pub struct Certificates {
    pub(crate) book: OrderBook,
    pub(crate) lines: Arc<dyn ProductionStore>,
    pub(crate) store: Arc<dyn CertStore>,
    pub(crate) ca: Option<Arc<dyn CertAuthority>>,
    pub(crate) users: Arc<dyn crate::ports::UserStore>,
    pub(crate) window: domain::renewal::RenewalWindow,
    pub(crate) bids: Arc<dyn crate::bids::BidCalendar>,
}

impl Certificates {
    /// Sends the expiry reminders due now (SMS to the account's phone through the outbox,
    /// with the bid warning and where to renew), each step of each certificate once; returns
    /// how many were queued.
    pub async fn send_reminders(&self) -> AppResult<usize> {
        let Some(ca) = self.ca.as_ref() else {
            return Ok(0);
        };
        let now = self.book.now();
        let mut n = 0;
        for (user_id, serial) in self.store.reminder_candidates().await? {
            let Some(cert) = ca.certificate(&serial).await.map_err(gateway)? else {
                continue;
            };
            if cert.revoked_at.is_some() {
                continue;
            }
            let Some(days) = reminder_due(cert.not_after - now) else {
                continue;
            };
            let Some(user) = self.users.user_by_id(user_id).await? else {
                continue;
            };
            let date = app_day(cert.not_after);
            let sms = crate::model::OutgoingSms {
                phone: user.phone.clone(),
                template: REMINDER_SMS.into(),
                params: vec![
                    ("name".into(), cert.holder.clone()),
                    ("kind".into(), cert.kind.label().into()),
                    ("serial".into(), serial.clone()),
                    ("date".into(), date),
                    ("days".into(), days.to_string()),
                ],
                order_no: None,
                queued_at: now,
            };
            let audit = self.book.audit_event(
                "system".into(),
                "certificate.reminder",
                format!("cert:{serial}"),
                None,
                serde_json::json!({ "serial": serial, "days": days }),
            );
            let fx = Effects {
                audit: vec![audit],
                sms: vec![sms],
            };
            if self.store.remind(user_id, &serial, days, now, fx).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    fn ca(&self) -> AppResult<&Arc<dyn CertAuthority>> {
        self.ca
            .as_ref()
            .ok_or_else(|| AppError::Conflict("本网厅未配置CA服务,暂不能办理证书业务".into()))
    }

    /// Every certificate of the account: those its orders produced (in order of the
    /// orders, newest first, and their lines), then those it claimed.
    pub async fn mine(&self, user_id: i64) -> AppResult<Vec<MyCert>> {
        let Some(ca) = self.ca.as_ref() else {
            return Ok(Vec::new());
        };
        let now = self.book.now();
        let mut out = Vec::new();
        for o in self.book.store.orders_of_user(user_id).await? {
            if !matches!(
                o.state,
                OrderState::Issued | OrderState::Shipped | OrderState::Completed
            ) {
                continue;
            }
            let a = self.book.application(&o)?;
            let unit = a.unit_name.as_str().to_owned();
            for l in self.lines.cert_lines(o.id).await? {
                let Some(serial) = l.sign_serial.clone() else {
                    continue;
                };
                let Some(cert) = ca.certificate(&serial).await.map_err(gateway)? else {
                    continue;
                };
                let holder = match usize::try_from(l.line).ok().and_then(|i| a.line_holder(i)) {
                    Some(p) => format!("{unit} · {}", p.name.as_str()),
                    None => unit.clone(),
                };
                out.push(self.row(
                    l.kind,
                    holder,
                    cert,
                    l.enc_serial.clone(),
                    Source::Order(o.no.to_string(), l.line),
                    now,
                ));
            }
        }
        for c in self.store.claims_of_user(user_id).await? {
            if let Some(cert) = ca.certificate(&c.serial).await.map_err(gateway)? {
                let kind = cert.kind;
                let holder = cert.holder.clone();
                out.push(self.row(kind, holder, cert, None, Source::Claimed(c.claimed_at), now));
            }
        }
        self.attach_bids(&mut out, now).await;
        Ok(out)
    }

    /// Asks the bid calendar once for every serial of `certs`. An unreachable platform
    /// leaves the lists empty (the page still shows the warning in words).
    async fn attach_bids(&self, certs: &mut [MyCert], now: Millis) {
        let serials: Vec<String> = certs
            .iter()
            .flat_map(|c| std::iter::once(c.cert.serial.clone()).chain(c.enc_serial.clone()))
            .collect();
        if serials.is_empty() {
            return;
        }
        let all = match self.bids.openings(&serials).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(provider = self.bids.name(), error = %e, "bid calendar unreachable");
                return;
            }
        };
        for c in certs.iter_mut() {
            let mine: Vec<_> = all
                .iter()
                .filter(|o| o.serial == c.cert.serial || Some(&o.serial) == c.enc_serial.as_ref())
                .cloned()
                .collect();
            c.bids = crate::bids::ahead(mine, now);
        }
    }

    fn row(
        &self,
        kind: CertType,
        holder: String,
        cert: CaCertificate,
        enc_serial: Option<String>,
        source: Source,
        now: Millis,
    ) -> MyCert {
        let status = CertStatus::of(&cert, now);
        let renewal = self
            .window
            .route(cert.not_after, cert.revoked_at.is_some(), now);
        let window = self.window.bounds(cert.not_after);
        MyCert {
            renewal,
            window,
            bids: Vec::new(),
            kind,
            holder,
            enc_serial,
            status,
            source,
            actions: vec![Action::Download],
            cert,
        }
    }

    /// One certificate of the account by serial (its PEM for 下载证书); anyone else's is
    /// answered like a missing one.
    pub async fn my_certificate(&self, user_id: i64, serial: &str) -> AppResult<MyCert> {
        let serial = normalise_serial(serial).map_err(|_| AppError::NotFound)?;
        self.mine(user_id)
            .await?
            .into_iter()
            .find(|c| c.cert.serial == serial)
            .ok_or(AppError::NotFound)
    }

    /// A new challenge for `purpose`, valid for [`CHALLENGE_TTL`].
    pub async fn challenge(&self, user_id: i64, purpose: Purpose) -> AppResult<Challenge> {
        self.ca()?;
        let mut b = [0u8; CHALLENGE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let now = self.book.now();
        let expires_at = now + CHALLENGE_TTL;
        self.store
            .put_challenge(user_id, purpose.key(), &hash_hex(&b), now, expires_at)
            .await?;
        Ok(Challenge {
            hex: hex::encode(b),
            expires_at,
        })
    }

    /// Checks a proof of possession for `purpose`: the challenge is consumed first (a
    /// refused proof uses it up too), then the CA checks the serial, the request and the
    /// signature, and the request must ask for the old certificate's subject.
    pub async fn prove(
        &self,
        user_id: i64,
        purpose: Purpose,
        input: &ProofInput,
    ) -> AppResult<Proven> {
        let ca = self.ca()?.clone();
        let serial = normalise_serial(&input.serial)?;
        let challenge = hex::decode(input.challenge.trim())
            .ok()
            .filter(|c| c.len() == CHALLENGE_LEN)
            .ok_or_else(|| AppError::invalid("challenge", "挑战码格式不正确,请重新获取"))?;
        if input.csr.is_empty() {
            return Err(AppError::invalid("csr", "请提交新的证书请求(PKCS#10)"));
        }
        if input.signature.is_empty() {
            return Err(AppError::invalid("signature", "请提交原证书私钥的签名"));
        }
        let now = self.book.now();
        match self
            .store
            .take_challenge(user_id, purpose.key(), &hash_hex(&challenge), now)
            .await?
        {
            Taken::Taken => {}
            Taken::Used => {
                return Err(AppError::invalid(
                    "challenge",
                    "挑战码已使用过,每个挑战码只能使用一次,请重新获取",
                ))
            }
            Taken::Expired => {
                return Err(AppError::invalid(
                    "challenge",
                    "挑战码已过期(有效期5分钟),请重新获取",
                ))
            }
            Taken::Unknown => return Err(AppError::invalid("challenge", "挑战码无效,请重新获取")),
        }
        let proof = PossessionProof {
            serial: serial.clone(),
            certificate: input.certificate.clone().filter(|c| !c.trim().is_empty()),
            challenge,
            csr: input.csr.clone(),
            signature: input.signature.clone(),
        };
        match ca.prove(&proof).await {
            Ok(p) => Ok(p),
            Err(r) => Err(match r {
                PossessionRefusal::OtherCa => {
                    AppError::invalid("serial", "该证书不是本CA签发的,不能在本网厅认领或续期")
                }
                PossessionRefusal::Unknown => {
                    AppError::invalid("serial", format!("本CA没有序列号为 {serial} 的签名证书"))
                }
                PossessionRefusal::Revoked => {
                    AppError::invalid("serial", "该证书已吊销,不能认领或续期")
                }
                PossessionRefusal::BadCsr(m) => {
                    AppError::invalid("csr", format!("证书请求无效:{m}"))
                }
                PossessionRefusal::BadSignature => AppError::invalid(
                    "signature",
                    "签名验证失败:请用该证书的私钥(原USB Key)对挑战码和新证书请求签名",
                ),
                PossessionRefusal::SubjectDiffers => AppError::invalid(
                    "csr",
                    "新证书请求的主题与原证书不一致;证书信息有变更请办理人工审核",
                ),
                PossessionRefusal::Unavailable(m) => AppError::Unavailable(m),
            }),
        }
    }

    /// Claims a certificate of this CA into 我的证书 by serial and proof of possession.
    pub async fn claim(
        &self,
        user_id: i64,
        ip: Option<&str>,
        input: &ProofInput,
    ) -> AppResult<MyCert> {
        let proven = self.prove(user_id, Purpose::Claim, input).await?;
        let serial = proven.cert.serial.clone();
        if self
            .mine(user_id)
            .await?
            .iter()
            .any(|c| c.cert.serial == serial)
        {
            return Err(AppError::Conflict("该证书已在“我的证书”中".into()));
        }
        let now = self.book.now();
        let audit = self.book.audit_event(
            format!("user:{user_id}"),
            "certificate.claim",
            format!("cert:{serial}"),
            ip,
            serde_json::json!({ "serial": serial }),
        );
        let holder = self
            .store
            .claim_certificate(user_id, &serial, now, Effects::audit(audit))
            .await?;
        if holder != user_id {
            return Err(AppError::Conflict(
                "该证书已由其他账户认领;如需转移请联系客服".into(),
            ));
        }
        let cert = proven.cert;
        let kind = cert.kind;
        let h = cert.holder.clone();
        Ok(self.row(kind, h, cert, None, Source::Claimed(now), now))
    }
}

/// `YYYY-MM-DD` in Beijing.
/// The Beijing calendar day of `ms`, as the SMS and pages write it.
pub(crate) fn app_day(ms: Millis) -> String {
    let s = crate::clock::format_beijing(ms);
    s.split(' ').next().unwrap_or_default().to_owned()
}

fn gateway(e: crate::GatewayError) -> AppError {
    match e {
        crate::GatewayError::Unavailable(m) | crate::GatewayError::Refused(m) => {
            AppError::Unavailable(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_step_not_passed_is_due() {
        assert_eq!(reminder_due(91 * DAY), None);
        assert_eq!(reminder_due(90 * DAY), Some(90));
        assert_eq!(reminder_due(31 * DAY), Some(90));
        assert_eq!(reminder_due(30 * DAY), Some(30));
        assert_eq!(reminder_due(7 * DAY + 1), Some(30));
        assert_eq!(reminder_due(7 * DAY), Some(7));
        assert_eq!(reminder_due(1), Some(7));
        assert_eq!(reminder_due(0), None);
        assert_eq!(reminder_due(-DAY), None);
    }
}
