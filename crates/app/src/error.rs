//! The one error type of the use cases. The web edge turns it into a status code and a
//! Chinese message; internal causes are logged there with a request id, never shown.

/// What went wrong in a use case, in terms the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field the user typed was refused. `field` is the form/JSON field name.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The credentials or code did not match (kept vague on purpose).
    #[error("{0}")]
    Unauthorized(String),
    /// Not logged in, or the session ended.
    #[error("请先登录")]
    Unauthenticated,
    /// Logged in but the role does not allow this action.
    #[error("您没有权限执行此操作")]
    Forbidden,
    /// The thing does not exist, or belongs to someone else (the two are not told apart).
    #[error("您访问的内容不存在")]
    NotFound,
    /// A limit was reached; try later.
    #[error("{0}")]
    RateLimited(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The order's state does not allow the action (the one refusal of the state machine).
    #[error("{0}")]
    WrongState(#[from] domain::order::WrongState),
    /// Someone changed the order since it was read; nothing was written.
    #[error("业务单已被修改(可能在其他页面或由他人处理),请刷新页面后重试")]
    Stale,
    /// An external provider is unreachable; nothing was changed.
    #[error("服务暂时不可用,请稍后重试")]
    Unavailable(String),
    /// The database does not answer (down, restarting, out of connections); nothing was
    /// changed.
    #[error("系统维护中,请稍后重试")]
    DatabaseDown(String),
    /// The database's disk is full; nothing was changed.
    #[error("存储空间不足,请联系客服")]
    StorageFull(String),
    /// A bug or an unreachable database; details go to the log only.
    #[error("系统繁忙,请稍后重试")]
    Internal(String),
}

impl AppError {
    /// Shorthand for a refused field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// Errors of the storage port.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached (connection refused, pool timed out, closed).
    #[error("database unreachable: {0}")]
    Unavailable(String),
    /// The database or its disk is full.
    #[error("disk full: {0}")]
    Full(String),
    /// Anything else from the database or the file system.
    #[error("store: {0}")]
    Other(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Unavailable(m) => AppError::DatabaseDown(m),
            StoreError::Full(m) => AppError::StorageFull(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Errors of an external provider (SMS, payments, identity…).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The provider did not answer in time or answered 5xx: safe to retry later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request; retrying the same request will not help.
    #[error("provider refused: {0}")]
    Refused(String),
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;
