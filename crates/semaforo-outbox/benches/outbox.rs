//! What a push costs the control loop, and what the outbox sustains, with its fsync policy.
//!
//! `cargo bench -p semaforo-outbox` (harness = false: plain `std::time::Instant`). Files go to
//! Cargo's target temporary directory (on the project's disk, not a tmpfs), one fresh outbox
//! per run. Rows, each the median of `ROUNDS` rounds taken in turn, so that the machine's load
//! falls on every row alike:
//!
//! - `push, PowerLoss (FULL)`: the default, one `fsync` of the write-ahead log per push;
//! - `push, ProcessCrash (NORMAL)`: the same pushes without the sync at commit (peer: what the
//!   sync costs);
//! - `append + sync_data`: a plain file, each message length-prefixed, `write_all` then
//!   `sync_data` (peer: the least any store that syncs each message can cost);
//! - `push + pending + ack`: one message through, as a link that keeps up does it, with one
//!   and with three cursors (tcp, websocket, mqtt);
//! - `push until a waiting link has it`: from the start of `push` until a link thread blocked
//!   in `wait_pending` holds the message (the outbox's share of a green's message latency);
//! - `push at the bound`: 100,000 messages stored, each push dropping the oldest status.
//!
//! Per-push latency (median, 99th percentile, worst) is what the control loop waits.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use semaforo_outbox::{Durability, Limits, MessageKind, Outbox, Seq};

const PUSHES: usize = if cfg!(debug_assertions) { 50 } else { 2_000 };
const ROUNDS: usize = if cfg!(debug_assertions) { 1 } else { 5 };
const FULL_BOUND: u64 = if cfg!(debug_assertions) { 500 } else { 100_000 };

/// A status as the daemon sends it (orchestrator.rs: the original's fields and the situation).
fn status(n: usize) -> serde_json::Value {
    serde_json::json!({
        "type": "status",
        "count_a": n % 9,
        "count_b": n % 5,
        "timestamp": 1_764_052_981.3 + n as f64 * 2.0,
        "intersection": "5th-and-main",
        "phase": "A",
        "green": ["A"],
        "counts": {"A": n % 9, "B": n % 5},
    })
}

fn created(n: usize) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_052_981 + 2 * n as u64)
}

const PLENTY: Limits = Limits {
    max_messages: 10_000_000,
    max_bytes: 1 << 34,
};

/// Per-operation latencies of one run.
struct Run {
    each: Vec<Duration>,
    total: Duration,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.each.len() as f64 / self.total.as_secs_f64()
    }
    fn quantile(&self, q: f64) -> Duration {
        let mut v = self.each.clone();
        v.sort();
        v[((v.len() - 1) as f64 * q).round() as usize]
    }
}

fn timed(n: usize, mut op: impl FnMut(usize)) -> Run {
    let mut each = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        op(i);
        each.push(t.elapsed());
    }
    Run {
        each,
        total: start.elapsed(),
    }
}

fn fresh_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn push_run(durability: Durability) -> Run {
    let dir = fresh_dir();
    let outbox =
        Outbox::open_with(dir.path().join("outbox.db"), PLENTY, "bench", durability).unwrap();
    outbox.register_cursor("tcp").unwrap();
    let bodies: Vec<_> = (0..PUSHES).map(status).collect();
    timed(PUSHES, |i| {
        outbox
            .push(MessageKind::Status, &bodies[i], created(i))
            .unwrap();
    })
}

fn append_run() -> Run {
    let dir = fresh_dir();
    let mut file = std::fs::File::create(dir.path().join("outbox.log")).unwrap();
    let bodies: Vec<String> = (0..PUSHES).map(|i| status(i).to_string()).collect();
    timed(PUSHES, |i| {
        let body = bodies[i].as_bytes();
        let mut record = Vec::with_capacity(4 + body.len());
        record.extend_from_slice(&(body.len() as u32).to_be_bytes());
        record.extend_from_slice(body);
        file.write_all(&record).unwrap();
        file.sync_data().unwrap();
    })
}

fn cycle_run(cursors: &[&str]) -> Run {
    let dir = fresh_dir();
    let outbox = Outbox::open(dir.path().join("outbox.db"), PLENTY, "bench").unwrap();
    let cursors: Vec<_> = cursors
        .iter()
        .map(|name| outbox.register_cursor(name).unwrap())
        .collect();
    let bodies: Vec<_> = (0..PUSHES).map(status).collect();
    let run = timed(PUSHES, |i| {
        outbox
            .push(MessageKind::Status, &bodies[i], created(i))
            .unwrap();
        for cursor in &cursors {
            let entries = outbox.pending(cursor, 16).unwrap();
            outbox.ack(cursor, entries.last().unwrap().seq).unwrap();
        }
    });
    assert_eq!(outbox.statistics().unwrap().messages, 0);
    run
}

/// A push, until a link thread waiting in `wait_pending` has the message (what the outbox adds
/// between a green beginning and its message leaving); the link acknowledges it afterwards.
fn handoff_run() -> Run {
    let dir = fresh_dir();
    let outbox = Arc::new(Outbox::open(dir.path().join("outbox.db"), PLENTY, "bench").unwrap());
    let tcp = outbox.register_cursor("tcp").unwrap();
    let (got_tx, got_rx) = std::sync::mpsc::channel();
    let link = {
        let outbox = Arc::clone(&outbox);
        std::thread::spawn(move || {
            let mut after = Seq::ZERO;
            let mut received = 0;
            while received < PUSHES {
                let entries = outbox
                    .wait_pending(&tcp, after, 16, Duration::from_secs(10))
                    .unwrap();
                let Some(last) = entries.last() else { continue };
                after = last.seq;
                received += entries.len();
                got_tx.send(after).unwrap();
                outbox.ack(&tcp, after).unwrap();
            }
        })
    };
    let bodies: Vec<_> = (0..PUSHES).map(status).collect();
    let run = timed(PUSHES, |i| {
        let pushed = outbox
            .push(MessageKind::Status, &bodies[i], created(i))
            .unwrap();
        assert_eq!(got_rx.recv().unwrap(), pushed.seq);
    });
    link.join().unwrap();
    run
}

/// An outbox filled to `FULL_BOUND` messages (filled without syncing, then reopened with the
/// default durability), each measured push dropping the oldest status.
fn at_bound_run(path: &Path) -> Run {
    let limits = Limits {
        max_messages: FULL_BOUND,
        max_bytes: 1 << 34,
    };
    let outbox = Outbox::open(path, limits, "bench").unwrap();
    let bodies: Vec<_> = (0..PUSHES).map(status).collect();
    let run = timed(PUSHES, |i| {
        let pushed = outbox
            .push(MessageKind::Status, &bodies[i], created(i))
            .unwrap();
        assert_eq!(pushed.dropped_now, 1);
    });
    assert_eq!(outbox.statistics().unwrap().messages, FULL_BOUND);
    run
}

fn fill(path: &Path) {
    let limits = Limits {
        max_messages: FULL_BOUND,
        max_bytes: 1 << 34,
    };
    let outbox = Outbox::open_with(path, limits, "bench", Durability::ProcessCrash).unwrap();
    outbox.register_cursor("tcp").unwrap();
    for i in 0..FULL_BOUND as usize {
        outbox
            .push(MessageKind::Status, &status(i), created(i))
            .unwrap();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    if cfg!(debug_assertions) {
        println!("debug build: a smoke run, not a measurement (use cargo bench)");
    }
    let body_bytes = serde_json::to_string(&status(1)).unwrap().len() + 8;
    println!(
        "{PUSHES} operations per run, median of {ROUNDS} rounds; status body about {body_bytes} bytes with its seq"
    );
    let full_dir = fresh_dir();
    let full_path = full_dir.path().join("outbox.db");
    let fill_start = Instant::now();
    fill(&full_path);
    let filled = fill_start.elapsed();
    let open_start = Instant::now();
    let reopened = Outbox::open(&full_path, PLENTY, "bench").unwrap();
    let opened = open_start.elapsed();
    let stored = reopened.statistics().unwrap().bytes;
    drop(reopened);
    let file = std::fs::metadata(&full_path).unwrap().len();
    println!(
        "(filled {FULL_BOUND} messages with ProcessCrash in {:.1} s; file {:.1} MB for {:.1} MB of \
         bodies ({:.2}x); reopening it, quick_check included, took {:.0} ms)",
        filled.as_secs_f64(),
        file as f64 / 1e6,
        stored as f64 / 1e6,
        file as f64 / stored as f64,
        opened.as_secs_f64() * 1e3,
    );

    type Bench = (&'static str, Box<dyn Fn() -> Run>);
    let at_bound_path = full_path.clone();
    let rows: Vec<Bench> = vec![
        (
            "push, PowerLoss (FULL)",
            Box::new(|| push_run(Durability::PowerLoss)),
        ),
        (
            "push, ProcessCrash (NORMAL)",
            Box::new(|| push_run(Durability::ProcessCrash)),
        ),
        ("append + sync_data (peer)", Box::new(append_run)),
        (
            "push + pending + ack, 1 cursor",
            Box::new(|| cycle_run(&["tcp"])),
        ),
        (
            "push + pending + ack, 3 cursors",
            Box::new(|| cycle_run(&["tcp", "websocket", "mqtt"])),
        ),
        ("push until a waiting link has it", Box::new(handoff_run)),
        (
            "push at the bound (100,000 stored)",
            Box::new(move || at_bound_run(&at_bound_path)),
        ),
    ];
    let mut results: Vec<Vec<(f64, f64, f64, f64)>> = vec![Vec::new(); rows.len()];
    for _ in 0..ROUNDS {
        for (k, (_, run)) in rows.iter().enumerate() {
            let r = run();
            results[k].push((
                r.per_second(),
                us(r.quantile(0.5)),
                us(r.quantile(0.99)),
                us(r.quantile(1.0)),
            ));
        }
    }
    println!(
        "{:<36} {:>10} {:>10} {:>10} {:>11} {:>12}",
        "", "ops/s", "p50 µs", "p99 µs", "worst µs", "÷ FULL ops/s"
    );
    let mut full_rate = 0.0;
    for (k, (name, _)) in rows.iter().enumerate() {
        let column =
            |f: fn(&(f64, f64, f64, f64)) -> f64| median(results[k].iter().map(f).collect());
        let rate = column(|r| r.0);
        if k == 0 {
            full_rate = rate;
        }
        println!(
            "{name:<36} {rate:>10.0} {:>10.0} {:>10.0} {:>11.0} {:>12.2}",
            column(|r| r.1),
            column(|r| r.2),
            column(|r| r.3),
            rate / full_rate
        );
    }
}
