//! [`app::desk::SealStore`] on migration 0024: an order's electronic seal, reserved (esID
//! chosen, unique) before it is made and stored once by a guarded UPDATE.

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::desk::{SealLine, SealStore};
use app::ports::StoreResult;
use app::StoreError;
use async_trait::async_trait;
use sqlx::any::AnyRow;

const COLS: &str = "order_id, es_id, sign_serial, status, der_hex, made_at, revoked_at";

fn line(r: &AnyRow) -> StoreResult<SealLine> {
    let der: Option<String> = get(r, "der_hex")?;
    Ok(SealLine {
        order_id: get(r, "order_id")?,
        es_id: get(r, "es_id")?,
        sign_serial: get(r, "sign_serial")?,
        status: get(r, "status")?,
        der: der
            .map(|h| hex::decode(h).map_err(|_| StoreError::Other("order_seals: bad hex".into())))
            .transpose()?,
        made_at: get(r, "made_at")?,
        revoked_at: get(r, "revoked_at")?,
    })
}

impl SqlStore {
    async fn seal_where(&self, cond: &str, v: SealKey<'_>) -> StoreResult<Option<SealLine>> {
        let sql = format!("SELECT {COLS} FROM order_seals WHERE {cond}");
        let q = sqlx::query(&sql);
        let q = match v {
            SealKey::Order(id) => q.bind(id),
            SealKey::EsId(s) => q.bind(s.to_owned()),
        };
        q.fetch_optional(&self.db().pool)
            .await
            .map_err(db_err)?
            .map(|r| line(&r))
            .transpose()
    }
}

enum SealKey<'a> {
    Order(i64),
    EsId(&'a str),
}

#[async_trait]
impl SealStore for SqlStore {
    async fn reserve_seal(
        &self,
        order_id: i64,
        es_id: &str,
        sign_serial: &str,
        now: Millis,
    ) -> StoreResult<SealLine> {
        sqlx::query(
            "INSERT INTO order_seals (order_id, es_id, sign_serial, status, reserved_at) \
             VALUES ($1, $2, $3, 'making', $4) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(es_id)
        .bind(sign_serial)
        .bind(now)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?;
        self.seal_where("order_id = $1", SealKey::Order(order_id))
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn seal_made(&self, order_id: i64, der: &[u8], now: Millis) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE order_seals SET status = 'made', der_hex = $2, made_at = $3 \
             WHERE order_id = $1 AND status = 'making'",
        )
        .bind(order_id)
        .bind(hex::encode(der))
        .bind(now)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn seal_of(&self, order_id: i64) -> StoreResult<Option<SealLine>> {
        self.seal_where("order_id = $1", SealKey::Order(order_id))
            .await
    }

    async fn seal_by_es_id(&self, es_id: &str) -> StoreResult<Option<SealLine>> {
        self.seal_where("es_id = $1", SealKey::EsId(es_id)).await
    }

    async fn revoke_seals_of(&self, sign_serial: &str, now: Millis) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE order_seals SET status = 'revoked', revoked_at = $2 \
             WHERE sign_serial = $1 AND status <> 'revoked'",
        )
        .bind(sign_serial)
        .bind(now)
        .execute(&self.db().pool)
        .await
        .map_err(db_err)?
        .rows_affected())
    }
}
