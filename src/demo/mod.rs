//! `kepu-playout demo` (`./run.sh demo`): the product's main job, end to end, on demo data.
//!
//! In order, each step through the product's own library (the same functions the CLI and
//! the API call), each skipped when a previous run already did it:
//! 1. media: one 1080p25 clip per demo work with its Chinese title on screen (`media`);
//! 2. the 信息采集表 of several units as a GBK CSV (`form`), one work submitted after the
//!    window and one without a file, so the import says why they cannot air;
//! 3. import, technical acceptance (probe with loudness), 遴选 (selected, rights on file) and
//!    the month built from the catalog under the built-in edition;
//! 4. an operator and a partner account (printed);
//! 5. a local nginx-rtmp receiver that records (`receiver`), the channel config beside the
//!    database, and `serve` with a rehearsal clock that puts "now" just after a demo work's
//!    start on a September day (the 15th, or the nearest day before it with a demo work on
//!    air: the few demo works are used up by the repeat rules in the first days), pushing to
//!    the receiver and the HLS preview.
//!
//! Ctrl-C (or `--for N` seconds) stops `serve` in order, then the receiver. Everything lives
//! in the demo directory (default `demo-out/`); a second run reuses it.

pub mod form;
pub mod media;
pub mod receiver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::auth::{Accounts, NewUser, Role};
use crate::catalog::Catalog;
use crate::catalog::model::{Decision, Verdict};
use crate::catalog::probe::ProbeOptions;
use crate::catalog::workflow::NewReview;
use crate::config::ChannelConfig;
use crate::rundown::ItemKind;
use crate::rundown_db::{DbDayStore, ops};
use crate::store::Store;

/// One demo work: who sends it, what it is, and what its clip looks like.
#[derive(Debug, Clone, Copy)]
pub struct DemoWork {
    /// 报送单位.
    pub unit: &'static str,
    /// 联系人.
    pub contact: &'static str,
    /// 上级主管单位.
    pub parent: &'static str,
    /// 作品名称.
    pub title: &'static str,
    /// 视频类别 as printed on the form.
    pub category: &'static str,
    /// 视频内容简介.
    pub summary: &'static str,
    /// 报送日期.
    pub submitted_on: &'static str,
    /// The clip's file name, `None` when the unit sent no file.
    pub file: Option<&'static str>,
    /// Background colour of the clip.
    pub colour: &'static str,
    /// Tone under the clip, Hz.
    pub tone: u32,
}

/// Length of every demo clip, seconds.
pub const CLIP_SECONDS: u32 = 45;

/// The demo's works: five units, five sections' worth, one late, one without a file.
pub const WORKS: &[DemoWork] = &[
    DemoWork {
        unit: "中国科学院深海科学与工程研究所",
        contact: "张明",
        parent: "中国科学院",
        title: "深海勇士号下潜记",
        category: "大国重器类科普视频",
        summary: "跟随“深海勇士”号载人潜水器下潜南海冷泉区，记录科学家在千米深海的采样与观察。",
        submitted_on: "2026-07-01",
        file: Some("deep-dive.mp4"),
        colour: "0x0b3d6b",
        tone: 440,
    },
    DemoWork {
        unit: "重庆市科学技术协会",
        contact: "邹小龙",
        parent: "中国科协",
        title: "走进重庆科技馆",
        category: "科普场馆、科普教育基地探访视频",
        summary: "讲解员带领观众走进重庆科技馆的生活、防灾、交通与国防展厅，体验互动实验。",
        submitted_on: "2026-07-08",
        file: Some("cq-museum.mp4"),
        colour: "0x6b2d0b",
        tone: 550,
    },
    DemoWork {
        unit: "中国科学院院士工作局",
        contact: "李静",
        parent: "中国科学院",
        title: "院士讲堂：量子通信",
        category: "院士科技报告精剪视频",
        summary: "院士以通俗语言讲解量子密钥分发的原理与“墨子号”卫星的实验。",
        submitted_on: "2026-07-05",
        file: Some("quantum-talk.mp4"),
        colour: "0x3b0b6b",
        tone: 660,
    },
    DemoWork {
        unit: "中国科协青少年科技中心",
        contact: "王芳",
        parent: "中国科协",
        title: "青少年科创营",
        category: "青年科技人才培养类视频",
        summary: "记录全国青少年科技创新大赛营员从选题、实验到答辩的七天。",
        submitted_on: "2026-07-10",
        file: Some("youth-camp.mp4"),
        colour: "0x0b6b3d",
        tone: 770,
    },
    DemoWork {
        unit: "中国科学院深海科学与工程研究所",
        contact: "张明",
        parent: "中国科学院",
        title: "国家重点实验室开放日",
        category: "国家重点实验室类科普视频",
        summary: "深海装备国家重点实验室向公众开放，工程师演示耐压舱与机械手。",
        submitted_on: "2026-07-02",
        file: Some("lab-open-day.mp4"),
        colour: "0x5b5b0b",
        tone: 880,
    },
    DemoWork {
        unit: "重庆市科学技术协会",
        contact: "邹小龙",
        parent: "中国科协",
        title: "月球车的一天",
        category: "科普场馆、科普教育基地探访视频",
        summary: "科技馆的月球车模型讲述“玉兔二号”在月背的一天。报送晚于播出窗口。",
        submitted_on: "2026-10-08",
        file: Some("lunar-rover.mp4"),
        colour: "0x4b4b4b",
        tone: 990,
    },
    DemoWork {
        unit: "中国科协青少年科技中心",
        contact: "王芳",
        parent: "中国科协",
        title: "科普大篷车进乡村",
        category: "其他",
        summary: "科普大篷车走进乡村学校。视频尚未提交。",
        submitted_on: "2026-07-10",
        file: None,
        colour: "black",
        tone: 440,
    },
];

/// The demo's operator login (username, password).
pub const OPERATOR: (&str, &str) = ("zhiban", "kepu-demo-zhiban");
/// The demo's partner login (username, password); the partner belongs to 重庆市科学技术协会.
pub const PARTNER: (&str, &str) = ("danwei", "kepu-demo-danwei");
/// The partner's unit.
const PARTNER_UNIT: &str = "重庆市科学技术协会";
/// The September day (of the edition's year) the rehearsal clock is put in, or the nearest
/// day before it with a demo work on air.
const DEMO_DAY: (u32, u32) = (9, 15);
/// Earliest wall time of day (Shanghai) of the work put on air.
const DEMO_HOUR: u32 = 10;
/// How long `serve` takes to come up: the clock is set so the work starts about then.
const START_LEAD: Duration = Duration::from_secs(4);

/// Runs the demo in `dir` until Ctrl-C, or for `for_secs` seconds of air.
pub async fn run(dir: &Path, for_secs: Option<u64>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    let dir = std::fs::canonicalize(dir)?;
    let edition = Arc::new(crate::serve::edition_at(None)?);
    let cs = Arc::new(ops::schedule_of(&edition)?);
    println!(
        "演示目录：{}（第二次运行会沿用其中的素材、数据库和节目单）",
        dir.display()
    );

    // 1. Media.
    let media_dir = dir.join("media");
    println!("① 生成演示素材（1080p25，每部 {CLIP_SECONDS} 秒，画面上有中文标题）…");
    let files = {
        let media_dir = media_dir.clone();
        tokio::task::spawn_blocking(move || make_media(&media_dir)).await??
    };

    // 2. The form.
    let form_path = dir.join("信息采集表-演示.csv");
    if !form_path.is_file() {
        form::write(&form_path, &form_rows(&files))?;
    }
    println!("② 信息采集表（GBK）：{}", form_path.display());

    // 3. The catalog: import, probe, review, build.
    let db_path = dir.join("kepu.db");
    let db = db_path.display().to_string();
    let store = tokio::time::timeout(Duration::from_secs(30), Store::open(&db))
        .await
        .map_err(|_| anyhow::anyhow!("打开数据库 {db} 超时（30 秒）"))?
        .with_context(|| format!("无法打开数据库 {db}"))?;
    let cat = Catalog::new(store.clone(), edition.clone());
    import(&cat, &form_path).await?;
    probe(&cat).await?;
    review(&cat).await?;
    let days = DbDayStore::new(store.clone());
    let date = NaiveDate::from_ymd_opt(edition.edition.year, DEMO_DAY.0, DEMO_DAY.1)
        .context("演示日期无效")?;
    build(&cat, &days, cs.clone(), date).await?;

    // 4. Accounts.
    accounts(&cat, &store).await?;

    // 5. On air.
    let (at, title) = on_air_moment(&days, &cs, date).await?;
    let rx = receiver::start(&dir)?;
    let config_path = dir.join("channel.toml");
    let listen = listen_address()?;
    let offset_ms =
        (at - (Utc::now() + chrono::Duration::from_std(START_LEAD)?)).num_milliseconds();
    std::fs::write(&config_path, channel_config(&rx.url(), &listen, offset_ms))?;
    // The demo's own database, whatever KEPU_DATABASE_URL says.
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("KEPU_") && k != "KEPU_DATABASE_URL")
        .collect();
    let text = std::fs::read_to_string(&config_path)?;
    let config = ChannelConfig::parse(&config_path, &text, &env)?;
    let http = config.server.listen;
    let shanghai = at.with_timezone(&chrono_tz::Asia::Shanghai);
    println!(
        "⑤ 上线（准备用时 {:.1} 秒）：演练时钟设在 {}，播出《{title}》",
        started.elapsed().as_secs_f64(),
        shanghai.format("%Y-%m-%d %H:%M:%S")
    );
    println!();
    println!("  控制台（dashboard）：http://{http}/");
    println!("  公开预览（HLS）：    http://{http}/watch");
    println!("  值班员登录：用户名 {}  密码 {}", OPERATOR.0, OPERATOR.1);
    println!(
        "  合作单位登录：用户名 {}  密码 {}（{PARTNER_UNIT}）",
        PARTNER.0, PARTNER.1
    );
    println!(
        "  本地接收端：{}（录制在 {}）",
        rx.url(),
        rx.recordings.display()
    );
    println!("  观看：ffplay -fflags nobuffer {}", rx.url());
    println!("  频道配置：{}", config_path.display());
    match for_secs {
        Some(s) => println!("  {s} 秒后自动停止（Ctrl-C 提前停止）"),
        None => println!("  Ctrl-C 按顺序停止"),
    }
    println!();
    drop(store);
    let stop = async move {
        match for_secs {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    let r = crate::serve::run_until(config, stop).await;
    drop(rx);
    r
}

/// Makes every clip; the paths by file name.
fn make_media(dir: &Path) -> anyhow::Result<BTreeMap<&'static str, PathBuf>> {
    let mut out = BTreeMap::new();
    for w in WORKS {
        let Some(file) = w.file else { continue };
        let spec = media::ClipSpec {
            file,
            title: w.title,
            colour: w.colour,
            tone: w.tone,
            seconds: CLIP_SECONDS,
        };
        let path = media::make_clip(dir, &spec, Duration::from_secs(300))?;
        println!("   {}", path.display());
        out.insert(file, path);
    }
    Ok(out)
}

fn form_rows(files: &BTreeMap<&'static str, PathBuf>) -> Vec<form::FormRow<'static>> {
    WORKS
        .iter()
        .map(|w| form::FormRow {
            unit: w.unit,
            contact: w.contact,
            parent: w.parent,
            title: w.title,
            category: w.category,
            duration: format!("00:00:{CLIP_SECONDS:02}"),
            summary: w.summary,
            submitted_on: w.submitted_on,
            file: w
                .file
                .and_then(|f| files.get(f))
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

async fn import(cat: &Catalog, form_path: &Path) -> anyhow::Result<()> {
    let r = cat
        .import_file(form_path, "演示")
        .await
        .with_context(|| format!("导入 {}", form_path.display()))?;
    println!(
        "③ 导入 {}（{}）：{} 行，新增 {}，更新 {}，未变 {}，出错 {}",
        r.file, r.encoding, r.rows, r.inserted, r.updated, r.unchanged, r.failed
    );
    for e in &r.errors {
        println!("   {e}");
    }
    for n in &r.cannot_air {
        println!("   无法播出：{n}");
    }
    Ok(())
}

async fn probe(cat: &Catalog) -> anyhow::Result<()> {
    let pending: Vec<i64> = cat.unprobed_files().await?.iter().map(|f| f.id).collect();
    if pending.is_empty() {
        println!("   技术审核：所有文件已检测");
        return Ok(());
    }
    let mut progress = |n: usize, t: usize, i: &crate::catalog::batch::BatchItem| {
        println!(
            "   技术审核 [{n}/{t}] {} {} {}",
            i.qc.verdict.label(),
            i.location,
            i.qc.reasons.join("；")
        );
    };
    cat.probe_files(&pending, 2, ProbeOptions::default(), &mut progress)
        .await?;
    Ok(())
}

async fn review(cat: &Catalog) -> anyhow::Result<()> {
    let mut selected = 0;
    for w in cat.works(None).await? {
        if !matches!(w.state.as_str(), "submitted" | "tech_review") {
            continue;
        }
        if !matches!(
            cat.technical_verdict(w.id).await?,
            Some(Verdict::Pass | Verdict::Warn)
        ) {
            continue;
        }
        cat.add_review(
            w.id,
            &NewReview {
                reviewer: "演示评审".into(),
                subtitles: Some(true),
                no_logo: Some(true),
                no_ads: Some(true),
                ai_label: Some(true),
                science: Some(true),
                decision: Some(Decision::Selected),
                reason: Some("演示：内容科学、画面完整".into()),
            },
        )
        .await?;
        if w.rights_confirmed_by.is_none() {
            cat.confirm_rights(w.id, "演示评审").await?;
        }
        selected += 1;
    }
    println!("   遴选：本次入选 {selected} 部（版权确认单已登记）");
    Ok(())
}

async fn build(
    cat: &Catalog,
    days: &DbDayStore,
    cs: Arc<crate::rundown::config::CompiledSchedule>,
    date: NaiveDate,
) -> anyhow::Result<()> {
    if days.load_async(date, None).await?.is_some() {
        println!("④ 节目单：已有（沿用上次编排）");
        return Ok(());
    }
    // Built as on the eve of the window: every day of the month is new.
    let first = cs.config.first_day;
    let eve = crate::rundown::time::day_bounds(cs.tz, first).0 - chrono::Duration::hours(1);
    let out = ops::build(cat, days, cs.clone(), None, eve, "演示", "演示：编排整月").await?;
    let r = &out.report;
    println!(
        "④ 编排 {} 至 {}：{} 天",
        cs.config.first_day,
        cs.config.last_day,
        r.built.len()
    );
    for e in &r.excluded {
        println!("   未编入：作品 {}《{}》：{}", e.work_id, e.title, e.reason);
    }
    for e in &r.unaired_detail {
        println!(
            "   未能播出：作品 {}《{}》：{}",
            e.work_id, e.title, e.reason
        );
    }
    Ok(())
}

async fn accounts(cat: &Catalog, store: &Store) -> anyhow::Result<()> {
    let accounts = Accounts::new(store.clone());
    let existing: Vec<String> = accounts
        .users()
        .await?
        .into_iter()
        .map(|u| u.username)
        .collect();
    let unit = cat
        .units()
        .await?
        .into_iter()
        .find(|u| u.name == PARTNER_UNIT)
        .map(|u| u.id);
    for ((name, password), role, unit_id) in [
        (OPERATOR, Role::Operator, None),
        (PARTNER, Role::Partner, unit),
    ] {
        if existing.iter().any(|u| u == name) {
            continue;
        }
        accounts
            .create_user(&NewUser {
                username: name.into(),
                role,
                unit_id,
                password: password.into(),
            })
            .await
            .with_context(|| format!("无法创建演示账号 {name}"))?;
    }
    Ok(())
}

/// The programme time to put "now" at: just after the start of the first demo work at or
/// after `DEMO_HOUR` on `middle`, or on the nearest day before it (then after it) that has
/// one — the demo's few works air in the first days of the month and are used up by the
/// repeat rules — and its title.
async fn on_air_moment(
    days: &DbDayStore,
    cs: &crate::rundown::config::CompiledSchedule,
    middle: NaiveDate,
) -> anyhow::Result<(DateTime<Utc>, String)> {
    let long_enough = u64::from(CLIP_SECONDS) * u64::from(cs.rate.num) / u64::from(cs.rate.den) / 2;
    let dates = cs.dates();
    let mut order: Vec<NaiveDate> = dates
        .iter()
        .rev()
        .filter(|d| **d <= middle)
        .copied()
        .collect();
    order.extend(dates.iter().filter(|d| **d > middle));
    for date in order {
        let Some((_, day)) = days.load_async(date, None).await? else {
            continue;
        };
        let found = day.items.iter().find(|i| {
            let local = i.start.with_timezone(&cs.tz);
            i.kind == ItemKind::Work
                && i.frames >= long_enough
                && local.hour() >= DEMO_HOUR
                && local.day() == date.day()
        });
        if let Some(item) = found {
            return Ok((
                item.start + chrono::Duration::seconds(1),
                item.title.clone(),
            ));
        }
    }
    bail!("节目单里没有可播的演示作品（见上面的未编入原因）")
}

/// 127.0.0.1:8080 when free, else a free port (KEPU_LISTEN still overrides).
fn listen_address() -> anyhow::Result<String> {
    if std::net::TcpListener::bind("127.0.0.1:8080").is_ok() {
        return Ok("127.0.0.1:8080".into());
    }
    Ok(format!("127.0.0.1:{}", receiver::free_port()?))
}

/// The demo channel: 720p25 to the local receiver, the database beside the config, the HLS
/// preview on, and the rehearsal clock `offset_ms` from the wall clock.
fn channel_config(url: &str, listen: &str, offset_ms: i64) -> String {
    format!(
        "# 演示频道（kepu-playout demo 生成，每次运行重写）。\n\
         [channel]\nname = \"科普之光 · 演示频道\"\n\n\
         [output]\nwidth = 1280\nheight = 720\nfps = 25\nvideo_kbps = 2500\npreset = \"superfast\"\nkeyframe_seconds = 2\n\n\
         [[destination]]\nname = \"local\"\nurl = \"{url}\"\n\n\
         [server]\nlisten = \"{listen}\"\ndatabase = \"kepu.db\"\n\n\
         [air]\nlookahead_minutes = 2\nclock_offset_ms = {offset_ms}\n"
    )
}
