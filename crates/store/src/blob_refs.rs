//! Which blobs the database refers to, for the blob sweep
//! ([`app::orders::OrderStore::referenced_blobs`]): the uploads in every order's sealed draft,
//! and the values of every text column whose name ends in `_blob` in any table (found in the
//! schema, so a new table that keeps blob ids that way is covered without a change here).
//! Any failure is an error, never a shorter list: the sweep then deletes nothing.

use crate::rows::bad;
use crate::{db_err, Dialect, SqlStore};
use app::ports::StoreResult;
use domain::order::Draft;
use sqlx::Row;
use std::collections::HashSet;

/// A table or column name as the schema lists it, safe to put in a query.
fn ident(s: &str) -> StoreResult<&str> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(s)
    } else {
        Err(bad("blob references", format!("unexpected name {s:?}")))
    }
}

impl SqlStore {
    /// The `(table, column)` pairs holding blob ids in clear.
    async fn blob_columns(&self) -> StoreResult<Vec<(String, String)>> {
        let sql = match self.db().dialect {
            Dialect::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND p.name LIKE '%\\_blob' ESCAPE '\\' \
                 AND upper(p.type) = 'TEXT' ORDER BY 1, 2"
            }
            Dialect::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND column_name LIKE '%\\_blob' ESCAPE '\\' AND data_type = 'text' ORDER BY 1, 2"
            }
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.db().pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("t").map_err(db_err)?,
                    r.try_get("c").map_err(db_err)?,
                ))
            })
            .collect()
    }

    /// Every blob id the database refers to.
    pub(crate) async fn referenced_blob_ids(&self) -> StoreResult<HashSet<String>> {
        let mut ids = HashSet::new();
        let rows = sqlx::query("SELECT order_no, draft_enc FROM orders")
            .fetch_all(&self.db().pool)
            .await
            .map_err(db_err)?;
        for r in &rows {
            let no: String = r.try_get("order_no").map_err(db_err)?;
            let sealed: Vec<u8> = r.try_get("draft_enc").map_err(db_err)?;
            let json = self.vault().open(&format!("orders.draft:{no}"), &sealed)?;
            let d: Draft = serde_json::from_slice(&json).map_err(|e| bad("blob references", e))?;
            ids.extend(d.uploads.values().map(|u| u.blob.clone()));
        }
        for (t, c) in self.blob_columns().await? {
            let (t, c) = (ident(&t)?, ident(&c)?);
            let rows = sqlx::query(&format!("SELECT {c} AS b FROM {t} WHERE {c} IS NOT NULL"))
                .fetch_all(&self.db().pool)
                .await
                .map_err(db_err)?;
            for r in &rows {
                ids.insert(r.try_get::<String, _>("b").map_err(db_err)?);
            }
        }
        Ok(ids)
    }
}
