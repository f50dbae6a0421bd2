//! [`app::payments::StatementStore`] on migration 0006: imported statements (unique by the
//! file's SHA-256), their credits (unique by bank reference; payer accounts sealed) and the
//! decisions on them, a match paying the order's bank-transfer payment in the same
//! transaction.

use crate::payments::{in_list, CREDIT_COLS};
use crate::rows::{bad, get};
use crate::{db_err, SqlStore};
use app::model::Effects;
use app::orders::OrderChange;
use app::payments::statement::StatementEntry;
use app::payments::*;
use app::ports::StoreResult;
use async_trait::async_trait;
use sqlx::any::AnyRow;

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
}

#[async_trait]
impl StatementStore for SqlStore {
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
    ) -> StoreResult<Applied> {
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
            return Ok(Applied::Taken);
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
}
