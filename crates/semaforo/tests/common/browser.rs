//! Debian's headless Chromium, started by a test and always stopped, driven over the
//! DevTools protocol (JSON over a WebSocket): evaluate JavaScript in the page, take
//! screenshots, and collect every console error and uncaught exception the page produced.
//!
//! The protocol's handful of commands a test needs are written out here rather than pulled
//! in with a generated client of the whole protocol, which would add minutes to every fresh
//! build for five methods.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every protocol event received so far.
    pub events: Vec<Value>,
}

/// The flags that keep Chromium quiet and local: no sandbox (tests run as root in CI), no
/// GPU, and none of its background connections, which this machine's closed network refuses.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
];

/// The guard: `$1` is the test's process id, the rest the browser's command line. It starts
/// the browser, waits while both the test and the browser live, then kills its own process
/// group (itself, the browser and the browser's children).
const GUARD: &str = r#"
test_pid=$1; shift
"$@" &
browser=$!
while kill -0 "$test_pid" 2>/dev/null && kill -0 "$browser" 2>/dev/null; do sleep 1; done
kill -KILL 0
"#;

impl Browser {
    /// Starts Chromium with its profile in `profile` (an empty directory) on a blank page,
    /// and connects to that page. `None` (after a loud skip) when chromium is not installed.
    pub fn start(profile: &Path) -> Option<Browser> {
        if !semaforo_testkit::tool("chromium", "apt-get install chromium (Debian's package)") {
            return None;
        }
        // Chromium runs under a small shell that leads its process group and watches this
        // test's process: when the test ends in any way, a timeout's SIGKILL included (no
        // `Drop` runs then), the shell kills the whole group within a second, renderers and
        // all, so no browser outlives its test.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .arg("chromium-guard")
            .arg(std::process::id().to_string())
            .arg("chromium")
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that stopping it stops its renderers too.
            .process_group(0)
            .spawn()
            .expect("chromium starts");
        let port = match wait_for_port(profile, Duration::from_secs(30)) {
            Some(port) => port,
            None => {
                stop(&mut child);
                panic!("chromium wrote no DevToolsActivePort within 30 s");
            }
        };
        let page = page_socket_url(port);
        let (socket, _) = tungstenite::connect(page.as_str()).expect("the page's DevTools socket");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .expect("a read timeout");
        }
        let mut browser = Browser {
            child,
            socket,
            next_id: 1,
            events: Vec::new(),
        };
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            browser.call(domain, json!({}));
        }
        Some(browser)
    }

    /// Sends a command and returns its result, keeping the events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(request.to_string()))
            .unwrap_or_else(|e| panic!("{method}: cannot send: {e}"));
        loop {
            let message = self
                .socket
                .read()
                .unwrap_or_else(|e| panic!("{method}: no answer: {e}"));
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).expect("DevTools speaks JSON");
            if value["id"] == json!(id) {
                if let Some(error) = value.get("error") {
                    panic!("{method}: {error}");
                }
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is truthy (not null, false, 0 or ""), at most
    /// `within`; its last value.
    pub fn wait_until(&mut self, what: &str, expression: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.evaluate(expression);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {within:?} (last value {value}); console: \
                 {:?}",
                self.console_errors()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sets the viewport (CSS pixels); `mobile` as a phone's.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        );
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("base64 data"))
            .expect("a base64 PNG")
    }

    /// Console errors, uncaught exceptions and error log entries (failed loads among them).
    pub fn console_errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.consoleAPICalled"
                        if matches!(p["type"].as_str(), Some("error" | "assert")) =>
                    {
                        Some(format!("console.{}: {}", p["type"], p["args"]))
                    }
                    "Runtime.exceptionThrown" => {
                        Some(format!("exception: {}", p["exceptionDetails"]))
                    }
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        Some(format!("log: {} {}", p["entry"]["text"], p["entry"]["url"]))
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.socket.send(Message::text(
            json!({ "id": 0, "method": "Browser.close", "params": {} }).to_string(),
        ));
        let _ = self.socket.close(None);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        stop(&mut self.child);
    }
}

/// Kills Chromium's process group (its renderers with it) and reaps it.
fn stop(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The port Chromium chose, from the file it writes into its profile.
fn wait_for_port(profile: &Path, within: Duration) -> Option<u16> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(profile.join("DevToolsActivePort")) {
            if let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                return Some(port);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The WebSocket of the blank page Chromium opened.
fn page_socket_url(port: u16) -> String {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = super::daemon::get(addr, "/json/list", &[]);
        if list.status == 200 {
            let targets: Value = list.json();
            let page = targets.as_array().and_then(|t| {
                t.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            });
            if let Some(url) = page {
                return url.to_string();
            }
        }
        assert!(Instant::now() < deadline, "chromium shows no page target");
        std::thread::sleep(Duration::from_millis(100));
    }
}
