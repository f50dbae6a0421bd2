//! [`app::desk::ProductionStore`] on migration 0007: certificate lines (unique per order and
//! line, so a line is reserved once), the certificates sealed (a 机构个人证书 carries its
//! holder's 身份证号码) and the PINs sealed until they are sent.

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::desk::{CertLine, IssuedLine, ProductionStore};
use app::model::Effects;
use app::orders::OrderChange;
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use domain::CertType;

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

#[async_trait]
impl ProductionStore for SqlStore {
    async fn reserve_line(
        &self,
        order_id: i64,
        line: i64,
        kind: CertType,
        years: i64,
        staff_id: i64,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO order_certs (order_id, line, kind, years, status, staff_id, reserved_at, lease_until) \
             VALUES ($1, $2, $3, $4, 'issuing', $5, $6, $7) ON CONFLICT (order_id, line) DO NOTHING",
        )
        .bind(order_id)
        .bind(line)
        .bind(kind.key())
        .bind(years)
        .bind(staff_id)
        .bind(now)
        .bind(lease_until)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn take_over_line(
        &self,
        order_id: i64,
        line: i64,
        staff_id: Option<i64>,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE order_certs SET staff_id = COALESCE($3, staff_id), lease_until = $5 \
             WHERE order_id = $1 AND line = $2 AND status = 'issuing' \
             AND (lease_until IS NULL OR lease_until <= $4)",
        )
        .bind(order_id)
        .bind(line)
        .bind(staff_id)
        .bind(now)
        .bind(lease_until)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn note_serials(
        &self,
        order_id: i64,
        line: i64,
        sign_serial: &str,
        enc_serial: &str,
    ) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE order_certs SET sign_serial = $3, enc_serial = $4 \
             WHERE order_id = $1 AND line = $2 AND status = 'issuing' \
             AND (sign_serial IS NULL OR (sign_serial = $3 AND enc_serial = $4))",
        )
        .bind(order_id)
        .bind(line)
        .bind(sign_serial)
        .bind(enc_serial)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn release_line(&self, order_id: i64, line: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE order_certs SET lease_until = 0 \
             WHERE order_id = $1 AND line = $2 AND status = 'issuing'",
        )
        .bind(order_id)
        .bind(line)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn unreserve_line(&self, order_id: i64, line: i64) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM order_certs WHERE order_id = $1 AND line = $2 AND status = 'issuing' \
             AND sign_serial IS NULL",
        )
        .bind(order_id)
        .bind(line)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn issuing_lines(&self) -> StoreResult<Vec<(String, i64, Option<Millis>)>> {
        let rows = sqlx::query(
            "SELECT o.order_no, c.line, c.lease_until FROM order_certs c \
             JOIN orders o ON o.id = c.order_id WHERE c.status = 'issuing' \
             ORDER BY c.reserved_at, c.order_id, c.line",
        )
        .fetch_all(&self.db().pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((get(r, "order_no")?, get(r, "line")?, get(r, "lease_until")?)))
            .collect()
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

    async fn line_of_serial(&self, serial: &str) -> StoreResult<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT o.order_no, c.line FROM order_certs c JOIN orders o ON o.id = c.order_id \
             WHERE c.sign_serial = $1 OR c.enc_serial = $1 ORDER BY c.order_id LIMIT 1",
        )
        .bind(serial)
        .fetch_optional(&self.db().pool)
        .await
        .map_err(db_err)?;
        row.map(|r| Ok((get(&r, "order_no")?, get(&r, "line")?)))
            .transpose()
    }

    async fn cert_lines(&self, order_id: i64) -> StoreResult<Vec<CertLine>> {
        let rows = sqlx::query(
            "SELECT line, kind, years, status, sign_serial, enc_serial, sign_pem, enc_pem, envelope, \
             CAST(CASE WHEN pin_enc IS NULL THEN 0 ELSE 1 END AS BIGINT) AS pin_held, pin_sent_at, issued_at, lease_until \
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
                    kind: match get::<String>(r, "kind")?.as_str() {
                        "org" => CertType::Org,
                        "org_person" => CertType::OrgPerson,
                        other => {
                            return Err(crate::rows::bad("order_certs", format!("kind {other}")))
                        }
                    },
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
                    lease_until: get(r, "lease_until")?,
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

    async fn pins_sent(&self, lines: &[i64], change: &OrderChange) -> StoreResult<bool> {
        let mut tx = self.db().begin().await?;
        let order_id = change.order_id;
        for line in lines {
            let n = sqlx::query(
                "UPDATE order_certs SET pin_enc = NULL, pin_sent_at = $3 \
                 WHERE order_id = $1 AND line = $2 AND pin_enc IS NOT NULL",
            )
            .bind(order_id)
            .bind(*line)
            .bind(change.event.at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n != 1 {
                // Someone else sent it: roll back, send nothing twice.
                return Ok(false);
            }
        }
        if !self.apply_change_in(&mut tx, change).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}
