//! One sample of the daemon's resources, read from outside it as an operator would: resident
//! memory, open file descriptors and threads from `/proc/<pid>`, the files in its temporary
//! directory and its frame store, and from its own `/metrics` the messages its links still
//! wait for and whether every link and camera is up.

use std::net::SocketAddr;
use std::path::Path;

/// What was read at one moment. `wall_s` is time since the daemon started on the real clock;
/// `daemon_s` is its own uptime (simulated under `--fast`), the plots' time axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub wall_s: f64,
    pub daemon_s: f64,
    pub rss_kb: u64,
    pub fds: u64,
    pub threads: u64,
    /// Files in the temporary directory, and frames being written (`.*.partial`) in the store.
    pub temp_files: u64,
    pub frame_files: u64,
    pub frame_bytes: u64,
    /// The most messages any link's peer has not acknowledged yet.
    pub outbox_depth: u64,
    /// Every link connected and every camera working when the sample was taken, and nothing
    /// stopped or started for a few seconds before: the moments when the daemon's descriptors
    /// and threads should be the same each time.
    pub settled: bool,
}

/// The columns of [`Sample`] that are plotted and bounded, with their units, in CSV order.
pub const FIGURES: [(&str, &str); 7] = [
    ("rss_kb", "kB"),
    ("fds", "descriptors"),
    ("threads", "threads"),
    ("temp_files", "files"),
    ("frame_files", "files"),
    ("frame_bytes", "bytes"),
    ("outbox_depth", "messages"),
];

impl Sample {
    /// The value of the figure named as in [`FIGURES`].
    pub fn figure(&self, name: &str) -> u64 {
        match name {
            "rss_kb" => self.rss_kb,
            "fds" => self.fds,
            "threads" => self.threads,
            "temp_files" => self.temp_files,
            "frame_files" => self.frame_files,
            "frame_bytes" => self.frame_bytes,
            "outbox_depth" => self.outbox_depth,
            other => panic!("no figure named {other}"),
        }
    }
}

/// Where a daemon's resources are read.
pub struct Probe {
    pub pid: u32,
    pub http: SocketAddr,
    pub temp_dir: std::path::PathBuf,
    pub frame_dir: std::path::PathBuf,
}

impl Probe {
    /// Reads everything, or `None` when the process is gone (its `/proc` entry with it).
    pub fn sample(&self, wall_s: f64) -> Option<Sample> {
        // /proc first: the HTTP requests below open a connection in the daemon.
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let (rss_kb, threads) = (field("VmRSS:")?, field("Threads:")?);
        let fds = entries(Path::new(&format!("/proc/{}/fd", self.pid))).count() as u64;
        let temp_files = entries(&self.temp_dir).count() as u64
            + entries(&self.frame_dir)
                .filter(|(name, _)| name.starts_with('.') && name.ends_with(".partial"))
                .count() as u64;
        let (mut frame_files, mut frame_bytes) = (0, 0);
        for (name, bytes) in entries(&self.frame_dir) {
            if name.ends_with(".jpg") && !name.starts_with('.') {
                frame_files += 1;
                frame_bytes += bytes;
            }
        }
        let metrics = http_get(self.http, "/metrics").unwrap_or_default();
        let values = |metric: &str| -> Vec<f64> {
            metrics
                .lines()
                .filter(|l| {
                    l.strip_prefix(metric)
                        .is_some_and(|rest| rest.starts_with(['{', ' ']))
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
                .collect()
        };
        let outbox_depth = values("semaforo_link_waiting_messages")
            .into_iter()
            .fold(0.0, f64::max) as u64;
        let links = values("semaforo_link_connected");
        let cameras = values("semaforo_camera_working");
        let settled = !metrics.is_empty()
            && !links.is_empty()
            && links.iter().chain(&cameras).all(|v| *v == 1.0);
        let daemon_s = http_get(self.http, "/api/status")
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|s| s["uptime_s"].as_f64())
            .unwrap_or(wall_s);
        Some(Sample {
            wall_s,
            daemon_s,
            rss_kb,
            fds,
            threads,
            temp_files,
            frame_files,
            frame_bytes,
            outbox_depth,
            settled,
        })
    }
}

/// The names and sizes of the entries of `dir` (none when it cannot be read).
fn entries(dir: &Path) -> impl Iterator<Item = (String, u64)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
        .map(|e| {
            let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
}

/// `GET path` over HTTP/1.1 with `Connection: close`; the body, or `None` on any failure.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(10);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some(if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    })
}

/// The body of a chunked response.
fn dechunk(mut raw: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, rest) = raw.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(rest.get(..size)?);
        raw = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_body_is_put_back_together() {
        assert_eq!(
            dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").as_deref(),
            Some("hello world")
        );
        assert_eq!(dechunk("zz\r\n"), None);
    }
}
