//! Why an edit was refused: Chinese messages naming the item (第 N 条“标题”, 1-based) and
//! Shanghai wall times, plus a stable [`EditError::kind`] for the REST layer.

use chrono::{DateTime, Utc};

/// An edit refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The item ended at or before the cut (409).
    #[error("{item} 已播出，不能修改（{from}–{to}）")]
    Aired {
        /// Index of the item (0-based).
        index: usize,
        /// `第 N 条“标题”`.
        item: String,
        /// Start, Shanghai wall time.
        from: String,
        /// End, Shanghai wall time.
        to: String,
    },
    /// The item is on air: it may only be ended or trimmed from the cut on (409).
    #[error("{item} 正在播出（{from} 起），不能{action}")]
    OnAir {
        /// Index of the item (0-based).
        index: usize,
        /// `第 N 条“标题”`.
        item: String,
        /// Start, Shanghai wall time.
        from: String,
        /// What was refused (移动, 替换…).
        action: String,
    },
    /// The change would take effect before the cut (409).
    #[error("{what}：为时已晚，最早只能在 {earliest_wall} 生效")]
    TooLate {
        /// What was asked, naming the item.
        what: String,
        /// The earliest instant it could take effect.
        earliest: DateTime<Utc>,
        /// The same, Shanghai wall time.
        earliest_wall: String,
    },
    /// The item would overlap another one or a hard start (409).
    #[error("{message}")]
    Overlap {
        /// Index of the item in the way, if one.
        index: Option<usize>,
        /// Chinese message naming it and its wall times.
        message: String,
    },
    /// No item with that index (404).
    #[error("没有第 {number} 条节目（当天共 {count} 条）")]
    NoSuchItem {
        /// The index asked for, 1-based.
        number: usize,
        /// Items in the day.
        count: usize,
    },
    /// A field of the op is invalid (422).
    #[error("{field}：{message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Chinese message.
        message: String,
    },
}

impl EditError {
    /// Stable machine name: `aired`, `on_air`, `too_late`, `overlap`, `no_such_item`,
    /// `invalid`.
    pub fn kind(&self) -> &'static str {
        match self {
            EditError::Aired { .. } => "aired",
            EditError::OnAir { .. } => "on_air",
            EditError::TooLate { .. } => "too_late",
            EditError::Overlap { .. } => "overlap",
            EditError::NoSuchItem { .. } => "no_such_item",
            EditError::Invalid { .. } => "invalid",
        }
    }

    pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        EditError::Invalid {
            field,
            message: message.into(),
        }
    }
}
