//! `kepu-playout serve --config CHANNEL.toml`: the daemon. One process with the store, the
//! engine, the on-air controller and the HTTP API.
//!
//! Start-up order: open (and migrate) the database — the embedded SQLite file by default;
//! PostgreSQL may be away, it is used when it answers — and the edition; open the as-run
//! journal in the state directory (the writes a previous process left are replayed first,
//! then the airings it left open — a crash or kill -9 — are closed);
//! bind the HTTP port (a port in use fails before anything goes on air); start the engine and
//! the controller, which cues the item that should be on air at its right offset; serve; tell
//! systemd `READY=1`. The first SIGTERM/SIGINT stops in order (HTTP stops accepting, the
//! engine stops and flushes, the last as-run rows are written); a second one exits at once.

use std::sync::Arc;
use std::time::Duration;

use std::future::IntoFuture;

use anyhow::{Context, bail};

use crate::air::clock::ChannelClock;
use crate::air::{Air, AirParts, AirSettings};
use crate::asrun::AsRunLog;
use crate::auth::Accounts;
use crate::catalog::Catalog;
use crate::catalog::probe::ProbeOptions;
use crate::config::ChannelConfig;
use crate::edition::Edition;
use crate::metrics::Metrics;
use crate::rundown::FrameRate;
use crate::rundown_db::{DbDayStore, ops};
use crate::store::{Store, redact};
use crate::web;

/// Prints a line on stdout, ignoring a write error: a full log disk must not stop the
/// programme (`println!` panics when the write fails).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// [`say!`] on stderr.
macro_rules! say_err {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// The edition used when the config names none.
pub const BUILTIN_EDITION: &str = include_str!("../schedules/editions/2026.toml");

/// How the built-in edition is named in messages.
pub const BUILTIN_EDITION_NAME: &str = "内置 2026 年版本配置";

/// Loads the configured edition or the built-in one.
pub fn edition_of(config: &ChannelConfig) -> anyhow::Result<Edition> {
    edition_at(config.server.edition.as_deref())
}

/// Loads the edition file at `path`, or the built-in edition when there is none (every
/// command's default, so the installed binary needs no checkout).
pub fn edition_at(path: Option<&std::path::Path>) -> anyhow::Result<Edition> {
    match path {
        Some(p) => Edition::load(p).with_context(|| format!("无法读取版本配置 {}", p.display())),
        None => Edition::parse(BUILTIN_EDITION, BUILTIN_EDITION_NAME).context("内置版本配置无效"),
    }
}

/// The rundown's `[schedule]` of the edition file at `path`, or of the built-in edition.
pub fn schedule_at(
    path: Option<&std::path::Path>,
) -> anyhow::Result<crate::rundown::config::CompiledSchedule> {
    use crate::rundown::config::ScheduleConfig;
    Ok(match path {
        Some(p) => ScheduleConfig::load(p)?,
        None => ScheduleConfig::from_toml_str(BUILTIN_EDITION, BUILTIN_EDITION_NAME)?
            .compile(BUILTIN_EDITION_NAME)?,
    })
}

fn notify_systemd(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::debug!(error = %e, "systemd notify failed");
    }
}

/// The clock-step drill: with `[air] fault_drills` and `KEPU_DRILL_CLOCK_STEP_FILE` set, the
/// wall clock is the system clock plus the number of ms written in that file (read every
/// 100 ms; absent or unreadable: 0). `None` otherwise.
fn drill_clock(config: &ChannelConfig) -> Option<crate::air::clock::SteppedWallClock> {
    if !config.air.fault_drills {
        return None;
    }
    let file = std::env::var_os("KEPU_DRILL_CLOCK_STEP_FILE")?;
    let clock = crate::air::clock::SteppedWallClock::default();
    let stepped = clock.clone();
    tokio::spawn(async move {
        loop {
            let ms = tokio::fs::read_to_string(&file)
                .await
                .ok()
                .and_then(|t| t.trim().parse::<i64>().ok())
                .unwrap_or(0);
            if ms != stepped.step_ms() {
                tracing::warn!(step_ms = ms, "drill: the wall clock is stepped");
                stepped.set_step_ms(ms);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Some(clock)
}

/// Runs the daemon until a signal.
pub async fn run(config: ChannelConfig) -> anyhow::Result<()> {
    run_until(config, std::future::pending()).await
}

/// Runs the daemon until a signal or until `stop` completes (the demo's `--for`); either
/// stops in the same order.
pub async fn run_until(
    config: ChannelConfig,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let db = &config.server.database;
    // A node restarted while PostgreSQL is away goes on air from its state directory.
    let store = tokio::time::timeout(Duration::from_secs(30), Store::open_or_wait(db))
        .await
        .map_err(|_| anyhow::anyhow!("打开数据库 {} 超时（30 秒）", redact(db)))?
        .with_context(|| format!("无法打开数据库 {}", redact(db)))?;
    let edition = Arc::new(edition_of(&config)?);
    let catalog = Catalog::new(store.clone(), edition.clone());
    let rate = match ops::schedule_of(&edition) {
        Ok(cs) => cs.rate,
        Err(e) => {
            tracing::warn!(error = %e, "edition has no usable [schedule]; assuming 25 fps");
            FrameRate::default()
        }
    };
    let engine_rate = config.profile.rate;
    if u64::from(rate.num) * u64::from(engine_rate.den)
        != u64::from(engine_rate.num) * u64::from(rate.den)
    {
        bail!(
            "{}: output.fps {}/{} differs from the edition's schedule rate {}/{}: the rundown's \
             frames would not be the programme's frames",
            config.path.display(),
            engine_rate.num,
            engine_rate.den,
            rate.num,
            rate.den
        );
    }
    let accounts = Accounts::new(store.clone()).for_node(&config.node.name);
    // As-run rows carry the node; on the production pair each node closes only its own.
    let asrun = AsRunLog::new(store.clone()).for_node(&config.node.name);
    let metrics = Metrics::new().context("metrics registry")?;
    // The as-run journal: writes a previous process left are replayed first, then the
    // marker that closes the airings it left open (kill -9, a crash), then this process's.
    let journal_path = config
        .server
        .state_dir
        .join(crate::asrun::journal::FILE_NAME);
    let (mut journal, recovered) =
        crate::asrun::journal::Journal::open(&journal_path, Default::default())
            .with_context(|| format!("无法打开播出记录日志 {}", journal_path.display()))?;
    if recovered.entries > 0 {
        say_err!(
            "as-run journal: {} write(s) of the previous run to replay",
            recovered.entries
        );
    }
    journal
        .push(crate::asrun::journal::Entry::CloseInterrupted {
            before_ms: crate::air::clock::ChannelClock::with_offset_ms(config.air.clock_offset_ms)
                .now()
                .timestamp_millis(),
        })
        .with_context(|| format!("无法写入播出记录日志 {}", journal_path.display()))?;
    {
        // Looked up beside the start: the database may be away (the node goes on air).
        let (asrun, accounts, metrics, db) =
            (asrun.clone(), accounts.clone(), metrics.clone(), db.clone());
        tokio::spawn(async move {
            let quick = Duration::from_secs(5);
            if let Ok(Ok(n)) = tokio::time::timeout(quick, asrun.count()).await {
                metrics.set_asrun_rows(u64::try_from(n).unwrap_or(0));
            }
            if tokio::time::timeout(quick, accounts.users())
                .await
                .ok()
                .and_then(Result::ok)
                .is_some_and(|u| u.is_empty())
            {
                say_err!(
                    "note: no accounts yet — create the first admin with \
                     `kepu-playout user add --role admin --username NAME --db {}`",
                    redact(&db)
                );
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let addr = listener.local_addr().context("listen address")?;

    let mut engine_config = config.engine_config();
    // Frames on the programme clock's time-of-day grid: midnight is a frame boundary.
    engine_config.time_offset_ns = config.air.clock_offset_ms.saturating_mul(1_000_000);
    if let Some(dir) = &config.server.preview_dir {
        // The dashboard's live preview: HLS from the same encode, served at /preview/.
        engine_config
            .destinations
            .push(playout::DestinationConfig::new(
                crate::web::preview::DESTINATION,
                format!("hls://{}", dir.display()),
            ));
    }
    // The RTMP ingest (`[ingest]`): keys from the table, reloaded every few seconds (a key
    // issued or revoked with `feed key` / `feed revoke` counts within 5 s), kept in the state
    // directory: with the database away the ingest starts from the keys last read.
    let ingest = match &config.ingest {
        Some(settings) => {
            let cache = config.server.state_dir.join(crate::feeds::KEY_CACHE);
            let (ring, cached) = crate::feeds::KeyRing::cached_at(cache.clone());
            let feeds = crate::feeds::Feeds::with_ring(store.clone(), ring.clone());
            let read = match tokio::time::timeout(Duration::from_secs(5), ring.reload(&feeds)).await
            {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err("5 秒内无应答".to_string()),
            };
            if let Err(why) = read {
                match &cached {
                    Some(c) => say_err!(
                        "推流密钥暂无法从数据库读取（{why}）：使用 {} 中缓存的 {} 个有效密钥（读于 {}），数据库恢复后自动更新",
                        cache.display(),
                        c.keys,
                        chrono::DateTime::from_timestamp_millis(c.read_at_ms)
                            .map(|t| t
                                .with_timezone(&chrono_tz::Asia::Shanghai)
                                .format("%Y-%m-%d %H:%M:%S")
                                .to_string())
                            .unwrap_or_default()
                    ),
                    None => say_err!(
                        "推流密钥暂无法从数据库读取（{why}），且 {} 中没有缓存：数据库恢复前拒绝所有推流",
                        cache.display()
                    ),
                }
            }
            let ingest = playout::source::live::ingest::Ingest::start(
                settings.clone(),
                Arc::new(ring.clone()),
            )
            .await?;
            say!(
                "RTMP ingest on rtmp://{}/{}/KEY",
                ingest.local_addr(),
                settings.app
            );
            engine_config.live.ingest = Some(ingest.hub());
            let reloader = feeds.clone();
            tokio::spawn(async move {
                loop {
                    // The API reloads at once on its own changes; this picks up the CLI's
                    // (and another node's) within 5 s.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    match tokio::time::timeout(Duration::from_secs(10), ring.reload(&reloader))
                        .await
                    {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "ingest keys not reloaded"),
                        Err(_) => tracing::warn!("ingest keys not reloaded: no answer in 10 s"),
                    }
                }
            });
            Some((ingest, feeds))
        }
        None => None,
    };
    let (ingest, ingest_keys) = match ingest {
        Some((i, f)) => (Some(i), Some(f)),
        None => (None, None),
    };
    // Live windows recorded as they air (`[recording]`): the engine asks where, the janitor
    // keeps the directory under its quota (every minute, oldest finished windows first);
    // finished windows go to the controller for the as-run.
    let (finished_tx, finished_rx) = tokio::sync::mpsc::channel(64);
    let recordings = match &config.recording {
        Some(rc) => {
            std::fs::create_dir_all(&rc.dir)
                .with_context(|| format!("录像目录 {} 无法创建", rc.dir.display()))?;
            let rec = crate::recording::Recordings::new(rc.clone())
                .with_offset_ms(config.air.clock_offset_ms)
                .report_finished(finished_tx);
            if let Err(e) = rec.reload_feeds(&catalog).await {
                tracing::warn!(error = %e, "feeds for recording names not loaded");
            }
            engine_config.live.recorder = Some(Arc::new(rec.clone()));
            let (janitor, cat) = (rec.clone(), catalog.clone());
            tokio::spawn(async move {
                // Feeds (for the names) every 5 s: a feed added now is named by its window.
                let mut round: u64 = 0;
                loop {
                    if let Err(e) = janitor.reload_feeds(&cat).await {
                        tracing::warn!(error = %e, "feeds for recording names not reloaded");
                    }
                    if round.is_multiple_of(12) {
                        let j = janitor.clone();
                        let _ = tokio::task::spawn_blocking(move || j.sweep()).await;
                    }
                    round += 1;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
            say!(
                "recording live windows into {} (quota {} bytes, segments of {} s)",
                rc.dir.display(),
                rc.quota_bytes,
                rc.segment.as_secs()
            );
            Some(rec)
        }
        None => None,
    };
    let days = DbDayStore::new(store.clone());
    // One wall clock for the engine's pacing and the controller's programme time.
    let clock = match drill_clock(&config) {
        Some(stepped) => ChannelClock::on(Arc::new(stepped), config.air.clock_offset_ms),
        None => ChannelClock::with_offset_ms(config.air.clock_offset_ms),
    };
    engine_config.wall_clock = Some(clock.wall());
    let air = Air::start(AirParts {
        engine: Box::new(move || {
            playout::Engine::start_with_events(engine_config.clone())
                .map(|(e, s)| (Arc::new(e) as Arc<dyn playout::engine::Playout>, s))
        }),
        days,
        asrun: asrun.clone(),
        metrics: metrics.clone(),
        rate,
        clock: clock.clone(),
        settings: AirSettings {
            // Items are brought to the edition's loudness target on air (issue 13).
            loudness: Some(crate::air::loudness::LoudnessPolicy::of_edition(&edition)),
            ..AirSettings::from_config(&config.air)
        },
        monotonic: crate::air::real_monotonic(),
        journal,
        state_dir: Some(config.server.state_dir.clone()),
        recordings: recordings.is_some().then_some(finished_rx),
    })?;
    // Resumable video uploads (tus) of partners and coordinators, behind the same guard.
    let uploads = crate::upload::Uploads::new(
        catalog.clone(),
        crate::upload::UploadOptions {
            unit_quota_bytes: config.server.unit_quota_bytes,
            ..crate::upload::UploadOptions::new(config.server.upload_dir.clone())
        },
    )
    .with_context(|| format!("upload directory {}", config.server.upload_dir.display()))?;
    // The production pair (PostgreSQL): follow the other node's edits, hold the jobs' lease.
    let (stop_cluster, stop_cluster_rx) = tokio::sync::watch::channel(false);
    let mut feedback_options = config.feedback.clone();
    // The once-only jobs' drill: hold a write in flight (tests pause the node meanwhile).
    let drill_hold = std::env::var("KEPU_DRILL_JOB_HOLD_MS")
        .ok()
        .filter(|_| config.air.fault_drills)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_millis);
    feedback_options.drill_hold = drill_hold;
    let leader = if store.backend() == crate::store::Backend::Postgres {
        tokio::spawn(crate::cluster::listen::follow(
            db.clone(),
            air.handle(),
            stop_cluster_rx.clone(),
        ));
        let holder = if config.node.name.is_empty() {
            format!("pid-{}", std::process::id())
        } else {
            config.node.name.clone()
        };
        let (leader, _) = crate::cluster::lease::spawn(
            db.clone(),
            crate::cluster::lease::LeaseSettings::new("jobs", &holder),
            stop_cluster_rx.clone(),
        );
        // Certificates issued by the lease holder as airings end, fenced by its epoch.
        tokio::spawn(crate::certificate::job::run(
            crate::certificate::Certificates::new(catalog.clone(), asrun.clone()),
            leader.clone(),
            drill_hold,
            stop_cluster_rx,
        ));
        leader
    } else {
        crate::cluster::Leader::always()
    };
    feedback_options.leader = leader.clone();
    {
        // The lease on /metrics (kepu_node_leader), sampled every second.
        let (leader, metrics) = (leader.clone(), metrics.clone());
        let (name, role) = (config.node.name.clone(), config.node.role.as_str());
        tokio::spawn(async move {
            loop {
                metrics.set_node_leader(&name, role, leader.is_leader());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    let health = crate::cluster::health::routes(config.node.clone(), leader, air.handle());
    let limited = accounts.clone();
    let recording_routes = recordings
        .map(|r| {
            web::recordings::guarded(
                web::recordings::RecordingsState {
                    recordings: r,
                    catalog: catalog.clone(),
                },
                accounts.clone(),
            )
        })
        .unwrap_or_default();
    let app = web::app_with(
        web::AppState {
            catalog,
            probe: ProbeOptions::default(),
        },
        web::Services {
            accounts,
            asrun,
            metrics,
            air: Some(air.handle()),
            preview_dir: config.server.preview_dir.clone(),
            ingest_keys,
            uploads: Some(uploads),
        },
        feedback_options,
    )
    .merge(health)
    .merge(recording_routes);
    // Login, certificate verification and the webhook are rate-limited per client address
    // (the client a trusted reverse proxy names, else the TCP peer).
    let app = web::limits::layer(
        app,
        limited,
        web::limits::TrustedProxies::new(config.server.trusted_proxies.clone()),
    );
    say!(
        "kepu-playout serving on http://{addr} ({} destination(s), database {})",
        config.destinations.len(),
        redact(db)
    );
    if !config.node.name.is_empty() {
        say!("node {} ({})", config.node.name, config.node.role.as_str());
    }
    for d in &config.destinations {
        say!("  → {} {}", d.name, playout::output::mask::mask_url(&d.url));
    }
    if config.air.clock_offset_ms != 0 {
        say!(
            "rehearsal: the programme clock runs {} ms from the wall clock (now {})",
            config.air.clock_offset_ms,
            clock
                .now()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M:%S%.3f")
        );
    }
    // The signal handlers are installed before systemd hears READY=1 (a SIGTERM right
    // after it must stop in order, not kill the process with the default action).
    let mut first_signal = Box::pin(crate::signal::shutdown());
    let _ = futures_util::FutureExt::now_or_never(&mut first_signal);
    notify_systemd(&[sd_notify::NotifyState::Ready]);

    let (stop_http, mut stop_rx) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_rx.changed().await;
        })
        .into_future(),
    );
    let stop = std::pin::pin!(stop);
    let served = tokio::select! {
        r = &mut server => Some(r),
        _ = &mut first_signal => {
            say!("stopping (signal): the programme ends in order");
            None
        }
        _ = stop => {
            say!("stopping (time is up): the programme ends in order");
            None
        }
    };
    let _ = stop_http.send(true);
    // Open connections (a dashboard's event stream) get a moment, not a veto.
    let served = match served {
        Some(r) => r,
        None => match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
            Ok(r) => r,
            Err(_) => {
                server.abort();
                Ok(Ok(()))
            }
        },
    };
    notify_systemd(&[sd_notify::NotifyState::Stopping]);
    let _ = stop_cluster.send(true);
    // An orderly stop is bounded; a second signal during it exits at once.
    tokio::select! {
        _ = air.stop() => {}
        _ = crate::signal::shutdown() => {
            say_err!("second signal: exiting now");
            std::process::exit(130);
        }
    }
    served
        .context("HTTP server task failed")?
        .context("HTTP server failed")?;
    if let Some(i) = ingest {
        i.stop().await;
    }
    say!("stopped");
    Ok(())
}
