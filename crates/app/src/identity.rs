//! 经办人在线认证 (issue 5; spec B7, C1–C3, I2): the PC page shows a QR code for a one-time
//! link bound to the order; the handler's phone claims it, uploads the ID card photos, passes
//! a liveness check ([`IdentityCheck`]), and the carrier three-element check
//! ([`CarrierCheck`]) runs for the handler and every 机构个人证书 applicant. When all pass, the
//! order moves 待认证 → 待支付 through the order door ([`crate::orders::door`]). A provider outage changes nothing
//! (the user is asked to try again); a failure leaves the order in 待认证 with the reason.

use crate::blobs::Blobs;
use crate::clock::{Millis, DAY, MINUTE};
use crate::error::GatewayError;
use crate::orders::{OrderBook, OrderRecord};
use crate::ports::{AuditStore, LimitStore, StoreResult};
use crate::{uploads, AppError, AppResult};
use async_trait::async_trait;
use domain::order::{OrderState, Wanted};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Job kind: delete ID photos of completed orders past the retention period.
pub const PURGE_PHOTOS: &str = "identity.purge_photos";

/// How long a phone that claimed a link may take to finish.
pub const PHONE_SESSION: Millis = 30 * MINUTE;

/// Where an attempt (one QR code) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptStatus {
    /// QR shown, not scanned yet.
    Issued,
    /// A phone claimed the link (已扫码).
    Scanned,
    /// Both ID photos are in (证件已上传).
    Uploaded,
    /// Identity and carrier checks passed (认证通过).
    Passed,
    /// A check said no (认证失败); the reason is in the result.
    Failed,
    /// Replaced by a newer QR code.
    Superseded,
}

impl AttemptStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Scanned => "scanned",
            Self::Uploaded => "uploaded",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Issued,
            Self::Scanned,
            Self::Uploaded,
            Self::Passed,
            Self::Failed,
            Self::Superseded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// What the PC page says.
    pub fn label(self) -> &'static str {
        match self {
            Self::Issued => "等待扫码",
            Self::Scanned => "已扫码",
            Self::Uploaded => "证件已上传",
            Self::Passed => "认证通过",
            Self::Failed => "认证失败",
            Self::Superseded => "二维码已更新",
        }
    }

    /// Still in progress (a phone may act on it).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Issued | Self::Scanned | Self::Uploaded)
    }
}

/// The carrier check of one number.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CarrierLine {
    /// 经办人 or 申请人N.
    pub role: String,
    /// The number, masked.
    pub phone_masked: String,
    /// Whether the carrier's record matched name and ID number.
    pub matched: bool,
    /// The provider's reference.
    pub provider_ref: String,
}

/// The outcome of an attempt (sealed at rest).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttemptResult {
    /// Why it failed, in Chinese (empty when passed).
    pub reason: String,
    /// Identity provider name.
    pub provider: String,
    /// The identity provider's reference.
    pub provider_ref: String,
    /// Carrier checks, in order (empty when the face check already failed).
    pub carrier: Vec<CarrierLine>,
}

/// One QR code and what the phone did with it.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Row id.
    pub id: i64,
    /// The order.
    pub order_id: i64,
    /// Where it stands.
    pub status: AttemptStatus,
    /// Bumped by every update (optimistic concurrency).
    pub version: i64,
    /// The link's secret (only for drawing the same QR again on the owner's PC page).
    pub token: String,
    /// SHA-256 of the secret cookie of the phone that claimed the link.
    pub phone_hash: Option<String>,
    /// Created.
    pub created_at: Millis,
    /// The link dies at this time if unscanned.
    pub expires_at: Millis,
    /// When a phone claimed it.
    pub scanned_at: Option<Millis>,
    /// When the checks ended.
    pub finished_at: Option<Millis>,
    /// Blob of the 人像面 photo (gone after retention).
    pub front_blob: Option<String>,
    /// SHA-256 of the 人像面 photo (kept).
    pub front_sha256: Option<String>,
    /// Blob of the 国徽面 photo.
    pub back_blob: Option<String>,
    /// SHA-256 of the 国徽面 photo.
    pub back_sha256: Option<String>,
    /// The identity provider's liveness session.
    pub biz_token: Option<String>,
    /// The outcome.
    pub result: Option<AttemptResult>,
    /// When the retention job deleted the photos.
    pub photos_purged_at: Option<Millis>,
}

/// Persistence of attempts. Each method is one transaction.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Creates an attempt (status `issued`) and marks the order's open ones superseded.
    async fn new_attempt(
        &self,
        order_id: i64,
        token_hash: &str,
        token: &str,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<Attempt>;
    /// The attempt whose link secret hashes to `token_hash`.
    async fn attempt_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Attempt>>;
    /// The newest attempt of an order.
    async fn latest_attempt(&self, order_id: i64) -> StoreResult<Option<Attempt>>;
    /// Claims an `issued`, unexpired attempt for the phone whose cookie hashes to
    /// `phone_hash`; true for exactly one caller.
    async fn claim_attempt(&self, id: i64, phone_hash: &str, now: Millis) -> StoreResult<bool>;
    /// Writes status, photos, liveness session, result, times if the row still has
    /// `a.version`; false otherwise (nothing written).
    async fn update_attempt(&self, a: &Attempt) -> StoreResult<bool>;
    /// Attempts still holding photos whose order is `completed` since before `before`.
    async fn photos_to_purge(&self, before: Millis, limit: i64) -> StoreResult<Vec<Attempt>>;
}

/// One person for the liveness check.
#[derive(Clone, Debug)]
pub struct LivenessRequest {
    /// Name as on the ID card.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// Absolute URL the provider sends the phone back to.
    pub redirect_url: String,
    /// The same, as a path on this hall (the sandbox uses it).
    pub redirect_path: String,
}

/// A liveness session opened at the provider.
#[derive(Clone, Debug)]
pub struct LivenessStart {
    /// The provider's session id (Tencent's BizToken).
    pub biz_token: String,
    /// Where the phone goes to do the liveness check.
    pub url: String,
}

/// The provider's verdict on face and ID.
#[derive(Clone, Debug)]
pub struct IdentityOutcome {
    /// Liveness passed and the face matched the ID's record.
    pub passed: bool,
    /// Why not, in Chinese.
    pub reason: String,
    /// The provider's reference (request id / order).
    pub provider_ref: String,
}

/// Face / liveness against the ID (C3): a sandbox and real providers.
#[async_trait]
pub trait IdentityCheck: Send + Sync {
    /// Provider name as configured.
    fn name(&self) -> &'static str;
    /// Opens a liveness session.
    async fn start(&self, req: &LivenessRequest) -> Result<LivenessStart, GatewayError>;
    /// The result of a finished session.
    async fn outcome(
        &self,
        biz_token: &str,
        req: &LivenessRequest,
    ) -> Result<IdentityOutcome, GatewayError>;
}

/// The carrier's answer for one number.
#[derive(Clone, Debug)]
pub struct CarrierOutcome {
    /// Name, ID number and number match the carrier's real-name record.
    pub matched: bool,
    /// The carrier cannot check this number at all (Tencent's `-13`, 该号段不支持验证: some
    /// virtual-operator ranges): final for the number, retrying does not help.
    pub unsupported_number: bool,
    /// The provider's reference.
    pub provider_ref: String,
}

/// 实名电信认证: name + ID number + mobile against the carrier (C2).
#[async_trait]
pub trait CarrierCheck: Send + Sync {
    /// Provider name as configured.
    fn name(&self) -> &'static str;
    /// Checks the three elements.
    async fn check(
        &self,
        name: &str,
        id_number: &str,
        phone: &str,
    ) -> Result<CarrierOutcome, GatewayError>;
}

/// Limits of the identity step (`[identity]` in configuration).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityPolicy {
    /// Minutes a QR link lives unscanned.
    pub link_minutes: i64,
    /// Liveness attempts per order per Beijing day.
    pub attempts_per_day: i64,
    /// QR codes per order per Beijing day.
    pub links_per_day: i64,
    /// Days after completion before the ID photos are deleted.
    pub retention_days: i64,
}

impl Default for IdentityPolicy {
    fn default() -> Self {
        Self {
            link_minutes: 10,
            attempts_per_day: 5,
            links_per_day: 30,
            retention_days: 30,
        }
    }
}

/// The identity providers and limits the binary configures.
#[derive(Clone)]
pub struct IdentityParts {
    /// Face / liveness.
    pub check: Arc<dyn IdentityCheck>,
    /// Carrier three elements.
    pub carrier: Arc<dyn CarrierCheck>,
    /// Limits.
    pub policy: IdentityPolicy,
}

/// What the PC page and its JSON show.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityView {
    /// `issued`, `scanned`, `uploaded`, `passed`, `failed`, `expired`.
    pub status: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// Failure reason.
    pub reason: String,
    /// Carrier lines (masked numbers).
    pub carrier: Vec<CarrierLine>,
    /// The link dies at this time (ms) while unscanned.
    pub expires_at: Millis,
    /// The order passed this step (下一步 enabled).
    pub passed: bool,
    /// Where 下一步 leads: the payment page while the order waits for payment (待支付 /
    /// 待金融认证), otherwise the order page.
    pub next: String,
    /// The link's secret, for drawing the QR (only while `issued`).
    #[serde(skip)]
    pub token: Option<String>,
}

/// What a reviewer sees of an order's 经办人在线认证: its newest attempt, as recorded.
#[derive(Clone, Debug)]
pub struct StaffIdentity {
    /// Where the attempt stands.
    pub status: AttemptStatus,
    /// When the checks ended (None while open).
    pub finished_at: Option<Millis>,
    /// Identity provider name (`sandbox`, `tencent`…).
    pub provider: String,
    /// The identity provider's reference.
    pub provider_ref: String,
    /// Why it failed (empty when passed).
    pub reason: String,
    /// Carrier checks per person (masked numbers).
    pub carrier: Vec<CarrierLine>,
    /// The 人像面 photo is still held.
    pub front: bool,
    /// The 国徽面 photo is still held.
    pub back: bool,
    /// When the retention job deleted the photos.
    pub photos_purged_at: Option<Millis>,
}

/// The FAQ (二) advice shown beside a number the carrier check refused.
pub const CARRIER_ADVICE: &str = "请登录该手机号码对应的电信运营商APP,在个人账户信息中查找实名认证结果,与网上营业厅所填写信息进行对比;如不符,请先联系电信运营商进行实名信息认证后再重新认证。";

/// What the user reads when a provider is down.
pub const UNAVAILABLE: &str = "认证服务暂时不可用,请稍后重试(业务单状态未改变)";

/// Either way nothing was decided: the user is asked to try again, the cause is logged at the
/// edge (a refusal usually means a configuration error the operator must see).
fn unavailable(e: GatewayError) -> AppError {
    match e {
        GatewayError::Unavailable(cause) => AppError::Unavailable(cause),
        GatewayError::Refused(cause) => AppError::Unavailable(format!("refused: {cause}")),
    }
}

/// What the applicant reads when the carrier cannot check a number at all: retrying does not
/// help, another number does.
pub fn unsupported_number_reason(roles: &[String]) -> String {
    format!(
        "实名电信认证无法进行({}):该手机号码所属号段不支持实名核验,重新认证也不会通过。\
         提交后的业务单不能再修改手机号码:请取消本业务单,重新办理并填写本人实名登记的\
         中国移动、中国联通或中国电信手机号码;如需帮助请联系客服",
        roles.join("、")
    )
}

fn link_dead() -> AppError {
    AppError::Conflict("二维码已过期或已被使用,请在电脑端点击“刷新二维码”后重新扫码".into())
}

/// 经办人在线认证: the PC page's QR link, the phone's steps, the checks, and what reviewers
/// see of it.
#[derive(Clone)]
pub struct Verification {
    pub(crate) book: OrderBook,
    pub(crate) store: Arc<dyn IdentityStore>,
    pub(crate) check: Arc<dyn IdentityCheck>,
    pub(crate) carrier: Arc<dyn CarrierCheck>,
    pub(crate) policy: IdentityPolicy,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) limits: Arc<dyn LimitStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
}

impl Verification {
    /// The liveness provider's name (`sandbox`, `tencent`…).
    pub fn provider_name(&self) -> &'static str {
        self.check.name()
    }

    fn now(&self) -> Millis {
        self.book.now()
    }

    fn view_of(&self, o: &OrderRecord, a: Option<&Attempt>) -> IdentityView {
        let passed = !matches!(
            o.state,
            OrderState::Draft | OrderState::PendingVerification | OrderState::Cancelled
        );
        let now = self.now();
        let next = if matches!(
            o.state,
            OrderState::PendingPayment | OrderState::PendingFinancial
        ) {
            format!("/orders/{}/payment", o.no)
        } else {
            format!("/orders/{}", o.no)
        };
        let Some(a) = a else {
            return IdentityView {
                status: if passed { "passed" } else { "expired" },
                label: if passed {
                    "认证通过"
                } else {
                    "二维码已过期"
                },
                reason: String::new(),
                carrier: vec![],
                expires_at: 0,
                passed,
                next,
                token: None,
            };
        };
        let (status, label) = if passed {
            ("passed", "认证通过")
        } else if a.status == AttemptStatus::Issued && a.expires_at <= now
            || a.status == AttemptStatus::Superseded
            || a.status.is_open()
                && a.status != AttemptStatus::Issued
                && a.scanned_at.unwrap_or(0) + PHONE_SESSION <= now
        {
            ("expired", "二维码已过期")
        } else {
            (a.status.as_str(), a.status.label())
        };
        let result = a.result.clone().unwrap_or_default();
        IdentityView {
            status,
            label,
            reason: result.reason,
            carrier: result.carrier,
            expires_at: a.expires_at,
            passed,
            next,
            token: (status == "issued").then(|| a.token.clone()),
        }
    }

    async fn issue_link(&self, o: &OrderRecord) -> AppResult<Attempt> {
        let p = &self.policy;
        let day_start = {
            let now = self.now();
            now - (now + 8 * 3_600_000).rem_euclid(DAY)
        };
        let hits = self
            .limits
            .hit_counter(&format!("identity.link:{}", o.id), day_start)
            .await?;
        if hits > p.links_per_day {
            return Err(AppError::RateLimited(
                "今日二维码刷新次数已达上限,请明日再试".into(),
            ));
        }
        let token = crate::secrets::random_hex(32);
        let now = self.now();
        Ok(self
            .store
            .new_attempt(
                o.id,
                &crate::secrets::token_hash(&token),
                &token,
                now,
                now + p.link_minutes.max(1) * MINUTE,
            )
            .await?)
    }

    /// The PC page: the applicant's order in 待认证 (or past it) and its identity status. The
    /// first visit creates the QR link.
    pub async fn page(&self, user_id: i64, no: &str) -> AppResult<IdentityView> {
        let o = self.book.mine(user_id, no).await?;
        match o.state {
            OrderState::Draft => {
                return Err(AppError::Conflict(
                    "请先完成申请资料的填写和上传并提交".into(),
                ))
            }
            OrderState::Cancelled => return Err(AppError::Conflict("业务单已取消".into())),
            _ => {}
        }
        let mut a = self.store.latest_attempt(o.id).await?;
        if a.is_none() && o.state == OrderState::PendingVerification {
            a = Some(self.issue_link(&o).await?);
        }
        Ok(self.view_of(&o, a.as_ref()))
    }

    /// The status for the PC page's polling (never creates anything).
    pub async fn status(&self, user_id: i64, no: &str) -> AppResult<IdentityView> {
        let o = self.book.mine(user_id, no).await?;
        if matches!(o.state, OrderState::Draft | OrderState::Cancelled) {
            return Err(AppError::NotFound);
        }
        let a = self.store.latest_attempt(o.id).await?;
        Ok(self.view_of(&o, a.as_ref()))
    }

    /// 刷新二维码: a new link; earlier ones die.
    pub async fn renew_link(&self, user_id: i64, no: &str) -> AppResult<IdentityView> {
        let o = self.book.mine(user_id, no).await?;
        o.state
            .require(&[OrderState::PendingVerification], Wanted::Verify)?;
        let a = self.issue_link(&o).await?;
        Ok(self.view_of(&o, Some(&a)))
    }

    /// The phone opened the link: claims it for this phone. Returns the phone's secret
    /// (its cookie). A wrong, tampered or other order's token is `NotFound`; an expired or
    /// used one a `Conflict` saying so.
    pub async fn claim_link(&self, no: &str, token: &str) -> AppResult<String> {
        let o = self.book.get(no).await?;
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::NotFound);
        }
        let a = self
            .store
            .attempt_by_token_hash(&crate::secrets::token_hash(token))
            .await?
            .filter(|a| a.order_id == o.id)
            .ok_or(AppError::NotFound)?;
        if a.status != AttemptStatus::Issued
            || a.expires_at <= self.now()
            || o.state != OrderState::PendingVerification
        {
            return Err(link_dead());
        }
        let secret = crate::secrets::random_hex(32);
        if !self
            .store
            .claim_attempt(a.id, &crate::secrets::token_hash(&secret), self.now())
            .await?
        {
            return Err(link_dead());
        }
        Ok(secret)
    }

    /// The attempt the phone holding `secret` works on, if it is still its turn.
    pub async fn phone_attempt(&self, no: &str, secret: &str) -> AppResult<(OrderRecord, Attempt)> {
        let o = self.book.get(no).await?;
        let a = self
            .store
            .latest_attempt(o.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mine = a.phone_hash.as_deref().is_some_and(|h| {
            crate::secrets::constant_time_eq(h, &crate::secrets::token_hash(secret))
        });
        if !mine {
            return Err(AppError::NotFound);
        }
        if a.status.is_open() && a.scanned_at.unwrap_or(0) + PHONE_SESSION <= self.now() {
            return Err(AppError::Conflict(
                "认证已超时,请在电脑端点击“刷新二维码”后重新扫码".into(),
            ));
        }
        Ok((o, a))
    }

    async fn open_phone_attempt(
        &self,
        no: &str,
        secret: &str,
    ) -> AppResult<(OrderRecord, Attempt)> {
        let (o, a) = self.phone_attempt(no, secret).await?;
        if !a.status.is_open() || o.state != OrderState::PendingVerification {
            return Err(AppError::Conflict(
                "本次认证已结束,请查看PC端继续操作".into(),
            ));
        }
        Ok((o, a))
    }

    async fn update(&self, a: &Attempt) -> AppResult<()> {
        if self.store.update_attempt(a).await? {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "认证信息已在其他页面更新,请刷新页面".into(),
            ))
        }
    }

    /// The phone uploads the ID card's 人像面 (`front`) or 国徽面 (`back`).
    pub async fn phone_upload(
        &self,
        no: &str,
        secret: &str,
        side: &str,
        bytes: &[u8],
    ) -> AppResult<()> {
        let (_, mut a) = self.open_phone_attempt(no, secret).await?;
        if !matches!(side, "front" | "back") {
            return Err(AppError::NotFound);
        }
        let file = uploads::check("file", bytes).await?;
        if !file.mime.starts_with("image/") {
            return Err(AppError::invalid(
                "file",
                "请拍摄或选择身份证照片(JPG或PNG图片)",
            ));
        }
        let blob = self.blobs.put(file.bytes).await?;
        let old = if side == "front" {
            a.front_sha256 = Some(file.sha256);
            a.front_blob.replace(blob.clone())
        } else {
            a.back_sha256 = Some(file.sha256);
            a.back_blob.replace(blob.clone())
        };
        if a.front_blob.is_some() && a.back_blob.is_some() {
            a.status = AttemptStatus::Uploaded;
        }
        if let Err(e) = self.update(&a).await {
            let _ = self.blobs.delete(&blob).await;
            return Err(e);
        }
        if let Some(old) = old {
            let _ = self.blobs.delete(&old).await;
        }
        Ok(())
    }

    fn liveness_request(&self, o: &OrderRecord, base: &str) -> AppResult<LivenessRequest> {
        let app = self.book.application(o)?;
        let path = format!("/m/identity/{}/liveness/done", o.no);
        Ok(LivenessRequest {
            name: app.handler_name.as_str().to_owned(),
            id_number: app.handler_id.as_str().to_owned(),
            redirect_url: format!("{}{path}", base.trim_end_matches('/')),
            redirect_path: path,
        })
    }

    /// 活体认证: opens a session at the identity provider; returns where the phone goes.
    /// Counts against the daily attempt limit.
    pub async fn phone_start_liveness(
        &self,
        no: &str,
        secret: &str,
        base: &str,
    ) -> AppResult<String> {
        let (o, mut a) = self.open_phone_attempt(no, secret).await?;
        if a.status != AttemptStatus::Uploaded {
            return Err(AppError::Conflict(
                "请先上传身份证人像面和国徽面照片".into(),
            ));
        }
        let now = self.now();
        let day_start = now - (now + 8 * 3_600_000).rem_euclid(DAY);
        let hits = self
            .limits
            .hit_counter(&format!("identity.attempt:{}", o.id), day_start)
            .await?;
        if hits > self.policy.attempts_per_day {
            return Err(AppError::RateLimited(format!(
                "今日认证次数已达上限({}次),请明日再试",
                self.policy.attempts_per_day
            )));
        }
        let req = self.liveness_request(&o, base)?;
        let start = self.check.start(&req).await.map_err(unavailable)?;
        a.biz_token = Some(start.biz_token);
        self.update(&a).await?;
        Ok(start.url)
    }

    /// The provider sent the phone back: reads the liveness result, runs the carrier checks
    /// and, when everything passed, moves the order to 待支付. A provider outage returns
    /// `Unavailable` and changes nothing.
    pub async fn phone_finish_liveness(
        &self,
        no: &str,
        secret: &str,
        biz_token: &str,
        base: &str,
    ) -> AppResult<IdentityView> {
        let (o, a) = self.phone_attempt(no, secret).await?;
        if !a.status.is_open() || o.state != OrderState::PendingVerification {
            return Ok(self.view_of(&o, Some(&a)));
        }
        let mut a = a;
        if a.status != AttemptStatus::Uploaded
            || a.biz_token
                .as_deref()
                .is_none_or(|t| !crate::secrets::constant_time_eq(t, biz_token))
        {
            return Err(AppError::Conflict(
                "活体认证未完成,请重新进行活体认证".into(),
            ));
        }
        let req = self.liveness_request(&o, base)?;
        let face = self.check.outcome(biz_token, &req).await.map_err(|e| {
            tracing::warn!(order.no = %o.no, error = %e, "identity provider unavailable");
            unavailable(e)
        })?;
        let mut result = AttemptResult {
            reason: String::new(),
            provider: self.check.name().into(),
            provider_ref: face.provider_ref.clone(),
            carrier: vec![],
        };
        if !face.passed {
            result.reason = if face.reason.is_empty() {
                "活体认证未通过".into()
            } else {
                face.reason.clone()
            };
        } else {
            let app = self.book.application(&o)?;
            let mut people = vec![(
                "经办人".to_owned(),
                app.handler_name.as_str().to_owned(),
                app.handler_id.as_str().to_owned(),
                app.handler_phone.clone(),
            )];
            for (i, p) in app.persons.iter().enumerate() {
                people.push((
                    format!("申请人{}", i + 1),
                    p.name.as_str().to_owned(),
                    p.id_number.as_str().to_owned(),
                    p.phone.clone(),
                ));
            }
            let mut unsupported: Vec<String> = Vec::new();
            for (role, name, id, phone) in people {
                let c = self
                    .carrier
                    .check(&name, &id, phone.as_str())
                    .await
                    .map_err(|e| {
                        tracing::warn!(order.no = %o.no, error = %e, "carrier provider unavailable");
                        unavailable(e)
                    })?;
                if c.unsupported_number {
                    unsupported.push(role.clone());
                }
                result.carrier.push(CarrierLine {
                    role,
                    phone_masked: phone.masked(),
                    matched: c.matched,
                    provider_ref: c.provider_ref,
                });
            }
            let refused: Vec<&str> = result
                .carrier
                .iter()
                .filter(|c| !c.matched && !unsupported.contains(&c.role))
                .map(|c| c.role.as_str())
                .collect();
            if !unsupported.is_empty() {
                result.reason = unsupported_number_reason(&unsupported);
            } else if !refused.is_empty() {
                result.reason = format!(
                    "实名电信认证未通过({}):手机号码的实名信息与所填写的姓名、身份证号码不一致",
                    refused.join("、")
                );
            }
        }
        let passed = result.reason.is_empty();
        let carrier_summary = result
            .carrier
            .iter()
            .map(|c| {
                format!(
                    "{}{}(流水号 {})",
                    c.role,
                    if c.matched { "一致" } else { "不一致" },
                    c.provider_ref
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        let what = format!(
            "经办人在线认证{}:人脸核身 {}(提供方 {},流水号 {}){}{}",
            if passed { "通过" } else { "未通过" },
            if face.passed { "通过" } else { "未通过" },
            result.provider,
            result.provider_ref,
            if carrier_summary.is_empty() {
                String::new()
            } else {
                format!(";实名电信认证:{carrier_summary}")
            },
            if passed {
                String::new()
            } else {
                format!(";原因:{}", result.reason)
            },
        );
        let actor = format!("user:{}", o.user_id);
        let change = if passed {
            self.book
                .move_to(&o, OrderState::PendingPayment, actor, what)?
        } else {
            self.book.change(&o, actor, what)
        };
        self.book.save(change).await?;
        a.status = if passed {
            AttemptStatus::Passed
        } else {
            AttemptStatus::Failed
        };
        a.finished_at = Some(self.now());
        a.result = Some(result);
        self.update(&a).await?;
        let o = self.book.get(no).await?;
        Ok(self.view_of(&o, Some(&a)))
    }

    /// The real result of an order's 经办人在线认证 for staff who may review orders (None
    /// when no attempt exists, e.g. an order moved on by hand).
    pub async fn for_staff(
        &self,
        actor: &crate::authz::StaffActor,
        no: &str,
    ) -> AppResult<Option<StaffIdentity>> {
        actor.require(crate::authz::Permission::ReviewOrders)?;
        let o = self.book.get(no).await?;
        let Some(a) = self.store.latest_attempt(o.id).await? else {
            return Ok(None);
        };
        let r = a.result.unwrap_or_default();
        Ok(Some(StaffIdentity {
            status: a.status,
            finished_at: a.finished_at,
            provider: r.provider,
            provider_ref: r.provider_ref,
            reason: r.reason,
            carrier: r.carrier,
            front: a.front_blob.is_some(),
            back: a.back_blob.is_some(),
            photos_purged_at: a.photos_purged_at,
        }))
    }

    /// A photo of an order's attempt for staff who may review orders: (mime, bytes).
    pub async fn photo_for_staff(
        &self,
        actor: &crate::authz::StaffActor,
        no: &str,
        side: &str,
    ) -> AppResult<Vec<u8>> {
        actor.require(crate::authz::Permission::ReviewOrders)?;
        let o = self.book.get(no).await?;
        let a = self
            .store
            .latest_attempt(o.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let blob = match side {
            "front" => a.front_blob,
            "back" => a.back_blob,
            _ => None,
        }
        .ok_or(AppError::NotFound)?;
        let bytes = self.blobs.get(&blob).await?;
        self.audit
            .append_audit(vec![self.book.audit_event(
                actor.audit_name(),
                "identity.photo.view",
                o.no.to_string(),
                actor.ip.as_deref(),
                serde_json::json!({"side": side}),
            )])
            .await?;
        Ok(bytes)
    }

    /// The retention job: deletes ID photos of orders completed more than
    /// `retention_days` ago; the attempt keeps its result and the photos' SHA-256.
    /// Queues its next run a day later. Returns how many attempts were purged.
    pub async fn purge_photos(&self) -> Result<usize, GatewayError> {
        let err = |e: crate::StoreError| GatewayError::Unavailable(e.to_string());
        let days = self.policy.retention_days.max(0);
        let before = self.now() - days * DAY;
        let mut n = 0;
        loop {
            let batch = self.store.photos_to_purge(before, 100).await.map_err(err)?;
            if batch.is_empty() {
                break;
            }
            for mut a in batch {
                for b in [a.front_blob.take(), a.back_blob.take()]
                    .into_iter()
                    .flatten()
                {
                    self.blobs.delete(&b).await.map_err(err)?;
                }
                a.photos_purged_at = Some(self.now());
                self.store.update_attempt(&a).await.map_err(err)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_three_are_open() {
        for st in [
            AttemptStatus::Issued,
            AttemptStatus::Scanned,
            AttemptStatus::Uploaded,
            AttemptStatus::Passed,
            AttemptStatus::Failed,
            AttemptStatus::Superseded,
        ] {
            assert_eq!(AttemptStatus::parse(st.as_str()), Some(st));
            assert_eq!(
                st.is_open(),
                matches!(
                    st,
                    AttemptStatus::Issued | AttemptStatus::Scanned | AttemptStatus::Uploaded
                )
            );
        }
        assert_eq!(AttemptStatus::parse("passed "), None);
    }

    #[test]
    fn outages_and_refusals_decide_nothing() {
        assert!(matches!(
            unavailable(GatewayError::Unavailable("x".into())),
            AppError::Unavailable(_)
        ));
        assert!(matches!(
            unavailable(GatewayError::Refused("x".into())),
            AppError::Unavailable(_)
        ));
    }
}
