//! [`app::desk::CalendarStore`] on migration 0007: the official holiday schedules imported
//! at run time, one TOML text per year.

use crate::rows::{bad, get};
use crate::{db_err, SqlStore};
use app::clock::Millis;
use app::desk::CalendarStore;
use app::model::Effects;
use app::ports::StoreResult;
use async_trait::async_trait;

#[async_trait]
impl CalendarStore for SqlStore {
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
