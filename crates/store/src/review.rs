//! [`app::desk::ReviewStore`] on migration 0007: review claims (one row per order, taken
//! with one upsert) and decisions (the rejected draft sealed as a snapshot); the queue with
//! the claim holders' names in one query.

use crate::rows::{bad, get};
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::desk::{Decision, QueueRow, ReviewStore};
use app::model::Effects;
use app::orders::OrderChange;
use app::ports::StoreResult;
use async_trait::async_trait;
use domain::order::Draft;
use sqlx::any::AnyRow;

impl SqlStore {
    fn decision_from(&self, row: &AnyRow, order_id: i64) -> StoreResult<Decision> {
        let reasons: String = get(row, "reasons")?;
        let snap: Option<Vec<u8>> = get(row, "snapshot_enc")?;
        let snapshot = match snap {
            Some(b) => {
                let json = self
                    .vault()
                    .open(&format!("review_decisions.snapshot:{order_id}"), &b)?;
                Some(serde_json::from_slice::<Draft>(&json).map_err(|e| bad("desk", e))?)
            }
            None => None,
        };
        let staff_id: i64 = get(row, "staff_id")?;
        Ok(Decision {
            staff_name: get::<Option<String>>(row, "display_name")?
                .unwrap_or_else(|| format!("#{staff_id}")),
            staff_id,
            at: get(row, "at")?,
            decision: get(row, "decision")?,
            reasons: serde_json::from_str(&reasons).map_err(|e| bad("desk", e))?,
            snapshot,
        })
    }
}

#[async_trait]
impl ReviewStore for SqlStore {
    async fn claim_review(
        &self,
        order_id: i64,
        staff_id: i64,
        now: Millis,
        stale_before: Millis,
        effects: Effects,
    ) -> StoreResult<(i64, String, Millis)> {
        let mut tx = self.db().begin().await?;
        let before: Option<i64> =
            sqlx::query("SELECT staff_id FROM review_claims WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .map(|r| get::<i64>(&r, "staff_id"))
                .transpose()?;
        sqlx::query(
            "INSERT INTO review_claims (order_id, staff_id, claimed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (order_id) DO UPDATE SET staff_id = excluded.staff_id, claimed_at = excluded.claimed_at \
             WHERE review_claims.staff_id = excluded.staff_id OR review_claims.claimed_at < $4",
        )
        .bind(order_id)
        .bind(staff_id)
        .bind(now)
        .bind(stale_before)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let row = sqlx::query(CLAIM)
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let out = claim_from(&row)?;
        if out.0 == staff_id && before != Some(staff_id) {
            self.apply(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn review_claim(&self, order_id: i64) -> StoreResult<Option<(i64, String, Millis)>> {
        let row = sqlx::query(CLAIM)
            .bind(order_id)
            .fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?;
        row.map(|r| claim_from(&r)).transpose()
    }

    async fn decide(&self, change: &OrderChange, decision: &Decision) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.apply_change_in(&mut tx, change).await? {
            return Ok(false);
        }
        let id = change.order_id;
        let snapshot = match &decision.snapshot {
            Some(d) => Some(self.vault().seal(
                &format!("review_decisions.snapshot:{id}"),
                &serde_json::to_vec(d).map_err(|e| bad("desk", e))?,
            )?),
            None => None,
        };
        sqlx::query(
            "INSERT INTO review_decisions (order_id, staff_id, at, decision, reasons, snapshot_enc) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(decision.staff_id)
        .bind(decision.at)
        .bind(&decision.decision)
        .bind(serde_json::to_string(&decision.reasons).map_err(|e| bad("desk", e))?)
        .bind(snapshot)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM review_claims WHERE order_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn decisions(&self, order_id: i64) -> StoreResult<Vec<Decision>> {
        let rows = sqlx::query(
            "SELECT d.staff_id, s.display_name, d.at, d.decision, d.reasons, d.snapshot_enc \
             FROM review_decisions d LEFT JOIN staff s ON s.id = d.staff_id \
             WHERE d.order_id = $1 ORDER BY d.id",
        )
        .bind(order_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| self.decision_from(r, order_id))
            .collect()
    }

    async fn review_queue(&self) -> StoreResult<Vec<QueueRow>> {
        let cols: Vec<String> = crate::orders::COLS
            .split(',')
            .map(|c| format!("o.{}", c.trim()))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT {}, c.staff_id AS claim_staff, c.claimed_at AS claim_at, \
             s.display_name AS claim_name, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM review_decisions d \
               WHERE d.order_id = o.id AND d.decision = 'rejected') THEN 1 ELSE 0 END AS BIGINT) \
               AS resubmitted \
             FROM orders o LEFT JOIN review_claims c ON c.order_id = o.id \
             LEFT JOIN staff s ON s.id = c.staff_id \
             WHERE o.state = 'in_review' ORDER BY COALESCE(o.review_since, 0), o.id",
            cols.join(", ")
        ))
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let staff: Option<i64> = get(r, "claim_staff")?;
                let claim = match staff {
                    Some(id) => Some((
                        id,
                        get::<Option<String>>(r, "claim_name")?.unwrap_or_else(|| format!("#{id}")),
                        get(r, "claim_at")?,
                    )),
                    None => None,
                };
                Ok(QueueRow {
                    order: self.order_from(r)?,
                    claim,
                    resubmitted: get::<i64>(r, "resubmitted")? != 0,
                })
            })
            .collect()
    }
}

const CLAIM: &str = "SELECT c.staff_id, c.claimed_at, s.display_name FROM review_claims c \
                     LEFT JOIN staff s ON s.id = c.staff_id WHERE c.order_id = $1";

fn claim_from(r: &AnyRow) -> StoreResult<(i64, String, Millis)> {
    let id: i64 = get(r, "staff_id")?;
    let name: Option<String> = get(r, "display_name")?;
    Ok((
        id,
        name.unwrap_or_else(|| format!("#{id}")),
        get(r, "claimed_at")?,
    ))
}
