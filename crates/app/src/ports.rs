//! The narrow interfaces the use cases need from the outside world: storage, one trait per
//! concern (the `store` crate implements each on SQLite and PostgreSQL, one SQL file per
//! trait), and the SMS provider (`gateways`). The storage traits of orders, identity, the
//! desk and payments sit beside their use cases.

use crate::clock::Millis;
use crate::error::{GatewayError, StoreError};
use crate::model::*;
use async_trait::async_trait;
use domain::Phone;

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Whether the database answers (for `/readyz`).
#[async_trait]
pub trait Health: Send + Sync {
    /// Answers when the database does.
    async fn ping(&self) -> StoreResult<()>;
}

/// Rate limits, kept in the database so they hold across nodes.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one hit on `key` in the fixed window starting at `window_start` and returns the
    /// number of hits in that window including this one.
    async fn hit_counter(&self, key: &str, window_start: Millis) -> StoreResult<i64>;
    /// The hits on `key` in the window starting at `window_start`, without adding one.
    async fn counter(&self, key: &str, window_start: Millis) -> StoreResult<i64>;
}

/// SMS verification codes (only their keyed hashes).
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Time the newest code for this phone and purpose was issued.
    async fn last_code_at(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
    ) -> StoreResult<Option<Millis>>;
    /// Stores a new code (voiding earlier unused ones of the same phone and purpose) and its
    /// effects (the SMS carrying it).
    async fn insert_code(&self, code: NewCode, effects: Effects) -> StoreResult<()>;
    /// The newest unused code for this phone and purpose.
    async fn active_code(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
    ) -> StoreResult<Option<StoredCode>>;
    /// Counts one try on an unused, unexpired code that has had fewer than `max_attempts`
    /// tries, in one statement, and returns this try's number (1…`max_attempts`); `None`
    /// when the code is used, expired or out of tries. A guess is compared only after its try
    /// was counted, so parallel guesses cannot compare more than `max_attempts` times.
    async fn take_attempt(
        &self,
        code_id: i64,
        now: Millis,
        max_attempts: i64,
    ) -> StoreResult<Option<i64>>;
    /// Marks the code used if it still is unused and unexpired; true if this call used it
    /// (so two requests cannot both use one code).
    async fn use_code(&self, code_id: i64, now: Millis) -> StoreResult<bool>;
}

/// Applicant accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The account of this mobile number.
    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>>;
    /// An account by id.
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// Creates the account of this number, or returns the existing one (races included).
    async fn create_user(
        &self,
        phone: &Phone,
        password_hash: Option<&str>,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<User>;
    /// Sets or replaces the password.
    async fn set_user_password(
        &self,
        user_id: i64,
        hash: &str,
        effects: Effects,
    ) -> StoreResult<()>;
    /// Records a failed password login; locks the account until `lock_until` once the count
    /// reaches `lock_after`. Returns the new count.
    async fn user_login_failed(
        &self,
        user_id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64>;
    /// Clears failures after a good login.
    async fn user_login_ok(&self, user_id: i64) -> StoreResult<()>;
    /// Moves the account to a new number; `Duplicate` if that number has an account.
    async fn change_user_phone(
        &self,
        user_id: i64,
        phone: &Phone,
        effects: Effects,
    ) -> StoreResult<()>;
}

/// Staff accounts.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Number of staff accounts.
    async fn staff_count(&self) -> StoreResult<i64>;
    /// Creates a staff account; `Duplicate` if the name is taken.
    async fn create_staff(&self, staff: NewStaff, effects: Effects) -> StoreResult<Staff>;
    /// A staff account by login name.
    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<Staff>>;
    /// A staff account by id.
    async fn staff_by_id(&self, id: i64) -> StoreResult<Option<Staff>>;
    /// All staff accounts, by id.
    async fn list_staff(&self) -> StoreResult<Vec<Staff>>;
    /// Disables or enables an account; disabling also ends its sessions.
    async fn set_staff_disabled(
        &self,
        id: i64,
        disabled: bool,
        effects: Effects,
    ) -> StoreResult<()>;
    /// Records a failed staff login (same rules as applicants).
    async fn staff_login_failed(
        &self,
        id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64>;
    /// Clears failures and remembers the TOTP step used, if it is newer than the last one;
    /// false if the step was already used (replay).
    async fn staff_login_ok(&self, id: i64, totp_step: i64) -> StoreResult<bool>;
}

/// Sessions of applicants and staff.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn create_session(&self, session: &SessionRecord, effects: Effects) -> StoreResult<()>;
    /// A session by token hash.
    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Moves `last_seen_at`.
    async fn touch_session(&self, token_hash: &str, now: Millis) -> StoreResult<()>;
    /// Ends one session.
    async fn delete_session(&self, token_hash: &str, effects: Effects) -> StoreResult<()>;
    /// Ends every session of a principal; returns how many.
    async fn delete_sessions_of(&self, principal: Principal, effects: Effects) -> StoreResult<u64>;
}

/// The audit log (an SM3 hash chain).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends rows alone (when no other state changes).
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<()>;
    /// Rows with `seq < before` (or the newest), newest first.
    async fn audit_page(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRow>>;
    /// Every row, oldest first, plus the head the store keeps.
    async fn audit_all(&self) -> StoreResult<(Vec<AuditRow>, Option<AuditHead>)>;
    /// The MAC a row (or the head) at `seq` with `hash` must carry, with the key outside the
    /// database.
    fn audit_mac(&self, seq: i64, hash: &str) -> String;
}

/// The SMS outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Newest outbox rows first.
    async fn outbox_page(&self, limit: i64) -> StoreResult<Vec<OutboxSms>>;
    /// Sent messages to one phone through one provider, newest first.
    async fn outbox_for_phone(&self, phone: &Phone, limit: i64) -> StoreResult<Vec<OutboxSms>>;
    /// One outbox row.
    async fn outbox_sms(&self, id: i64) -> StoreResult<Option<OutboxSms>>;
    /// Records the provider's acceptance.
    async fn sms_sent(
        &self,
        id: i64,
        provider: &str,
        provider_ref: &str,
        now: Millis,
    ) -> StoreResult<()>;
    /// Records a provider error; `final_failure` marks the row failed.
    async fn sms_error(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        final_failure: bool,
    ) -> StoreResult<()>;
    /// Replaces the parameters of a delivered outbox SMS by none (PINs are not kept after
    /// delivery).
    async fn redact_sms_params(&self, outbox_id: i64) -> StoreResult<()>;
}

/// The background job queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Claims the oldest due job for `lease` ms (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    async fn claim_job(&self, now: Millis, lease: Millis) -> StoreResult<Option<Job>>;
    /// Marks a job done.
    async fn job_done(&self, id: i64, now: Millis) -> StoreResult<()>;
    /// Records a failure: retried at `retry_at`, or failed for good when `None`.
    async fn job_failed(&self, id: i64, error: &str, retry_at: Option<Millis>) -> StoreResult<()>;
    /// Jobs, newest first, optionally of one status.
    async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>>;
    /// Puts a failed job back in the queue.
    async fn retry_job(&self, id: i64, now: Millis, effects: Effects) -> StoreResult<()>;
    /// Queues a job of any kind.
    async fn enqueue_job(
        &self,
        kind: &str,
        payload: serde_json::Value,
        run_at: Millis,
    ) -> StoreResult<i64>;
}

/// A message ready for a provider.
#[derive(Debug, Clone)]
pub struct SmsMessage {
    /// Recipient.
    pub phone: Phone,
    /// Template name (providers map it to their template id).
    pub template: String,
    /// Parameters in template order.
    pub params: Vec<(String, String)>,
    /// The full text as the recipient reads it.
    pub text: String,
}

/// What a provider returns for an accepted message.
#[derive(Debug, Clone)]
pub struct SmsReceipt {
    /// The provider's message id.
    pub provider_ref: String,
}

/// An SMS provider (sandbox or a cloud SMS API).
#[async_trait]
pub trait Sms: Send + Sync {
    /// Provider name as configured (`sandbox`, `tencent`…).
    fn name(&self) -> &'static str;
    /// True for the sandbox, whose messages are readable at `/sandbox/sms`.
    fn is_sandbox(&self) -> bool;
    /// Sends one message.
    async fn send(&self, msg: &SmsMessage) -> Result<SmsReceipt, GatewayError>;
}
