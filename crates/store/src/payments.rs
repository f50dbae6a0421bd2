//! [`app::payments::PaymentStore`] on the shared schema (migration 0006). Every method is one
//! transaction: the payment row, the order's change from the door (applied with the
//! expected version through [`SqlStore::apply_change_in`]), its history entry, audit rows and
//! SMS commit together or not at all. Idempotency is a guarded `UPDATE … WHERE state = …`:
//! one winner under any concurrency, on both databases.

use crate::rows::{bad, get, Tx};
use crate::{db_err, SqlStore};
use app::model::Effects;
use app::orders::OrderChange;
use app::payments::*;
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use sqlx::any::AnyRow;

pub(crate) const PAY_COLS: &str = "id, order_id, order_no, method, provider, amount_fen, currency, state, \
    trade_no, provider_ref, voucher_blob, created_at, paid_at, refunded_fen, refund_ref, refunded_at";
pub(crate) const CREDIT_COLS: &str = "id, entry_ref, booked_on, amount_fen, currency, payer_name, \
    payer_account_enc, memo, state, order_no, reason, decided_by";
pub(crate) const DEP_COLS: &str =
    "id, order_id, order_no, provider, provider_ref, amount_fen, account_name, \
    account_enc, memo_enc, code_hash, attempts, state, created_at, expires_at";

pub(crate) fn payment_from(row: &AnyRow) -> StoreResult<PaymentRecord> {
    let state: String = get(row, "state")?;
    Ok(PaymentRecord {
        id: get(row, "id")?,
        order_id: get(row, "order_id")?,
        order_no: get(row, "order_no")?,
        method: get(row, "method")?,
        provider: get(row, "provider")?,
        amount_fen: get(row, "amount_fen")?,
        currency: get(row, "currency")?,
        state: PayState::parse(&state).ok_or_else(|| bad("payments", "payment state"))?,
        trade_no: get(row, "trade_no")?,
        provider_ref: get(row, "provider_ref")?,
        voucher_blob: get(row, "voucher_blob")?,
        created_at: get(row, "created_at")?,
        paid_at: get(row, "paid_at")?,
        refunded_fen: get(row, "refunded_fen")?,
        refund_ref: get(row, "refund_ref")?,
        refunded_at: get(row, "refunded_at")?,
    })
}

/// `'a', 'b'` for an `IN (…)` of stored state names (never user input).
pub(crate) fn in_list<'a>(states: impl IntoIterator<Item = &'a str>) -> String {
    states
        .into_iter()
        .map(|s| format!("'{}'", s.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqlStore {
    /// Applies `change`, if any, then `fx`, and commits: `Done`; or drops `tx` when the
    /// order changed (nothing written): `Stale`.
    pub(crate) async fn commit_with(
        &self,
        mut tx: Tx,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Applied> {
        if let Some(c) = change {
            if !self.apply_change_in(&mut tx, c).await? {
                return Ok(Applied::Stale);
            }
        }
        self.apply(&mut tx, fx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Applied::Done)
    }

    pub(crate) async fn insert_payment_tx(
        &self,
        tx: &mut Tx,
        p: &NewPayment,
    ) -> StoreResult<PaymentRecord> {
        let paid_at = (p.state == PayState::Paid).then_some(p.at);
        let row = sqlx::query(&format!(
            "INSERT INTO payments (order_id, order_no, method, provider, amount_fen, currency, state, trade_no, \
             provider_ref, voucher_blob, created_at, paid_at) VALUES ($1, $2, $3, $4, $5, 'CNY', $6, $7, $8, $9, $10, $11) \
             RETURNING {PAY_COLS}"
        ))
        .bind(p.order_id)
        .bind(&p.order_no)
        .bind(p.method)
        .bind(&p.provider)
        .bind(p.amount_fen)
        .bind(p.state.as_str())
        .bind(&p.trade_no)
        .bind(p.provider_ref.clone())
        .bind(p.voucher_blob.clone())
        .bind(p.at)
        .bind(paid_at)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
        payment_from(&row)
    }

    async fn payments_where(&self, cond: &str, arg: String) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAY_COLS} FROM payments WHERE {cond} ORDER BY id"
        ))
        .bind(arg)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(payment_from).collect()
    }
}

#[async_trait]
impl PaymentStore for SqlStore {
    async fn insert_payment(
        &self,
        p: &NewPayment,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Option<PaymentRecord>> {
        let mut tx = self.db().begin().await?;
        let rec = self.insert_payment_tx(&mut tx, p).await?;
        Ok(match self.commit_with(tx, change, fx).await? {
            Applied::Done => Some(rec),
            _ => None,
        })
    }

    async fn payment_by_trade_no(&self, trade_no: &str) -> StoreResult<Option<PaymentRecord>> {
        Ok(self
            .payments_where("trade_no = $1", trade_no.into())
            .await?
            .into_iter()
            .next())
    }

    async fn payment_by_id(&self, id: i64) -> StoreResult<Option<PaymentRecord>> {
        let row = sqlx::query(&format!("SELECT {PAY_COLS} FROM payments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(payment_from).transpose()
    }

    async fn payments_of_order(&self, order_id: i64) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAY_COLS} FROM payments WHERE order_id = $1 ORDER BY id"
        ))
        .bind(order_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(payment_from).collect()
    }

    async fn payments_of_orders(&self, order_ids: &[i64]) -> StoreResult<Vec<PaymentRecord>> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = order_ids.iter().map(i64::to_string).collect();
        let rows = sqlx::query(&format!(
            "SELECT {PAY_COLS} FROM payments WHERE order_id IN ({}) ORDER BY order_id, id",
            ids.join(", ")
        ))
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(payment_from).collect()
    }

    async fn payments_between(&self, from: i64, to: i64) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAY_COLS} FROM payments WHERE (paid_at >= $1 AND paid_at < $2) \
             OR (refunded_at >= $1 AND refunded_at < $2) ORDER BY id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(payment_from).collect()
    }

    async fn credit_payment(
        &self,
        payment_id: i64,
        provider_ref: &str,
        at: i64,
        change: &OrderChange,
    ) -> StoreResult<Applied> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "UPDATE payments SET state = 'paid', provider_ref = $1, paid_at = $2, version = version + 1 \
             WHERE id = $3 AND state = 'created'",
        )
        .bind(provider_ref)
        .bind(at)
        .bind(payment_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(Applied::Taken);
        }
        self.commit_with(tx, Some(change), Effects::default()).await
    }

    async fn request_refund(
        &self,
        payment_id: i64,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Applied> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "UPDATE payments SET state = 'refunding', version = version + 1 \
             WHERE id = $1 AND state = 'paid'",
        )
        .bind(payment_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(Applied::Taken);
        }
        self.commit_with(tx, change, fx).await
    }

    async fn mark_refund(
        &self,
        payment_id: i64,
        to: PayState,
        refund_ref: &str,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Applied> {
        if !matches!(to, PayState::Refunding | PayState::RefundAbnormal) {
            return Err(StoreError::Other(format!("mark_refund to {}", to.as_str())));
        }
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "UPDATE payments SET state = $1, refund_ref = $2, version = version + 1 \
             WHERE id = $3 AND state IN ('refunding', 'refund_abnormal')",
        )
        .bind(to.as_str())
        .bind(refund_ref)
        .bind(payment_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(Applied::Taken);
        }
        self.commit_with(tx, change, fx).await
    }

    async fn duplicate_payments(&self) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAY_COLS} FROM payments p WHERE p.state IN ('paid', 'refunding', 'refund_abnormal') \
             AND p.paid_at IS NOT NULL AND EXISTS (SELECT 1 FROM payments q \
             WHERE q.order_id = p.order_id AND q.id <> p.id AND q.paid_at IS NOT NULL \
             AND (q.paid_at < p.paid_at OR (q.paid_at = p.paid_at AND q.id < p.id))) \
             ORDER BY p.paid_at, p.id"
        ))
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(payment_from).collect()
    }

    async fn refund_payment(
        &self,
        payment_id: i64,
        amount_fen: i64,
        refund_ref: &str,
        at: i64,
        change: &OrderChange,
    ) -> StoreResult<Applied> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "UPDATE payments SET state = 'refunded', refunded_fen = $1, refund_ref = $2, refunded_at = $3, \
             version = version + 1 WHERE id = $4 AND state IN ('refunding', 'refund_abnormal')",
        )
        .bind(amount_fen)
        .bind(refund_ref)
        .bind(at)
        .bind(payment_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(Applied::Taken);
        }
        self.commit_with(tx, Some(change), Effects::default()).await
    }
}
