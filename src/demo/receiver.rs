//! The demo's local receiver: nginx with Debian's RTMP module on a free port, recording
//! what it receives (`record all`) so the programme can be checked afterwards. Stopped when
//! dropped.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's RTMP module for nginx.
const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// A running nginx-rtmp; killed on drop.
pub struct Receiver {
    child: Child,
    /// TCP port it listens on (127.0.0.1).
    pub port: u16,
    /// Where it records (`.flv` files, one per publish).
    pub recordings: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    /// `rtmp://127.0.0.1:PORT/live/demo`.
    pub fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live/demo", self.port)
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts nginx-rtmp under `dir/receiver`, waiting (at most 5 s) until it listens.
pub fn start(dir: &Path) -> anyhow::Result<Receiver> {
    if !Path::new(MODULE).exists() {
        bail!("nginx 的 RTMP 模块缺失：apt-get install nginx libnginx-mod-rtmp");
    }
    let port = free_port()?;
    let prefix = std::fs::canonicalize(dir)?.join("receiver");
    let recordings = prefix.join("rec");
    std::fs::create_dir_all(prefix.join("logs"))?;
    std::fs::create_dir_all(&recordings)?;
    let conf = format!(
        "load_module {MODULE};\nuser root;\nworker_processes 1;\npid {p}/nginx.pid;\n\
         error_log {p}/logs/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
         application live {{ live on; record all; record_path {r}; record_unique on; }} }} }}\n",
        p = prefix.display(),
        r = recordings.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new("nginx")
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("无法启动 nginx（apt-get install nginx libnginx-mod-rtmp）")?;
    let recv = Receiver {
        child,
        port,
        recordings,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(recv);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "nginx 未能在端口 {port} 上监听；见 {}/logs/error.log",
        prefix.display()
    )
}
