//! Operators' edits of a stored day, live or ahead of time: insert a work, move, remove,
//! replace, trim, skip, put a live source on air, and undo — each validated with the rundown's
//! rules before it is saved as a new version, and recorded with who, when and why
//! ([`super::edits`]).
//!
//! The request vocabulary ([`EditRequest`]) is what the REST API takes as JSON. Item indices
//! are 0-based positions in the stored day (`day.items`); messages name them 1-based. An
//! edit to the item on air takes effect at the instant chosen (`when`: `"now"`, `"end"` of the
//! item, or `{"at": …}`); "now" is the earliest instant the engine can honour without a
//! glitch (now plus the edit lead, on the frame grid), given by the caller. The pure rules
//! (ripple, frozen past, splice) are `rundown::edit`; storage is `DbDayStore`; this module
//! joins them and decides what an edit is allowed to do to a locked or finished day.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::edits::{EditLog, EditRecord, NewEdit};
use super::{DbDayStore, Saved, ops};
use crate::catalog::Catalog;
use crate::rundown::diff::{DiffLine, diff_days};
use crate::rundown::edit::{self, EditContext, EditError, EditOp, Position};
use crate::rundown::store::VersionMeta;
use crate::rundown::validate::{Problem, validate_day};
use crate::rundown::{self, CompiledSchedule, Day, DayItem, ItemKind};
use crate::store::Error;

/// When an edit to the item on air takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum When {
    /// `"now"` or `"end"`.
    Word(WhenWord),
    /// `{"at": "2026-09-01T20:00:00+08:00"}`.
    At {
        /// The instant (any offset; Shanghai is `+08:00`).
        at: DateTime<FixedOffset>,
    },
}

/// `"now"` or `"end"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhenWord {
    /// As soon as possible (now plus the edit lead).
    Now,
    /// When the item on air ends.
    End,
}

/// One edit, as the API takes it (`{"op": "insert", …}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditRequestOp {
    /// Insert a catalog work (ripple: later items move).
    Insert {
        /// The work.
        work_id: i64,
        /// Play only this many frames of it (default: all, from `in_frames`).
        #[serde(default)]
        frames: Option<u64>,
        /// In-point, frames.
        #[serde(default)]
        in_frames: u64,
        /// Where (or `when`, relative to the item on air).
        #[serde(default)]
        before: Option<usize>,
        /// Where.
        #[serde(default)]
        after: Option<usize>,
        /// Where.
        #[serde(default)]
        at: Option<DateTime<FixedOffset>>,
        /// Relative to the item on air: now (cuts it), at its end, or at an instant.
        #[serde(default)]
        when: Option<When>,
        /// Section (default: the neighbour's).
        #[serde(default)]
        section: Option<String>,
    },
    /// Move an item.
    Move {
        /// Index of the item.
        from: usize,
        /// Before this index.
        #[serde(default)]
        before: Option<usize>,
        /// After this index.
        #[serde(default)]
        after: Option<usize>,
        /// At this instant (an item boundary).
        #[serde(default)]
        at: Option<DateTime<FixedOffset>>,
    },
    /// Remove an item (the item on air: end it `when`, default now).
    Remove {
        /// Index.
        index: usize,
        /// For the item on air.
        #[serde(default)]
        when: Option<When>,
    },
    /// Replace an item with a catalog work (the item on air: from `when`, default now).
    Replace {
        /// Index.
        index: usize,
        /// The work.
        work_id: i64,
        /// For the item on air.
        #[serde(default)]
        when: Option<When>,
    },
    /// New in-point and/or length of an item.
    Trim {
        /// Index.
        index: usize,
        /// New in-point, frames.
        #[serde(default)]
        in_frames: Option<u64>,
        /// New length, frames.
        #[serde(default)]
        frames: Option<u64>,
    },
    /// End the item on air now; the next one starts at once, later items move up.
    Skip {},
    /// Put a slow-live feed (or a source URL) on air over `frames`, from `when` (default now);
    /// what it covers is taken off, the rest of the day keeps its times.
    Live {
        /// A feed of the catalog.
        #[serde(default)]
        feed_id: Option<i64>,
        /// Or a source URL (rtsp, rtmp(s), srt, http(s)); never a file path.
        #[serde(default)]
        source: Option<String>,
        /// Title for a source URL.
        #[serde(default)]
        title: Option<String>,
        /// How long, frames.
        frames: u64,
        /// From when.
        #[serde(default)]
        when: Option<When>,
    },
}

/// An edit request: the edit, the version it was made on (optional; a mismatch is a
/// conflict), why, and whether to only preview it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// The edit.
    pub edit: EditRequestOp,
    /// The version the editor saw.
    #[serde(default)]
    pub base_version: Option<u32>,
    /// Why (kept in the history).
    #[serde(default)]
    pub reason: String,
    /// Validate and return the result without saving it.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an accepted (or previewed) edit produced.
#[derive(Debug, Clone, Serialize)]
pub struct EditResult {
    /// The saved version (`None` for a preview, or when the edit changed nothing).
    pub version: Option<VersionMeta>,
    /// The edit would leave the day exactly as it is: nothing was saved or recorded.
    pub unchanged: bool,
    /// The version the edit was made on.
    pub base_version: u32,
    /// What was done, in Chinese.
    pub summary: String,
    /// The earliest instant the edit could change (`None`: a future day).
    pub effective_from: Option<DateTime<Utc>>,
    /// The resulting day.
    pub day: Day,
    /// Changes against the day before.
    pub diff: Vec<DiffLine>,
    /// Items that no longer fit before a fixed start and were taken off.
    pub dropped: Vec<DayItem>,
    /// Indices (in the new day) of items shortened to fit.
    pub shortened: Vec<usize>,
    /// Problems the day still has (old ones; an edit that adds one is refused).
    pub problems: Vec<Problem>,
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditFailure {
    /// Not found, invalid field, conflict (locked, aired, too late, concurrent), unavailable.
    #[error("{0}")]
    Store(#[from] Error),
    /// The edited day would break the rundown's rules.
    #[error("{message}")]
    Problems {
        /// Summary.
        message: String,
        /// The new problems.
        problems: Vec<Problem>,
    },
}

impl From<EditError> for EditFailure {
    fn from(e: EditError) -> Self {
        let message = e.to_string();
        EditFailure::Store(match e.kind() {
            "no_such_item" => Error::NotFound {
                what: "节目条目",
                key: message,
            },
            "invalid" => Error::invalid("edit", message),
            _ => Error::Conflict(message),
        })
    }
}

/// Largest text accepted in a title or reason.
const MAX_TEXT: usize = 500;
/// Largest URL accepted.
const MAX_URL: usize = 2048;

/// Edits of stored days. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Editor {
    catalog: Catalog,
    days: DbDayStore,
    log: EditLog,
    schedule: Arc<CompiledSchedule>,
}

fn text_field(field: &str, s: &str) -> Result<(), Error> {
    if s.chars().count() > MAX_TEXT {
        return Err(Error::invalid(field, format!("不得超过 {MAX_TEXT} 个字符")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::invalid(field, "含有控制字符"));
    }
    Ok(())
}

/// A live source URL an operator may put on air: a network URL, never a file path.
pub fn check_source_url(url: &str) -> Result<(), Error> {
    let url = url.trim();
    let scheme_ok = [
        "rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://", "http://", "https://",
    ]
    .iter()
    .any(|s| url.len() > s.len() && url[..s.len()].eq_ignore_ascii_case(s));
    if !scheme_ok {
        return Err(Error::invalid(
            "source",
            "信号源须为 rtsp/rtmp/rtmps/srt/http/https 网络地址，不接受文件路径",
        ));
    }
    if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "source",
            "信号源地址过长或含有空白、控制字符",
        ));
    }
    if url.split(['/', '\\']).any(|seg| seg == "..") || url.contains("%2e%2e") {
        return Err(Error::invalid("source", "信号源地址不得含有“..”路径"));
    }
    Ok(())
}

/// A bare item (slate, or an operator's live source) with a title and a source.
fn template(title: &str, source: &str) -> DayItem {
    crate::rundown::builder::filler_item(ItemKind::Slate, title, source, "", "", 0)
}

fn instant(day: &Day, t: DateTime<FixedOffset>) -> DateTime<Utc> {
    let t = t.with_timezone(&Utc);
    let off = day.rate.frames_between(day.start, t);
    if off < 0 {
        return t;
    }
    day.rate.add(day.start, off.unsigned_abs())
}

fn place(
    day: &Day,
    before: Option<usize>,
    after: Option<usize>,
    at: Option<DateTime<FixedOffset>>,
) -> Result<Position, Error> {
    match (before, after, at) {
        (Some(i), None, None) => Ok(Position::Before(i)),
        (None, Some(i), None) => Ok(Position::After(i)),
        (None, None, Some(t)) => Ok(Position::At(instant(day, t))),
        (None, None, None) => Err(Error::invalid(
            "before",
            "须指明位置：before、after 或 at 之一",
        )),
        _ => Err(Error::invalid("before", "before、after、at 只能给出一个")),
    }
}

/// Index of the item on air at `cut` (starts before it, ends after it).
fn on_air_index(day: &Day, cut: Option<DateTime<Utc>>) -> Option<usize> {
    let cut = cut?;
    day.items
        .iter()
        .position(|it| it.start < cut && it.end(day.rate) > cut)
}

impl Editor {
    /// Edits over `catalog`'s database with the edition's schedule.
    pub fn new(catalog: Catalog, schedule: Arc<CompiledSchedule>) -> Self {
        let store = catalog.store().clone();
        Self {
            days: DbDayStore::new(store.clone()),
            log: EditLog::new(store),
            catalog,
            schedule,
        }
    }

    /// The catalog the edits read (works, feeds).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The history of a day's edits, oldest first.
    pub async fn history(&self, date: NaiveDate) -> Result<Vec<EditRecord>, Error> {
        self.log.list(date).await
    }

    fn slate(&self) -> DayItem {
        let s = &self.schedule.config.filler.slate;
        let mut item = template(&s.title, &s.source);
        item.kind = ItemKind::Slate;
        item
    }

    /// The edit context of `day` for an edit made when `earliest` is the first instant it can
    /// change; refuses a day that has finished.
    fn context(&self, day: &Day, earliest: DateTime<Utc>) -> Result<EditContext, Error> {
        if earliest >= day.end {
            return Err(Error::Conflict(format!(
                "{} 的节目已全部播出，不能再修改",
                day.date
            )));
        }
        Ok(EditContext {
            cut: (earliest > day.start).then_some(earliest),
            slate: self.slate(),
        })
    }

    /// Applies one edit to the current version of `date`, validates it, and (unless a dry
    /// run) saves it as a new version and records it. `earliest(day)` is the first instant an
    /// edit made now can change on `day` (now plus the edit lead, on the frame grid).
    pub async fn edit(
        &self,
        date: NaiveDate,
        req: &EditRequest,
        author: &str,
        now: DateTime<Utc>,
        earliest: impl Fn(&Day) -> DateTime<Utc>,
    ) -> Result<EditResult, EditFailure> {
        text_field("reason", &req.reason)?;
        let (meta, day) = ops::current(&self.days, date).await?;
        if let Some(v) = req.base_version
            && v != meta.version
        {
            return Err(Error::Conflict(format!(
                "{date} 的节目单已是第 {} 版（你编辑的是第 {v} 版），请刷新后重试",
                meta.version
            ))
            .into());
        }
        let on_air_control = matches!(
            req.edit,
            EditRequestOp::Skip {} | EditRequestOp::Live { .. }
        );
        if !on_air_control && let Some(l) = self.days.lock_async(date).await.map_err(Error::from)? {
            return Err(Error::Conflict(format!(
                "{date} 的节目单已被「{}」锁定（{}），须先解锁才能修改；跳播和插播直播不受锁定限制",
                l.by, l.reason
            ))
            .into());
        }
        let ctx = self.context(&day, earliest(&day))?;
        let (works, feeds) = ops::catalog_inputs(&self.catalog, &self.schedule).await?;
        let catalog = rundown::Catalog::new(&works, &feeds);
        let op = self.to_op(&day, &ctx, &req.edit, &catalog)?;
        let summary = op.describe(&day);
        let out = edit::apply(&day, &op, &ctx)?;
        let before = validate_day(&day, &catalog, Some(&self.schedule));
        let after = validate_day(&out.day, &catalog, Some(&self.schedule));
        let new = edit::new_problems(&before, &day, &after, &out.day);
        if !new.is_empty() {
            return Err(EditFailure::Problems {
                message: format!(
                    "修改未被接受：会给节目单带来 {} 个新问题，首个：{}",
                    new.len(),
                    new[0].message
                ),
                problems: new,
            });
        }
        let diff = diff_days(&day, &out.day);
        let unchanged = out.day.to_canonical_json() == day.to_canonical_json();
        let version = if req.dry_run || unchanged {
            None
        } else {
            let op = serde_json::to_value(OpJson::from(&req.edit)).unwrap_or_default();
            let edit = NewEdit {
                date,
                base_version: meta.version,
                version: 0,
                author,
                at: now,
                reason: req.reason.trim(),
                summary: &summary,
                op: &op,
            };
            self.save_and_record(&out.day, edit).await?
        };
        // The store may also find the stored bytes equal to the result.
        let unchanged = unchanged || (!req.dry_run && version.is_none());
        Ok(EditResult {
            version,
            unchanged,
            base_version: meta.version,
            summary,
            effective_from: ctx.cut,
            day: out.day,
            diff,
            dropped: out.dropped,
            shortened: out.shortened,
            problems: after,
        })
    }

    /// Steps back the day's last edit not undone yet: the version before it, from the
    /// earliest instant an edit can change on (what has aired stays as it was).
    pub async fn undo(
        &self,
        date: NaiveDate,
        reason: &str,
        author: &str,
        now: DateTime<Utc>,
        earliest: impl Fn(&Day) -> DateTime<Utc>,
    ) -> Result<EditResult, EditFailure> {
        text_field("reason", reason)?;
        if let Some(l) = self.days.lock_async(date).await.map_err(Error::from)? {
            return Err(Error::Conflict(format!(
                "{date} 的节目单已被「{}」锁定，须先解锁才能撤销",
                l.by
            ))
            .into());
        }
        let history = self.log.list(date).await?;
        let undone: Vec<i64> = history
            .iter()
            .filter_map(|r| r.op.get("undoes").and_then(serde_json::Value::as_i64))
            .collect();
        let Some(last) = history
            .iter()
            .rev()
            .find(|r| r.op.get("undoes").is_none() && !undone.contains(&r.id))
        else {
            return Err(Error::Conflict(format!("{date} 没有可撤销的修改")).into());
        };
        let (meta, day) = ops::current(&self.days, date).await?;
        let (_, target) = ops::version(&self.days, date, last.base_version).await?;
        let ctx = self.context(&day, earliest(&day))?;
        let proposed = match ctx.cut {
            Some(cut) => edit::splice(&day, &target, cut),
            None => target,
        };
        let summary = format!("撤销：{}", last.summary);
        let diff = diff_days(&day, &proposed);
        let op = serde_json::json!({ "op": "undo", "undoes": last.id });
        let edit = NewEdit {
            date,
            base_version: meta.version,
            version: 0,
            author,
            at: now,
            reason: reason.trim(),
            summary: &summary,
            op: &op,
        };
        let unchanged = proposed.to_canonical_json() == day.to_canonical_json();
        let saved = if unchanged {
            None
        } else {
            self.save_and_record(&proposed, edit).await?
        };
        let (works, feeds) = ops::catalog_inputs(&self.catalog, &self.schedule).await?;
        let catalog = rundown::Catalog::new(&works, &feeds);
        let problems = validate_day(&proposed, &catalog, Some(&self.schedule));
        Ok(EditResult {
            version: saved,
            unchanged,
            base_version: meta.version,
            summary,
            effective_from: ctx.cut,
            day: proposed,
            diff,
            dropped: Vec::new(),
            shortened: Vec::new(),
            problems,
        })
    }

    /// Saves `day` as a new version (its reason: the summary, then the operator's why) and
    /// records the edit with the version it produced, in one transaction that first checks
    /// the day is still at `edit.base_version` (else a conflict naming the version it lost
    /// to). `None`: the day was already so; nothing was saved or recorded.
    async fn save_and_record(
        &self,
        day: &Day,
        mut edit: NewEdit<'_>,
    ) -> Result<Option<VersionMeta>, EditFailure> {
        let reason = if edit.reason.is_empty() {
            edit.summary.to_string()
        } else {
            format!("{}：{}", edit.summary, edit.reason)
        };
        let saved = self
            .days
            .save_edit_async(day, edit.base_version, &reason, &mut edit)
            .await
            .map_err(Error::from)?;
        Ok(match saved {
            Saved::New(meta) => Some(meta),
            Saved::Unchanged(_) => None,
        })
    }

    fn section_near(day: &Day, index: usize) -> String {
        day.items
            .get(index)
            .or_else(|| day.items.last())
            .map(|i| i.section.clone())
            .unwrap_or_default()
    }

    fn work_item(
        &self,
        catalog: &rundown::Catalog,
        work_id: i64,
        frames: Option<u64>,
        in_frames: u64,
        section: &str,
    ) -> Result<DayItem, Error> {
        let w = catalog
            .works
            .get(&work_id)
            .ok_or_else(|| Error::not_found("作品", work_id.to_string()))?;
        if in_frames >= w.frames {
            return Err(Error::invalid(
                "in_frames",
                format!("入点 {in_frames} 帧超出作品长度 {} 帧", w.frames),
            ));
        }
        if frames == Some(0) {
            return Err(Error::invalid("frames", "时长须大于 0"));
        }
        Ok(edit::work_item(w, frames, in_frames, section))
    }

    fn to_op(
        &self,
        day: &Day,
        ctx: &EditContext,
        req: &EditRequestOp,
        catalog: &rundown::Catalog,
    ) -> Result<EditOp, Error> {
        let on_air = on_air_index(day, ctx.cut);
        let need_on_air = || on_air.ok_or_else(|| Error::Conflict("现在没有正在播出的条目".into()));
        let cut_or_now = || ctx.cut.unwrap_or(day.start);
        Ok(match req {
            EditRequestOp::Insert {
                work_id,
                frames,
                in_frames,
                before,
                after,
                at,
                when,
                section,
            } => {
                let (position, split) = match when {
                    None => (place(day, *before, *after, *at)?, false),
                    Some(w) => {
                        if before.is_some() || after.is_some() || at.is_some() {
                            return Err(Error::invalid(
                                "when",
                                "when 与 before/after/at 只能给出一个",
                            ));
                        }
                        let i = need_on_air()?;
                        match w {
                            When::Word(WhenWord::Now) => (Position::At(cut_or_now()), true),
                            When::Word(WhenWord::End) => (Position::After(i), false),
                            When::At { at } => (Position::At(instant(day, *at)), true),
                        }
                    }
                };
                let near = match position {
                    Position::Before(i) | Position::After(i) => i,
                    Position::At(t) => day
                        .items
                        .iter()
                        .position(|it| it.end(day.rate) > t)
                        .unwrap_or(0),
                };
                let section = match section {
                    Some(s) => {
                        text_field("section", s)?;
                        s.clone()
                    }
                    None => Self::section_near(day, near),
                };
                let item = self.work_item(catalog, *work_id, *frames, *in_frames, &section)?;
                EditOp::Insert {
                    item,
                    at: position,
                    split,
                }
            }
            EditRequestOp::Move {
                from,
                before,
                after,
                at,
            } => EditOp::Move {
                from: *from,
                to: place(day, *before, *after, *at)?,
            },
            EditRequestOp::Remove { index, when } => {
                if on_air == Some(*index) {
                    let at = match when {
                        None | Some(When::Word(WhenWord::Now)) => cut_or_now(),
                        Some(When::At { at }) => instant(day, *at),
                        Some(When::Word(WhenWord::End)) => {
                            return Err(Error::invalid(
                                "when",
                                "正在播出的条目在其结束时移除没有意义，请用 now 或 at",
                            ));
                        }
                    };
                    EditOp::EndAt { index: *index, at }
                } else {
                    EditOp::Remove { index: *index }
                }
            }
            EditRequestOp::Replace {
                index,
                work_id,
                when,
            } => {
                let section = Self::section_near(day, *index);
                let item = self.work_item(catalog, *work_id, None, 0, &section)?;
                if on_air == Some(*index) {
                    let at = match when {
                        None | Some(When::Word(WhenWord::Now)) => cut_or_now(),
                        Some(When::At { at }) => instant(day, *at),
                        Some(When::Word(WhenWord::End)) => {
                            return Err(Error::invalid(
                                "when",
                                "替换正在播出的条目请用 now 或 at；要在其后播出请用插入",
                            ));
                        }
                    };
                    EditOp::Insert {
                        item,
                        at: Position::At(at),
                        split: true,
                    }
                } else {
                    EditOp::Replace {
                        index: *index,
                        item,
                    }
                }
            }
            EditRequestOp::Trim {
                index,
                in_frames,
                frames,
            } => {
                if in_frames.is_none() && frames.is_none() {
                    return Err(Error::invalid(
                        "frames",
                        "须给出新的入点 in_frames 或时长 frames",
                    ));
                }
                EditOp::Trim {
                    index: *index,
                    in_frames: *in_frames,
                    frames: *frames,
                }
            }
            EditRequestOp::Skip {} => EditOp::EndAt {
                index: need_on_air()?,
                at: cut_or_now(),
            },
            EditRequestOp::Live {
                feed_id,
                source,
                title,
                frames,
                when,
            } => {
                if *frames == 0 {
                    return Err(Error::invalid("frames", "时长须大于 0"));
                }
                let near = on_air.unwrap_or(0);
                let section = Self::section_near(day, near);
                let item = match (feed_id, source) {
                    (Some(id), None) => {
                        let f = catalog
                            .feeds
                            .get(id)
                            .ok_or_else(|| Error::not_found("慢直播信号", id.to_string()))?;
                        edit::live_item(f, *frames, &section)
                    }
                    (None, Some(url)) => {
                        check_source_url(url)?;
                        let title = title.clone().unwrap_or_else(|| "现场直播".into());
                        text_field("title", &title)?;
                        let mut item = template(&title, url.trim());
                        item.kind = ItemKind::Event;
                        item.section = section;
                        item.frames = *frames;
                        item
                    }
                    _ => return Err(Error::invalid("feed_id", "须给出 feed_id 或 source 之一")),
                };
                let at = match when {
                    None | Some(When::Word(WhenWord::Now)) => cut_or_now(),
                    Some(When::At { at }) => instant(day, *at),
                    Some(When::Word(WhenWord::End)) => {
                        let i = need_on_air()?;
                        day.items[i].end(day.rate)
                    }
                };
                EditOp::Overwrite { item, at }
            }
        })
    }
}

/// The request as kept in the history (the same JSON, re-serialised).
#[derive(Serialize)]
struct OpJson {
    op: &'static str,
    #[serde(flatten)]
    fields: serde_json::Value,
}

impl From<&EditRequestOp> for OpJson {
    fn from(r: &EditRequestOp) -> Self {
        let (op, fields) = match r {
            EditRequestOp::Insert {
                work_id,
                frames,
                in_frames,
                before,
                after,
                at,
                ..
            } => (
                "insert",
                serde_json::json!({ "work_id": work_id, "frames": frames, "in_frames": in_frames,
                    "before": before, "after": after, "at": at }),
            ),
            EditRequestOp::Move {
                from,
                before,
                after,
                at,
            } => (
                "move",
                serde_json::json!({ "from": from, "before": before, "after": after, "at": at }),
            ),
            EditRequestOp::Remove { index, .. } => {
                ("remove", serde_json::json!({ "index": index }))
            }
            EditRequestOp::Replace { index, work_id, .. } => (
                "replace",
                serde_json::json!({ "index": index, "work_id": work_id }),
            ),
            EditRequestOp::Trim {
                index,
                in_frames,
                frames,
            } => (
                "trim",
                serde_json::json!({ "index": index, "in_frames": in_frames, "frames": frames }),
            ),
            EditRequestOp::Skip {} => ("skip", serde_json::json!({})),
            EditRequestOp::Live {
                feed_id,
                source,
                frames,
                ..
            } => (
                "live",
                serde_json::json!({ "feed_id": feed_id,
                    "source": source.as_deref().map(playout::output::mask::mask_url),
                    "frames": frames }),
            ),
        };
        OpJson { op, fields }
    }
}
