//! Real peers for the links' tests and benchmarks, run in the test's own process on loopback: a
//! TCP orchestrator in the original's framing, a WebSocket orchestrator, a Mosquitto broker
//! (Debian's `mosquitto`) and an MQTT subscriber. Each can go away and come back; each is
//! stopped when dropped. Every received message keeps the time it arrived.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failure stops the test at its line

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// A message a peer received, and when.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: serde_json::Value,
    pub at: SystemTime,
}

/// Polls `condition` every 20 ms until it holds; fails the test after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Reads one accepted connection's messages into the list until it closes or the peer goes
/// away.
type Reader = fn(TcpStream, &Mutex<Vec<Received>>, &AtomicBool);

/// An orchestrator on loopback: accepts one connection at a time, reads its messages with its
/// [`Reader`], and can go away (close everything, stop listening) and come back on its port.
pub struct Peer {
    pub port: u16,
    reader: Reader,
    messages: Arc<Mutex<Vec<Received>>>,
    away: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

/// A TCP orchestrator in the original's framing (heartbeats left out).
pub type TcpPeer = Peer;

/// A WebSocket orchestrator: text messages (pongs answer pings by themselves).
pub type WsPeer = Peer;

impl Peer {
    /// A TCP orchestrator in the original's framing.
    pub fn tcp(listener: TcpListener) -> Peer {
        Peer::start(listener, read_frames)
    }

    /// A WebSocket orchestrator.
    pub fn websocket(listener: TcpListener) -> Peer {
        Peer::start(listener, read_websocket)
    }

    fn start(listener: TcpListener, reader: Reader) -> Peer {
        let mut peer = Peer {
            port: listener.local_addr().unwrap().port(),
            reader,
            messages: Arc::new(Mutex::new(Vec::new())),
            away: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        peer.serve(listener);
        peer
    }

    fn serve(&mut self, listener: TcpListener) {
        let (messages, away, reader) = (self.messages.clone(), self.away.clone(), self.reader);
        listener.set_nonblocking(true).unwrap();
        self.thread = Some(thread::spawn(move || {
            while !away.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                reader(stream, &messages, &away);
            }
        }));
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Closes the connection and the listener.
    pub fn go_away(&mut self) {
        self.away.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// Listens on the same port again.
    pub fn come_back(&mut self) {
        self.away.store(false, Ordering::SeqCst);
        let mut listener = None;
        wait_until("the port to be free again", Duration::from_secs(20), || {
            listener = TcpListener::bind(("127.0.0.1", self.port)).ok();
            listener.is_some()
        });
        self.serve(listener.unwrap());
    }

    /// Every message received, after closing.
    pub fn messages(mut self) -> Vec<serde_json::Value> {
        self.go_away();
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }

    /// Every message received so far, with its arrival time.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

fn read_frames(mut stream: TcpStream, messages: &Mutex<Vec<Received>>, away: &AtomicBool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !away.load(Ordering::SeqCst) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
        while buffer.len() >= 4 {
            let len = u32::from_be_bytes(buffer[..4].try_into().unwrap()) as usize;
            if buffer.len() < 4 + len {
                break;
            }
            let body: serde_json::Value = serde_json::from_slice(&buffer[4..4 + len]).unwrap();
            buffer.drain(..4 + len);
            if body["type"] != "heartbeat" {
                messages.lock().unwrap().push(Received {
                    body,
                    at: SystemTime::now(),
                });
            }
        }
    }
}

fn read_websocket(stream: TcpStream, messages: &Mutex<Vec<Received>>, away: &AtomicBool) {
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    while !away.load(Ordering::SeqCst) {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => messages.lock().unwrap().push(Received {
                body: serde_json::from_str(t.as_str()).unwrap(),
                at: SystemTime::now(),
            }),
            Ok(tungstenite::Message::Close(_)) => return,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// A Mosquitto broker on a free loopback port, stopped when dropped.
pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// `None` (after a loud skip, a failure under CI=true) when mosquitto is not installed.
    pub fn start(dir: &Path, users: Option<(&str, &str)>) -> Option<Broker> {
        Broker::start_with(dir, users, "")
    }

    /// [`Broker::start`] with more lines for its `mosquitto.conf` (`set_tcp_nodelay true`).
    pub fn start_with(dir: &Path, users: Option<(&str, &str)>, extra: &str) -> Option<Broker> {
        if !crate::tool("mosquitto", "apt-get install mosquitto (Debian's broker)") {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = dir.join(format!("broker-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conf = format!(
            "listener {port} 127.0.0.1\npersistence true\npersistence_location {}/\n{extra}\n",
            dir.display()
        );
        match users {
            Some((user, password)) => {
                let file = dir.join("passwords");
                let ok = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([user, password])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "mosquitto_passwd");
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let mut broker = Broker {
            port,
            dir,
            child: None,
        };
        broker.run();
        Some(broker)
    }

    pub fn run(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = self.port;
        wait_until("mosquitto to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message a subscriber received: topic, payload, whether retained, when it arrived.
pub type Published = (String, String, bool, SystemTime);

/// A subscriber with a persistent session (its messages wait at the broker while it is away),
/// collecting (topic, payload, retained, arrival time) of everything matching its filter.
pub struct Subscriber {
    pub got: Arc<Mutex<Vec<Published>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Subscriber {
    pub fn start(port: u16, id: &str, filter: &str) -> Subscriber {
        let filter = filter.to_string();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        options.set_clean_session(false);
        let (client, mut connection) = rumqttc::Client::new(options, 100);
        let subscribed = Arc::new(AtomicBool::new(false));
        let sub = subscribed.clone();
        let thread = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match connection.recv_timeout(Duration::from_millis(50)) {
                    Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))) => {
                        client
                            .try_subscribe(filter.as_str(), rumqttc::QoS::AtLeastOnce)
                            .unwrap();
                    }
                    Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)))) => {
                        sub.store(true, Ordering::SeqCst);
                    }
                    Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))) => {
                        g.lock().unwrap().push((
                            p.topic.clone(),
                            String::from_utf8_lossy(&p.payload).into_owned(),
                            p.retain,
                            SystemTime::now(),
                        ));
                    }
                    Ok(Err(_)) => thread::sleep(Duration::from_millis(100)),
                    _ => {}
                }
            }
        });
        wait_until("the subscription", Duration::from_secs(20), || {
            subscribed.load(Ordering::SeqCst)
        });
        Subscriber {
            got,
            stop,
            thread: Some(thread),
        }
    }

    /// The payloads received on `topic`, in order.
    pub fn on(&self, topic: &str) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _, _, _)| t == topic)
            .map(|(_, p, _, _)| p.clone())
            .collect()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// GStreamer's RTSP server (gst-rtsp-server through Debian's Python bindings: the camera
/// tests' `rtsp_server.py`) serving an H.264 MP4 at `rtsp://127.0.0.1:PORT/clip`, each client
/// from the clip's start. It can be stopped and run again on its port; it is stopped when
/// dropped.
pub struct RtspServer {
    pub port: u16,
    clip: PathBuf,
    child: Option<Child>,
}

const PYTHON: &str = "/usr/bin/python3";

impl RtspServer {
    /// Whether the server's Python bindings and the elements it needs are installed; when not,
    /// a [`crate::skip`] saying how to install them.
    pub fn available() -> bool {
        let ok = Command::new(PYTHON)
            .args([
                "-c",
                "import gi; gi.require_version('GstRtspServer', '1.0'); \
                 from gi.repository import GstRtspServer, Gst; Gst.init(None); \
                 assert all(Gst.ElementFactory.find(e) for e in ['qtdemux', 'h264parse', 'rtph264pay'])",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            crate::skip(
                "GStreamer's RTSP server for Python",
                "Install it (Debian: apt-get install gir1.2-gst-rtsp-server-1.0 \
                 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad python3-gi).",
            );
        }
        ok
    }

    /// Serves `clip` on a free port.
    pub fn start(clip: &Path) -> RtspServer {
        let mut server = RtspServer {
            port: 0,
            clip: clip.to_path_buf(),
            child: None,
        };
        server.run();
        server
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/clip", self.port)
    }

    /// Starts the server (again) on its port, once it can listen there.
    pub fn run(&mut self) {
        let script =
            crate::repository().join("crates/semaforo-camera/tests/fixtures/rtsp_server.py");
        let mut started = None;
        wait_until("the RTSP server to listen", Duration::from_secs(20), || {
            let mut child = Command::new(PYTHON)
                .arg(&script)
                .arg(self.port.to_string())
                .arg(&self.clip)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 starts");
            let mut line = String::new();
            let stdout = child.stdout.take().expect("piped stdout");
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            match line
                .strip_prefix("ready ")
                .and_then(|p| p.trim().parse().ok())
            {
                Some(port) => started = Some((child, port)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
            started.is_some()
        });
        let (child, port) = started.unwrap();
        self.port = port;
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.stop();
    }
}
