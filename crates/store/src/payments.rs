//! [`app::payments::PaymentStore`] on the shared schema (migration 0006). Every method is one
//! transaction: the payment, credit or micro-deposit row, the guarded order change (state,
//! `paid_at`, `fin_state`, draft; `version` bumped so a concurrent save notices), the order's
//! history entry, audit rows and SMS commit together or not at all. Bank accounts and memos
//! are sealed by the Vault.

use crate::rows::{bad, get, Tx};
use crate::{db_err, SqlStore};
use app::model::Effects;
use app::payments::statement::StatementEntry;
use app::payments::{
    CreditDecision, CreditRecord, CreditState, DepositRecord, DepositState, NewDeposit, NewPayment,
    NewStatement, OrderChange, PayState, PaymentRecord, PaymentStore,
};
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use domain::OrderNo;
use sqlx::any::AnyRow;

const PAY_COLS: &str = "id, order_id, order_no, method, provider, amount_fen, currency, state, \
    trade_no, provider_ref, voucher_blob, created_at, paid_at, refunded_fen, refund_ref, refunded_at";
const CREDIT_COLS: &str = "id, entry_ref, booked_on, amount_fen, currency, payer_name, \
    payer_account_enc, memo, state, order_no, reason, decided_by";
const DEP_COLS: &str = "id, order_id, order_no, provider, provider_ref, amount_fen, account_name, \
    account_enc, memo_enc, code_hash, attempts, state, created_at, expires_at";

fn payment_from(row: &AnyRow) -> StoreResult<PaymentRecord> {
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

fn in_list<'a>(states: impl IntoIterator<Item = &'a str>) -> String {
    states
        .into_iter()
        .map(|s| format!("'{}'", s.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqlStore {
    fn credit_from(&self, row: &AnyRow) -> StoreResult<CreditRecord> {
        let state: String = get(row, "state")?;
        let acct: Vec<u8> = get(row, "payer_account_enc")?;
        Ok(CreditRecord {
            id: get(row, "id")?,
            entry_ref: get(row, "entry_ref")?,
            booked_on: get(row, "booked_on")?,
            amount_fen: get(row, "amount_fen")?,
            currency: get(row, "currency")?,
            payer_name: get(row, "payer_name")?,
            payer_account: self.vault().open_str("bank_credits.payer_account", &acct)?,
            memo: get(row, "memo")?,
            state: CreditState::parse(&state).ok_or_else(|| bad("payments", "credit state"))?,
            order_no: get(row, "order_no")?,
            reason: get(row, "reason")?,
            decided_by: get(row, "decided_by")?,
        })
    }

    fn deposit_from(&self, row: &AnyRow) -> StoreResult<DepositRecord> {
        let state: String = get(row, "state")?;
        let acct: Vec<u8> = get(row, "account_enc")?;
        let memo: Vec<u8> = get(row, "memo_enc")?;
        Ok(DepositRecord {
            id: get(row, "id")?,
            order_id: get(row, "order_id")?,
            order_no: get(row, "order_no")?,
            provider: get(row, "provider")?,
            provider_ref: get(row, "provider_ref")?,
            amount_fen: get(row, "amount_fen")?,
            account_name: get(row, "account_name")?,
            account: self.vault().open_str("micro_deposits.account", &acct)?,
            memo: self.vault().open_str("micro_deposits.memo", &memo)?,
            code_hash: get(row, "code_hash")?,
            attempts: get(row, "attempts")?,
            state: DepositState::parse(&state).ok_or_else(|| bad("payments", "deposit state"))?,
            created_at: get(row, "created_at")?,
            expires_at: get(row, "expires_at")?,
        })
    }

    /// Ends `tx`: applies `change` and `fx` and commits, true; or, when a strict change found
    /// the order in another state, drops `tx` (nothing written), false.
    async fn commit_with(
        &self,
        mut tx: Tx,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<bool> {
        if let Some(c) = change {
            if !self.apply_change(&mut tx, c).await? && c.strict {
                return Ok(false);
            }
        }
        self.apply(&mut tx, fx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    /// Applies an order change inside `tx`; false when a strict change found the order in
    /// another state (the caller rolls back).
    async fn apply_change(&self, tx: &mut Tx, c: &OrderChange) -> StoreResult<bool> {
        let list = in_list(c.expect.iter().map(|s| s.as_str()));
        let new_state = match c.to {
            Some(t) if !list.is_empty() => format!(
                "CASE WHEN state IN ({list}) THEN '{}' ELSE state END",
                t.as_str()
            ),
            _ => "state".into(),
        };
        let mut sql = format!(
            "UPDATE orders SET version = version + 1, updated_at = $1, \
             review_since = CASE WHEN ({new_state}) = 'in_review' AND state <> 'in_review' THEN $1 ELSE review_since END, \
             paid_at = COALESCE(paid_at, $2), fin_state = COALESCE($3, fin_state), state = {new_state}"
        );
        let sealed = match &c.draft {
            Some(d) => {
                let no: String = get(
                    &sqlx::query("SELECT order_no FROM orders WHERE id = $1")
                        .bind(c.order_id)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?,
                    "order_no",
                )?;
                let no = OrderNo::parse(&no).map_err(|_| bad("payments", "order number"))?;
                sql.push_str(", draft_enc = $5");
                Some(self.seal_draft(&no, d)?)
            }
            None => None,
        };
        sql.push_str(" WHERE id = $4");
        if c.strict {
            if list.is_empty() {
                return Ok(false);
            }
            sql.push_str(&format!(" AND state IN ({list})"));
        }
        let mut q = sqlx::query(&sql)
            .bind(c.event.at)
            .bind(c.paid_at)
            .bind(c.fin_state.map(|f| f.as_str().to_owned()))
            .bind(c.order_id);
        if let Some(s) = sealed {
            q = q.bind(s);
        }
        let n = q.execute(&mut **tx).await.map_err(db_err)?.rows_affected();
        if n != 1 {
            return Ok(false);
        }
        crate::orders::add_event(tx, c.order_id, &c.event).await?;
        Ok(true)
    }

    async fn insert_payment_tx(&self, tx: &mut Tx, p: &NewPayment) -> StoreResult<PaymentRecord> {
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
        if let Some(c) = change {
            if !self.apply_change(&mut tx, c).await? {
                return Ok(None);
            }
        }
        let rec = self.insert_payment_tx(&mut tx, p).await?;
        self.apply(&mut tx, fx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(rec))
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
        fx: Effects,
    ) -> StoreResult<bool> {
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
            return Ok(false);
        }
        self.commit_with(tx, Some(change), fx).await
    }

    async fn request_refund(
        &self,
        payment_id: i64,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<bool> {
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
            return Ok(false);
        }
        self.commit_with(tx, change, fx).await
    }

    async fn duplicate_payments(&self) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAY_COLS} FROM payments p WHERE p.state IN ('paid', 'refunding') \
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
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "UPDATE payments SET state = 'refunded', refunded_fen = $1, refund_ref = $2, refunded_at = $3, \
             version = version + 1 WHERE id = $4 AND state = 'refunding'",
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
            return Ok(false);
        }
        if let Some(c) = change {
            if !self.apply_change(&mut tx, c).await? && c.strict {
                return Ok(false);
            }
        }
        self.apply(&mut tx, fx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn insert_statement(
        &self,
        st: &NewStatement,
        entries: &[StatementEntry],
    ) -> StoreResult<Option<(i64, usize)>> {
        let mut tx = self.db().begin().await?;
        let row = sqlx::query(
            "INSERT INTO bank_statements (sha256, format, file_name, imported_at, imported_by, entries) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING RETURNING id",
        )
        .bind(&st.sha256)
        .bind(st.format)
        .bind(&st.file_name)
        .bind(st.at)
        .bind(&st.imported_by)
        .bind(entries.len() as i64)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = get(&row, "id")?;
        let mut new = 0;
        for e in entries {
            let state = if e.credit && e.currency == "CNY" {
                CreditState::New
            } else {
                CreditState::Ignored
            };
            let reason = if state == CreditState::Ignored {
                if e.credit {
                    "非人民币入账"
                } else {
                    "支出(借方)记录"
                }
            } else {
                ""
            };
            new += sqlx::query(
                "INSERT INTO bank_credits (statement_id, entry_ref, booked_on, amount_fen, currency, payer_name, \
                 payer_account_enc, payer_account_hash, memo, state, reason, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (entry_ref) DO NOTHING",
            )
            .bind(id)
            .bind(&e.entry_ref)
            .bind(&e.booked_on)
            .bind(e.amount.fen())
            .bind(&e.currency)
            .bind(&e.payer_name)
            .bind(self.vault().seal_str("bank_credits.payer_account", &e.payer_account)?)
            .bind(self.vault().lookup_hash("bank_account", &e.payer_account))
            .bind(&e.memo)
            .bind(state.as_str())
            .bind(reason)
            .bind(st.at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected() as usize;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(Some((id, new)))
    }

    async fn credits_in_state(&self, state: CreditState) -> StoreResult<Vec<CreditRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {CREDIT_COLS} FROM bank_credits WHERE state = $1 ORDER BY id"
        ))
        .bind(state.as_str())
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.credit_from(r)).collect()
    }

    async fn credits(&self, limit: i64) -> StoreResult<Vec<CreditRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {CREDIT_COLS} FROM bank_credits ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.credit_from(r)).collect()
    }

    async fn credit_by_id(&self, id: i64) -> StoreResult<Option<CreditRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {CREDIT_COLS} FROM bank_credits WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.db().pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.credit_from(&r)).transpose()
    }

    async fn decide_credit(
        &self,
        d: &CreditDecision,
        payment: Option<&NewPayment>,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        let list = in_list(d.from.iter().map(|s| s.as_str()));
        let n = sqlx::query(&format!(
            "UPDATE bank_credits SET state = $1, order_no = $2, reason = $3, decided_by = $4, decided_at = $5 \
             WHERE id = $6 AND state IN ({list})"
        ))
        .bind(d.to.as_str())
        .bind(d.order_no.clone())
        .bind(&d.reason)
        .bind(d.decided_by.clone())
        .bind(d.at)
        .bind(d.credit_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        if let Some(p) = payment {
            let n = sqlx::query(
                "UPDATE payments SET state = 'paid', provider_ref = $1, paid_at = $2, version = version + 1 \
                 WHERE order_id = $3 AND method = 'bank_transfer' AND state = 'voucher'",
            )
            .bind(p.provider_ref.clone())
            .bind(p.at)
            .bind(p.order_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n == 0 {
                self.insert_payment_tx(&mut tx, p).await?;
            }
        }
        self.commit_with(tx, change, fx).await
    }

    async fn insert_deposit(
        &self,
        d: &NewDeposit,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Option<DepositRecord>> {
        let mut tx = self.db().begin().await?;
        if let Some(c) = change {
            if !self.apply_change(&mut tx, c).await? {
                return Ok(None);
            }
        }
        sqlx::query(
            "UPDATE micro_deposits SET state = 'superseded', decided_at = $1 WHERE order_id = $2 AND state = 'sent'",
        )
        .bind(d.at)
        .bind(d.order_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let row = sqlx::query(&format!(
            "INSERT INTO micro_deposits (order_id, order_no, provider, provider_ref, amount_fen, account_name, \
             account_enc, memo_enc, code_hash, attempts, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'sent', $10, $11) RETURNING {DEP_COLS}"
        ))
        .bind(d.order_id)
        .bind(&d.order_no)
        .bind(&d.provider)
        .bind(&d.provider_ref)
        .bind(d.amount_fen)
        .bind(&d.account_name)
        .bind(self.vault().seal_str("micro_deposits.account", &d.account)?)
        .bind(self.vault().seal_str("micro_deposits.memo", &d.memo)?)
        .bind(&d.code_hash)
        .bind(d.at)
        .bind(d.expires_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let rec = self.deposit_from(&row)?;
        self.apply(&mut tx, fx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(rec))
    }

    async fn deposits_of_order(&self, order_id: i64) -> StoreResult<Vec<DepositRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEP_COLS} FROM micro_deposits WHERE order_id = $1 ORDER BY id DESC"
        ))
        .bind(order_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.deposit_from(r)).collect()
    }

    async fn deposits_of_provider(
        &self,
        provider: &str,
        limit: i64,
    ) -> StoreResult<Vec<DepositRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEP_COLS} FROM micro_deposits WHERE provider = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(provider)
        .bind(limit)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.deposit_from(r)).collect()
    }

    async fn deposit_wrong(
        &self,
        id: i64,
        max: i64,
        change: &OrderChange,
        fx: Effects,
    ) -> StoreResult<i64> {
        let mut tx = self.db().begin().await?;
        let row = sqlx::query(
            "UPDATE micro_deposits SET attempts = attempts + 1 WHERE id = $1 AND state = 'sent' RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(max) };
        let n: i64 = get(&row, "attempts")?;
        if n >= max {
            sqlx::query("UPDATE micro_deposits SET state = 'void', decided_at = $1 WHERE id = $2")
                .bind(change.event.at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            self.apply_change(&mut tx, change).await?;
            self.apply(&mut tx, fx).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn decide_deposit(
        &self,
        id: Option<i64>,
        to: DepositState,
        at: i64,
        change: &OrderChange,
        fx: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if let Some(id) = id {
            let n = sqlx::query(
                "UPDATE micro_deposits SET state = $1, decided_at = $2 WHERE id = $3 AND state = 'sent'",
            )
            .bind(to.as_str())
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n != 1 {
                return Ok(false);
            }
        }
        self.commit_with(tx, Some(change), fx).await
    }
}
