//! [`app::orders::OrderStore`] on the shared schema (migration 0003), and the one SQL
//! statement that changes an order ([`SqlStore::apply_change_in`]), which the desk and payment
//! repositories run inside their own transactions. The draft is sealed
//! with the order number as associated data, so a sealed draft cannot be moved to another
//! order; numbers come from a per-day counter bumped by one upsert, atomic on both databases.

use crate::rows::{bad, get, Tx};
use crate::{db_err, SqlStore};
use app::orders::{OrderChange, OrderEvent, OrderRecord, OrderStore};
use app::ports::StoreResult;
use async_trait::async_trait;
use domain::order::{Draft, FinState, OrderState};
use domain::{Date, OrderNo};
use sqlx::any::AnyRow;

pub(crate) const COLS: &str =
    "id, order_no, user_id, state, version, draft_enc, created_at, updated_at, \
                    paid_at, fin_state, review_since";

impl SqlStore {
    pub(crate) fn seal_draft(&self, no: &OrderNo, d: &Draft) -> StoreResult<Vec<u8>> {
        let json = serde_json::to_vec(d).map_err(|e| bad("orders", e))?;
        self.vault().seal(&format!("orders.draft:{no}"), &json)
    }

    /// Applies a change made by the order door inside `tx`: the one statement that writes
    /// an order's state. The history entry and the change's effects (audit rows, SMS) are
    /// written with it. False (nothing of the change written) if the version moved on.
    pub(crate) async fn apply_change_in(&self, tx: &mut Tx, c: &OrderChange) -> StoreResult<bool> {
        let sealed = c
            .draft
            .as_ref()
            .map(|d| self.seal_draft(&c.order_no, d))
            .transpose()?;
        let done = sqlx::query(
            "UPDATE orders SET state = $1, version = version + 1, updated_at = $2, \
             draft_enc = COALESCE($3, draft_enc), paid_at = COALESCE(paid_at, $4), \
             fin_state = COALESCE($5, fin_state), review_since = COALESCE($6, review_since) \
             WHERE id = $7 AND version = $8 AND order_no = $9",
        )
        .bind(c.to.as_str())
        .bind(c.event.at)
        .bind(sealed)
        .bind(c.paid_at)
        .bind(c.fin_state.map(|f| f.as_str().to_owned()))
        .bind(c.review_since)
        .bind(c.order_id)
        .bind(c.version)
        .bind(c.order_no.as_str())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if done != 1 {
            return Ok(false);
        }
        add_event(tx, c.order_id, &c.event).await?;
        self.apply(tx, c.effects.clone()).await?;
        Ok(true)
    }

    pub(crate) fn order_from(&self, row: &AnyRow) -> StoreResult<OrderRecord> {
        let no: String = get(row, "order_no")?;
        let no = OrderNo::parse(&no).map_err(|_| bad("orders", "invalid order number"))?;
        let state: String = get(row, "state")?;
        let fin: String = get(row, "fin_state")?;
        let sealed: Vec<u8> = get(row, "draft_enc")?;
        let json = self.vault().open(&format!("orders.draft:{no}"), &sealed)?;
        Ok(OrderRecord {
            id: get(row, "id")?,
            user_id: get(row, "user_id")?,
            state: OrderState::parse(&state).ok_or_else(|| bad("orders", "unknown state"))?,
            draft: serde_json::from_slice(&json).map_err(|e| bad("orders", e))?,
            version: get(row, "version")?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            paid_at: get(row, "paid_at")?,
            fin_state: FinState::parse(&fin).ok_or_else(|| bad("orders", "unknown fin_state"))?,
            review_since: get(row, "review_since")?,
            no,
        })
    }
}

pub(crate) async fn add_event(tx: &mut Tx, order_id: i64, e: &OrderEvent) -> StoreResult<()> {
    sqlx::query("INSERT INTO order_events (order_id, at, actor, what) VALUES ($1, $2, $3, $4)")
        .bind(order_id)
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.what)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl OrderStore for SqlStore {
    async fn create_order(
        &self,
        user_id: i64,
        date: Date,
        draft: &Draft,
        event: &OrderEvent,
    ) -> StoreResult<OrderRecord> {
        let mut tx = self.db().begin().await?;
        let day = date.compact();
        let seq: i64 = get(
            &sqlx::query(
                "INSERT INTO order_counters (day, last_seq) VALUES ($1, 1) \
                 ON CONFLICT (day) DO UPDATE SET last_seq = order_counters.last_seq + 1 RETURNING last_seq",
            )
            .bind(&day)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?,
            "last_seq",
        )?;
        let seq = u32::try_from(seq).map_err(|_| bad("orders", "sequence"))?;
        let no = OrderNo::new_issue(date, seq).map_err(|e| bad("orders", e))?;
        let row = sqlx::query(&format!(
            "INSERT INTO orders (order_no, user_id, state, version, draft_enc, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $5, $5) RETURNING {COLS}"
        ))
        .bind(no.as_str())
        .bind(user_id)
        .bind(OrderState::Draft.as_str())
        .bind(self.seal_draft(&no, draft)?)
        .bind(event.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let rec = self.order_from(&row)?;
        add_event(&mut tx, rec.id, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(rec)
    }

    async fn order_by_no(&self, no: &OrderNo) -> StoreResult<Option<OrderRecord>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM orders WHERE order_no = $1"))
            .bind(no.as_str())
            .fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.order_from(&r)).transpose()
    }

    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM orders WHERE user_id = $1 ORDER BY id DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.order_from(r)).collect()
    }

    async fn apply(&self, change: &OrderChange) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.apply_change_in(&mut tx, change).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn orders_in_state(&self, state: OrderState) -> StoreResult<Vec<OrderRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM orders WHERE state = $1 ORDER BY COALESCE(review_since, 0), id"
        ))
        .bind(state.as_str())
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.order_from(r)).collect()
    }

    async fn referenced_blobs(&self) -> StoreResult<std::collections::HashSet<String>> {
        self.referenced_blob_ids().await
    }

    async fn order_events(&self, order_id: i64) -> StoreResult<Vec<OrderEvent>> {
        let rows =
            sqlx::query("SELECT at, actor, what FROM order_events WHERE order_id = $1 ORDER BY id")
                .bind(order_id)
                .fetch_all(&self.db().pool)
                .await
                .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(OrderEvent {
                    at: get(r, "at")?,
                    actor: get(r, "actor")?,
                    what: get(r, "what")?,
                })
            })
            .collect()
    }
}
