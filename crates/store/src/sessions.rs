//! [`app::ports::SessionStore`]: sessions by token hash.

use crate::rows::get;
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::model::*;
use app::ports::*;
use async_trait::async_trait;

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, session: &SessionRecord, effects: Effects) -> StoreResult<()> {
        let (kind, pid) = match session.principal {
            Principal::User(id) => ("user", id),
            Principal::Staff(id) => ("staff", id),
        };
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO sessions (token_hash, principal_kind, principal_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&session.token_hash)
            .bind(kind)
            .bind(pid)
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query("SELECT token_hash, principal_kind, principal_id, created_at, last_seen_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            let kind: String = get(&r, "principal_kind")?;
            let id: i64 = get(&r, "principal_id")?;
            Ok(SessionRecord {
                token_hash: get(&r, "token_hash")?,
                principal: if kind == "staff" {
                    Principal::Staff(id)
                } else {
                    Principal::User(id)
                },
                created_at: get(&r, "created_at")?,
                last_seen_at: get(&r, "last_seen_at")?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&self.db.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str, effects: Effects) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_sessions_of(&self, principal: Principal, effects: Effects) -> StoreResult<u64> {
        let (kind, pid) = match principal {
            Principal::User(id) => ("user", id),
            Principal::Staff(id) => ("staff", id),
        };
        let mut tx = self.db.begin().await?;
        let r = sqlx::query("DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2")
            .bind(kind)
            .bind(pid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply(&mut tx, effects).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r.rows_affected())
    }
}
