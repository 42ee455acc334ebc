//! The soak (issue 20): `semaforo run` for a long while under the churn of a real deployment,
//! its resources sampled from outside every few seconds, and held to bounds.
//!
//! Two plans share the code. [`Plan::real_time`]: the four-arm intersection on the real clock,
//! camera `n` on the real street footage (YOLOX behind its motion gate, the `auto` detector,
//! unless the plan says otherwise), camera `s` on an RTSP camera (the same footage, the same
//! detector) served on loopback by GStreamer's RTSP server that is restarted every few
//! minutes, cameras `e` and `w` on the synthetic scene; a TCP and a WebSocket orchestrator that
//! go away and come back, and Mosquitto stopped and started again between them; frames saved
//! at a high rate into a small frame store; the outbox kept small (500 messages).
//! [`Plan::fast`]: `run --fast` over simulated hours of the synthetic two-camera intersection
//! with the same links, frame store and outbox, the peers going away on the same real-clock
//! schedule (an absence then lasts many simulated minutes, enough to fill the outbox to its
//! bound).
//!
//! Each run writes `NAME.csv` and `NAME.svg` (every figure over time) into the plan's output
//! directory and returns its [`Figures`]; [`Figures::broken`] says which [`Bounds`] it broke.
//!
//! ```no_run
//! let plan = semaforo_testkit::soak::Plan::real_time(
//!     env!("CARGO_MANIFEST_DIR").as_ref(), // the binary, in a real caller
//!     std::time::Duration::from_secs(90),
//!     "target/soak".as_ref(),
//! );
//! if let Some(report) = semaforo_testkit::soak::run(&plan) {
//!     assert!(report.broken.is_empty(), "{}", report.summary());
//! }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failure stops the run at its line

mod bounds;
mod plot;
mod sample;

pub use bounds::{Bounds, Figures};
pub use plot::{read_csv, write_svg, Csv};
pub use sample::{http_get, Probe, Sample, FIGURES};

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::peers::{Broker, Peer, RtspServer};

/// Saved JPEGs kept per camera: a small store, so that it is full (and rotating) early.
const FRAMES_KEPT: u64 = 20;
/// Frames saved per camera: one in this many.
const SAVE_EVERY: u64 = 2;
/// The outbox's own bound on messages (`OUTBOX_MAX_MESSAGES`).
const OUTBOX_MESSAGES: u64 = 500;
/// How long after a server or peer stopped or started a sample is not settled, whatever the
/// daemon says: a camera is called stale after 3 s, a link lost on its next write.
const QUIET: Duration = Duration::from_secs(5);
/// What a saved frame may weigh: the largest here are the footage's 640x352 frames with their
/// annotations, about 50 kB at quality 85.
const FRAME_BYTES: u64 = 100_000;

/// What to run, for how long, and where its figures go.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A name for the output files (`NAME.csv`, `NAME.svg`).
    pub name: String,
    pub binary: PathBuf,
    /// The real clock's duration; under `--fast`, the simulated one (`run --fast --for`).
    pub duration: Duration,
    pub fast: bool,
    /// How often a sample is taken (real clock).
    pub period: Duration,
    /// The RTSP server is restarted this often (real-time plan only).
    pub rtsp_restart: Duration,
    /// The orchestrators go away this often, for `away`; Mosquitto half a period later.
    pub peers_cycle: Duration,
    pub away: Duration,
    pub out: PathBuf,
    pub bounds: Bounds,
    /// The detector of the two cameras on the footage (real-time plan): `auto` (YOLOX behind
    /// its motion gate) by default; `bgsub` for a short run, since the network's working memory
    /// takes minutes to settle (the long soak's plot shows it), longer than a short run's
    /// warm-up.
    pub detector: String,
}

impl Plan {
    /// The real-time plan: sampled every 2 s (5 s past 10 minutes), the RTSP server restarted
    /// every 3 minutes and the peers away for 20 s every 2 minutes, the first tenth warm-up.
    /// A run of 3 minutes or less restarts the server and sends the peers away every 30 s (for
    /// 6 s) and counts its first 55% as warm-up, so that each link's first reconnection falls
    /// within the warm-up and a second cycle of everything after it.
    pub fn real_time(binary: &Path, duration: Duration, out: &Path) -> Plan {
        let short = duration <= Duration::from_secs(180);
        let (rtsp_restart, peers_cycle, away) = if short { (30, 30, 6) } else { (180, 120, 20) };
        let period = if duration > Duration::from_secs(600) {
            5
        } else {
            2
        };
        Plan {
            name: "real-time".into(),
            binary: binary.to_path_buf(),
            duration,
            fast: false,
            period: Duration::from_secs(period),
            rtsp_restart: Duration::from_secs(rtsp_restart),
            peers_cycle: Duration::from_secs(peers_cycle),
            away: Duration::from_secs(away),
            out: out.to_path_buf(),
            detector: "auto".into(),
            bounds: Bounds {
                warmup: if short { 0.55 } else { 0.1 },
                rss_growth_kb: 2048,
                fd_spread: 2,
                thread_spread: 2,
                temp_files: 4,
                frame_files: 4 * FRAMES_KEPT,
                frame_bytes: 4 * FRAMES_KEPT * FRAME_BYTES,
                outbox_depth: OUTBOX_MESSAGES,
            },
        }
    }

    /// The simulated plan: `run --fast --for SIMULATED` of the synthetic two-camera
    /// intersection, sampled every second of the real clock.
    pub fn fast(binary: &Path, simulated: Duration, out: &Path) -> Plan {
        Plan {
            name: "fast".into(),
            fast: true,
            period: Duration::from_secs(1),
            bounds: Bounds {
                warmup: 0.1,
                frame_files: 2 * FRAMES_KEPT,
                frame_bytes: 2 * FRAMES_KEPT * FRAME_BYTES,
                ..Plan::real_time(binary, simulated, out).bounds
            },
            ..Plan::real_time(binary, simulated, out)
        }
    }
}

/// The plot's title for a run of `plan`.
pub fn title(plan: &Plan) -> String {
    let clock = if plan.fast {
        "simulated time"
    } else {
        "real time"
    };
    format!("semaforo soak: {} ({clock})", plan.name)
}

/// What a run found.
#[derive(Debug)]
pub struct Report {
    pub plan: Plan,
    pub samples: Vec<Sample>,
    pub figures: Figures,
    /// The bounds it broke, in words; empty when it passed.
    pub broken: Vec<String>,
    pub csv: PathBuf,
    pub svg: PathBuf,
    /// Restarts of the RTSP server, and absences of the orchestrators and of the broker.
    pub disruptions: (u32, u32, u32),
}

impl Report {
    /// The run, its figures in a few lines, and the broken bounds.
    pub fn summary(&self) -> String {
        let (restarts, peers, broker) = self.disruptions;
        let mut text = format!(
            "soak {}: {restarts} RTSP restarts, orchestrators away {peers} times, broker \
             {broker} times\n{}",
            self.plan.name,
            self.figures.summary()
        );
        for b in &self.broken {
            text.push_str(&format!("\nBROKEN: {b}"));
        }
        text
    }
}

/// Runs the plan; `None` (after a loud skip, a failure under `CI=true`) when the footage,
/// Mosquitto, FFmpeg or GStreamer's RTSP server is missing.
pub fn run(plan: &Plan) -> Option<Report> {
    // The daemon's directory (logs, frames, outbox) and the peers' beside it, kept when a
    // bound broke.
    let work = std::env::temp_dir().join(format!(
        "semaforo-soak-{}-{}",
        plan.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let mut broker = Broker::start(&work, None)?;
    let mut tcp = Peer::tcp(TcpListener::bind("127.0.0.1:0").unwrap());
    let mut ws = Peer::websocket(TcpListener::bind("127.0.0.1:0").unwrap());
    let mut env: Vec<(String, String)> = vec![
        ("ORCHESTRATOR_HOST".into(), "127.0.0.1".into()),
        ("ORCHESTRATOR_PORT".into(), tcp.port.to_string()),
        (
            "ORCHESTRATOR_URL".into(),
            format!("ws://127.0.0.1:{}/feed", ws.port),
        ),
        ("ORCHESTRATOR_HEARTBEAT".into(), "1".into()),
        ("MQTT_HOST".into(), "127.0.0.1".into()),
        ("MQTT_PORT".into(), broker.port.to_string()),
    ];
    // The cameras are named by flags (the environment only sets values of named cameras).
    let mut flags: Vec<String> = Vec::new();
    let mut rtsp = None;
    if !plan.fast {
        let footage = crate::street_a()?.canonicalize().unwrap();
        let clip = rtsp_clip(&footage, &work, plan.rtsp_restart + Duration::from_secs(60))?;
        let server = RtspServer::start(&clip);
        env.push(("INTERSECTION_BUILTIN".into(), "four-arm".into()));
        if plan.detector != "bgsub" {
            let model = crate::shared_file("models/yolox_nano.onnx")?;
            env.push(("DETECTION_MODEL".into(), model.display().to_string()));
        }
        for (camera, source) in [
            ("n", format!("file:{}?loop=true", footage.display())),
            ("s", server.url()),
            ("e", "synthetic:".into()),
            ("w", "synthetic:".into()),
        ] {
            flags.push("--set".into());
            flags.push(format!("cameras.{camera}.source={source}"));
        }
        for camera in ["n", "s"] {
            flags.push("--set".into());
            flags.push(format!("cameras.{camera}.detector={}", plan.detector));
        }
        rtsp = Some(server);
    }
    let mut daemon = Daemon::start(plan, &work, &env, &flags);
    let probe = Probe {
        pid: daemon.child.id(),
        http: daemon.http,
        temp_dir: work.join("tmp"),
        frame_dir: work.join("frames"),
    };

    std::fs::create_dir_all(&plan.out).unwrap();
    let csv = plan.out.join(format!("{}.csv", plan.name));
    let svg = plan.out.join(format!("{}.svg", plan.name));
    let mut rows = Csv::create(&csv).unwrap();
    let started = Instant::now();
    let mut samples = Vec::new();
    let (mut restarts, mut peers_away, mut broker_away) = (0, 0, 0);
    let (mut peers_gone, mut broker_gone) = (false, false);
    let mut next_sample = started;
    let mut last_disruption = started;
    loop {
        let now = started.elapsed();
        if !plan.fast && now >= plan.duration || daemon.exited() {
            break;
        }
        // The peers' schedule, on the real clock: the orchestrators away in the first `away`
        // of each cycle (from the second cycle on), the broker half a cycle later.
        let cycle = plan.peers_cycle.as_secs_f64();
        let into = now.as_secs_f64() % cycle;
        let second_cycle = now.as_secs_f64() >= cycle;
        let peers_should_be_gone = second_cycle && into < plan.away.as_secs_f64();
        let half = cycle / 2.0;
        let broker_should_be_gone =
            second_cycle && into >= half && into < half + plan.away.as_secs_f64();
        if peers_should_be_gone != peers_gone {
            if peers_should_be_gone {
                tcp.go_away();
                ws.go_away();
                peers_away += 1;
            } else {
                tcp.come_back();
                ws.come_back();
            }
            peers_gone = peers_should_be_gone;
            last_disruption = Instant::now();
        }
        if broker_should_be_gone != broker_gone {
            if broker_should_be_gone {
                broker.stop();
                broker_away += 1;
            } else {
                broker.run();
            }
            broker_gone = broker_should_be_gone;
            last_disruption = Instant::now();
        }
        if let Some(server) = &mut rtsp {
            let due = (now.as_secs_f64() / plan.rtsp_restart.as_secs_f64()) as u32;
            if due > restarts {
                server.stop();
                server.run();
                restarts = due;
                last_disruption = Instant::now();
            }
        }
        if Instant::now() >= next_sample {
            next_sample += plan.period;
            if let Some(mut s) = probe.sample(started.elapsed().as_secs_f64()) {
                s.settled &= last_disruption.elapsed() >= QUIET;
                rows.write(&s).unwrap();
                samples.push(s);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The peers back for the end, so that the daemon's last messages can leave.
    if peers_gone {
        tcp.come_back();
        ws.come_back();
    }
    if broker_gone {
        broker.run();
    }
    let stopped = daemon.stop(!plan.fast);
    tcp.go_away();
    ws.go_away();
    drop(broker);
    drop(rtsp);

    let b = &plan.bounds;
    write_svg(&svg, &title(plan), &samples, &b.drawn(), b.warmup).unwrap();
    let figures = Figures::of(&samples, b.warmup);
    let mut broken = figures.broken(b);
    if let Err(e) = stopped {
        broken.push(e);
    }
    if broken.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        broken.push(format!("the daemon's files are kept in {}", work.display()));
    }
    Some(Report {
        plan: plan.clone(),
        samples,
        figures,
        broken,
        csv,
        svg,
        disruptions: (restarts, peers_away, broker_away),
    })
}

/// The street footage re-encoded for the RTSP camera: `length` of it looped, 320x176 at 15 fps,
/// H.264 Main without B-frames (as cameras stream), in `dir`; `None` after a skip when FFmpeg
/// or the RTSP server is missing.
fn rtsp_clip(footage: &Path, dir: &Path, length: Duration) -> Option<PathBuf> {
    if !crate::tool("ffmpeg", "apt-get install ffmpeg") || !RtspServer::available() {
        return None;
    }
    let clip = dir.join("rtsp-camera.mp4");
    let status = Command::new("ffmpeg")
        .args(["-y", "-v", "error", "-stream_loop", "-1", "-i"])
        .arg(footage)
        .args(["-t", &length.as_secs().to_string(), "-an"])
        .args([
            "-vf",
            "scale=320:176,fps=15",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .args(["-profile:v", "main", "-bf", "0", "-g", "15"])
        .arg(&clip)
        .status()
        .expect("ffmpeg starts");
    assert!(
        status.success(),
        "ffmpeg could not make the RTSP camera's clip"
    );
    Some(clip)
}

/// The daemon under soak, its standard error drained (the last lines kept for a failure's
/// message), killed when dropped.
struct Daemon {
    child: Child,
    http: std::net::SocketAddr,
    last_lines: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
}

/// The line the daemon logs when its server listens.
const LISTENING: &str = "HTTP API and dashboard on http://";

impl Daemon {
    fn start(plan: &Plan, work: &Path, env: &[(String, String)], flags: &[String]) -> Daemon {
        let mut cmd = Command::new(&plan.binary);
        cmd.current_dir(work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("run")
            .args(["--http", "127.0.0.1:0"])
            .args(flags);
        if plan.fast {
            cmd.args(["--fast", "--for", &format!("{}s", plan.duration.as_secs())]);
        }
        let frames_kept = FRAMES_KEPT.to_string();
        let save_every = SAVE_EVERY.to_string();
        let outbox = OUTBOX_MESSAGES.to_string();
        let settings = [
            ("INTERSECTION_ID", "soak"),
            ("CAMERA_WIDTH", "320"),
            ("CAMERA_HEIGHT", "240"),
            ("CAMERA_FPS", "10"),
            ("SAVE_FRAMES", "true"),
            ("FRAME_SAVE_INTERVAL", save_every.as_str()),
            ("MAX_FRAMES_SAVED", frames_kept.as_str()),
            ("FRAME_DIR", "frames"),
            ("TEMP_DIR", "tmp"),
            ("LOG_DIR", "logs"),
            ("MAX_LOG_FILE_SIZE_MB", "1"),
            ("LOG_BACKUP_COUNT", "2"),
            ("OUTBOX_PATH", "outbox/outbox.db"),
            ("OUTBOX_MAX_MESSAGES", outbox.as_str()),
            ("MIN_FREE_DISK_PERCENT", "0"),
        ];
        for (k, v) in settings {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let pipe = child.stderr.take().expect("stderr is piped");
        let last_lines = std::sync::Arc::new(std::sync::Mutex::new(Default::default()));
        let lines = last_lines.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(LISTENING).nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
                }
                let mut lines: std::sync::MutexGuard<std::collections::VecDeque<String>> =
                    lines.lock().unwrap();
                if lines.len() == 50 {
                    lines.pop_front();
                }
                lines.push_back(line);
            }
        });
        let mut daemon = Daemon {
            child,
            http: ([127, 0, 0, 1], 0).into(),
            last_lines,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => daemon.http = addr.parse().expect("a socket address in the log line"),
            Err(_) => panic!("no `{LISTENING}` line within 60 s:\n{}", daemon.tail()),
        }
        daemon
    }

    fn tail(&self) -> String {
        let lines = self.last_lines.lock().unwrap();
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Stops the daemon (SIGTERM when `terminate`, else waits for its own end) and checks it
    /// left with exit code 0 within a minute.
    fn stop(&mut self, terminate: bool) -> Result<(), String> {
        if terminate {
            let sent = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(sent, "kill -TERM failed");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.child.try_wait().expect("the daemon can be waited on") {
                Some(status) if status.success() => return Ok(()),
                Some(status) => {
                    return Err(format!("the daemon exited with {status}:\n{}", self.tail()))
                }
                None if Instant::now() > deadline => {
                    return Err(format!(
                        "the daemon did not stop within 60 s:\n{}",
                        self.tail()
                    ))
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
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
