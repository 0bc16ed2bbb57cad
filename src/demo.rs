//! `kepu-playout demo`: a programme on air on a fresh machine with nothing but the README.
//!
//! Owns: generating short demo clips (different containers, resolutions, frame and sample
//! rates, Chinese titles drawn on screen), a demo channel config and day file, and a local
//! RTMP receiver (nginx with Debian's RTMP module) to watch with `ffplay`. Does not own:
//! playing (that is `play`, the same path production uses).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct DemoClip {
    file: &'static str,
    title: &'static str,
    size: &'static str,
    rate: &'static str,
    audio_rate: u32,
    tone: u32,
    codecs: &'static [&'static str],
}

const CLIPS: &[DemoClip] = &[
    DemoClip {
        file: "01-xunchuxin.mp4",
        title: "寻初心 · 深海探秘",
        size: "1280x720",
        rate: "30",
        audio_rate: 44_100,
        tone: 440,
        codecs: &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    },
    DemoClip {
        file: "02-yuekepu.mov",
        title: "悦科普 · 星空慢直播",
        size: "1920x1080",
        rate: "25",
        audio_rate: 48_000,
        tone: 550,
        codecs: &["-c:v", "mpeg4", "-q:v", "5", "-c:a", "pcm_s16le"],
    },
    DemoClip {
        file: "03-tanchuangxin.avi",
        title: "探创新 · 国家重点实验室",
        size: "720x576",
        rate: "25",
        audio_rate: 32_000,
        tone: 660,
        codecs: &["-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"],
    },
    DemoClip {
        file: "04-xiangweilai.wmv",
        title: "向未来 · 青年科技人才",
        size: "640x480",
        rate: "30000/1001",
        audio_rate: 22_050,
        tone: 770,
        codecs: &["-c:v", "wmv2", "-q:v", "5", "-c:a", "wmav2"],
    },
];

/// A font that really covers Chinese (`fc-match :lang=zh` answers its best match even when
/// that has no CJK glyphs; `fc-list :lang=zh` lists only fonts that do).
fn cjk_font() -> Option<String> {
    let out = Command::new("fc-list")
        .args([":lang=zh", "file"])
        .output()
        .ok()?;
    let list = String::from_utf8(out.stdout).ok()?;
    let mut files: Vec<&str> = list
        .lines()
        .map(|l| l.trim().trim_end_matches(':'))
        .filter(|f| Path::new(f).exists())
        .collect();
    // Prefer the well-known CJK families, then anything else, deterministically.
    files.sort_by_key(|f| {
        (
            !(f.contains("NotoSansCJK") || f.contains("wqy-zenhei")),
            f.to_string(),
        )
    });
    files.first().map(|f| f.to_string())
}

fn run_bounded(cmd: &mut Command, what: &str, limit: Duration) -> anyhow::Result<()> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait()? {
            if st.success() {
                return Ok(());
            }
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            bail!("{what} failed: {}", err.lines().last().unwrap_or(""));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            bail!("{what} took longer than {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Generates the clips (skipping any already there).
pub fn make_clips(dir: &Path, seconds: u32) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let font = cjk_font();
    if font.is_none() {
        eprintln!("warning: no CJK font found (install fonts-wqy-zenhei); titles will be missing");
    }
    let mut out = Vec::new();
    for c in CLIPS {
        let path = dir.join(c.file);
        if !path.exists() {
            let text = font
                .as_ref()
                .map(|f| {
                    format!(
                        ",drawtext=fontfile={f}:text='{}':fontsize=h/10:fontcolor=white:box=1:boxcolor=black@0.5:x=(w-tw)/2:y=h/3",
                        c.title
                    )
                })
                .unwrap_or_default();
            let mut cmd = Command::new("ffmpeg");
            cmd.args(["-hide_banner", "-nostdin", "-y", "-loglevel", "error"])
                .args(["-f", "lavfi", "-i"])
                .arg(format!(
                    "testsrc2=size={}:rate={}:duration={seconds}",
                    c.size, c.rate
                ))
                .args(["-f", "lavfi", "-i"])
                .arg(format!(
                    "sine=frequency={}:sample_rate={}:duration={seconds}",
                    c.tone, c.audio_rate
                ))
                .args(["-vf", &format!("format=yuv420p{text}")])
                .args(c.codecs)
                .args(["-shortest"])
                .arg(&path);
            run_bounded(
                &mut cmd,
                &format!("ffmpeg making {}", c.file),
                Duration::from_secs(120),
            )?;
        }
        out.push(path);
    }
    Ok(out)
}

/// A local nginx-rtmp receiver on a free port; stopped on drop.
pub struct Receiver {
    child: Child,
    pub port: u16,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn start_receiver(dir: &Path) -> anyhow::Result<Receiver> {
    let module = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
    if !Path::new(module).exists() {
        bail!("nginx's RTMP module is missing: apt-get install nginx libnginx-mod-rtmp");
    }
    let port = free_port()?;
    let prefix = std::fs::canonicalize(dir)?.join("nginx");
    std::fs::create_dir_all(prefix.join("logs"))?;
    let conf = format!(
        "load_module {module};\nuser root;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; }} }} }}\n",
        p = prefix.display()
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start nginx (apt-get install nginx libnginx-mod-rtmp)")?;
    let recv = Receiver { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(recv);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "nginx did not start listening on port {port}; see {}/logs/error.log",
        prefix.display()
    )
}

pub async fn run(dir: &Path, for_secs: Option<u64>) -> anyhow::Result<()> {
    println!("making demo clips in {} …", dir.display());
    let clips = make_clips(&dir.join("media"), 12)?;
    let receiver = start_receiver(dir)?;
    let url = format!("rtmp://127.0.0.1:{}/live/demo", receiver.port);
    let config_path = dir.join("channel.toml");
    std::fs::write(
        &config_path,
        format!(
            "# Demo channel: 720p to a local nginx-rtmp.\n[channel]\nname = \"科普之光 · 演示频道\"\n\n\
             [output]\nwidth = 1280\nheight = 720\nfps = \"25\"\nvideo_kbps = 3000\npreset = \"veryfast\"\n\n\
             [[destination]]\nname = \"local\"\nurl = \"{url}\"\n"
        ),
    )?;
    let mut day =
        String::from("# Demo day: every clip twice, and one missing file to show the slate.\n");
    for round in 0..2 {
        for (i, c) in clips.iter().enumerate() {
            day.push_str(&format!(
                "\n[[item]]\nsource = \"media/{}\"\ntitle = \"{}\"\n",
                c.file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default(),
                CLIPS[i].title
            ));
            if round == 0 && i == 1 {
                day.push_str("\n[[item]]\nsource = \"media/missing.mp4\"\ntitle = \"（缺失的文件：垫片补位）\"\nduration = \"00:00:05\"\n");
            }
        }
    }
    let day_path = dir.join("day.toml");
    std::fs::write(&day_path, day)?;
    println!(
        "config: {}\nrundown: {}",
        config_path.display(),
        day_path.display()
    );
    println!("watch it with:  ffplay -fflags nobuffer {url}");
    let config = crate::config::ChannelConfig::load(&config_path)?;
    let day = crate::dayfile::DayFile::load(&day_path)?;
    let r = crate::play::run(config, day, for_secs).await;
    drop(receiver);
    r
}
