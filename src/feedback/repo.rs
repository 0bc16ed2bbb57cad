//! Storage of 数据反馈 on SQLite or PostgreSQL (one SQL text for both, `$n` parameters,
//! integers and text only): relay channels with their hashed webhook token, raw figure
//! events idempotent by (channel, instant, kind), and the per-minute buckets recomputed from
//! the raw events of every minute a write touched.
//!
//! Owns the `feedback_*` tables. Does not own who may write what (the web layer checks the
//! caller's unit with [`Channel::unit_id`]) nor what the figures mean (`attribution`).
//! A batch is one transaction: all of it is stored or none.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::{Figure, Kind, Source, platform_ok};
use crate::auth::secret::{mask_token, token_digest};
use crate::store::{Error, Result, Store, now_ms};

/// Prefix of a channel's webhook token.
pub const HOOK_TOKEN_PREFIX: &str = "fb_";

/// A relay channel (转播渠道): one account of one unit on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Channel {
    /// Row id.
    pub id: i64,
    /// The unit that relays (None: the organiser's own channel, e.g. our public HLS).
    pub unit_id: Option<i64>,
    /// Platform name (`bilibili`, `douyin`, …).
    pub platform: String,
    /// 账号名称.
    pub account_name: String,
    /// 直播间地址.
    pub room_url: Option<String>,
    /// The webhook token, masked (`fb_1a2…`); the whole token is shown once at creation.
    pub token_display: String,
    /// 1 while figures are expected from it.
    #[serde(serialize_with = "as_bool")]
    pub active: i64,
    /// Created, UTC ms.
    pub created_at_ms: i64,
    /// Last change, UTC ms.
    pub updated_at_ms: i64,
}

fn as_bool<S: serde::Serializer>(v: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bool(*v != 0)
}

/// A channel to create or the new settings of one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// 单位编号（合作单位只能填本单位；运营人员不填表示主办方自有渠道）The unit.
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// 平台（bilibili、douyin、kuaishou、weibo、wechat_channels、cctv_video、kepu_app…）
    pub platform: String,
    /// 账号名称 Account name.
    pub account_name: String,
    /// 直播间地址 Room URL (http/https).
    #[serde(default)]
    pub room_url: Option<String>,
    /// 是否启用（默认是）Active (default true).
    #[serde(default)]
    pub active: Option<bool>,
}

impl NewChannel {
    /// Checks the fields, naming the one at fault.
    pub fn validate(&self) -> Result<()> {
        if !platform_ok(self.platform.trim()) {
            return Err(Error::invalid(
                "platform",
                format!(
                    "平台「{}」须为小写字母、数字或下划线（如 bilibili、douyin），至多 32 个字符",
                    self.platform
                ),
            ));
        }
        let name = self.account_name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "account_name",
                "账号名称不能为空，至多 100 个字符",
            ));
        }
        if let Some(u) = &self.room_url {
            let u = u.trim();
            if !u.is_empty()
                && (!(u.starts_with("https://") || u.starts_with("http://"))
                    || u.len() > 500
                    || u.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                return Err(Error::invalid(
                    "room_url",
                    format!("直播间地址「{u}」须为 http:// 或 https:// 开头的网址"),
                ));
            }
        }
        Ok(())
    }
}

/// A channel just created (or its token rotated): the whole token, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedChannel {
    /// The channel.
    pub channel: Channel,
    /// The webhook token (`fb_` + 64 hex digits); only its SHA-256 is stored.
    pub token: String,
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Figures in the batch.
    pub received: usize,
    /// New figures stored.
    pub inserted: usize,
    /// Figures that replaced a stored one with a different value (a correction).
    pub corrected: usize,
    /// Figures already stored with the same value (a replay): nothing written.
    pub duplicates: usize,
}

/// What a call with a platform's own messages did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NativeReport {
    /// Messages counted in the call (of our kinds).
    pub received: usize,
    /// New messages counted.
    pub counted: usize,
    /// Messages already counted (the same message id): nothing added.
    pub duplicates: usize,
    /// Instants written (new messages summed per kind and instant).
    pub figures: usize,
    /// Instants where a running total of the same kind is stored: not added to.
    pub not_added: usize,
}

/// Recomputes the minute buckets of every touched (channel, kind, minute) from the raw
/// events, inside the caller's transaction.
async fn rebucket(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    touched: &BTreeSet<(i64, Kind, i64)>,
) -> Result<()> {
    for (channel, kind, minute) in touched {
        sqlx::query(
            "DELETE FROM feedback_minutes WHERE channel_id = $1 AND kind = $2 \
             AND minute_ms = $3",
        )
        .bind(channel)
        .bind(kind.as_str())
        .bind(minute)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO feedback_minutes (channel_id, kind, minute_ms, n, value_sum, \
             value_max, value_last, last_at_ms, cumulative) \
             SELECT channel_id, kind, $3, COUNT(*), CAST(SUM(value) AS BIGINT), \
             MAX(value), (SELECT e2.value FROM feedback_events e2 WHERE \
             e2.channel_id = $1 AND e2.kind = $2 AND e2.at_ms >= $3 AND e2.at_ms < $4 \
             ORDER BY e2.at_ms DESC LIMIT 1), MAX(at_ms), MAX(cumulative) \
             FROM feedback_events WHERE channel_id = $1 AND kind = $2 AND at_ms >= $3 \
             AND at_ms < $4 GROUP BY channel_id, kind",
        )
        .bind(channel)
        .bind(kind.as_str())
        .bind(minute)
        .bind(minute + 60_000)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One stored figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StoredFigure {
    /// Channel.
    pub channel_id: i64,
    /// Instant, UTC ms.
    pub at_ms: i64,
    /// Kind (`viewers`, …).
    pub kind: String,
    /// Value.
    pub value: i64,
    /// 1 for a running total.
    pub cumulative: i64,
    /// Source (`api`, …).
    pub source: String,
    /// As of, UTC ms.
    pub as_of_ms: Option<i64>,
    /// Received, UTC ms.
    pub received_at_ms: i64,
}

impl StoredFigure {
    /// The figure as attribution reads it; `None` for a kind this build does not know.
    pub fn point(&self) -> Option<super::attribution::Point> {
        Some(super::attribution::Point {
            channel_id: self.channel_id,
            at_ms: self.at_ms,
            kind: kind_of(&self.kind)?,
            value: self.value,
            cumulative: self.cumulative != 0,
        })
    }
}

/// One minute of one channel and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MinuteBucket {
    /// Channel.
    pub channel_id: i64,
    /// Kind.
    pub kind: String,
    /// Start of the minute, UTC ms.
    pub minute_ms: i64,
    /// Figures in the minute.
    pub n: i64,
    /// Their sum.
    pub value_sum: i64,
    /// Their largest.
    pub value_max: i64,
    /// The latest one's value.
    pub value_last: i64,
    /// The latest one's instant.
    pub last_at_ms: i64,
    /// 1 when the figures are running totals.
    pub cumulative: i64,
}

/// A literal `SELECT` of a channel's columns followed by `$rest` (sqlx takes only literal
/// SQL text).
macro_rules! select_channels {
    ($rest:literal) => {
        concat!(
            "SELECT id, unit_id, platform, account_name, room_url, token_display, active, \
             created_at_ms, updated_at_ms FROM feedback_channels ",
            $rest
        )
    };
}

/// The start of the minute of `ms`.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000) * 60_000
}

/// A fresh webhook token: `fb_` + 64 hex digits from the OS.
fn new_hook_token() -> String {
    let t = crate::auth::secret::new_token();
    format!(
        "{HOOK_TOKEN_PREFIX}{}",
        t.trim_start_matches(crate::auth::secret::TOKEN_PREFIX)
    )
}

/// Whether `s` has the shape of a webhook token.
pub fn looks_like_hook_token(s: &str) -> bool {
    s.strip_prefix(HOOK_TOKEN_PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// 数据反馈 storage over the store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct FeedbackStore {
    store: Store,
}

impl FeedbackStore {
    /// The tables in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Every channel (of one unit when `unit` is given), in id order.
    pub async fn channels(&self, unit: Option<i64>) -> Result<Vec<Channel>> {
        Ok(sqlx::query_as(select_channels!(
            "WHERE ($1 < 0 OR unit_id = $1) ORDER BY id"
        ))
        .bind(unit.unwrap_or(-1))
        .fetch_all(self.store.pool())
        .await?)
    }

    /// One channel.
    pub async fn channel(&self, id: i64) -> Result<Channel> {
        sqlx::query_as(select_channels!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| Error::not_found("转播渠道", id))
    }

    /// Creates a channel with a fresh webhook token (returned once).
    pub async fn create_channel(&self, c: &NewChannel) -> Result<IssuedChannel> {
        c.validate()?;
        let token = new_hook_token();
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO feedback_channels (unit_id, platform, account_name, room_url, \
             token_sha256, token_display, active, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(c.unit_id)
        .bind(c.platform.trim())
        .bind(c.account_name.trim())
        .bind(
            c.room_url
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        )
        .bind(token_digest(&token))
        .bind(mask_token(&token))
        .bind(i64::from(c.active.unwrap_or(true)))
        .bind(now)
        .fetch_one(self.store.pool())
        .await?;
        tracing::info!(channel = id, platform = %c.platform.trim(), "relay channel created");
        Ok(IssuedChannel {
            channel: self.channel(id).await?,
            token,
        })
    }

    /// Changes a channel's settings (its unit stays).
    pub async fn update_channel(&self, id: i64, c: &NewChannel) -> Result<Channel> {
        c.validate()?;
        let done = sqlx::query(
            "UPDATE feedback_channels SET platform = $1, account_name = $2, room_url = $3, \
             active = $4, updated_at_ms = $5 WHERE id = $6",
        )
        .bind(c.platform.trim())
        .bind(c.account_name.trim())
        .bind(
            c.room_url
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        )
        .bind(i64::from(c.active.unwrap_or(true)))
        .bind(now_ms())
        .bind(id)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("转播渠道", id));
        }
        self.channel(id).await
    }

    /// Issues a new webhook token for a channel (the old one stops working at once).
    pub async fn rotate_token(&self, id: i64) -> Result<IssuedChannel> {
        let token = new_hook_token();
        let done = sqlx::query(
            "UPDATE feedback_channels SET token_sha256 = $1, token_display = $2, \
             updated_at_ms = $3 WHERE id = $4",
        )
        .bind(token_digest(&token))
        .bind(mask_token(&token))
        .bind(now_ms())
        .bind(id)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("转播渠道", id));
        }
        Ok(IssuedChannel {
            channel: self.channel(id).await?,
            token,
        })
    }

    /// The active channel a webhook token belongs to (None for an unknown or inactive one).
    pub async fn channel_by_token(&self, token: &str) -> Result<Option<Channel>> {
        if !looks_like_hook_token(token) {
            return Ok(None);
        }
        Ok(
            sqlx::query_as(select_channels!("WHERE token_sha256 = $1 AND active = 1"))
                .bind(token_digest(token))
                .fetch_optional(self.store.pool())
                .await?,
        )
    }

    /// The organiser's channel of `platform` named `account_name`, created when missing
    /// (our own HLS audience lands on one).
    pub async fn own_channel(&self, platform: &str, account_name: &str) -> Result<Channel> {
        let found: Option<Channel> = sqlx::query_as(select_channels!(
            "WHERE unit_id IS NULL \
             AND platform = $1 AND account_name = $2 ORDER BY id LIMIT 1"
        ))
        .bind(platform)
        .bind(account_name)
        .fetch_optional(self.store.pool())
        .await?;
        match found {
            Some(c) => Ok(c),
            None => Ok(self
                .create_channel(&NewChannel {
                    unit_id: None,
                    platform: platform.into(),
                    account_name: account_name.into(),
                    room_url: None,
                    active: Some(true),
                })
                .await?
                .channel),
        }
    }

    /// Stores a batch in one transaction: a new (channel, instant, kind) is inserted, a
    /// replay with the same value and counting changes nothing, one with another value
    /// replaces it (a correction). The minute buckets of every touched minute are
    /// recomputed from the raw events in the same transaction.
    pub async fn ingest(&self, figures: &[Figure]) -> Result<IngestReport> {
        self.ingest_fenced(figures, &crate::cluster::fence::Fence::none())
            .await
    }

    /// [`FeedbackStore::ingest`] under a once-only job's lease epoch: the transaction
    /// first checks the epoch ([`crate::cluster::fence::Fence::check`]) and stores nothing
    /// when it is no longer current; the rows written keep it (`lease_epoch`).
    pub async fn ingest_fenced(
        &self,
        figures: &[Figure],
        fence: &crate::cluster::fence::Fence,
    ) -> Result<IngestReport> {
        let mut report = IngestReport {
            received: figures.len(),
            ..IngestReport::default()
        };
        let received_at = now_ms();
        let mut touched: BTreeSet<(i64, Kind, i64)> = BTreeSet::new();
        let mut tx = self.store.pool().begin().await?;
        fence.check(&mut tx).await?;
        for f in figures {
            let inserted = sqlx::query(
                "INSERT INTO feedback_events (channel_id, at_ms, kind, value, cumulative, \
                 source, as_of_ms, received_at_ms, lease_epoch) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (channel_id, at_ms, kind) DO NOTHING",
            )
            .bind(f.channel_id)
            .bind(f.at_ms)
            .bind(f.kind.as_str())
            .bind(f.value)
            .bind(i64::from(f.cumulative))
            .bind(f.source.as_str())
            .bind(f.as_of_ms)
            .bind(received_at)
            .bind(fence.epoch())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                report.inserted += 1;
                touched.insert((f.channel_id, f.kind, minute_of(f.at_ms)));
                continue;
            }
            let corrected = sqlx::query(
                "UPDATE feedback_events SET value = $1, cumulative = $2, source = $3, \
                 as_of_ms = $4, received_at_ms = $5, lease_epoch = $9 WHERE channel_id = $6 \
                 AND at_ms = $7 AND kind = $8 AND (value <> $1 OR cumulative <> $2)",
            )
            .bind(f.value)
            .bind(i64::from(f.cumulative))
            .bind(f.source.as_str())
            .bind(f.as_of_ms)
            .bind(received_at)
            .bind(f.channel_id)
            .bind(f.at_ms)
            .bind(f.kind.as_str())
            .bind(fence.epoch())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if corrected == 1 {
                report.corrected += 1;
                touched.insert((f.channel_id, f.kind, minute_of(f.at_ms)));
            } else {
                report.duplicates += 1;
            }
        }
        rebucket(&mut tx, &touched).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Stores a platform's own messages ([`native`](super::native)) of `channel_id` in one
    /// transaction: a message id already seen on the channel adds nothing; the new ones are
    /// summed per (kind, instant) and added to the increment stored at that instant (source
    /// `webhook`, not cumulative). Message ids older than a day are forgotten here.
    pub async fn ingest_native(
        &self,
        channel_id: i64,
        events: &[super::native::NativeEvent],
    ) -> Result<NativeReport> {
        let mut report = NativeReport {
            received: events.len(),
            ..NativeReport::default()
        };
        let received_at = now_ms();
        let mut sums: std::collections::BTreeMap<(Kind, i64), i64> =
            std::collections::BTreeMap::new();
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "DELETE FROM feedback_native_seen WHERE channel_id = $1 AND received_at_ms < $2",
        )
        .bind(channel_id)
        .bind(received_at - 86_400_000)
        .execute(&mut *tx)
        .await?;
        for e in events {
            let new = sqlx::query(
                "INSERT INTO feedback_native_seen (channel_id, msg_id, received_at_ms) \
                 VALUES ($1, $2, $3) ON CONFLICT (channel_id, msg_id) DO NOTHING",
            )
            .bind(channel_id)
            .bind(&e.msg_id)
            .bind(received_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if new == 1 {
                report.counted += 1;
                let v = sums.entry((e.kind, e.at_ms)).or_default();
                *v = v.saturating_add(e.value);
            } else {
                report.duplicates += 1;
            }
        }
        let mut touched: BTreeSet<(i64, Kind, i64)> = BTreeSet::new();
        for ((kind, at), value) in &sums {
            let stored = sqlx::query(
                "INSERT INTO feedback_events (channel_id, at_ms, kind, value, cumulative, \
                 source, as_of_ms, received_at_ms) VALUES ($1, $2, $3, $4, 0, 'webhook', NULL, $5) \
                 ON CONFLICT (channel_id, at_ms, kind) DO UPDATE SET \
                 value = feedback_events.value + excluded.value, \
                 received_at_ms = excluded.received_at_ms WHERE feedback_events.cumulative = 0",
            )
            .bind(channel_id)
            .bind(at)
            .bind(kind.as_str())
            .bind(value)
            .bind(received_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if stored == 1 {
                report.figures += 1;
                touched.insert((channel_id, *kind, minute_of(*at)));
            } else {
                // A running total sits at that very instant: the messages cannot be added.
                report.not_added += 1;
            }
        }
        rebucket(&mut tx, &touched).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Raw figures of the channels `channels` (all when empty) with `from <= at < to`,
    /// in instant order; at most `limit`. One channel is filtered by the database; several
    /// (a partner's) after reading the period.
    pub async fn figures(
        &self,
        channels: &[i64],
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<StoredFigure>> {
        let single = match channels {
            [one] => *one,
            _ => -1,
        };
        let several = channels.len() > 1;
        let rows: Vec<StoredFigure> = sqlx::query_as(
            "SELECT channel_id, at_ms, kind, value, cumulative, source, as_of_ms, \
             received_at_ms FROM feedback_events WHERE at_ms >= $1 AND at_ms < $2 \
             AND ($3 < 0 OR channel_id = $3) ORDER BY at_ms, channel_id, kind LIMIT $4",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(single)
        .bind(if several { i64::MAX / 2 } else { limit })
        .fetch_all(self.store.pool())
        .await?;
        if !several {
            return Ok(rows);
        }
        let keep: BTreeSet<i64> = channels.iter().copied().collect();
        Ok(rows
            .into_iter()
            .filter(|r| keep.contains(&r.channel_id))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }

    /// Minute buckets with `from <= minute < to`, in minute order.
    pub async fn minutes(&self, from_ms: i64, to_ms: i64) -> Result<Vec<MinuteBucket>> {
        Ok(sqlx::query_as(
            "SELECT channel_id, kind, minute_ms, n, value_sum, value_max, value_last, \
             last_at_ms, cumulative FROM feedback_minutes WHERE minute_ms >= $1 \
             AND minute_ms < $2 ORDER BY minute_ms, channel_id, kind",
        )
        .bind(minute_of(from_ms))
        .bind(to_ms)
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Number of raw figures stored.
    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM feedback_events")
            .fetch_one(self.store.pool())
            .await?)
    }
}

/// The kinds stored as text, read back (unknown text is skipped by the callers).
pub fn kind_of(s: &str) -> Option<Kind> {
    s.parse().ok()
}

/// The source stored as text, read back.
pub fn source_of(s: &str) -> Option<Source> {
    [
        Source::Api,
        Source::Webhook,
        Source::Upload,
        Source::Manual,
        Source::Poller,
        Source::Hls,
    ]
    .into_iter()
    .find(|x| x.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_tokens() {
        assert_eq!(minute_of(125_000), 120_000);
        assert_eq!(minute_of(-1), -60_000);
        let t = new_hook_token();
        assert!(looks_like_hook_token(&t), "{t}");
        assert!(!looks_like_hook_token("kp_00"));
        assert_eq!(mask_token(&t).chars().count(), 7);
    }
}
