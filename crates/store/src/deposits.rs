//! [`app::payments::DepositStore`] on migration 0006: micro-deposits (account and memo
//! sealed, the code only as a keyed hash), wrong codes counted with one guarded update.

use crate::payments::DEP_COLS;
use crate::rows::{bad, get};
use crate::{db_err, SqlStore};
use app::model::Effects;
use app::orders::OrderChange;
use app::payments::*;
use app::ports::StoreResult;
use async_trait::async_trait;
use sqlx::any::AnyRow;

impl SqlStore {
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
}

#[async_trait]
impl DepositStore for SqlStore {
    async fn insert_deposit(
        &self,
        d: &NewDeposit,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Option<DepositRecord>> {
        let mut tx = self.db().begin().await?;
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
        Ok(match self.commit_with(tx, change, fx).await? {
            Applied::Done => Some(rec),
            _ => None,
        })
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
        at_max: &OrderChange,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.db().begin().await?;
        let row = sqlx::query(
            "UPDATE micro_deposits SET attempts = attempts + 1 WHERE id = $1 AND state = 'sent' RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(Some(max)) };
        let n: i64 = get(&row, "attempts")?;
        if n >= max {
            sqlx::query("UPDATE micro_deposits SET state = 'void', decided_at = $1 WHERE id = $2")
                .bind(at_max.event.at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if !self.apply_change_in(&mut tx, at_max).await? {
                return Ok(None);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(Some(n))
    }

    async fn decide_deposit(
        &self,
        id: Option<i64>,
        to: DepositState,
        at: i64,
        change: &OrderChange,
    ) -> StoreResult<Applied> {
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
                return Ok(Applied::Taken);
            }
        }
        self.commit_with(tx, Some(change), Effects::default()).await
    }
}
