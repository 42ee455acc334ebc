//! `semaforo run` as a daemon for the HTTP tests: started with its server on a free loopback
//! port, its address read from its own log line, its standard error kept, stopped by
//! SIGTERM (or killed when a test fails first), and plain HTTP/1.1 requests to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Small, slow synthetic cameras, frames not saved, a short yellow and red clearance: enough
/// intersection for the HTTP tests, light on two shared cores, and a safe stop (3 s + 1 s)
/// that keeps SIGTERM's exit under 5 s.
pub const LIGHT: &[(&str, &str)] = &[
    ("CAMERA_WIDTH", "320"),
    ("CAMERA_HEIGHT", "240"),
    ("CAMERA_FPS", "5"),
    ("SAVE_FRAMES", "false"),
    ("YELLOW_TIME", "3"),
    ("RED_TIME", "1"),
];

/// The line the daemon logs when its server listens.
const LISTENING: &str = "HTTP API and dashboard on http://";

pub struct Daemon {
    child: Child,
    pub addr: SocketAddr,
    /// Every line it wrote to standard error so far.
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// Starts `semaforo run` in `dir` with `args` (which should include `--http ADDR`) and
    /// `env`, and waits (at most 60 s) for its server's address.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut cmd = super::semaforo(dir);
        cmd.arg("run").args(args);
        // Health must not depend on this machine's disk: a CI machine after a full build can
        // sit below the default 10% free, which /health rightly calls degraded.
        cmd.env("MIN_FREE_DISK_PERCENT", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        let lines = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(LISTENING).nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default().to_string();
                    let _ = tx.send(addr);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr.parse().expect("a socket address in the log line"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no `{LISTENING}` line within 60 s; standard error:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        Daemon {
            child,
            addr,
            stderr,
            reader: Some(reader),
        }
    }

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// `GET path` with extra headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        get(self.addr, path, headers)
    }

    /// Polls `GET path` until `ok` holds for the response, at most `within`; panics with the
    /// last response otherwise.
    pub fn wait_for(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        within: Duration,
        ok: impl Fn(&Response) -> bool,
    ) -> Response {
        let deadline = Instant::now() + within;
        loop {
            let response = self.get(path, headers);
            if ok(&response) {
                return response;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path}: still not as expected after {within:?}: {} {}\nstandard error:\n{}",
                response.status,
                response.text(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits for the exit, at most `within`; the exit status and how long
    /// it took.
    pub fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let sent = Instant::now();
        self.send_sigterm();
        (self.wait_exit(sent, within), sent.elapsed())
    }

    /// Sends SIGTERM, without waiting.
    pub fn send_sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The sum of a metric's samples in `/metrics` (over its labels); panics when it is not
    /// there.
    pub fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics", &[]).text();
        let values: Vec<f64> = text
            .lines()
            .filter(|l| {
                l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b' ' | b'{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(!values.is_empty(), "{name} in /metrics:\n{text}");
        values.iter().sum()
    }

    /// How many lines of standard error so far contain `text`.
    pub fn lines_with(&self, text: &str) -> usize {
        self.stderr().lines().filter(|l| l.contains(text)).count()
    }

    /// Polls standard error until a line contains `text`, at most `within`; returns the first
    /// such line.
    pub fn wait_for_line(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let stderr = self.stderr();
            if let Some(line) = stderr.lines().find(|l| l.contains(text)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no line with `{text}` within {within:?}:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit, at most `within` after `since`.
    pub fn wait_exit(&mut self, since: Instant, within: Duration) -> ExitStatus {
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited on") {
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status;
            }
            assert!(
                since.elapsed() < within,
                "still running {within:?} after SIGTERM; standard error:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// In a `/health` answer, the check named `name` (`null` when there is none).
    pub fn check(&self, name: &str) -> serde_json::Value {
        self.json()["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or_default()
    }

    /// In a `/health` answer, whether the check named `name` lists an action under way that
    /// contains `action`.
    pub fn acting(&self, name: &str, action: &str) -> bool {
        self.check(name)["actions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a.as_str().unwrap_or("").contains(action)))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Status line and headers of a response being read.
fn read_head(reader: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (status, headers)
}

/// `GET path` (HTTP/1.1, `Connection: close`), the whole response.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut reader = BufReader::new(request(addr, path, headers));
    let (status, headers) = read_head(&mut reader);
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let mut raw = Vec::new();
    match length {
        // Some servers (Chromium's DevTools) keep the connection open after the body.
        Some(n) => {
            raw.resize(n, 0);
            reader.read_exact(&mut raw).unwrap();
        }
        None => {
            reader.read_to_end(&mut raw).unwrap();
        }
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(&raw) } else { raw };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size_text = String::from_utf8_lossy(&raw[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("a chunk size");
        if size == 0 {
            return body;
        }
        let start = end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// A Server-Sent Events stream being read.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl EventStream {
    pub fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let mut reader = BufReader::new(request(addr, path, headers));
        let (status, headers) = read_head(&mut reader);
        EventStream {
            reader,
            status,
            headers,
        }
    }

    /// The next event's `data` (chunk-size lines and comments skipped); `None` when the
    /// stream ends.
    pub fn next_data(&mut self) -> Option<String> {
        let mut data = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            } else if line.is_empty() && !data.is_empty() {
                return Some(data);
            }
        }
    }
}
