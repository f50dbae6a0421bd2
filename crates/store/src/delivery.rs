//! [`app::desk::DeliveryStore`] on migration 0007: shipments and invoices (data sealed, the
//! download token kept only as its hash), each written with the order's move.

use crate::rows::{bad, get};
use crate::{db_err, SqlStore};
use app::desk::{DeliveryStore, InvoiceData, Shipment};
use app::orders::OrderChange;
use app::ports::StoreResult;
use async_trait::async_trait;
use sqlx::any::AnyRow;

impl SqlStore {
    fn invoice_from(&self, row: &AnyRow) -> StoreResult<InvoiceData> {
        let order_id: i64 = get(row, "order_id")?;
        let sealed: Vec<u8> = get(row, "data_enc")?;
        let json = self
            .vault()
            .open(&format!("invoices.data:{order_id}"), &sealed)?;
        serde_json::from_slice(&json).map_err(|e| bad("desk", e))
    }
}

#[async_trait]
impl DeliveryStore for SqlStore {
    async fn ship(
        &self,
        change: &OrderChange,
        shipment: &Shipment,
        staff_id: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.apply_change_in(&mut tx, change).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO shipments (order_id, courier, tracking_no, staff_id, shipped_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(change.order_id)
        .bind(&shipment.courier)
        .bind(&shipment.tracking_no)
        .bind(staff_id)
        .bind(shipment.shipped_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn complete(
        &self,
        change: &OrderChange,
        invoice: &InvoiceData,
        token_hash: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.apply_change_in(&mut tx, change).await? {
            return Ok(false);
        }
        let id = change.order_id;
        sqlx::query("UPDATE shipments SET delivered_at = $2 WHERE order_id = $1")
            .bind(id)
            .bind(change.event.at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO invoices (order_id, invoice_no, provider, token_hash, data_enc, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&invoice.invoice_no)
        .bind(&invoice.provider)
        .bind(token_hash)
        .bind(self.vault().seal(
            &format!("invoices.data:{id}"),
            &serde_json::to_vec(invoice).map_err(|e| bad("desk", e))?,
        )?)
        .bind(invoice.issued_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn shipment(&self, order_id: i64) -> StoreResult<Option<Shipment>> {
        let row = sqlx::query(
            "SELECT courier, tracking_no, shipped_at, delivered_at FROM shipments WHERE order_id = $1",
        )
        .bind(order_id)
        .fetch_optional(&self.db().pool)
        .await
        .map_err(db_err)?;
        row.map(|r| shipment_from(&r)).transpose()
    }

    async fn shipments_of(&self, order_ids: &[i64]) -> StoreResult<Vec<(i64, Shipment)>> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = order_ids.iter().map(i64::to_string).collect();
        let rows = sqlx::query(&format!(
            "SELECT order_id, courier, tracking_no, shipped_at, delivered_at FROM shipments \
             WHERE order_id IN ({})",
            ids.join(", ")
        ))
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((get(r, "order_id")?, shipment_from(r)?)))
            .collect()
    }

    async fn shipment_by_tracking(
        &self,
        tracking_no: &str,
    ) -> StoreResult<Option<(i64, Shipment)>> {
        let row = sqlx::query(
            "SELECT order_id, courier, tracking_no, shipped_at, delivered_at FROM shipments WHERE tracking_no = $1",
        )
        .bind(tracking_no)
        .fetch_optional(&self.db().pool)
        .await
        .map_err(db_err)?;
        row.map(|r| Ok((get(&r, "order_id")?, shipment_from(&r)?)))
            .transpose()
    }

    async fn invoice(&self, order_id: i64) -> StoreResult<Option<InvoiceData>> {
        let row = sqlx::query("SELECT order_id, data_enc FROM invoices WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.invoice_from(&r)).transpose()
    }

    async fn invoice_by_token(&self, token_hash: &str) -> StoreResult<Option<InvoiceData>> {
        let row = sqlx::query("SELECT order_id, data_enc FROM invoices WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?;
        row.map(|r| self.invoice_from(&r)).transpose()
    }
}

fn shipment_from(r: &AnyRow) -> StoreResult<Shipment> {
    Ok(Shipment {
        courier: get(r, "courier")?,
        tracking_no: get(r, "tracking_no")?,
        shipped_at: get(r, "shipped_at")?,
        delivered_at: get(r, "delivered_at")?,
    })
}
