//! [`app::ports::Store`] on the shared SQL schema.

use crate::rows::{get, Tx};
use crate::{db_err, Db, Vault};
use app::audit::row_hash;
use app::clock::Millis;
use app::jobs::SEND_SMS;
use app::model::*;
use app::ports::{Store, StoreResult};
use app::StoreError;
use async_trait::async_trait;
use domain::Phone;
use sqlx::any::AnyRow;

/// The SQL implementation of the store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
    vault: Vault,
}

impl SqlStore {
    /// A store over `db`, sealing personal data with `vault`.
    pub fn new(db: Db, vault: Vault) -> Self {
        Self { db, vault }
    }

    /// The database (for migrations and checks).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The vault (for other repositories sharing the keys).
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    fn phone_hash(&self, phone: &Phone) -> String {
        self.vault.lookup_hash("phone", phone.as_str())
    }

    fn open_phone(&self, context: &str, sealed: &[u8]) -> StoreResult<Phone> {
        let s = self.vault.open_str(context, sealed)?;
        Phone::parse(&s).map_err(|_| StoreError::Other(format!("{context} holds an invalid phone")))
    }

    /// Appends audit rows and queues SMS inside `tx`.
    pub(crate) async fn apply(&self, tx: &mut Tx, effects: Effects) -> StoreResult<()> {
        for event in effects.audit {
            append_audit_row(tx, &event).await?;
        }
        for sms in effects.sms {
            let params =
                serde_json::to_string(&sms.params).map_err(|e| StoreError::Other(e.to_string()))?;
            let row = sqlx::query(
                "INSERT INTO sms_outbox (phone_hash, phone_enc, template, params_enc, order_no, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
            )
            .bind(self.phone_hash(&sms.phone))
            .bind(self.vault.seal_str("sms_outbox.phone", sms.phone.as_str())?)
            .bind(sms.template)
            .bind(self.vault.seal_str("sms_outbox.params", &params)?)
            .bind(sms.order_no)
            .bind(sms.queued_at)
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
            let id: i64 = get(&row, "id")?;
            enqueue(
                tx,
                SEND_SMS,
                serde_json::json!({ "outbox_id": id }),
                sms.queued_at,
            )
            .await?;
        }
        Ok(())
    }

    /// Counts a failed login on `table` (users or staff); at `lock_after` failures the account
    /// locks until `lock_until` and the count starts again.
    async fn login_failed(
        &self,
        table: &'static str,
        id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE {table} SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END WHERE id = $3 RETURNING failed_logins"
        );
        let row = sqlx::query(&sql)
            .bind(lock_after)
            .bind(lock_until)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let n: i64 = get(&row, "failed_logins")?;
        if n >= lock_after {
            let reset = format!("UPDATE {table} SET failed_logins = 0 WHERE id = $1");
            sqlx::query(&reset)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    fn user_from(&self, row: &AnyRow) -> StoreResult<User> {
        Ok(User {
            id: get(row, "id")?,
            phone: self.open_phone("users.phone", &get::<Vec<u8>>(row, "phone_enc")?)?,
            password_hash: get(row, "password_hash")?,
            failed_logins: get(row, "failed_logins")?,
            locked_until: get(row, "locked_until")?,
            created_at: get(row, "created_at")?,
        })
    }

    fn staff_from(&self, row: &AnyRow) -> StoreResult<Staff> {
        let role: String = get(row, "role")?;
        Ok(Staff {
            id: get(row, "id")?,
            username: get(row, "username")?,
            display_name: get(row, "display_name")?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Other(format!("unknown role {role}")))?,
            password_hash: get(row, "password_hash")?,
            totp_secret: self
                .vault
                .open("staff.totp", &get::<Vec<u8>>(row, "totp_enc")?)?,
            totp_last_step: get(row, "totp_last_step")?,
            disabled: get::<i64>(row, "disabled")? != 0,
            failed_logins: get(row, "failed_logins")?,
            locked_until: get(row, "locked_until")?,
            created_at: get(row, "created_at")?,
        })
    }

    fn outbox_from(&self, row: &AnyRow) -> StoreResult<OutboxSms> {
        let params: String = self
            .vault
            .open_str("sms_outbox.params", &get::<Vec<u8>>(row, "params_enc")?)?;
        Ok(OutboxSms {
            id: get(row, "id")?,
            phone: self.open_phone("sms_outbox.phone", &get::<Vec<u8>>(row, "phone_enc")?)?,
            template: get(row, "template")?,
            params: serde_json::from_str(&params).map_err(|e| StoreError::Other(e.to_string()))?,
            order_no: get(row, "order_no")?,
            status: SmsStatus::parse(&get::<String>(row, "status")?),
            provider: get(row, "provider")?,
            provider_ref: get(row, "provider_ref")?,
            error: get(row, "error")?,
            created_at: get(row, "created_at")?,
            sent_at: get(row, "sent_at")?,
        })
    }
}

/// Appends one audit row inside `tx`: bumps the head (taking its lock), links, hashes.
pub(crate) async fn append_audit_row(tx: &mut Tx, event: &AuditEvent) -> StoreResult<()> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    let seq: i64 = get(&head, "seq")?;
    let prev: String = get(&head, "hash")?;
    let detail = event.detail.to_string();
    let hash = row_hash(
        &prev,
        seq,
        event.at,
        &event.actor,
        &event.action,
        &event.subject,
        event.ip.as_deref(),
        &detail,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, ip, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(event.at)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(&event.subject)
    .bind(event.ip.clone())
    .bind(detail)
    .bind(prev)
    .bind(&hash)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Queues a job inside `tx`.
pub(crate) async fn enqueue(
    tx: &mut Tx,
    kind: &str,
    payload: serde_json::Value,
    run_at: Millis,
) -> StoreResult<i64> {
    let row = sqlx::query("INSERT INTO jobs (kind, payload, status, attempts, run_at, created_at) VALUES ($1, $2, 'pending', 0, $3, $4) RETURNING id")
        .bind(kind)
        .bind(payload.to_string())
        .bind(run_at)
        .bind(run_at)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    get(&row, "id")
}

fn job_from(row: &AnyRow) -> StoreResult<Job> {
    let payload: String = get(row, "payload")?;
    Ok(Job {
        id: get(row, "id")?,
        kind: get(row, "kind")?,
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Other(e.to_string()))?,
        status: JobStatus::parse(&get::<String>(row, "status")?),
        attempts: get(row, "attempts")?,
        run_at: get(row, "run_at")?,
        last_error: get(row, "last_error")?,
        created_at: get(row, "created_at")?,
    })
}

fn audit_from(row: &AnyRow) -> StoreResult<AuditRow> {
    let detail: String = get(row, "detail")?;
    Ok(AuditRow {
        seq: get(row, "seq")?,
        event: AuditEvent {
            at: get(row, "at")?,
            actor: get(row, "actor")?,
            action: get(row, "action")?,
            subject: get(row, "subject")?,
            ip: get(row, "ip")?,
            // Kept as stored text: an unparsable detail is itself evidence of tampering.
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        },
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

const USER_COLS: &str = "id, phone_enc, password_hash, failed_logins, locked_until, created_at";
const STAFF_COLS: &str = "id, username, display_name, role, password_hash, totp_enc, totp_last_step, disabled, failed_logins, locked_until, created_at";
const OUTBOX_COLS: &str = "id, phone_enc, template, params_enc, order_no, status, provider, provider_ref, error, created_at, sent_at";
const JOB_COLS: &str = "id, kind, payload, status, attempts, run_at, last_error, created_at";
const AUDIT_COLS: &str = "seq, at, actor, action, subject, ip, detail, prev_hash, hash";

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn hit_counter(&self, key: &str, window_start: Millis) -> StoreResult<i64> {
        // Keys may contain phones or addresses: only their keyed hash is stored.
        let row = sqlx::query(
            "INSERT INTO rate_counters (counter_key, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (counter_key) DO UPDATE SET \
               hits = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.hits + 1 ELSE 1 END, \
               window_start = excluded.window_start \
             RETURNING hits",
        )
        .bind(self.vault.lookup_hash("counter", key))
        .bind(window_start)
        .fetch_one(&self.db.pool)
        .await
        .map_err(db_err)?;
        get(&row, "hits")
    }

    async fn last_code_at(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
    ) -> StoreResult<Option<Millis>> {
        let row = sqlx::query(
            "SELECT MAX(created_at) AS t FROM sms_codes WHERE phone_hash = $1 AND purpose = $2",
        )
        .bind(self.phone_hash(phone))
        .bind(purpose.as_str())
        .fetch_one(&self.db.pool)
        .await
        .map_err(db_err)?;
        get(&row, "t")
    }

    async fn insert_code(&self, code: NewCode, effects: Effects) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let ph = self.phone_hash(&code.phone);
        // An earlier unused code stops working when a new one is sent.
        sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE phone_hash = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(code.created_at)
            .bind(&ph)
            .bind(code.purpose.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO sms_codes (phone_hash, purpose, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, $3, 0, $4, $5)")
            .bind(&ph)
            .bind(code.purpose.as_str())
            .bind(&code.code_hash)
            .bind(code.created_at)
            .bind(code.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn active_code(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
    ) -> StoreResult<Option<StoredCode>> {
        let row = sqlx::query(
            "SELECT id, code_hash, attempts, created_at, expires_at, used_at FROM sms_codes \
             WHERE phone_hash = $1 AND purpose = $2 AND used_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(self.phone_hash(phone))
        .bind(purpose.as_str())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok(StoredCode {
                id: get(&r, "id")?,
                code_hash: get(&r, "code_hash")?,
                attempts: get(&r, "attempts")?,
                created_at: get(&r, "created_at")?,
                expires_at: get(&r, "expires_at")?,
                used_at: get(&r, "used_at")?,
            })
        })
        .transpose()
    }

    async fn code_failed(&self, code_id: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
        )
        .bind(code_id)
        .fetch_one(&self.db.pool)
        .await
        .map_err(db_err)?;
        get(&row, "attempts")
    }

    async fn use_code(&self, code_id: i64, now: Millis, max_attempts: i64) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND attempts < $3 AND expires_at > $1")
            .bind(now)
            .bind(code_id)
            .bind(max_attempts)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE phone_hash = $1"
        ))
        .bind(self.phone_hash(phone))
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.user_from(&r)).transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.user_from(&r)).transpose()
    }

    async fn create_user(
        &self,
        phone: &Phone,
        password_hash: Option<&str>,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<User> {
        let mut tx = self.db.begin().await?;
        let ph = self.phone_hash(phone);
        let existing = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE phone_hash = $1"
        ))
        .bind(&ph)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(r) = existing {
            return self.user_from(&r);
        }
        let row = sqlx::query(&format!(
            "INSERT INTO users (phone_hash, phone_enc, password_hash, failed_logins, created_at) VALUES ($1, $2, $3, 0, $4) RETURNING {USER_COLS}"
        ))
        .bind(&ph)
        .bind(self.vault.seal_str("users.phone", phone.as_str())?)
        .bind(password_hash.map(str::to_owned))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let user = self.user_from(&row)?;
        let mut effects = effects;
        for e in &mut effects.audit {
            if e.subject == "new" {
                e.subject = format!("user:{}", user.id);
            }
        }
        self.apply(&mut tx, effects).await?;
        match tx.commit().await {
            Ok(()) => Ok(user),
            // Two first logins of one number at once (PostgreSQL): the other one won.
            Err(e) => match db_err(e) {
                StoreError::Duplicate(_) => {
                    self.user_by_phone(phone).await?.ok_or(StoreError::NotFound)
                }
                other => Err(other),
            },
        }
    }

    async fn set_user_password(
        &self,
        user_id: i64,
        hash: &str,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn user_login_failed(
        &self,
        user_id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64> {
        self.login_failed("users", user_id, lock_after, lock_until, effects)
            .await
    }

    async fn user_login_ok(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn change_user_phone(
        &self,
        user_id: i64,
        phone: &Phone,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE users SET phone_hash = $1, phone_enc = $2 WHERE id = $3")
            .bind(self.phone_hash(phone))
            .bind(self.vault.seal_str("users.phone", phone.as_str())?)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn staff_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM staff")
            .fetch_one(&self.db.pool)
            .await
            .map_err(db_err)?;
        get(&row, "n")
    }

    async fn create_staff(&self, staff: NewStaff, effects: Effects) -> StoreResult<Staff> {
        let mut tx = self.db.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO staff (username, display_name, role, password_hash, totp_enc, totp_last_step, disabled, failed_logins, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6) RETURNING {STAFF_COLS}"
        ))
        .bind(&staff.username)
        .bind(&staff.display_name)
        .bind(staff.role.as_str())
        .bind(&staff.password_hash)
        .bind(self.vault.seal("staff.totp", &staff.totp_secret)?)
        .bind(staff.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let created = self.staff_from(&row)?;
        let mut effects = effects;
        for e in &mut effects.audit {
            e.subject = format!("staff:{}", created.id);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(&format!(
            "SELECT {STAFF_COLS} FROM staff WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.staff_from(&r)).transpose()
    }

    async fn staff_by_id(&self, id: i64) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.staff_from(&r)).transpose()
    }

    async fn list_staff(&self) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query(&format!("SELECT {STAFF_COLS} FROM staff ORDER BY id"))
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| self.staff_from(r)).collect()
    }

    async fn set_staff_disabled(
        &self,
        id: i64,
        disabled: bool,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("UPDATE staff SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            sqlx::query(
                "DELETE FROM sessions WHERE principal_kind = 'staff' AND principal_id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn staff_login_failed(
        &self,
        id: i64,
        lock_after: i64,
        lock_until: Millis,
        effects: Effects,
    ) -> StoreResult<i64> {
        self.login_failed("staff", id, lock_after, lock_until, effects)
            .await
    }

    async fn staff_login_ok(&self, id: i64, totp_step: i64) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE staff SET failed_logins = 0, locked_until = NULL, totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(totp_step)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn create_session(&self, session: &SessionRecord, effects: Effects) -> StoreResult<()> {
        let (kind, pid) = match session.principal {
            Principal::User(id) => ("user", id),
            Principal::Staff(id) => ("staff", id),
        };
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO sessions (token_hash, principal_kind, principal_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&session.token_hash)
            .bind(kind)
            .bind(pid)
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query("SELECT token_hash, principal_kind, principal_id, created_at, last_seen_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            let kind: String = get(&r, "principal_kind")?;
            let id: i64 = get(&r, "principal_id")?;
            Ok(SessionRecord {
                token_hash: get(&r, "token_hash")?,
                principal: if kind == "staff" {
                    Principal::Staff(id)
                } else {
                    Principal::User(id)
                },
                created_at: get(&r, "created_at")?,
                last_seen_at: get(&r, "last_seen_at")?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str, effects: Effects) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_sessions_of(&self, principal: Principal, effects: Effects) -> StoreResult<u64> {
        let (kind, pid) = match principal {
            Principal::User(id) => ("user", id),
            Principal::Staff(id) => ("staff", id),
        };
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2")
            .bind(kind)
            .bind(pid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r.rows_affected())
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        self.apply(
            &mut tx,
            Effects {
                audit: events,
                sms: Vec::new(),
            },
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn audit_page(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_from).collect()
    }

    async fn audit_all(&self) -> StoreResult<(Vec<AuditRow>, Option<(i64, String)>)> {
        let rows = sqlx::query(&format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY seq"))
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        let head = head
            .map(|h| Ok::<_, StoreError>((get(&h, "seq")?, get(&h, "hash")?)))
            .transpose()?;
        Ok((
            rows.iter().map(audit_from).collect::<StoreResult<_>>()?,
            head,
        ))
    }

    async fn outbox_page(&self, limit: i64) -> StoreResult<Vec<OutboxSms>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM sms_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.outbox_from(r)).collect()
    }

    async fn outbox_for_phone(&self, phone: &Phone, limit: i64) -> StoreResult<Vec<OutboxSms>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM sms_outbox WHERE phone_hash = $1 AND status = 'sent' AND provider = 'sandbox' ORDER BY id DESC LIMIT $2"
        ))
        .bind(self.phone_hash(phone))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.outbox_from(r)).collect()
    }

    async fn outbox_sms(&self, id: i64) -> StoreResult<Option<OutboxSms>> {
        let row = sqlx::query(&format!(
            "SELECT {OUTBOX_COLS} FROM sms_outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.outbox_from(&r)).transpose()
    }

    async fn sms_sent(
        &self,
        id: i64,
        provider: &str,
        provider_ref: &str,
        now: Millis,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sms_outbox SET status = 'sent', provider = $1, provider_ref = $2, sent_at = $3, error = NULL WHERE id = $4")
            .bind(provider)
            .bind(provider_ref)
            .bind(now)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sms_error(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        final_failure: bool,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sms_outbox SET provider = $1, error = $2, status = CASE WHEN $3 = 1 THEN 'failed' ELSE status END WHERE id = $4 AND status <> 'sent'")
            .bind(provider)
            .bind(error.chars().take(500).collect::<String>())
            .bind(i64::from(final_failure))
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn claim_job(&self, now: Millis, lease: Millis) -> StoreResult<Option<Job>> {
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1 \
             WHERE id = (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $2) OR (status = 'running' AND locked_until <= $2) \
                         ORDER BY run_at, id LIMIT 1{}) \
             RETURNING {JOB_COLS}",
            self.db.skip_locked()
        );
        let row = sqlx::query(&sql)
            .bind(now + lease)
            .bind(now)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| job_from(&r)).transpose()
    }

    async fn job_done(&self, id: i64, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $1, locked_until = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.db.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn job_failed(&self, id: i64, error: &str, retry_at: Option<Millis>) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        let q = match retry_at {
            Some(at) => sqlx::query("UPDATE jobs SET status = 'pending', run_at = $1, last_error = $2, locked_until = NULL WHERE id = $3").bind(at),
            None => sqlx::query("UPDATE jobs SET status = 'failed', last_error = $1, locked_until = NULL WHERE id = $2"),
        };
        q.bind(error)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>> {
        let (filter, value) = match status {
            Some(s) => ("status = $1", s.as_str()),
            None => ("$1 = ''", ""),
        };
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE {filter} ORDER BY id DESC LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(value)
            .bind(limit)
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(job_from).collect()
    }

    async fn retry_job(&self, id: i64, now: Millis, effects: Effects) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("UPDATE jobs SET status = 'pending', run_at = $1, attempts = 0 WHERE id = $2 AND status = 'failed'")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn enqueue_job(
        &self,
        kind: &str,
        payload: serde_json::Value,
        run_at: Millis,
    ) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        let id = enqueue(&mut tx, kind, payload, run_at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }
}
