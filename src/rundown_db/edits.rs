//! The history of operators' edits to rundown days (`rundown_edits`, migration 3001): one
//! append-only row per accepted edit with who, when, why, a Chinese summary, the request as
//! JSON, and the day versions before and after — what the day editor's history shows and what
//! "undo" steps back through.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::{Result, Store};

/// One accepted edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EditRecord {
    /// Row id.
    pub id: i64,
    /// The day edited.
    pub date: NaiveDate,
    /// Version the edit was made on.
    pub base_version: u32,
    /// Version it produced.
    pub version: u32,
    /// Who.
    pub author: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Why, as the operator wrote it.
    pub reason: String,
    /// What, in Chinese (e.g. 插入“…”于 20:00:00 前).
    pub summary: String,
    /// The request, as JSON.
    pub op: serde_json::Value,
}

/// What is recorded for a new edit.
#[derive(Debug, Clone)]
pub struct NewEdit<'a> {
    /// The day.
    pub date: NaiveDate,
    /// Version the edit was made on.
    pub base_version: u32,
    /// Version it produced (the editor fills it in once the day is saved).
    pub version: u32,
    /// Who.
    pub author: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: &'a str,
    /// What, in Chinese.
    pub summary: &'a str,
    /// The request.
    pub op: &'a serde_json::Value,
}

type Row = (i64, String, i64, i64, String, i64, String, String, String);

/// The edit history over the store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EditLog {
    store: Store,
}

impl EditLog {
    /// The history in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Appends one edit on its own (the editor records edits with their saved version
    /// through [`record_in`], in one transaction).
    pub async fn record(&self, e: &NewEdit<'_>) -> Result<i64> {
        let mut conn = self.store.pool().acquire().await?;
        insert(&mut conn, e).await
    }

    /// The edits of a day, oldest first.
    pub async fn list(&self, date: NaiveDate) -> Result<Vec<EditRecord>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, date, base_version, version, author, at_ms, reason, summary, op_json \
             FROM rundown_edits WHERE date = $1 ORDER BY id",
        )
        .bind(date.format("%Y-%m-%d").to_string())
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows.into_iter().filter_map(record_of).collect())
    }
}

/// Appends one edit inside `tx` (the transaction that saved the version it produced).
pub async fn record_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, e: &NewEdit<'_>) -> Result<i64> {
    insert(tx, e).await
}

async fn insert(conn: &mut sqlx::AnyConnection, e: &NewEdit<'_>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO rundown_edits (date, base_version, version, author, at_ms, reason, \
         summary, op_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(e.date.format("%Y-%m-%d").to_string())
    .bind(i64::from(e.base_version))
    .bind(i64::from(e.version))
    .bind(e.author)
    .bind(e.at.timestamp_millis())
    .bind(e.reason)
    .bind(e.summary)
    .bind(e.op.to_string())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

fn record_of(
    (id, date, base, version, author, at_ms, reason, summary, op): Row,
) -> Option<EditRecord> {
    Some(EditRecord {
        id,
        date: date.parse().ok()?,
        base_version: u32::try_from(base).unwrap_or(0),
        version: u32::try_from(version).unwrap_or(0),
        author,
        at: DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
        reason,
        summary,
        op: serde_json::from_str(&op).unwrap_or(serde_json::Value::Null),
    })
}
