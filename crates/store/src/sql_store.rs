//! The SQL store: the connection, the vault, and the helpers every repository file uses
//! (effects in the same transaction, row readers). Each storage trait is implemented in its
//! own file.

use crate::rows::{get, Tx};
use crate::{db_err, Db, Vault};
use app::audit::row_hash;
use app::clock::Millis;
use app::jobs::SEND_SMS;
use app::model::*;
use app::ports::StoreResult;
use app::StoreError;
use domain::Phone;
use sqlx::any::AnyRow;

/// The SQL implementation of the store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) db: Db,
    pub(crate) vault: Vault,
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

    pub(crate) fn phone_hash(&self, phone: &Phone) -> String {
        self.vault.lookup_hash("phone", phone.as_str())
    }

    pub(crate) fn open_phone(&self, context: &str, sealed: &[u8]) -> StoreResult<Phone> {
        let s = self.vault.open_str(context, sealed)?;
        Phone::parse(&s).map_err(|_| StoreError::Other(format!("{context} holds an invalid phone")))
    }

    /// Appends audit rows and queues SMS inside `tx`.
    pub(crate) async fn apply(&self, tx: &mut Tx, effects: Effects) -> StoreResult<()> {
        for event in effects.audit {
            append_audit_row(tx, &self.vault, &event).await?;
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
    pub(crate) async fn login_failed(
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

    pub(crate) fn user_from(&self, row: &AnyRow) -> StoreResult<User> {
        Ok(User {
            id: get(row, "id")?,
            phone: self.open_phone("users.phone", &get::<Vec<u8>>(row, "phone_enc")?)?,
            password_hash: get(row, "password_hash")?,
            failed_logins: get(row, "failed_logins")?,
            locked_until: get(row, "locked_until")?,
            created_at: get(row, "created_at")?,
        })
    }

    pub(crate) fn staff_from(&self, row: &AnyRow) -> StoreResult<Staff> {
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

    pub(crate) fn outbox_from(&self, row: &AnyRow) -> StoreResult<OutboxSms> {
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

/// The keyed MAC of an audit row or head at (`seq`, `hash`).
pub(crate) fn audit_mac(vault: &Vault, seq: i64, hash: &str) -> String {
    vault.lookup_hash("audit.chain", &format!("{seq}:{hash}"))
}

/// Appends one audit row inside `tx`: bumps the head (taking its lock), links, hashes, and
/// keys row and head with the vault's MAC.
pub(crate) async fn append_audit_row(
    tx: &mut Tx,
    vault: &Vault,
    event: &AuditEvent,
) -> StoreResult<()> {
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
    let mac = audit_mac(vault, seq, &hash);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, ip, detail, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    .bind(&mac)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE audit_head SET hash = $1, mac = $2 WHERE id = 1")
        .bind(hash)
        .bind(mac)
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

pub(crate) fn job_from(row: &AnyRow) -> StoreResult<Job> {
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

pub(crate) fn audit_from(row: &AnyRow) -> StoreResult<AuditRow> {
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
        mac: get(row, "mac")?,
    })
}

pub(crate) const USER_COLS: &str =
    "id, phone_enc, password_hash, failed_logins, locked_until, created_at";
pub(crate) const STAFF_COLS: &str = "id, username, display_name, role, password_hash, totp_enc, totp_last_step, disabled, failed_logins, locked_until, created_at";
pub(crate) const OUTBOX_COLS: &str = "id, phone_enc, template, params_enc, order_no, status, provider, provider_ref, error, created_at, sent_at";
pub(crate) const JOB_COLS: &str =
    "id, kind, payload, status, attempts, run_at, last_error, created_at";
pub(crate) const AUDIT_COLS: &str =
    "seq, at, actor, action, subject, ip, detail, prev_hash, hash, mac";
