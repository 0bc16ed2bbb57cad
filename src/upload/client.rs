//! The CLI's tus uploader (`kepu-playout catalog upload FILE --server URL --work ID`): asks
//! the server its limit first and refuses a file over it before sending anything; creates the
//! upload; sends the file in chunks (one PATCH each); after a broken connection asks the
//! server where it stands (HEAD) and goes on from there. The upload's URL is kept next to
//! the file (`FILE.kepu-upload`), so running the same command again after the CLI or the
//! server stopped resumes instead of starting over. Plain HTTP (the daemon's API behind a
//! TLS proxy is reached by its local address); every request is time-boxed.

use super::tus;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Time box of one request (a chunk of 8 MiB on a slow line included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What to upload where.
#[derive(Debug, Clone)]
pub struct UploadJob {
    /// Server base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// API token (Bearer).
    pub token: Option<String>,
    /// The work the video is for.
    pub work: i64,
    /// The file.
    pub file: PathBuf,
    /// Bytes per PATCH.
    pub chunk_bytes: usize,
    /// Give up after this many broken requests in a row.
    pub retries: u32,
    /// Stop after this many bytes in this run (tests of resuming; `None`: to the end).
    pub stop_after: Option<u64>,
}

/// The outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UploadDone {
    /// The upload's URL.
    pub url: String,
    /// Bytes on the server.
    pub offset: u64,
    /// File length.
    pub length: u64,
    /// Where this run started (0, or where a previous run stopped).
    pub resumed_from: u64,
    /// The server's upload record (sha256, file_id) when complete.
    pub record: Option<serde_json::Value>,
}

struct Answer {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

fn host_port(server: &str) -> anyhow::Result<(String, u16, String)> {
    let uri: hyper::Uri = server.parse()?;
    if uri.scheme_str() != Some("http") {
        anyhow::bail!("--server 须为 http:// 地址（{server}）");
    }
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("--server 缺少主机名"))?
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    Ok((host.clone(), port, format!("{host}:{port}")))
}

async fn request(
    job: &UploadJob,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Bytes,
) -> anyhow::Result<Answer> {
    let (host, port, authority) = host_port(&job.server)?;
    let run = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
        let conn = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, authority.as_str())
            .header("Tus-Resumable", tus::VERSION);
        if let Some(t) = &job.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let resp = sender.send_request(req.body(Full::new(body))?).await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = http_body_util::Limited::new(resp.into_body(), 1 << 20)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("应答无法读取：{e}"))?
            .to_bytes();
        conn.abort();
        anyhow::Ok(Answer {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, run)
        .await
        .map_err(|_| anyhow::anyhow!("请求超时（{} 秒）", REQUEST_TIMEOUT.as_secs()))?
}

fn header_u64(a: &Answer, name: &str) -> Option<u64> {
    a.headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn message(a: &Answer) -> String {
    serde_json::from_slice::<serde_json::Value>(&a.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&a.body).into_owned())
}

/// Where the upload's URL is kept between runs.
pub fn state_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".kepu-upload");
    PathBuf::from(p)
}

/// Uploads (or resumes uploading) `job.file`.
pub async fn upload(job: &UploadJob) -> anyhow::Result<UploadDone> {
    let length = tokio::fs::metadata(&job.file).await?.len();
    // The server's limit first: a file over it is refused before a byte is sent.
    let opts = request(job, Method::OPTIONS, "/api/v1/uploads", &[], Bytes::new()).await?;
    if let Some(max) = header_u64(&opts, "Tus-Max-Size")
        && length > max
    {
        anyhow::bail!(
            "{} 有 {length} 字节，超过本届单个视频文件上限 {max} 字节（4G），未上传",
            job.file.display()
        );
    }
    let state = state_path(&job.file);
    let saved = tokio::fs::read_to_string(&state)
        .await
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .filter(|v| v["length"].as_u64() == Some(length) && v["work"].as_i64() == Some(job.work))
        .and_then(|v| v["path"].as_str().map(str::to_string));
    let path = match saved {
        Some(p) => p,
        None => {
            let name = job
                .file
                .file_name()
                .map_or_else(|| "video".into(), |n| n.to_string_lossy().into_owned());
            let meta =
                tus::encode_metadata(&[("filename", &name), ("work", &job.work.to_string())]);
            let a = request(
                job,
                Method::POST,
                "/api/v1/uploads",
                &[
                    ("Upload-Length", length.to_string()),
                    ("Upload-Metadata", meta),
                ],
                Bytes::new(),
            )
            .await?;
            if a.status != StatusCode::CREATED {
                anyhow::bail!(
                    "服务器拒绝上传（HTTP {}）：{}",
                    a.status.as_u16(),
                    message(&a)
                );
            }
            let loc = a
                .headers
                .get(hyper::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| anyhow::anyhow!("服务器应答缺少 Location"))?
                .to_string();
            let keep = serde_json::json!({ "path": loc, "length": length, "work": job.work });
            tokio::fs::write(&state, keep.to_string()).await?;
            loc
        }
    };
    let mut file = tokio::fs::File::open(&job.file).await?;
    let mut resumed_from = None;
    let mut failures = 0;
    let mut sent_this_run = 0u64;
    loop {
        let head = match request(job, Method::HEAD, &path, &[], Bytes::new()).await {
            Ok(a) if a.status.is_success() => a,
            Ok(a) if a.status == StatusCode::NOT_FOUND => {
                let _ = tokio::fs::remove_file(&state).await;
                anyhow::bail!("服务器上已没有这个上传（可能已撤销），请重新运行以重新上传");
            }
            Ok(a) => anyhow::bail!("查询续传位置失败（HTTP {}）", a.status.as_u16()),
            Err(e) => {
                failures += 1;
                if failures > job.retries {
                    return Err(e.context("多次连接失败，已停止；再次运行同一命令即可续传"));
                }
                tokio::time::sleep(Duration::from_millis(500 * u64::from(failures))).await;
                continue;
            }
        };
        let offset = header_u64(&head, "Upload-Offset").unwrap_or(0);
        resumed_from.get_or_insert(offset);
        if offset >= length || job.stop_after.is_some_and(|s| sent_this_run >= s) {
            let record = if offset >= length {
                let _ = tokio::fs::remove_file(&state).await;
                request(job, Method::GET, &path, &[], Bytes::new())
                    .await
                    .ok()
                    .and_then(|a| serde_json::from_slice(&a.body).ok())
            } else {
                None
            };
            return Ok(UploadDone {
                url: path,
                offset,
                length,
                resumed_from: resumed_from.unwrap_or(0),
                record,
            });
        }
        let mut n = job
            .chunk_bytes
            .min(usize::try_from(length - offset).unwrap_or(usize::MAX));
        if let Some(stop) = job.stop_after {
            n = n.min(usize::try_from(stop - sent_this_run).unwrap_or(usize::MAX));
        }
        let mut buf = vec![0u8; n];
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        file.read_exact(&mut buf).await?;
        match request(
            job,
            Method::PATCH,
            &path,
            &[
                ("Upload-Offset", offset.to_string()),
                ("Content-Type", tus::PATCH_CONTENT_TYPE.to_string()),
            ],
            Bytes::from(buf),
        )
        .await
        {
            Ok(a) if a.status == StatusCode::NO_CONTENT => {
                failures = 0;
                sent_this_run += n as u64;
            }
            Ok(a) if a.status == StatusCode::CONFLICT || a.status == StatusCode::LOCKED => {
                failures += 1;
            }
            Ok(a) => anyhow::bail!("上传被拒绝（HTTP {}）：{}", a.status.as_u16(), message(&a)),
            Err(_) => failures += 1,
        }
        if failures > job.retries {
            anyhow::bail!("多次发送失败，已停止；再次运行同一命令即可续传");
        }
    }
}
