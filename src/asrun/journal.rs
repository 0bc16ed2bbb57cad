//! The as-run journal: the node's as-run writes that are not yet in the database, kept in
//! an append-only local file so that a node killed while the database is away loses none.
//!
//! Owns one file in the node's state directory (`asrun-journal.jsonl`). Every write the
//! recorder produces is appended as one line and fsync'd before it counts as queued; the
//! writer ([`crate::air::writer`]) applies the oldest entry to the database and removes it
//! once it is stored; entries left at start (a crash, kill -9, a stop with the database
//! away) are replayed first, in order. Removal is by compaction: the file is rewritten with
//! the entries still waiting (a temporary file, fsync, rename), at the latest every
//! [`COMPACT_EVERY`] removals and whenever the queue drains, so a crash between a write and
//! its removal replays at most that many stored writes — which the as-run log takes
//! idempotently (the `(node, airing_key)` rule: a start finds its row, a fallback interval
//! already there is not added twice, an end finds the same facts).
//!
//! Line format: `CRC32 JSON\n` (the CRC32 of the JSON bytes as 8 lowercase hex digits). A
//! last line without its newline is a write torn by a crash and is dropped; a line whose
//! checksum does not match is skipped and counted. Does not own the database writes (the
//! writer) or what the writes mean (the recorder).
//!
//! Bounded: over [`Limits`] (entries or bytes) the oldest airings are dropped whole (start,
//! fallback intervals and end together) so the newest open/close facts are kept; the
//! dropped count is kept for the alarm and `/healthz`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::recorder::Write;

/// The journal file's name in the state directory.
pub const FILE_NAME: &str = "asrun-journal.jsonl";

/// Removals after which the file is rewritten even while entries still wait.
pub const COMPACT_EVERY: usize = 32;

/// One journal entry, applied in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A write of the recorder.
    Write(Write),
    /// A process started: this node's airings still open whose first frame is before
    /// `before_ms` (UTC ms, programme clock) were cut by the end of the previous process and
    /// are closed as `interrupted`. Queued at start behind the entries replayed, so the rows
    /// they open are closed and the new process's are not.
    CloseInterrupted {
        /// The start instant of the process, UTC ms.
        before_ms: i64,
    },
}

impl Entry {
    /// The airing this entry belongs to, if any.
    fn key(&self) -> Option<&str> {
        match self {
            Entry::Write(Write::Start(a)) => Some(&a.key),
            Entry::Write(
                Write::Fallback { key, .. } | Write::End { key, .. } | Write::Recording { key, .. },
            ) => Some(key),
            Entry::CloseInterrupted { .. } => None,
        }
    }
}

/// The journal's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries kept.
    pub max_entries: usize,
    /// Most bytes of the file.
    pub max_bytes: u64,
}

impl Default for Limits {
    /// 50 000 entries or 16 MiB: weeks of a channel's airings (a few entries each).
    fn default() -> Self {
        Self {
            max_entries: 50_000,
            max_bytes: 16 << 20,
        }
    }
}

/// What opening a journal found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Entries read back (to be replayed).
    pub entries: usize,
    /// A torn last line was dropped.
    pub torn_tail: bool,
    /// Lines skipped for a bad checksum or unreadable JSON.
    pub corrupt: usize,
}

/// Journal errors: the file and what failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, writing or syncing the file failed.
    #[error("播出记录日志 {path}：{what}失败：{source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What was being done (in Chinese).
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
}

/// The queue of writes waiting for the database; on disk when opened with a path.
#[derive(Debug)]
pub struct Journal {
    path: Option<PathBuf>,
    file: Option<File>,
    /// `(sequence number, entry, bytes of its line)`.
    entries: VecDeque<(u64, Entry, u64)>,
    next_seq: u64,
    bytes: u64,
    limits: Limits,
    removed_since_compaction: usize,
    dropped: u64,
}

fn line_of(e: &Entry) -> String {
    // Serializing these plain types cannot fail; an error would be a bug, kept visible.
    let json = serde_json::to_string(e).unwrap_or_else(|err| {
        tracing::error!(error = %err, "as-run journal entry not serializable");
        String::from("null")
    });
    format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes()))
}

fn parse_line(line: &str) -> Option<Entry> {
    let (crc, json) = line.split_once(' ')?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    if crc32fast::hash(json.as_bytes()) != crc {
        return None;
    }
    serde_json::from_str(json).ok()
}

impl Journal {
    /// A journal in memory only (tests, rehearsals, the single node without a state
    /// directory): nothing survives the process.
    pub fn in_memory(limits: Limits) -> Self {
        Self {
            path: None,
            file: None,
            entries: VecDeque::new(),
            next_seq: 0,
            bytes: 0,
            limits,
            removed_since_compaction: 0,
            dropped: 0,
        }
    }

    /// Opens (or creates) the journal at `path` and reads back the entries a previous
    /// process left, dropping a torn last line and skipping corrupt ones (the file is then
    /// rewritten clean).
    pub fn open(path: &Path, limits: Limits) -> Result<(Self, Recovered), JournalError> {
        let io = |what: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io { path, what, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("创建目录"))?;
        }
        let mut rec = Recovered::default();
        let mut j = Self::in_memory(limits);
        j.path = Some(path.to_path_buf());
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                        rec.torn_tail = true;
                        break;
                    };
                    let line = &rest[..nl];
                    rest = &rest[nl + 1..];
                    match std::str::from_utf8(line).ok().and_then(parse_line) {
                        Some(e) => {
                            j.bytes += nl as u64 + 1;
                            j.entries.push_back((j.next_seq, e, nl as u64 + 1));
                            j.next_seq += 1;
                        }
                        None => rec.corrupt += 1,
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("读取")(e)),
        }
        rec.entries = j.entries.len();
        if rec.torn_tail || rec.corrupt > 0 {
            tracing::warn!(path = %path.display(), torn_tail = rec.torn_tail, corrupt = rec.corrupt, "as-run journal repaired: a torn or corrupt line was dropped");
        }
        // Rewrite in every case: a clean file ending on a line boundary, opened for appends.
        j.compact()?;
        Ok((j, rec))
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entry waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries dropped over the limits since the journal was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The oldest entry waiting and its sequence number (for [`Journal::done`]).
    pub fn front(&self) -> Option<(u64, &Entry)> {
        self.entries.front().map(|(n, e, _)| (*n, e))
    }

    /// Appends `e` (on disk: written and fsync'd before this returns). Over the limits, the
    /// oldest airings are dropped first.
    pub fn push(&mut self, e: Entry) -> Result<(), JournalError> {
        let line = line_of(&e);
        let len = line.len() as u64;
        self.entries.push_back((self.next_seq, e, len));
        self.next_seq += 1;
        self.bytes += len;
        if self.over_limits() {
            self.drop_oldest();
            return self.compact();
        }
        if self.path.is_some() && self.file.is_none() {
            // An earlier write or compaction failed: rewrite everything that waits.
            return self.compact();
        }
        if let (Some(f), Some(path)) = (self.file.as_mut(), self.path.as_ref()) {
            let io = |what: &'static str| {
                let path = path.clone();
                move |source| JournalError::Io { path, what, source }
            };
            f.write_all(line.as_bytes()).map_err(io("写入"))?;
            f.sync_data().map_err(io("同步"))?;
        }
        Ok(())
    }

    /// Removes entry `seq` (from [`Journal::front`]; it is stored) if it is still the
    /// oldest — it may have been dropped over the limits meanwhile. The file follows at the
    /// next compaction: when the queue is empty, or every [`COMPACT_EVERY`] removals.
    pub fn done(&mut self, seq: u64) -> Result<(), JournalError> {
        if self.entries.front().is_some_and(|(n, _, _)| *n == seq)
            && let Some((_, _, len)) = self.entries.pop_front()
        {
            self.bytes = self.bytes.saturating_sub(len);
            self.removed_since_compaction += 1;
        }
        if self.entries.is_empty() || self.removed_since_compaction >= COMPACT_EVERY {
            self.compact()?;
        }
        Ok(())
    }

    fn over_limits(&self) -> bool {
        self.entries.len() > self.limits.max_entries || self.bytes > self.limits.max_bytes
    }

    /// Drops the oldest airings (every entry of their key) until within the limits; the
    /// start markers of processes are kept (they close what the dropped entries would not).
    fn drop_oldest(&mut self) {
        while self.over_limits() {
            let Some(i) = self.entries.iter().position(|(_, e, _)| e.key().is_some()) else {
                return;
            };
            let key = self.entries[i].1.key().map(str::to_owned);
            let before = self.entries.len();
            let mut freed = 0;
            self.entries.retain(|(_, e, len)| {
                let gone = e.key() == key.as_deref();
                if gone {
                    freed += len;
                }
                !gone
            });
            self.bytes = self.bytes.saturating_sub(freed);
            let n = (before - self.entries.len()) as u64;
            self.dropped += n;
            tracing::error!(
                airing = key.as_deref().unwrap_or(""),
                entries = n,
                "as-run journal over its limit: the oldest airing's writes dropped"
            );
        }
    }

    /// Rewrites the file with the entries waiting (empty: truncated), durably.
    fn compact(&mut self) -> Result<(), JournalError> {
        self.removed_since_compaction = 0;
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let io = |what: &'static str| {
            let path = path.clone();
            move |source| JournalError::Io { path, what, source }
        };
        self.file = None;
        if self.entries.is_empty() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io("打开"))?;
            f.set_len(0).map_err(io("清空"))?;
            f.sync_all().map_err(io("同步"))?;
            self.file = Some(f);
            self.bytes = 0;
            return Ok(());
        }
        let tmp = path.with_extension("jsonl.tmp");
        let mut text = String::with_capacity(usize::try_from(self.bytes).unwrap_or(0));
        for (_, e, _) in &self.entries {
            text.push_str(&line_of(e));
        }
        {
            let mut f = File::create(&tmp).map_err(io("写入临时文件"))?;
            f.write_all(text.as_bytes()).map_err(io("写入临时文件"))?;
            f.sync_all().map_err(io("同步临时文件"))?;
        }
        std::fs::rename(&tmp, &path).map_err(io("替换"))?;
        if let Some(dir) = path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        self.bytes = text.len() as u64;
        self.file = Some(
            OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(io("打开"))?,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asrun::recorder::ItemInfo;
    use crate::asrun::{Fallback, NewAiring};

    fn start(key: &str) -> Entry {
        Entry::Write(Write::Start(NewAiring {
            key: key.into(),
            info: ItemInfo {
                item_id: key.into(),
                title: "深海探秘".into(),
                ..ItemInfo::default()
            },
            first_frame_ms: 1_790_000_000_000,
        }))
    }

    fn end(key: &str) -> Entry {
        Entry::Write(Write::End {
            key: key.into(),
            last_frame_ms: 1_790_000_004_960,
            frames: 125,
            reason: "complete".into(),
        })
    }

    fn fallback(key: &str) -> Entry {
        Entry::Write(Write::Fallback {
            key: key.into(),
            interval: Fallback {
                from_ms: 1,
                to_ms: 2,
                reason: "源文件读取失败".into(),
            },
        })
    }

    fn pop(j: &mut Journal) {
        let seq = j.front().map(|(n, _)| n).expect("an entry");
        j.done(seq).expect("done");
    }

    fn all(j: &Journal) -> Vec<Entry> {
        j.entries.iter().map(|(_, e, _)| e.clone()).collect()
    }

    #[test]
    fn entries_survive_a_reopen_and_removed_ones_do_not_come_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("state").join(FILE_NAME);
        let (mut j, rec) = Journal::open(&path, Limits::default()).expect("open");
        assert_eq!(rec, Recovered::default());
        for e in [start("a"), end("a"), start("b")] {
            j.push(e).expect("push");
        }
        // Killed here: nothing removed yet.
        drop(j);
        let (mut j, rec) = Journal::open(&path, Limits::default()).expect("reopen");
        assert_eq!(rec.entries, 3);
        assert_eq!(all(&j), [start("a"), end("a"), start("b")]);
        pop(&mut j);
        pop(&mut j);
        // Fewer than COMPACT_EVERY removals: the file still holds them (a replay writes
        // them again, idempotently) …
        drop(j);
        let (mut j, _) = Journal::open(&path, Limits::default()).expect("reopen");
        assert_eq!(j.len(), 3);
        // … and a drained queue leaves an empty file.
        for _ in 0..3 {
            pop(&mut j);
        }
        assert_eq!(std::fs::metadata(&path).expect("file").len(), 0);
        j.push(Entry::CloseInterrupted { before_ms: 7 })
            .expect("push");
        drop(j);
        let (j, _) = Journal::open(&path, Limits::default()).expect("reopen");
        assert_eq!(all(&j), [Entry::CloseInterrupted { before_ms: 7 }]);
    }

    #[test]
    fn a_torn_last_line_and_a_corrupt_line_are_dropped_the_rest_replayed() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(FILE_NAME);
        let good = |e: &Entry| line_of(e);
        let mut text = good(&start("a"));
        // A bit flipped inside the second line's JSON: its checksum no longer matches.
        text.push_str(&good(&end("a")).replace("complete", "completf"));
        text.push_str(&good(&start("b")));
        // The crash tore the last write.
        let torn = good(&end("b"));
        text.push_str(&torn[..torn.len() / 2]);
        std::fs::write(&path, text).expect("write");
        let (j, rec) = Journal::open(&path, Limits::default()).expect("open");
        assert_eq!(
            rec,
            Recovered {
                entries: 2,
                torn_tail: true,
                corrupt: 1
            }
        );
        assert_eq!(all(&j), [start("a"), start("b")]);
        // The file was rewritten clean: it ends on a line boundary.
        let now = std::fs::read_to_string(&path).expect("read");
        assert!(now.ends_with('\n') && now.lines().count() == 2, "{now}");
    }

    #[test]
    fn over_its_limit_it_drops_the_oldest_airings_whole_and_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(FILE_NAME);
        let limits = Limits {
            max_entries: 5,
            max_bytes: 1 << 20,
        };
        let (mut j, _) = Journal::open(&path, limits).expect("open");
        j.push(Entry::CloseInterrupted { before_ms: 1 })
            .expect("push");
        for k in ["a", "b", "c"] {
            j.push(start(k)).expect("push");
            j.push(fallback(k)).expect("push");
            j.push(end(k)).expect("push");
        }
        // 10 entries pushed, at most 5 kept: a and b gone whole, c and the marker kept.
        assert_eq!(
            all(&j),
            [
                Entry::CloseInterrupted { before_ms: 1 },
                start("c"),
                fallback("c"),
                end("c")
            ]
        );
        assert_eq!(j.dropped(), 6);
        drop(j);
        let (j, _) = Journal::open(&path, limits).expect("reopen");
        assert_eq!(j.len(), 4);
        // Bytes too: a limit below two airings keeps only the newest.
        let dir2 = tempfile::tempdir().expect("dir");
        let one = line_of(&start("x")).len() + line_of(&end("x")).len();
        let (mut j, _) = Journal::open(
            &dir2.path().join(FILE_NAME),
            Limits {
                max_entries: 100,
                max_bytes: one as u64 + 10,
            },
        )
        .expect("open");
        for k in ["x", "y"] {
            j.push(start(k)).expect("push");
            j.push(end(k)).expect("push");
        }
        assert_eq!(all(&j), [start("y"), end("y")]);
    }
}
