//! What the links cost and how fast a message leaves, measured on the real binary with real
//! peers (`cargo bench -p semaforo --bench links`):
//!
//! 1. CPU and peak RSS of `semaforo run --fast --for 10m` (the default intersection, two
//!    synthetic cameras) with no link, against the same run with the TCP, WebSocket and MQTT
//!    links all on (a local TCP and WebSocket orchestrator, Debian's Mosquitto), alternated,
//!    five runs each, measured by `/usr/bin/time`; the peer is the run without links, so the
//!    ratio cancels this machine's load.
//! 2. (alone with `LINKS_BENCH=latency`) The latency from a message's making (its
//!    `timestamp`: the tick a green began, or a status) to its arrival at each peer, on the
//!    real clock: two minutes with short greens (min 5 s, max 10 s) and a status every half
//!    second; then the MQTT link again through a broker with `set_tcp_nodelay true`, which
//!    separates the broker's part of the MQTT figure from ours.

#![allow(clippy::unwrap_used)] // a benchmark: an unwrap that fails stops it at its line

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use semaforo_testkit::peers::{Broker, Subscriber, TcpPeer, WsPeer};

const RUNS: usize = 5;

/// The daemon in `dir` with the links given by `env`.
fn daemon(dir: &Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_semaforo"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LOG_TO_CONSOLE", "false")
        .env("SAVE_FRAMES", "false")
        .env("INTERSECTION_ID", "bench")
        .env("HTTP_ADDR", "off")
        .env("OUTBOX_PATH", dir.join("outbox/outbox.db"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// (CPU seconds, peak RSS in MB) of one run, from /usr/bin/time.
fn measure(dir: &Path, env: &[(String, String)]) -> (f64, f64) {
    let report = dir.join("time.txt");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%U %S %M").arg("-o").arg(&report);
    let inner = daemon(dir, &["run", "--fast", "--for", "10m"], env);
    cmd.arg(inner.get_program()).args(inner.get_args());
    cmd.current_dir(dir).env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the daemon failed");
    let text = std::fs::read_to_string(&report).unwrap();
    let f: Vec<f64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (f[0] + f[1], f[2] / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Latencies in ms, sorted, of messages with their arrival times: all of them, and those made
/// once the link was up (after the first arrival; the ones made before waited for the link's
/// connection at start, which is not latency the link adds).
fn latencies(
    received: impl Iterator<Item = (serde_json::Value, SystemTime)>,
) -> (Vec<f64>, Vec<f64>) {
    let pairs: Vec<(f64, f64)> = received
        .filter_map(|(body, at)| Some((body["timestamp"].as_f64()?, unix(at))))
        .collect();
    let up = pairs
        .iter()
        .map(|(_, at)| *at)
        .fold(f64::INFINITY, f64::min);
    let mut all: Vec<f64> = pairs
        .iter()
        .map(|(made, at)| (at - made) * 1000.0)
        .collect();
    let mut steady: Vec<f64> = pairs
        .iter()
        .filter(|(made, _)| *made >= up)
        .map(|(made, at)| (at - made) * 1000.0)
        .collect();
    all.sort_by(f64::total_cmp);
    steady.sort_by(f64::total_cmp);
    (all, steady)
}

fn main() {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("links bench: /usr/bin/time is missing (apt-get install time)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let broker = Broker::start(work.path(), None);
    let tcp = TcpPeer::tcp(TcpListener::bind("127.0.0.1:0").unwrap());
    let ws = WsPeer::websocket(TcpListener::bind("127.0.0.1:0").unwrap());
    let mut all = vec![
        ("ORCHESTRATOR_HOST".to_string(), "127.0.0.1".to_string()),
        ("ORCHESTRATOR_PORT".to_string(), tcp.port.to_string()),
        (
            "ORCHESTRATOR_URL".to_string(),
            format!("ws://127.0.0.1:{}/feed", ws.port),
        ),
    ];
    if let Some(b) = &broker {
        all.push(("MQTT_HOST".into(), "127.0.0.1".into()));
        all.push(("MQTT_PORT".into(), b.port.to_string()));
    }
    let links = if broker.is_some() {
        "TCP + WebSocket + MQTT"
    } else {
        "TCP + WebSocket (no mosquitto)"
    };

    // `LINKS_BENCH=latency` measures the latency alone.
    let runs = if std::env::var("LINKS_BENCH").as_deref() == Ok("latency") {
        0
    } else {
        RUNS
    };
    let (mut cpu_off, mut cpu_on, mut rss_off, mut rss_on) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let (c, r) = measure(dir.path(), &[]);
        cpu_off.push(c);
        rss_off.push(r);
        let dir = tempfile::tempdir().unwrap();
        let (c, r) = measure(dir.path(), &all);
        cpu_on.push(c);
        rss_on.push(r);
        eprintln!("run {}: with links {c:.2} s CPU, {r:.1} MB", run + 1);
    }
    let (machine, cpus) = semaforo_testkit::machine();
    println!(
        "links bench, {} ({machine}, {cpus} CPUs)",
        semaforo_testkit::today()
    );
    if runs > 0 {
        println!(
        "`run --fast --for 10m`, median of {RUNS}: no link {:.2} s CPU, {:.1} MB peak RSS; {links} \
         {:.2} s CPU ({:.2}x), {:.1} MB ({:+.1} MB)",
        median(cpu_off.clone()),
        median(rss_off.clone()),
        median(cpu_on.clone()),
        median(cpu_on) / median(cpu_off),
        median(rss_on.clone()),
        median(rss_on) - median(rss_off)
    );
    }

    // Latency on the real clock: all three links with Mosquitto as Debian configures it, then
    // the MQTT link alone with a broker that sets TCP_NODELAY on its clients' sockets
    // (`set_tcp_nodelay true`): the difference is the broker's side of the MQTT figure.
    latency(broker.as_ref(), true, "Mosquitto defaults");
    drop(broker);
    let nodelay = Broker::start_with(work.path(), None, "set_tcp_nodelay true");
    if nodelay.is_some() {
        latency(
            nodelay.as_ref(),
            false,
            "Mosquitto with set_tcp_nodelay true",
        );
    }
    std::thread::sleep(Duration::from_millis(10));
}

/// Two minutes of the daemon on the real clock with short greens and a status every half
/// second; prints each link's latency from a message's making to its arrival at the peer.
fn latency(broker: Option<&Broker>, orchestrators: bool, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let subscriber =
        broker.map(|b| Subscriber::start(b.port, "bench-subscriber", "semaforo/bench/+"));
    let tcp = TcpPeer::tcp(TcpListener::bind("127.0.0.1:0").unwrap());
    let ws = WsPeer::websocket(TcpListener::bind("127.0.0.1:0").unwrap());
    let mut env = vec![
        ("MIN_GREEN_TIME".to_string(), "5".to_string()),
        ("MAX_GREEN_TIME".to_string(), "10".to_string()),
        ("DECISION_INTERVAL".to_string(), "0.5".to_string()),
    ];
    if orchestrators {
        env.push(("ORCHESTRATOR_HOST".into(), "127.0.0.1".into()));
        env.push(("ORCHESTRATOR_PORT".into(), tcp.port.to_string()));
        env.push((
            "ORCHESTRATOR_URL".into(),
            format!("ws://127.0.0.1:{}/feed", ws.port),
        ));
    }
    if let Some(b) = broker {
        env.push(("MQTT_HOST".into(), "127.0.0.1".into()));
        env.push(("MQTT_PORT".into(), b.port.to_string()));
    }
    let status = daemon(dir.path(), &["run", "--for", "120s"], &env)
        .status()
        .unwrap();
    assert!(status.success());
    let mut rows = Vec::new();
    if orchestrators {
        rows.push((
            "tcp",
            latencies(tcp.received().into_iter().map(|r| (r.body, r.at))),
        ));
        rows.push((
            "websocket",
            latencies(ws.received().into_iter().map(|r| (r.body, r.at))),
        ));
    }
    if let Some(s) = &subscriber {
        let got = s.got.lock().unwrap().clone();
        let mqtt = got
            .into_iter()
            .filter(|(t, ..)| t.ends_with("/decision") || t.ends_with("/status"))
            .filter_map(|(_, p, _, at)| Some((serde_json::from_str(&p).ok()?, at)));
        rows.push(("mqtt", latencies(mqtt)));
    }
    println!(
        "message made -> arrived at the peer, real clock, 120 s, status every 0.5 s ({label}):"
    );
    for (name, (all, steady)) in rows {
        if steady.is_empty() {
            println!("  {name}: no message");
            continue;
        }
        println!(
            "  {name}: {} messages made with the link up: p50 {:.1} ms, p99 {:.1} ms, max {:.1} \
             ms; all {} (those made before it connected included): max {:.1} ms",
            steady.len(),
            percentile(&steady, 0.5),
            percentile(&steady, 0.99),
            steady[steady.len() - 1],
            all.len(),
            all[all.len() - 1]
        );
    }
}
