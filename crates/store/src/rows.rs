//! What every repository module uses to read rows: the transaction type, a typed column
//! getter mapping sqlx errors like the rest of the store, and the error for a stored value
//! this code cannot read.

use crate::db_err;
use app::ports::StoreResult;
use app::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// A transaction on either backend.
pub(crate) type Tx = Transaction<'static, Any>;

/// Column `col` of `row` as `T`.
pub(crate) fn get<'r, T: sqlx::Decode<'r, Any> + sqlx::Type<Any>>(
    row: &'r AnyRow,
    col: &str,
) -> StoreResult<T> {
    row.try_get::<T, _>(col).map_err(db_err)
}

/// A stored value of `area` (`orders`, `payments`…) that cannot be read back or written.
pub(crate) fn bad(area: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("{area}: {what}"))
}
