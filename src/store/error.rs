//! The store's error type, classified by meaning (not found, invalid, conflict, unavailable)
//! so that the CLI and the REST API can answer clearly without leaking database internals.
//! Mapping to HTTP lives in `web`; this module only classifies.

/// What went wrong, by meaning. Messages are in Chinese for the people who read them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist.
    #[error("未找到{what}：{key}")]
    NotFound {
        /// What kind of thing (作品, 报送单位, …).
        what: &'static str,
        /// The key that was looked up.
        key: String,
    },
    /// Input is wrong; `field` names the field (English name, as in the API).
    #[error("字段 {field} 无效：{reason}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// Why, in Chinese.
        reason: String,
    },
    /// The request conflicts with the current state (duplicate, wrong workflow step).
    #[error("{0}")]
    Conflict(String),
    /// The database (or another resource) cannot be reached right now; details are logged.
    #[error("服务暂不可用：{0}")]
    Unavailable(String),
}

/// Result alias for the store and the catalog.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: &'static str, key: impl std::fmt::Display) -> Self {
        Self::NotFound {
            what,
            key: key.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::not_found("记录", "-"),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict("记录已存在（唯一约束冲突）".into())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Self::invalid("id", "引用的记录不存在")
            }
            sqlx::Error::Database(db) if db.is_check_violation() => {
                Self::invalid("-", "数据不满足约束")
            }
            _ => {
                // Full detail goes to the log only; clients get a generic message.
                tracing::error!(error = %e, "database error");
                Self::Unavailable("数据库操作失败，请稍后重试或联系管理员".into())
            }
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        tracing::error!(error = %e, "migration failed");
        Self::Unavailable(format!("数据库迁移失败：{e}"))
    }
}
