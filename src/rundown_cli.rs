//! `kepu-playout rundown …`: build, validate, show, diff, lock/unlock, restore, export, rehearse and
//! bench. Days live in the catalog's database (`--db`, default `kepu.db`) with versions and
//! locks, or in a directory (`--days DIR`, file mode); works and feeds come from the database
//! (`--edition` names the edition file) or from JSON files (`--works`, `--feeds`). Every
//! command prints JSON with `--json`. An edge of the crate, beside `serve` and `play`: the
//! pure core is `rundown`; errors are `anyhow` here.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};

use crate::rundown::builder::{BuildRequest, build};
use crate::rundown::config::{CompiledSchedule, ScheduleConfig};
use crate::rundown::export::{ListOptions, engine_day_file, to_csv, to_json};
use crate::rundown::rehearse::{FsProbe, MediaProbe, Rehearsal, TrustProbe};
use crate::rundown::store::Lock;
use crate::rundown::time::{fmt_frames_short, wall_time};
use crate::rundown::validate::validate_day;
use crate::rundown::{Catalog, Day, FrameRate, LiveFeed, Work, demo, diff, html, xmltv};
use crate::rundown_db::cli::{Blocker, Days, catalog_inputs, open_catalog};

/// `rundown` command line.
#[derive(Debug, clap::Args)]
pub struct RundownArgs {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: RundownCommand,
}

/// Rundown subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RundownCommand {
    /// Build the window (or rebuild from a day on), saving new versions of changed days.
    Build(BuildArgs),
    /// Validate a stored day or a day file.
    Validate(ValidateArgs),
    /// Show a day (latest or a given version).
    Show(ShowArgs),
    /// Compare two versions of a day.
    Diff(DiffArgs),
    /// Lock a day: rebuilds leave it alone.
    Lock(LockArgs),
    /// Unlock a day.
    Unlock(LockArgs),
    /// Restore an earlier version of a day (saved again as the newest version).
    Restore(RestoreArgs),
    /// Export the programme list or the engine day file.
    Export(ExportArgs),
    /// Rehearse a window on a simulated clock.
    Rehearse(RehearseArgs),
    /// Time building and rehearsing the window from a generated catalog.
    Bench(BenchArgs),
}

/// Where the days live.
#[derive(Debug, Clone, clap::Args)]
pub struct DaysArg {
    /// Directory of stored days (file mode); without it the days live in the database.
    #[arg(long)]
    pub days: Option<PathBuf>,
    /// Database: a SQLite file path (created on first use) or a postgres:// URL.
    #[arg(long, env = "KEPU_DATABASE_URL", default_value = "kepu.db")]
    pub db: String,
    /// Edition file (catalog rules and `[schedule]`): the catalog in the database and the
    /// default schedule config. Default: the built-in 2026 edition.
    #[arg(long, env = "KEPU_EDITION")]
    pub edition: Option<PathBuf>,
}

/// Where a schedule config comes from: a file, or the built-in edition.
#[derive(Debug, Clone)]
enum ScheduleSource {
    File(PathBuf),
    BuiltIn,
}

impl ScheduleSource {
    fn load(&self) -> Result<CompiledSchedule> {
        match self {
            ScheduleSource::File(p) => load_config(p),
            ScheduleSource::BuiltIn => crate::serve::schedule_at(None),
        }
    }

    fn name(&self) -> String {
        match self {
            ScheduleSource::File(p) => p.display().to_string(),
            ScheduleSource::BuiltIn => crate::serve::BUILTIN_EDITION_NAME.to_string(),
        }
    }
}

impl DaysArg {
    fn open(&self) -> Result<Days> {
        Days::open(self.days.as_deref(), &self.db)
    }

    /// `--config`, or the edition (its file, or the built-in one) when the days are in the
    /// database.
    fn config(&self, given: Option<&Path>) -> Option<ScheduleSource> {
        match given {
            Some(p) => Some(ScheduleSource::File(p.to_path_buf())),
            None => self.days.is_none().then(|| self.edition_source()),
        }
    }

    /// The edition's file, or the built-in edition.
    fn edition_source(&self) -> ScheduleSource {
        self.edition
            .clone()
            .map_or(ScheduleSource::BuiltIn, ScheduleSource::File)
    }
}

/// Catalog input.
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArgs {
    /// Works, a JSON array of rundown works; without it the works come from the database.
    #[arg(long)]
    pub works: Option<PathBuf>,
    /// Slow-live feeds, a JSON array.
    #[arg(long)]
    pub feeds: Option<PathBuf>,
}

/// `build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Edition file with a `[schedule]` table (or a bare schedule file); default: `--edition`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub days: DaysArg,
    /// Rebuild from this date on (earlier days stay).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Now (RFC 3339): days up to the one on air stay. Default: the system clock.
    #[arg(long)]
    pub now: Option<DateTime<Utc>>,
    /// Who is building (kept with each new version).
    #[arg(long, default_value = "builder")]
    pub author: String,
    /// Why (kept with each new version).
    #[arg(long, default_value = "自动编排")]
    pub reason: String,
}

/// `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub days: DaysArg,
    /// Stored day to validate (all stored days when neither this nor --file is given).
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// A day JSON file (e.g. edited by hand) instead of the store.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Schedule config, for the slow-live window check.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub days: DaysArg,
    /// The date.
    #[arg(long)]
    pub date: NaiveDate,
    /// Version (default: latest).
    #[arg(long)]
    pub version: Option<u32>,
}

/// `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub days: DaysArg,
    /// The date.
    #[arg(long)]
    pub date: NaiveDate,
    /// Old version (default: the one before `--new`).
    #[arg(long)]
    pub old: Option<u32>,
    /// New version (default: latest).
    #[arg(long)]
    pub new: Option<u32>,
}

/// `lock` / `unlock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    #[command(flatten)]
    pub days: DaysArg,
    /// The date.
    #[arg(long)]
    pub date: NaiveDate,
    /// Who.
    #[arg(long, default_value = "operator")]
    pub by: String,
    /// Why.
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// `restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub days: DaysArg,
    /// The date.
    #[arg(long)]
    pub date: NaiveDate,
    /// The version to bring back.
    #[arg(long)]
    pub version: u32,
    /// Who.
    #[arg(long, default_value = "operator")]
    pub by: String,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON programme list.
    Json,
    /// CSV (UTF-8 with BOM) for Excel.
    Csv,
    /// XMLTV for EPG consumers.
    Xmltv,
    /// Printable HTML in Chinese.
    Html,
    /// The engine's day file (one day).
    Engine,
}

/// `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub days: DaysArg,
    /// Format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// One day.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub date: Option<NaiveDate>,
    /// First day (default: first stored).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (default: last stored).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Schedule config (channel id and name for XMLTV).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Include filler clips and the slate in published lists.
    #[arg(long)]
    pub with_filler: bool,
}

/// How rehearsal checks media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeKind {
    /// Check local files exist; URLs are unverified.
    Fs,
    /// Trust every source (timing only).
    Trust,
}

/// `rehearse`.
#[derive(Debug, clap::Args)]
pub struct RehearseArgs {
    #[command(flatten)]
    pub days: DaysArg,
    /// First day (default: first stored).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (default: last stored).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Schedule config (slow-live sections).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Media check.
    #[arg(long, value_enum, default_value = "fs")]
    pub probe: ProbeKind,
}

/// `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Schedule config.
    #[arg(long)]
    pub config: PathBuf,
    /// Works to generate.
    #[arg(long, default_value_t = 5000)]
    pub works: usize,
}

/// Runs a rundown command.
pub fn run(args: RundownArgs) -> Result<()> {
    let json = args.json;
    match args.command {
        RundownCommand::Build(a) => cmd_build(a, json),
        RundownCommand::Validate(a) => cmd_validate(a, json),
        RundownCommand::Show(a) => cmd_show(a, json),
        RundownCommand::Diff(a) => cmd_diff(a, json),
        RundownCommand::Lock(a) => cmd_lock(a, true, json),
        RundownCommand::Unlock(a) => cmd_lock(a, false, json),
        RundownCommand::Restore(a) => cmd_restore(a, json),
        RundownCommand::Export(a) => cmd_export(a),
        RundownCommand::Rehearse(a) => cmd_rehearse(a, json),
        RundownCommand::Bench(a) => cmd_bench(a, json),
    }
}

fn out(text: &str) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        o.write_all(b"\n")?;
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    out(&serde_json::to_string_pretty(v)?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("无法读取{what} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{what} {} 格式错误", path.display()))
}

fn load_catalog(
    c: &CatalogArgs,
    d: &DaysArg,
    rate: FrameRate,
) -> Result<(Vec<Work>, Vec<LiveFeed>)> {
    let Some(works) = &c.works else {
        let b = Blocker::new()?;
        let cat = open_catalog(&b, &d.db, d.edition.as_deref())?;
        return catalog_inputs(&b, &cat, rate);
    };
    let works: Vec<Work> = read_json(works, "作品文件")?;
    let feeds: Vec<LiveFeed> = match &c.feeds {
        Some(p) => read_json(p, "慢直播信号文件")?,
        None => Vec::new(),
    };
    Ok((works, feeds))
}

fn load_config(p: &Path) -> Result<CompiledSchedule> {
    Ok(ScheduleConfig::load(p)?)
}

fn cmd_build(a: BuildArgs, json: bool) -> Result<()> {
    let config = a
        .config
        .clone()
        .map_or_else(|| a.days.edition_source(), ScheduleSource::File);
    let cs = config.load()?;
    let (works, feeds) = load_catalog(&a.catalog, &a.days, cs.rate)?;
    let mut days = a.days.open()?;
    let store = days.store();
    let existing = store.latest_days()?;
    let mut locked = BTreeSet::new();
    for d in cs.dates() {
        if store.lock(d)?.is_some() {
            locked.insert(d);
        }
    }
    let now = a.now.unwrap_or_else(Utc::now);
    let req = BuildRequest {
        works: &works,
        feeds: &feeds,
        existing: &existing,
        from: a.from,
        now: Some(now),
        locked: &locked,
    };
    let built = build(&cs, &req);
    let mut saved = Vec::new();
    for date in &built.report.built {
        if let Some(day) = built.days.get(date) {
            let meta = store.save(day, &a.author, &a.reason, now)?;
            saved.push((*date, meta.version));
        }
    }
    if json {
        return print_json(&serde_json::json!({ "report": built.report, "saved": saved }));
    }
    let r = &built.report;
    let mut s = format!(
        "已编排 {} 天，保留 {} 天（过去、播出中或已锁定）。\n",
        r.built.len(),
        r.kept.len()
    );
    for (d, v) in &saved {
        let m = r.mix.get(d).map(|m| m.total).unwrap_or_default();
        let t = |f: u64| crate::rundown::mix::minutes_text(cs.rate, f);
        s.push_str(&format!(
            "  {d} → 第 {v} 版，首播 {} 部（{}）、重播 {}、慢直播 {}、活动 {}、垫片 {}、等待画面 {}\n",
            r.premieres.get(d).copied().unwrap_or(0),
            t(m.premiere_frames),
            t(m.replay_frames),
            t(m.live_frames),
            t(m.event_frames),
            t(m.filler_frames),
            t(m.slate_frames),
        ));
    }
    if !r.excluded.is_empty() {
        s.push_str(&format!("{} 部作品不可播出，未编入：\n", r.excluded.len()));
        for e in &r.excluded {
            s.push_str(&format!(
                "  作品 {}《{}》：{}\n",
                e.work_id, e.title, e.reason
            ));
        }
    }
    if !r.unaired_detail.is_empty() {
        s.push_str(&format!(
            "{} 部作品可播但未能编入播出窗口：\n",
            r.unaired_detail.len()
        ));
        for e in &r.unaired_detail {
            s.push_str(&format!(
                "  作品 {}《{}》：{}\n",
                e.work_id, e.title, e.reason
            ));
        }
    }
    for w in &r.warnings {
        s.push_str(&format!("注意：{w}\n"));
    }
    out(&s)
}

fn cmd_validate(a: ValidateArgs, json: bool) -> Result<()> {
    let config_path = a.days.config(a.config.as_deref());
    let cs = config_path.as_ref().map(ScheduleSource::load).transpose()?;
    // Filler clips and a slate that are not on disk would air as fallbacks with an alarm.
    let missing_filler = match (&cs, &config_path) {
        (Some(cs), Some(p)) => cs.config.missing_filler(&p.name(), &FsProbe),
        _ => Vec::new(),
    };
    let rate = cs.as_ref().map_or_else(FrameRate::default, |c| c.rate);
    let (works, feeds) = load_catalog(&a.catalog, &a.days, rate)?;
    let catalog = Catalog::new(&works, &feeds);
    let mut opened = a.days.open()?;
    let store = opened.store();
    let days: Vec<Day> = if let Some(f) = &a.file {
        vec![read_json(f, "节目单文件")?]
    } else if let Some(d) = a.date {
        vec![
            store
                .load(d, None)?
                .ok_or_else(|| anyhow!("没有 {d} 的节目单"))?
                .1,
        ]
    } else {
        store.latest_days()?.into_values().collect()
    };
    let mut all = Vec::new();
    for day in &days {
        all.push((day.date, validate_day(day, &catalog, cs.as_ref())));
    }
    let bad: usize = all.iter().map(|(_, p)| p.len()).sum::<usize>() + missing_filler.len();
    if json {
        let mut v: Vec<serde_json::Value> = all
            .iter()
            .map(|(d, p)| serde_json::json!({ "date": d, "problems": p }))
            .collect();
        if !missing_filler.is_empty() {
            v.push(serde_json::json!({
                "config": config_path.as_ref().map(ScheduleSource::name),
                "problems": missing_filler.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            }));
        }
        print_json(&v)?;
    } else {
        let mut s = String::new();
        for i in &missing_filler {
            s.push_str(&format!("垫片素材缺失：{i}\n"));
        }
        for (d, p) in &all {
            s.push_str(&format!(
                "{d}：{}\n",
                if p.is_empty() {
                    "通过".to_string()
                } else {
                    format!("{} 处问题", p.len())
                }
            ));
            for x in p {
                s.push_str(&format!("  - {}\n", x.message));
            }
        }
        out(&s)?;
    }
    if bad > 0 {
        bail!("节目单校验未通过：共 {bad} 处问题");
    }
    Ok(())
}

fn cmd_show(a: ShowArgs, json: bool) -> Result<()> {
    let mut opened = a.days.open()?;
    let store = opened.store();
    let (meta, day) = store
        .load(a.date, a.version)?
        .ok_or_else(|| anyhow!("没有 {} 的节目单", a.date))?;
    let lock = store.lock(a.date)?;
    if json {
        return print_json(&serde_json::json!({ "version": meta, "lock": lock, "day": day }));
    }
    let tz = day.tz();
    let mut s = format!(
        "{} 第 {} 版（{}，{}：{}）{}\n",
        day.date,
        meta.version,
        meta.author,
        meta.at,
        meta.reason,
        if lock.is_some() { " [已锁定]" } else { "" }
    );
    for it in &day.items {
        s.push_str(&format!(
            "{}  {:<6} {:<8} {}  {}{}\n",
            wall_time(tz, it.start),
            it.kind.zh(),
            it.section,
            fmt_frames_short(day.rate, it.frames),
            it.title,
            if it.premiere { "（首播）" } else { "" }
        ));
    }
    out(&s)
}

fn cmd_diff(a: DiffArgs, json: bool) -> Result<()> {
    let mut opened = a.days.open()?;
    let store = opened.store();
    let versions = store.versions(a.date)?;
    let new_v = a
        .new
        .or(versions.last().map(|m| m.version))
        .ok_or_else(|| anyhow!("没有 {} 的节目单", a.date))?;
    let old_v = a.old.unwrap_or(new_v.saturating_sub(1));
    let (_, old) = store
        .load(a.date, Some(old_v))?
        .ok_or_else(|| anyhow!("没有 {} 的第 {old_v} 版", a.date))?;
    let (_, new) = store
        .load(a.date, Some(new_v))?
        .ok_or_else(|| anyhow!("没有 {} 的第 {new_v} 版", a.date))?;
    let lines = diff::diff_days(&old, &new);
    if json {
        return print_json(
            &serde_json::json!({ "date": a.date, "old": old_v, "new": new_v, "changes": lines }),
        );
    }
    let mut s = format!(
        "{} 第 {old_v} 版 → 第 {new_v} 版：{} 处变化\n",
        a.date,
        lines.len()
    );
    for l in &lines {
        s.push_str(&format!("{l}\n"));
    }
    out(&s)
}

fn cmd_lock(a: LockArgs, lock: bool, json: bool) -> Result<()> {
    let mut opened = a.days.open()?;
    let store = opened.store();
    if lock && store.load(a.date, None)?.is_none() {
        bail!("没有 {} 的节目单，无法锁定", a.date);
    }
    let l = lock.then(|| Lock {
        by: a.by.clone(),
        at: Utc::now(),
        reason: a.reason.clone(),
    });
    store.set_lock(a.date, l.clone())?;
    if json {
        return print_json(&serde_json::json!({ "date": a.date, "lock": l }));
    }
    out(&format!(
        "{} {}",
        a.date,
        if lock { "已锁定" } else { "已解锁" }
    ))
}

fn cmd_restore(a: RestoreArgs, json: bool) -> Result<()> {
    let mut opened = a.days.open()?;
    let store = opened.store();
    if let Some(l) = store.lock(a.date)? {
        bail!("{} 的节目单已被「{}」锁定，须先解锁才能恢复", a.date, l.by);
    }
    let meta = store.restore(a.date, a.version, &a.by, Utc::now())?;
    if json {
        return print_json(&meta);
    }
    out(&format!(
        "{} 已恢复第 {} 版，现为第 {} 版",
        a.date, a.version, meta.version
    ))
}

fn select_days(
    opened: &mut Days,
    date: Option<NaiveDate>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<Day>> {
    let all = opened.store().latest_days()?;
    let days: Vec<Day> = all
        .into_iter()
        .filter(|(d, _)| match date {
            Some(x) => *d == x,
            None => from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t),
        })
        .map(|(_, d)| d)
        .collect();
    if days.is_empty() {
        bail!("所选日期没有节目单（{}）", opened.describe());
    }
    Ok(days)
}

fn cmd_export(a: ExportArgs) -> Result<()> {
    let mut opened = a.days.open()?;
    let days = select_days(&mut opened, a.date, a.from, a.to)?;
    let refs: Vec<&Day> = days.iter().collect();
    let opts = ListOptions {
        include_filler: a.with_filler,
    };
    let cs = a
        .days
        .config(a.config.as_deref())
        .as_ref()
        .map(ScheduleSource::load)
        .transpose()?;
    let (cid, cname) = cs.as_ref().map_or(
        ("kepu.kepuchina.cn".to_string(), "科普之光".to_string()),
        |c| (c.config.channel_id.clone(), c.config.channel_name.clone()),
    );
    let bytes: Vec<u8> = match a.format {
        Format::Json => to_json(&refs, opts).into_bytes(),
        Format::Csv => to_csv(&refs, opts),
        Format::Xmltv => xmltv::to_xmltv(&refs, &cid, &cname, opts).into_bytes(),
        Format::Html => {
            html::to_html(&refs, "「科普之光」全国科普月大型网络展播", opts).into_bytes()
        }
        Format::Engine => {
            if refs.len() != 1 {
                bail!("引擎日文件一次只能导出一天：请用 --date 指定");
            }
            engine_day_file(refs[0]).into_bytes()
        }
    };
    match &a.out {
        Some(p) => std::fs::write(p, &bytes).with_context(|| format!("无法写入 {}", p.display())),
        None => Ok(std::io::stdout().lock().write_all(&bytes)?),
    }
}

fn cmd_rehearse(a: RehearseArgs, json: bool) -> Result<()> {
    let mut opened = a.days.open()?;
    let days = select_days(&mut opened, None, a.from, a.to)?;
    let cs = a
        .days
        .config(a.config.as_deref())
        .as_ref()
        .map(ScheduleSource::load)
        .transpose()?;
    let probe: &dyn MediaProbe = match a.probe {
        ProbeKind::Fs => &FsProbe,
        ProbeKind::Trust => &TrustProbe,
    };
    let t0 = Instant::now();
    let (r, cues) = rehearse_days(&days, probe, cs.as_ref())?;
    let elapsed = t0.elapsed();
    if json {
        return print_json(&serde_json::json!({
            "days": r.days,
            "cues": cues,
        }));
    }
    let rate = days[0].rate;
    // Category names from the edition (its file or the built-in one); numbers alone when it
    // cannot be read.
    let edition = crate::serve::edition_at(a.days.edition.as_deref()).ok();
    let mut s = String::new();
    for d in &r.days {
        s.push_str(&format!(
            "{}：{} 条；空档 {} 处（{}），截断/重叠 {} 处，素材缺失 {} 处，未验证 {} 处，无信号源 {} 处；垫片 {}，等待画面 {}\n",
            d.date,
            d.items,
            d.gaps.len(),
            fmt_frames_short(rate, d.dead_air_frames),
            d.overlaps.len(),
            d.missing.len(),
            d.unverified.len(),
            d.no_source.len(),
            fmt_frames_short(rate, d.filler_frames),
            fmt_frames_short(rate, d.slate_frames)
        ));
        for (k, v) in &d.by_section {
            s.push_str(&format!("    {k} {}\n", fmt_frames_short(rate, *v)));
        }
        for (c, v) in &d.by_category {
            let name = edition
                .as_ref()
                .and_then(|e| e.category(*c))
                .map_or("未知类别", |r| r.name.as_str());
            s.push_str(&format!(
                "    类别 {c} {name} {}\n",
                fmt_frames_short(rate, *v)
            ));
        }
        for x in d
            .gaps
            .iter()
            .chain(&d.overlaps)
            .chain(&d.missing)
            .chain(&d.no_source)
        {
            s.push_str(&format!("    ! {} {}\n", x.wall, x.message));
        }
    }
    s.push_str(&format!(
        "排练 {} 天用时 {:.3} 秒（播出控制器与切换器在模拟时钟上运行，{} 条节目提示）\n",
        r.days.len(),
        elapsed.as_secs_f64(),
        cues.len()
    ));
    out(&s)
}

/// Rehearses `days` through the controller that airs, on a simulated clock. The CLI runs on
/// a blocking thread of the daemon's runtime (it may wait for it here) or, called as a
/// library, on none.
fn rehearse_days(
    days: &[Day],
    probe: &dyn MediaProbe,
    cs: Option<&CompiledSchedule>,
) -> Result<(Rehearsal, Vec<crate::air::CueView>)> {
    let rehearsal = crate::air::rehearsal::rehearse(days, probe, cs);
    Ok(match tokio::runtime::Handle::try_current() {
        Ok(h) => h.block_on(rehearsal)?,
        Err(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("排练需要异步运行时")?
            .block_on(rehearsal)?,
    })
}

fn cmd_bench(a: BenchArgs, json: bool) -> Result<()> {
    let cs = load_config(&a.config)?;
    let works = demo::catalog(cs.config.seed, a.works);
    let feeds = demo::feeds();
    let existing = Default::default();
    let locked = BTreeSet::new();
    let req = BuildRequest {
        works: &works,
        feeds: &feeds,
        existing: &existing,
        from: None,
        now: None,
        locked: &locked,
    };
    let t0 = Instant::now();
    let built = build(&cs, &req);
    let build_s = t0.elapsed().as_secs_f64();
    let refs: Vec<&Day> = built.days.values().collect();
    let days: Vec<Day> = built.days.values().cloned().collect();
    let t1 = Instant::now();
    let (_, cues) = rehearse_days(&days, &TrustProbe, Some(&cs))?;
    let rehearse_s = t1.elapsed().as_secs_f64();
    let items: usize = refs.iter().map(|d| d.items.len()).sum();
    let aired = works.len() - built.report.unaired.len() - built.report.excluded.len();
    if json {
        return print_json(&serde_json::json!({
            "works": works.len(), "days": refs.len(), "items": items, "works_aired": aired,
            "build_seconds": build_s, "rehearse_seconds": rehearse_s, "cues": cues.len(),
        }));
    }
    out(&format!(
        "{} 部作品 → {} 天 {} 条，{} 部作品播出；编排 {:.3} 秒，排练 {:.3} 秒",
        works.len(),
        refs.len(),
        items,
        aired,
        build_s,
        rehearse_s
    ))
}
