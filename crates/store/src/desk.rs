//! [`app::desk::DeskStore`] on migration 0007: review claims and decisions, certificate lines
//! (unique per order and line) with sealed PINs, shipments, invoices and holiday schedules.
//! Every method is one transaction; order moves share `save_order_in` with the order store,
//! and the audit rows and SMS of a change commit with it.

use crate::rows::{bad, get, Tx};
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::desk::{CertLine, Decision, DeskStore, InvoiceData, IssuedLine, OrderMove, Shipment};
use app::model::Effects;
use app::orders::OrderEvent;
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use domain::order::Draft;
use sqlx::any::AnyRow;

fn pin_ctx(order_id: i64, line: i64) -> String {
    format!("order_certs.pin:{order_id}:{line}")
}

/// A certificate of an order line, sealed (a 机构个人证书 carries its holder's 身份证号码) and
/// hex-encoded for its TEXT column.
fn seal_pem(
    v: &crate::Vault,
    order_id: i64,
    line: i64,
    col: &str,
    pem: &str,
) -> StoreResult<String> {
    Ok(hex::encode(v.seal_str(
        &format!("order_certs.{col}:{order_id}:{line}"),
        pem,
    )?))
}

fn open_pem(
    v: &crate::Vault,
    order_id: i64,
    line: i64,
    col: &str,
    stored: Option<String>,
) -> StoreResult<Option<String>> {
    stored
        .map(|h| {
            let sealed =
                hex::decode(h).map_err(|_| StoreError::Other("order_certs: bad hex".into()))?;
            v.open_str(&format!("order_certs.{col}:{order_id}:{line}"), &sealed)
        })
        .transpose()
}

impl SqlStore {
    async fn move_in(&self, tx: &mut Tx, mv: &OrderMove<'_>) -> StoreResult<bool> {
        self.save_order_in(tx, mv.id, mv.version, mv.state, mv.draft, mv.event)
            .await
    }

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
        Ok(Decision {
            staff_id: get(row, "staff_id")?,
            at: get(row, "at")?,
            decision: get(row, "decision")?,
            reasons: serde_json::from_str(&reasons).map_err(|e| bad("desk", e))?,
            snapshot,
        })
    }

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
impl DeskStore for SqlStore {
    async fn claim_review(
        &self,
        order_id: i64,
        staff_id: i64,
        now: Millis,
        stale_before: Millis,
        effects: Effects,
    ) -> StoreResult<(i64, Millis)> {
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
        let row = sqlx::query("SELECT staff_id, claimed_at FROM review_claims WHERE order_id = $1")
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let out: (i64, Millis) = (get(&row, "staff_id")?, get(&row, "claimed_at")?);
        if out.0 == staff_id && before != Some(staff_id) {
            self.apply(&mut tx, effects).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn review_claim(&self, order_id: i64) -> StoreResult<Option<(i64, Millis)>> {
        let row = sqlx::query("SELECT staff_id, claimed_at FROM review_claims WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?;
        row.map(|r| Ok((get(&r, "staff_id")?, get(&r, "claimed_at")?)))
            .transpose()
    }

    async fn decide(
        &self,
        mv: OrderMove<'_>,
        decision: &Decision,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.move_in(&mut tx, &mv).await? {
            return Ok(false);
        }
        let snapshot = match &decision.snapshot {
            Some(d) => Some(self.vault().seal(
                &format!("review_decisions.snapshot:{}", mv.id),
                &serde_json::to_vec(d).map_err(|e| bad("desk", e))?,
            )?),
            None => None,
        };
        sqlx::query(
            "INSERT INTO review_decisions (order_id, staff_id, at, decision, reasons, snapshot_enc) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(mv.id)
        .bind(decision.staff_id)
        .bind(decision.at)
        .bind(&decision.decision)
        .bind(serde_json::to_string(&decision.reasons).map_err(|e| bad("desk", e))?)
        .bind(snapshot)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM review_claims WHERE order_id = $1")
            .bind(mv.id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn move_with(&self, mv: OrderMove<'_>, effects: Effects) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.move_in(&mut tx, &mv).await? {
            return Ok(false);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn decisions(&self, order_id: i64) -> StoreResult<Vec<Decision>> {
        let rows = sqlx::query(
            "SELECT staff_id, at, decision, reasons, snapshot_enc FROM review_decisions \
             WHERE order_id = $1 ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| self.decision_from(r, order_id))
            .collect()
    }

    async fn reserve_line(
        &self,
        order_id: i64,
        line: i64,
        kind: &str,
        years: i64,
        staff_id: i64,
        now: Millis,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO order_certs (order_id, line, kind, years, status, staff_id, reserved_at) \
             VALUES ($1, $2, $3, $4, 'issuing', $5, $6) ON CONFLICT (order_id, line) DO NOTHING",
        )
        .bind(order_id)
        .bind(line)
        .bind(kind)
        .bind(years)
        .bind(staff_id)
        .bind(now)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn unreserve_line(&self, order_id: i64, line: i64) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM order_certs WHERE order_id = $1 AND line = $2 AND status = 'issuing'",
        )
        .bind(order_id)
        .bind(line)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn line_issued(
        &self,
        order_id: i64,
        line: i64,
        issued: &IssuedLine,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db().begin().await?;
        let n = sqlx::query(
            "UPDATE order_certs SET status = 'issued', sign_serial = $3, enc_serial = $4, \
             sign_pem = $5, enc_pem = $6, envelope = $7, pin_enc = $8, issued_at = $9 \
             WHERE order_id = $1 AND line = $2 AND status = 'issuing'",
        )
        .bind(order_id)
        .bind(line)
        .bind(&issued.sign_serial)
        .bind(&issued.enc_serial)
        .bind(seal_pem(
            self.vault(),
            order_id,
            line,
            "sign_pem",
            &issued.sign_pem,
        )?)
        .bind(seal_pem(
            self.vault(),
            order_id,
            line,
            "enc_pem",
            &issued.enc_pem,
        )?)
        .bind(issued.envelope.clone())
        .bind(
            self.vault()
                .seal_str(&pin_ctx(order_id, line), &issued.pin)?,
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn cert_lines(&self, order_id: i64) -> StoreResult<Vec<CertLine>> {
        let rows = sqlx::query(
            "SELECT line, kind, years, status, sign_serial, enc_serial, sign_pem, enc_pem, envelope, \
             CAST(CASE WHEN pin_enc IS NULL THEN 0 ELSE 1 END AS BIGINT) AS pin_held, pin_sent_at, issued_at \
             FROM order_certs WHERE order_id = $1 ORDER BY line",
        )
        .bind(order_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let held = get::<i64>(r, "pin_held")? != 0;
                let line: i64 = get(r, "line")?;
                let v = self.vault();
                Ok(CertLine {
                    line,
                    kind: get(r, "kind")?,
                    years: get(r, "years")?,
                    status: get(r, "status")?,
                    sign_serial: get(r, "sign_serial")?,
                    enc_serial: get(r, "enc_serial")?,
                    sign_pem: open_pem(v, order_id, line, "sign_pem", get(r, "sign_pem")?)?,
                    enc_pem: open_pem(v, order_id, line, "enc_pem", get(r, "enc_pem")?)?,
                    envelope: get(r, "envelope")?,
                    pin_held: held,
                    pin_sent_at: get(r, "pin_sent_at")?,
                    issued_at: get(r, "issued_at")?,
                })
            })
            .collect()
    }

    async fn held_pins(&self, order_id: i64) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT line, pin_enc FROM order_certs WHERE order_id = $1 AND pin_enc IS NOT NULL ORDER BY line",
        )
        .bind(order_id)
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let line: i64 = get(r, "line")?;
                let sealed: Vec<u8> = get(r, "pin_enc")?;
                Ok((
                    line,
                    self.vault().open_str(&pin_ctx(order_id, line), &sealed)?,
                ))
            })
            .collect()
    }

    async fn pins_sent(
        &self,
        order_id: i64,
        lines: &[i64],
        now: Millis,
        event: &OrderEvent,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        for line in lines {
            let n = sqlx::query(
                "UPDATE order_certs SET pin_enc = NULL, pin_sent_at = $3 \
                 WHERE order_id = $1 AND line = $2 AND pin_enc IS NOT NULL",
            )
            .bind(order_id)
            .bind(*line)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n != 1 {
                // Someone else sent it: roll back, send nothing twice.
                return Ok(false);
            }
        }
        crate::orders::add_event(&mut tx, order_id, event).await?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn redact_sms_params(&self, outbox_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sms_outbox SET params_enc = $2 WHERE id = $1")
            .bind(outbox_id)
            .bind(self.vault().seal_str("sms_outbox.params", "[]")?)
            .execute(&self.db().pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn ship(
        &self,
        mv: OrderMove<'_>,
        shipment: &Shipment,
        staff_id: i64,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.move_in(&mut tx, &mv).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO shipments (order_id, courier, tracking_no, staff_id, shipped_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(mv.id)
        .bind(&shipment.courier)
        .bind(&shipment.tracking_no)
        .bind(staff_id)
        .bind(shipment.shipped_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn complete(
        &self,
        mv: OrderMove<'_>,
        invoice: &InvoiceData,
        token_hash: &str,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        if !self.move_in(&mut tx, &mv).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE shipments SET delivered_at = $2 WHERE order_id = $1")
            .bind(mv.id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO invoices (order_id, invoice_no, provider, token_hash, data_enc, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(mv.id)
        .bind(&invoice.invoice_no)
        .bind(&invoice.provider)
        .bind(token_hash)
        .bind(self.vault().seal(
            &format!("invoices.data:{}", mv.id),
            &serde_json::to_vec(invoice).map_err(|e| bad("desk", e))?,
        )?)
        .bind(invoice.issued_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
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

    async fn calendar_years(&self) -> StoreResult<Vec<(i32, String)>> {
        let rows = sqlx::query("SELECT year, toml FROM calendar_years ORDER BY year")
            .fetch_all(&self.db().pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let y: i64 = get(r, "year")?;
                Ok((
                    i32::try_from(y).map_err(|e| bad("desk", e))?,
                    get(r, "toml")?,
                ))
            })
            .collect()
    }

    async fn put_calendar_year(
        &self,
        year: i32,
        toml: &str,
        now: Millis,
        by: &str,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.db().begin().await?;
        sqlx::query(
            "INSERT INTO calendar_years (year, toml, imported_at, imported_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (year) DO UPDATE SET toml = excluded.toml, imported_at = excluded.imported_at, \
             imported_by = excluded.imported_by",
        )
        .bind(i64::from(year))
        .bind(toml)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
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
