//! Engine benchmark: a 1080p25 programme of decoded, noisy, moving H.264 files pushed to 1
//! and to 4 local nginx-rtmp receivers in real time. Prints CPU seconds per programme
//! second, peak memory, frames dropped/repeated, maximum lateness and the 4/1 CPU ratio.
//!
//! `./run.sh bench [--seconds N] [--preset P] [--size WxH]`. Each configuration runs in a
//! child process, so CPU time and peak memory are its own.

use playout::{Cue, DestinationConfig, Engine, EngineConfig, OutputProfile, Preset};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Args {
    seconds: u64,
    preset: Preset,
    width: u32,
    height: u32,
    run: Option<usize>,
    urls: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 30,
        preset: OutputProfile::default().preset,
        width: 1920,
        height: 1080,
        run: None,
        urls: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--seconds" => a.seconds = v()?.parse().map_err(|_| "--seconds: a number")?,
            "--preset" => a.preset = v()?.parse()?,
            "--size" => {
                let s = v()?;
                let (w, h) = s.split_once('x').ok_or("--size WxH")?;
                a.width = w.parse().map_err(|_| "--size WxH")?;
                a.height = h.parse().map_err(|_| "--size WxH")?;
            }
            "--run" => a.run = Some(v()?.parse().map_err(|_| "--run: a number")?),
            "--url" => a.urls.push(v()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Noisy, moving 1080p25 H.264 clips, made once and kept in target/bench-media.
fn media(w: u32, h: u32) -> Result<Vec<PathBuf>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-media");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (i, src) in ["testsrc2", "smptehdbars", "rgbtestsrc"].iter().enumerate() {
        let p = dir.join(format!("clip{i}-{w}x{h}.mp4"));
        if !p.exists() {
            eprintln!("making {} …", p.display());
            let st = Command::new("ffmpeg")
                .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
                .args(["-f", "lavfi", "-i"])
                .arg(format!("{src}=size={w}x{h}:rate=25:duration=20"))
                .args([
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=frequency=440:sample_rate=48000:duration=20",
                ])
                // Film grain and a moving crop: content that costs bits like camera footage.
                .args(["-vf", "noise=alls=14:allf=t,rotate=0.05*t:fillcolor=black"])
                .args([
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-b:v",
                    "8M",
                    "-pix_fmt",
                    "yuv420p",
                ])
                .args(["-c:a", "aac", "-shortest"])
                .arg(&p)
                .status()
                .map_err(|e| format!("ffmpeg: {e}"))?;
            if !st.success() {
                return Err(format!("ffmpeg could not make {}", p.display()));
            }
        }
        out.push(p);
    }
    Ok(out)
}

fn proc_cpu_secs() -> f64 {
    // utime + stime, in clock ticks (fields 14 and 15 of /proc/self/stat).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// CPU seconds of this process's threads whose name starts with one of `prefixes`: the
/// distribution path is the fan-out thread and the tokio workers running destinations.
fn threads_cpu_secs(prefixes: &[&str]) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for t in dir.flatten() {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        ticks += f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    }
    ticks as f64 / 100.0
}

const DISTRIBUTION: &[&str] = &["fanout", "tokio-runtime-w"];

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

async fn run_one(a: &Args) -> Result<(), String> {
    let clips = media(a.width, a.height)?;
    let profile = OutputProfile {
        width: a.width,
        height: a.height,
        preset: a.preset,
        ..OutputProfile::default()
    };
    let dests = a
        .urls
        .iter()
        .enumerate()
        .map(|(i, u)| DestinationConfig::new(format!("d{i}"), u.clone()))
        .collect();
    let engine = Engine::start(EngineConfig::new(profile, dests)).map_err(|e| e.to_string())?;
    let tl = engine.timeline();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_nanos() as u64;
    let first = tl.frame_at(now + 1_500_000_000);
    let n = a.seconds * 25 / 500 + 2;
    let mut cues = Vec::new();
    for k in 0..n as usize * clips.len() {
        let c = Cue::follow(
            format!("c{k}"),
            clips[k % clips.len()].display().to_string(),
        )
        .with_length(500);
        cues.push(if k == 0 { c.at(first) } else { c });
    }
    engine.cue(cues).map_err(|e| e.to_string())?;
    // Measure from the first item on.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cpu0 = proc_cpu_secs();
    let dist0 = threads_cpu_secs(DISTRIBUTION);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    let cpu = proc_cpu_secs() - cpu0;
    let dist = threads_cpu_secs(DISTRIBUTION) - dist0;
    let wall = t0.elapsed().as_secs_f64();
    let st = engine.status().await.map_err(|e| e.to_string())?;
    let (late, frames) = engine.late_frames();
    let live = st
        .destinations
        .iter()
        .filter(|d| d.state == playout::DestinationState::Live)
        .count();
    engine.stop().await;
    println!(
        "{{\"destinations\":{},\"live\":{},\"dist_ms_per_s\":{:.1},\"cpu_per_s\":{:.3},\"peak_mb\":{},\"dropped\":{},\"repeated\":{},\"max_late_ms\":{},\"late_frames\":{},\"frames\":{}}}",
        a.urls.len(),
        live,
        dist * 1000.0 / wall,
        cpu / wall,
        peak_rss_mb(),
        st.frames_dropped,
        st.frames_repeated,
        st.max_lateness_ns / 1_000_000,
        late,
        frames
    );
    Ok(())
}

fn field(json: &str, key: &str) -> f64 {
    json.split(&format!("\"{key}\":"))
        .nth(1)
        .and_then(|r| r.split([',', '}']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    if a.run.is_some() {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        if let Err(e) = rt.block_on(run_one(&a)) {
            eprintln!("bench run failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = media(a.width, a.height) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
    let nginx = testkit::NginxRtmp::start().expect("nginx-rtmp receiver");
    let base = nginx.url();
    let base = base
        .rsplit_once('/')
        .map(|x| x.0.to_string())
        .unwrap_or(base);
    let exe = std::env::current_exe().expect("own path");
    println!(
        "kepu-playout engine benchmark: {}x{} 25 fps, x264 {}, {} s per run, {} cores",
        a.width,
        a.height,
        a.preset,
        a.seconds,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let mut results = Vec::new();
    for n in [1usize, 4] {
        let mut cmd = Command::new(&exe);
        cmd.args(["--run", &n.to_string(), "--seconds", &a.seconds.to_string()])
            .args(["--preset", a.preset.as_str()])
            .args(["--size", &format!("{}x{}", a.width, a.height)]);
        for i in 0..n {
            cmd.args(["--url", &format!("{base}/bench{i}")]);
        }
        let out = cmd.output().expect("bench child");
        let line = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        if !out.status.success() || line.is_empty() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
        println!(
            "{n} destination(s): {:.3} CPU-s per programme-s (fan-out and destinations {} ms/s), peak {} MB, {} dropped, {} repeated, max lateness {} ms, {} of {} frames over a frame late ({} live)",
            field(&line, "cpu_per_s"),
            field(&line, "dist_ms_per_s"),
            field(&line, "peak_mb"),
            field(&line, "dropped"),
            field(&line, "repeated"),
            field(&line, "max_late_ms"),
            field(&line, "late_frames"),
            field(&line, "frames"),
            field(&line, "live"),
        );
        results.push(field(&line, "cpu_per_s"));
    }
    println!("CPU ratio 4/1 destinations: {:.3}", results[1] / results[0]);
    println!(
        "(x264 dominates and varies ~10% from run to run; the fan-out and destination figure is\n the direct cost of adding destinations)"
    );
}
