//! Records the use cases read from and hand to the store.

use crate::clock::Millis;
use domain::Phone;
use serde::{Deserialize, Serialize};

/// What an SMS verification code may be used for; a code is bound to one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// Log in, registering the number on first use (首次登录需注册).
    Login,
    /// Reset a forgotten password.
    ResetPassword,
    /// Prove the new number when changing the account's mobile number.
    ChangePhone,
}

impl CodePurpose {
    /// Stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::ResetPassword => "reset_password",
            Self::ChangePhone => "change_phone",
        }
    }
    /// Parses the stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "login" | "register" => Some(Self::Login),
            "reset_password" => Some(Self::ResetPassword),
            "change_phone" => Some(Self::ChangePhone),
            _ => None,
        }
    }
    /// The SMS template that carries a code of this purpose.
    pub fn template(self) -> &'static str {
        match self {
            Self::Login => "login_code",
            Self::ResetPassword => "reset_code",
            Self::ChangePhone => "change_phone_code",
        }
    }
}

/// A code as stored: only its keyed hash, never the digits.
#[derive(Debug, Clone)]
pub struct StoredCode {
    /// Row id.
    pub id: i64,
    /// HMAC of the digits.
    pub code_hash: String,
    /// Wrong tries so far.
    pub attempts: i64,
    /// Issue time.
    pub created_at: Millis,
    /// Expiry time.
    pub expires_at: Millis,
    /// Set once used; a used code never works again.
    pub used_at: Option<Millis>,
}

/// A new code to store.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// The phone it was sent to.
    pub phone: Phone,
    /// What it is for.
    pub purpose: CodePurpose,
    /// HMAC of the digits.
    pub code_hash: String,
    /// Issue time.
    pub created_at: Millis,
    /// Expiry time.
    pub expires_at: Millis,
}

/// An applicant account (统一用户中心 account).
#[derive(Debug, Clone)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// The mobile number, which is also the account name.
    pub phone: Phone,
    /// argon2id PHC string, if a password was set.
    pub password_hash: Option<String>,
    /// Consecutive failed password logins.
    pub failed_logins: i64,
    /// Password login refused until then.
    pub locked_until: Option<Millis>,
    /// Registration time.
    pub created_at: Millis,
}

/// Staff roles; each staff member has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 管理员: staff accounts, configuration, audit, outbox, jobs.
    Admin,
    /// 客服/审核: reviews orders.
    Reviewer,
    /// 财务: payments, matching, refunds.
    Finance,
    /// 制证: issues certificates and posts keys.
    Production,
}

impl Role {
    /// All roles, for listings and table-driven tests.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Reviewer, Role::Finance, Role::Production];
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Reviewer => "reviewer",
            Self::Finance => "finance",
            Self::Production => "production",
        }
    }
    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// The Chinese name shown to staff.
    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "管理员",
            Self::Reviewer => "审核",
            Self::Finance => "财务",
            Self::Production => "制证",
        }
    }
}

/// A staff account.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// The one role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// TOTP secret (raw bytes), decrypted by the store.
    pub totp_secret: Vec<u8>,
    /// Last TOTP time step accepted (replay guard).
    pub totp_last_step: i64,
    /// A disabled account cannot log in; its sessions are ended.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failed_logins: i64,
    /// Login refused until then.
    pub locked_until: Option<Millis>,
    /// Creation time.
    pub created_at: Millis,
}

/// A new staff account.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// The one role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// TOTP secret (raw bytes); the store encrypts it.
    pub totp_secret: Vec<u8>,
    /// Creation time.
    pub created_at: Millis,
}

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// An applicant account.
    User(i64),
    /// A staff account.
    Staff(i64),
}

impl Principal {
    /// `user:ID` or `staff:ID`, as written in the audit log.
    pub fn audit_name(self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Staff(id) => format!("staff:{id}"),
        }
    }
}

/// A server-side session. The cookie carries the token; the database only its hash.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Whose session.
    pub principal: Principal,
    /// Creation (login) time: the absolute timeout counts from here.
    pub created_at: Millis,
    /// Last request: the idle timeout counts from here.
    pub last_seen_at: Millis,
}

/// One row to append to the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEvent {
    /// When.
    pub at: Millis,
    /// Who: `staff:ID`, `user:ID`, `anonymous`, `system`, `cli`.
    pub actor: String,
    /// What, dotted: `staff.login`, `user.login_failed`, `code.requested`…
    pub action: String,
    /// On what: `user:ID`, `staff:ID`, `order:NO`, or a keyed reference to a phone.
    pub subject: String,
    /// Client address, if the action came over HTTP.
    pub ip: Option<String>,
    /// Further facts, never personal data.
    pub detail: serde_json::Value,
}

/// A stored audit row: the event plus its place in the chain.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// 1, 2, 3… with no gaps.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
    /// Hash of the previous row (64 zeros for the first).
    pub prev_hash: String,
    /// SM3 over `prev_hash` and the row's content.
    pub hash: String,
    /// Keyed MAC over (`seq`, `hash`) with a key outside the database (rows written before
    /// the chain was keyed have none).
    pub mac: Option<String>,
}

/// The end of the audit chain as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// The last sequence number (0 for an empty log).
    pub seq: i64,
    /// The last row's hash.
    pub hash: String,
    /// Keyed MAC over (`seq`, `hash`).
    pub mac: Option<String>,
}

/// A point of the chain recorded outside the database (`DATA/audit/anchors`): the chain must
/// still reach it, with the same hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    /// Sequence number.
    pub seq: i64,
    /// That row's hash.
    pub hash: String,
}

/// An SMS to hand to the outbox in the same transaction as the state change that causes it.
#[derive(Debug, Clone)]
pub struct OutgoingSms {
    /// Recipient.
    pub phone: Phone,
    /// Template name in the SMS configuration.
    pub template: String,
    /// Template parameters in template order; may hold secrets (codes, PINs), so the store
    /// encrypts them.
    pub params: Vec<(String, String)>,
    /// Order it concerns, if any.
    pub order_no: Option<String>,
    /// When it was queued (the job runs from then on).
    pub queued_at: Millis,
}

/// Side effects that must commit with a state change, or not at all.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Audit rows to append.
    pub audit: Vec<AuditEvent>,
    /// SMS to queue (an outbox row and a send job each).
    pub sms: Vec<OutgoingSms>,
}

impl Effects {
    /// Only an audit row.
    pub fn audit(event: AuditEvent) -> Self {
        Self {
            audit: vec![event],
            sms: Vec::new(),
        }
    }
}

/// Delivery state of an outbox SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsStatus {
    /// Waiting for the worker.
    Pending,
    /// Accepted by the provider.
    Sent,
    /// Given up after retries, or refused by the provider.
    Failed,
}

impl SmsStatus {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Self {
        match s {
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
    /// Chinese label for staff pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待发送",
            Self::Sent => "已发送",
            Self::Failed => "发送失败",
        }
    }
}

/// An outbox row, decrypted.
#[derive(Debug, Clone)]
pub struct OutboxSms {
    /// Row id.
    pub id: i64,
    /// Recipient.
    pub phone: Phone,
    /// Template name.
    pub template: String,
    /// Template parameters.
    pub params: Vec<(String, String)>,
    /// Order it concerns.
    pub order_no: Option<String>,
    /// Delivery state.
    pub status: SmsStatus,
    /// Provider that took it.
    pub provider: Option<String>,
    /// Provider's message id.
    pub provider_ref: Option<String>,
    /// Last error.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: Millis,
    /// Sent at.
    pub sent_at: Option<Millis>,
}

/// State of a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting to run (possibly after a failed try).
    Pending,
    /// Claimed by a worker until its lease ends.
    Running,
    /// Finished.
    Done,
    /// Gave up after the last retry; stays visible to staff.
    Failed,
}

impl JobStatus {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
    /// Chinese label for staff pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "等待",
            Self::Running => "执行中",
            Self::Done => "完成",
            Self::Failed => "失败",
        }
    }
}

/// A background job row.
#[derive(Debug, Clone)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// What to do, e.g. `sms.send`.
    pub kind: String,
    /// Arguments (ids, never personal data).
    pub payload: serde_json::Value,
    /// State.
    pub status: JobStatus,
    /// Tries so far.
    pub attempts: i64,
    /// Not before.
    pub run_at: Millis,
    /// Last error.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: Millis,
}
