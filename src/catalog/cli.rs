//! `kepu-playout catalog …`: import, forms (信息采集表 preview/confirm), attach, probe (and its benchmark), list, show, review,
//! state. A thin edge over the `Catalog` functions the REST API also uses; every command
//! prints JSON with `--json` for scripts, Chinese text otherwise. Errors are `anyhow` here.

use super::Catalog;
use super::batch::{BatchItem, probe_paths};
use super::model::{Decision, WorkState};
use super::probe::ProbeOptions;
use super::qc::hms;
use super::workflow::NewReview;
use crate::edition::Edition;
use crate::store::Store;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `catalog` arguments.
#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// Database: a SQLite file path (created on first use) or a postgres:// URL.
    #[arg(long, env = "KEPU_DATABASE_URL", default_value = "kepu.db")]
    pub database: String,
    /// Edition config whose rules apply. Default: the built-in 2026 edition.
    #[arg(long, env = "KEPU_EDITION")]
    pub edition: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: CatalogCommand,
}

/// `catalog` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CatalogCommand {
    /// Import collection forms (CSV in UTF-8/GBK, or XLSX).
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Who imports (kept in the history).
        #[arg(long, default_value = "import")]
        actor: String,
    },
    /// Read units' filled 信息采集表 in the notice's own layout (.docx, .xlsx, .csv; a folder
    /// stands for the tables in it): shows every field as read; stores only with --confirm.
    Forms {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Store the tables that read without errors (after checking the preview).
        #[arg(long)]
        confirm: bool,
        /// Who imports (kept in the history).
        #[arg(long, default_value = "import")]
        actor: String,
    },
    /// Upload a video to a work on a running daemon (tus, resumable: run again to resume).
    Upload {
        /// The video file.
        file: PathBuf,
        /// The daemon's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// The work the video is for.
        #[arg(long)]
        work: i64,
        /// API token (`kepu-playout user token …`).
        #[arg(long, env = "KEPU_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Chunk size in MiB (one PATCH each).
        #[arg(long, default_value_t = 8)]
        chunk_mib: usize,
    },
    /// Attach a media file (path or URL) to a work.
    Attach {
        /// Work id.
        work: i64,
        /// Path or URL.
        location: String,
    },
    /// Probe files and judge them against the edition (技术审核).
    Probe {
        /// Probe all files of this work.
        #[arg(long)]
        work: Option<i64>,
        /// Probe these attached files.
        #[arg(long = "file")]
        files: Vec<i64>,
        /// Probe every attached file never probed.
        #[arg(long)]
        pending: bool,
        /// Probe paths without recording anything.
        #[arg(long = "path")]
        paths: Vec<String>,
        /// Probes run at once.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Skip the loudness pass.
        #[arg(long)]
        no_loudness: bool,
        /// Time box of one Discoverer pass, seconds.
        #[arg(long, default_value_t = 20)]
        timeout: u64,
        /// Benchmark: probe every file in this directory and print wall time and files/s.
        #[arg(long)]
        bench: Option<PathBuf>,
        /// With --bench: first fill the directory with this many generated clips (ffmpeg).
        #[arg(long)]
        generate: Option<usize>,
    },
    /// List works (or leads) of the edition.
    List {
        /// Only works in this state (submitted, tech_review, selected, not_selected, scheduled, aired).
        #[arg(long)]
        state: Option<String>,
        /// List leads instead of works.
        #[arg(long)]
        leads: bool,
    },
    /// Show one work with its unit, files, reviews, history and schedulability.
    Show {
        /// Work id.
        work: i64,
    },
    /// Record a review (checklist and/or 入选/未入选) and the rights confirmation.
    Review {
        /// Work id.
        work: i64,
        /// Reviewer's name.
        #[arg(long)]
        reviewer: String,
        /// 入选.
        #[arg(long, conflicts_with = "reject")]
        select: bool,
        /// 未入选 (needs --reason).
        #[arg(long)]
        reject: bool,
        /// Reason of the decision.
        #[arg(long)]
        reason: Option<String>,
        /// Checklist items found OK: subtitles,no_logo,no_ads,ai_label,science.
        #[arg(long, value_delimiter = ',')]
        ok: Vec<String>,
        /// Checklist items found wrong.
        #[arg(long, value_delimiter = ',')]
        not_ok: Vec<String>,
        /// Record that the rights confirmation (确认单) is on file, by this reviewer.
        #[arg(long)]
        rights: bool,
    },
    /// Move a work to scheduled / aired (refused with reasons when not schedulable).
    State {
        /// Work id.
        work: i64,
        /// scheduled, aired or selected (off the schedule).
        to: String,
        /// Who.
        #[arg(long, default_value = "operator")]
        actor: String,
    },
}

/// Prints a line to stdout; a closed pipe (`… | head`) is not an error worth a panic.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn opts(timeout: u64, no_loudness: bool) -> ProbeOptions {
    ProbeOptions {
        discover_timeout: Duration::from_secs(timeout.max(1)),
        loudness: !no_loudness,
        ..Default::default()
    }
}

fn line(item: &BatchItem) -> String {
    let r = &item.report;
    let pic = r.video.as_ref().map_or("-".into(), |v| {
        format!("{}×{}", v.display_width, v.display_height)
    });
    let lufs = r
        .loudness
        .as_ref()
        .and_then(|l| l.integrated_lufs)
        .map_or("-".into(), |l| format!("{l:.1} LUFS"));
    format!(
        "{} {} [{} {} {} {}] {}",
        item.qc.verdict.label(),
        item.location,
        r.container.as_deref().unwrap_or("-"),
        pic,
        r.bit_rate_bps
            .map_or("-".into(), |b| format!("{:.1} Mbit/s", b as f64 / 1e6)),
        lufs,
        item.qc.reasons.join("；")
    )
}

/// The preview of each form, field by field, then one line per file.
fn print_forms(reports: &[super::form::FileReport], confirm: bool) {
    for r in reports {
        out!("== {}", r.path);
        if let Some(p) = &r.preview {
            for f in &p.fields {
                match &f.note {
                    Some(n) => out!("  {}：{}（{n}）", f.field, f.value),
                    None => out!("  {}：{}", f.field, f.value),
                }
            }
            for w in &p.warnings {
                out!("  请留意：{w}");
            }
            for e in &p.errors {
                out!("  错误：{e}");
            }
        }
        out!("  {}", r.summary());
    }
    let bad = reports
        .iter()
        .filter(|r| r.error.is_some() || r.preview.as_ref().is_some_and(|p| !p.ok()))
        .count();
    let saved = reports.iter().filter(|r| r.saved.is_some()).count();
    if confirm {
        out!(
            "共 {} 个文件：已导入 {saved}，有误未导入 {bad}",
            reports.len()
        );
    } else {
        out!(
            "共 {} 个文件：可导入 {}，有误 {bad}。核对以上各项无误后加 --confirm 导入",
            reports.len(),
            reports.len() - bad
        );
    }
}

/// Runs a `catalog` command.
pub async fn run(args: CatalogArgs) -> anyhow::Result<()> {
    let edition = Arc::new(crate::serve::edition_at(args.edition.as_deref())?);
    let json = args.json;
    // The benchmark and path probes need no database.
    if let CatalogCommand::Probe {
        bench: Some(dir),
        generate,
        jobs,
        no_loudness,
        timeout,
        ..
    } = &args.command
    {
        return bench(
            dir,
            *generate,
            *jobs,
            opts(*timeout, *no_loudness),
            &edition,
            json,
        )
        .await;
    }
    if let CatalogCommand::Probe {
        paths,
        jobs,
        no_loudness,
        timeout,
        ..
    } = &args.command
        && !paths.is_empty()
    {
        let mut progress = |n: usize, t: usize, i: &BatchItem| eprintln!("[{n}/{t}] {}", line(i));
        let (items, stats) = probe_paths(
            paths.clone(),
            *jobs,
            opts(*timeout, *no_loudness),
            &edition.acceptance,
            &mut progress,
        )
        .await;
        return if json {
            print_json(&serde_json::json!({ "items": items, "stats": stats }))
        } else {
            Ok(())
        };
    }
    if let CatalogCommand::Upload {
        file,
        server,
        work,
        token,
        chunk_mib,
    } = &args.command
    {
        let job = crate::upload::client::UploadJob {
            server: server.trim_end_matches('/').to_string(),
            token: token.clone(),
            work: *work,
            file: file.clone(),
            chunk_bytes: chunk_mib.clamp(&1, &512) << 20,
            retries: 5,
            stop_after: None,
        };
        let done = crate::upload::client::upload(&job)
            .await
            .with_context(|| format!("上传 {}", file.display()))?;
        if json {
            print_json(&done)?;
        } else {
            out!(
                "{} 已上传 {} 字节{}，SHA-256 {}",
                file.display(),
                done.offset,
                if done.resumed_from > 0 {
                    format!("（从第 {} 字节续传）", done.resumed_from)
                } else {
                    String::new()
                },
                done.record
                    .as_ref()
                    .and_then(|r| r["sha256"].as_str())
                    .unwrap_or("-")
            );
            out!("技术审核已自动开始：kepu-playout catalog show {work}");
        }
        return Ok(());
    }
    let store = Store::open(&args.database).await?;
    let cat = Catalog::new(store, edition);
    match args.command {
        CatalogCommand::Import { files, actor } => {
            let mut reports = Vec::new();
            for f in files {
                let r = cat
                    .import_file(&f, &actor)
                    .await
                    .with_context(|| format!("导入 {}", f.display()))?;
                if !json {
                    out!(
                        "{}（{}）：{} 行，新增 {}，更新 {}，未变 {}，出错 {}",
                        r.file,
                        r.encoding,
                        r.rows,
                        r.inserted,
                        r.updated,
                        r.unchanged,
                        r.failed
                    );
                    for e in &r.errors {
                        out!("  {e}");
                    }
                    if !r.late_rows.is_empty() {
                        out!("  逾期报送（已标记）：第 {:?} 行", r.late_rows);
                    }
                    if !r.cannot_air.is_empty() {
                        out!(
                            "  在播出窗口内无法播出的作品（{} 部）：",
                            r.cannot_air.len()
                        );
                        for n in &r.cannot_air {
                            out!("    {n}");
                        }
                    }
                    if !r.ignored_columns.is_empty() {
                        out!("  未识别的列（已忽略）：{}", r.ignored_columns.join("、"));
                    }
                }
                reports.push(r);
            }
            if json {
                print_json(&reports)?;
            }
        }
        // Answered above, before the database is opened.
        CatalogCommand::Upload { .. } => {}
        CatalogCommand::Forms {
            paths,
            confirm,
            actor,
        } => {
            let reports = cat.forms_in(&paths, confirm, &actor).await;
            if json {
                print_json(&reports)?;
            } else {
                print_forms(&reports, confirm);
            }
            if reports.is_empty() {
                bail!("没有找到信息采集表（.docx、.xlsx、.xls、.csv）");
            }
        }
        CatalogCommand::Attach { work, location } => {
            let f = cat.attach_file(work, &location).await?;
            if json {
                print_json(&f)?
            } else {
                out!("作品 {work} 已附文件 {}：{}", f.id, f.location)
            }
        }
        CatalogCommand::Probe {
            work,
            mut files,
            pending,
            jobs,
            no_loudness,
            timeout,
            ..
        } => {
            if let Some(w) = work {
                files.extend(cat.files_of(w).await?.iter().map(|f| f.id));
            }
            if pending {
                files.extend(cat.unprobed_files().await?.iter().map(|f| f.id));
            }
            if files.is_empty() {
                bail!("没有要探测的文件：用 --work、--file、--pending 或 --path 指定");
            }
            let mut progress =
                |n: usize, t: usize, i: &BatchItem| eprintln!("[{n}/{t}] {}", line(i));
            let (items, stats) = cat
                .probe_files(&files, jobs, opts(timeout, no_loudness), &mut progress)
                .await?;
            if json {
                print_json(&serde_json::json!({ "items": items, "stats": stats }))?;
            } else {
                out!(
                    "{} 个文件，{} 路并行，用时 {} ms：通过 {}，警告 {}，不通过 {}",
                    stats.files,
                    stats.jobs,
                    stats.wall_ms,
                    stats.pass,
                    stats.warn,
                    stats.fail
                );
            }
        }
        CatalogCommand::List { state, leads } => {
            if leads {
                let l = cat.leads().await?;
                if json {
                    print_json(&l)?
                } else {
                    for x in l {
                        out!(
                            "线索 {:>4}  单位 {:>3}  {}  {}",
                            x.id,
                            x.unit_id,
                            x.state,
                            x.name
                        );
                    }
                }
                return Ok(());
            }
            let state = state.map(|s| s.parse::<WorkState>()).transpose()?;
            let works = cat.works(state).await?;
            if json {
                print_json(&works)?
            } else {
                for w in works {
                    out!(
                        "{:>4}  {:<6}{}  {}  {}  {}",
                        w.id,
                        w.state_label,
                        if w.late { " 逾期" } else { "" },
                        w.declared_duration_ms.map_or("-".into(), hms),
                        w.title,
                        w.category_names.join("、")
                    );
                }
            }
        }
        CatalogCommand::Show { work } => {
            let w = cat.work(work).await?;
            let unit = cat.unit(w.unit_id).await?;
            let files = cat.files_of(work).await?;
            let reviews = cat.reviews_of(work).await?;
            let history = cat.history_of(work).await?;
            let sched = cat.schedulable(work).await?;
            if json {
                print_json(
                    &serde_json::json!({ "work": w, "unit": unit, "files": files, "reviews": reviews, "history": history, "schedulable": sched }),
                )?;
            } else {
                out!(
                    "作品 {}：{}（{}{}）",
                    w.id,
                    w.title,
                    w.state_label,
                    if w.late { "，逾期报送" } else { "" }
                );
                out!(
                    "  报送单位：{}；版权方：{}",
                    unit.name,
                    w.copyright_holder.as_deref().unwrap_or("-")
                );
                out!(
                    "  类别：{}；时长：{}",
                    w.category_names.join("、"),
                    w.declared_duration_ms.map_or("-".into(), hms)
                );
                for f in &files {
                    out!(
                        "  文件 {}：{} → {} {}",
                        f.id,
                        f.location,
                        f.verdict.as_deref().unwrap_or("未检测"),
                        f.reasons_json.as_deref().unwrap_or("")
                    );
                }
                for r in &reviews {
                    out!(
                        "  审核 {}：{} {} {}",
                        r.id,
                        r.reviewer,
                        r.decision.as_deref().unwrap_or("-"),
                        r.reason.as_deref().unwrap_or("")
                    );
                }
                if sched.schedulable {
                    out!("  可以排播")
                } else {
                    out!("  不能排播：{}", sched.reasons.join("；"))
                }
            }
        }
        CatalogCommand::Review {
            work,
            reviewer,
            select,
            reject,
            reason,
            ok,
            not_ok,
            rights,
        } => {
            let mut r = NewReview {
                reviewer: reviewer.clone(),
                reason,
                ..Default::default()
            };
            r.decision = if select {
                Some(Decision::Selected)
            } else if reject {
                Some(Decision::NotSelected)
            } else {
                None
            };
            for (items, value) in [(&ok, true), (&not_ok, false)] {
                for item in items {
                    let slot = match item.trim() {
                        "subtitles" => &mut r.subtitles,
                        "no_logo" => &mut r.no_logo,
                        "no_ads" => &mut r.no_ads,
                        "ai_label" => &mut r.ai_label,
                        "science" => &mut r.science,
                        other => bail!(
                            "不认识的检查项「{other}」（subtitles,no_logo,no_ads,ai_label,science）"
                        ),
                    };
                    *slot = Some(value);
                }
            }
            if rights {
                cat.confirm_rights(work, &reviewer).await?;
            }
            let has_review = r.decision.is_some()
                || [r.subtitles, r.no_logo, r.no_ads, r.ai_label, r.science]
                    .iter()
                    .any(Option::is_some);
            let saved = if has_review {
                Some(cat.add_review(work, &r).await?)
            } else {
                None
            };
            let sched = cat.schedulable(work).await?;
            if json {
                print_json(&serde_json::json!({ "review": saved, "schedulable": sched }))?
            } else {
                out!(
                    "已记录。{}",
                    if sched.schedulable {
                        "可以排播".to_string()
                    } else {
                        format!("不能排播：{}", sched.reasons.join("；"))
                    }
                );
            }
        }
        CatalogCommand::State { work, to, actor } => {
            let w = cat.set_work_state(work, to.parse()?, &actor).await?;
            if json {
                print_json(&w)?
            } else {
                out!("作品 {} 现为「{}」", w.id, w.state_label)
            }
        }
    }
    Ok(())
}

/// Fills `dir` with `n` short clips (a few distinct kinds, copied) for the benchmark.
fn generate_clips(dir: &Path, n: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let kinds = [
        ("1920x1080", "9M", true),
        ("1280x720", "6M", true),
        ("1920x1080", "3M", true),
        ("1920x1080", "9M", false),
    ];
    for (k, (size, rate, audio)) in kinds.iter().enumerate() {
        let out = dir.join(format!("kind{k}.mp4"));
        let video = format!("testsrc2=s={size}:r=25:d=2,noise=alls=30:allf=t");
        let mut cmd = std::process::Command::new("ffmpeg");
        cmd.args(["-y", "-v", "error", "-f", "lavfi", "-i", &video]);
        if *audio {
            cmd.args([
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=1000:sample_rate=48000:duration=2",
                "-c:a",
                "aac",
                "-shortest",
            ]);
        }
        cmd.args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-b:v",
            rate,
            "-maxrate",
            rate,
            "-bufsize",
            rate,
        ]);
        cmd.arg(&out);
        let st = cmd.status().context("ffmpeg 不可用")?;
        if !st.success() {
            bail!("ffmpeg 生成 {} 失败", out.display());
        }
    }
    for i in 0..n {
        std::fs::copy(
            dir.join(format!("kind{}.mp4", i % kinds.len())),
            dir.join(format!("clip{i:04}.mp4")),
        )?;
    }
    for k in 0..kinds.len() {
        std::fs::remove_file(dir.join(format!("kind{k}.mp4")))?;
    }
    Ok(())
}

async fn bench(
    dir: &Path,
    generate: Option<usize>,
    jobs: usize,
    opts: ProbeOptions,
    edition: &Edition,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(n) = generate {
        generate_clips(dir, n)?;
    }
    let mut paths: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("无法读取目录 {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    paths.sort();
    let mut progress = |n: usize, t: usize, _: &BatchItem| {
        if n.is_multiple_of(10) || n == t {
            eprintln!("[{n}/{t}]");
        }
    };
    let (_, stats) = probe_paths(paths, jobs, opts, &edition.acceptance, &mut progress).await;
    if json {
        print_json(&stats)?;
    } else {
        out!(
            "probed {} files in {:.2} s = {:.1} files/s with --jobs {} (loudness {}): pass {}, warn {}, fail {}",
            stats.files,
            stats.wall_ms as f64 / 1000.0,
            stats.files_per_s,
            stats.jobs,
            if stats.loudness { "on" } else { "off" },
            stats.pass,
            stats.warn,
            stats.fail
        );
    }
    Ok(())
}
