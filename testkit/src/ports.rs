//! Free loopback ports and "is something listening on this port" checks.
//!
//! `free_*_port` binds `127.0.0.1:0`, reads the port the kernel chose and drops the
//! socket. Another process may grab the port before the caller binds it; the receivers
//! therefore retry with a new port when their server fails to start.
//!
//! The listening checks read `/proc/net/{tcp,tcp6,udp,udp6}` instead of connecting:
//! a probe connection would be *accepted* by single-shot servers such as
//! `ffmpeg -listen 1` and would end their only session.

use std::net::{TcpListener, UdpSocket};

use anyhow::{Context, Result};

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0/tcp")?;
    Ok(l.local_addr().context("local_addr")?.port())
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> Result<u16> {
    let s = UdpSocket::bind("127.0.0.1:0").context("bind 127.0.0.1:0/udp")?;
    Ok(s.local_addr().context("local_addr")?.port())
}

/// True when some socket is in state LISTEN on TCP `port` (any local address).
pub fn tcp_listening(port: u16) -> bool {
    !socket_inodes(TCP, port).is_empty()
}

/// True when some UDP socket is bound to `port` (any local address).
pub fn udp_bound(port: u16) -> bool {
    !socket_inodes(UDP, port).is_empty()
}

/// True when process `pid` itself holds a TCP socket listening on `port` — not merely
/// somebody else who grabbed the port first.
pub fn pid_listens_tcp(pid: u32, port: u16) -> bool {
    pid_owns_any(pid, &socket_inodes(TCP, port))
}

/// True when process `pid` itself holds a UDP socket bound to `port`.
pub fn pid_binds_udp(pid: u32, port: u16) -> bool {
    pid_owns_any(pid, &socket_inodes(UDP, port))
}

struct Table {
    files: [&'static str; 2],
    /// Required `st` column, e.g. `0A` = TCP_LISTEN.
    state: Option<&'static str>,
}

const TCP: Table = Table {
    files: ["/proc/net/tcp", "/proc/net/tcp6"],
    state: Some("0A"),
};
const UDP: Table = Table {
    files: ["/proc/net/udp", "/proc/net/udp6"],
    state: None,
};

/// Socket inodes bound to local `port` in the given `/proc/net` tables.
fn socket_inodes(table: Table, port: u16) -> Vec<String> {
    let want = format!("{port:04X}");
    let mut out = Vec::new();
    for f in table.files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if cols.len() < 10 {
                continue;
            }
            let port_ok = cols[1].rsplit(':').next() == Some(want.as_str());
            let state_ok = table.state.is_none_or(|s| s == cols[3]);
            if port_ok && state_ok {
                out.push(cols[9].to_owned());
            }
        }
    }
    out
}

fn pid_owns_any(pid: u32, inodes: &[String]) -> bool {
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let t = target.to_string_lossy();
            inodes.iter().any(|i| t == format!("socket:[{i}]"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_sockets_are_seen() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let p = l.local_addr().expect("addr").port();
        assert!(tcp_listening(p));
        assert!(pid_listens_tcp(std::process::id(), p));
        drop(l);
        assert!(!tcp_listening(p));
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let p = u.local_addr().expect("addr").port();
        assert!(udp_bound(p));
        assert!(pid_binds_udp(std::process::id(), p));
        assert!(!pid_binds_udp(1, p));
        assert!(free_tcp_port().expect("tcp port") > 0);
        assert!(free_udp_port().expect("udp port") > 0);
    }
}
