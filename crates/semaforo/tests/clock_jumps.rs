//! The wall clock steps back an hour, then forward a day, while the daemon runs: the daemon's
//! wall clock is libfaketime's (preloaded, its offset read from a file the test rewrites; the
//! monotonic clock left alone), as if an operator or NTP had stepped the machine's clock.
//!
//! Each step is logged once; the orchestrator's messages and `events.csv` are stamped with the
//! new time; signal timing, on the monotonic clock, goes on as before: ticks at ten a second
//! of real time, no green shorter than the minimum green.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

mod common;
use common::daemon::{Daemon, LIGHT};
use semaforo_testkit::peers::Peer;

const WITHIN: Duration = Duration::from_secs(60);

/// libfaketime's multi-threaded library, where Debian's `faketime` package puts it.
fn libfaketime() -> Option<PathBuf> {
    let found = [
        "x86_64-linux-gnu",
        "aarch64-linux-gnu",
        "arm-linux-gnueabihf",
    ]
    .iter()
    .map(|arch| PathBuf::from(format!("/usr/lib/{arch}/faketime/libfaketimeMT.so.1")))
    .find(|p| p.is_file());
    if found.is_none() {
        semaforo_testkit::skip(
            "clock_jumps: libfaketime is not installed",
            "apt-get install faketime",
        );
    }
    found
}

/// The newest status message's timestamp, against the real time now: seconds ahead (negative:
/// behind).
fn stamp_offset(peer: &Peer, after: usize) -> Option<f64> {
    let received = peer.received();
    let last = received
        .iter()
        .skip(after)
        .rev()
        .find(|r| r.body["type"] == "status")?;
    let stamp = last.body["timestamp"].as_f64()?;
    let real = last
        .at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    Some(stamp - real)
}

/// Waits until a status message received after the first `after` is stamped `offset` seconds
/// from real time (within 5 s).
fn wait_for_stamps(peer: &Peer, after: usize, offset: f64) {
    let deadline = Instant::now() + WITHIN;
    loop {
        if let Some(seen) = stamp_offset(peer, after) {
            if (seen - offset).abs() < 5.0 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no status stamped {offset} s from real time; the last: {:?}",
            stamp_offset(peer, after)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ticks counted over two seconds of real time: ten a second whatever the wall clock does.
fn assert_ticking(daemon: &Daemon) {
    let (before, since) = (daemon.metric("semaforo_ticks_total"), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let rate = (daemon.metric("semaforo_ticks_total") - before) / since.elapsed().as_secs_f64();
    assert!((7.0..=11.0).contains(&rate), "{rate} ticks a second");
}

#[test]
fn the_wall_clock_stepping_back_and_forward_moves_the_stamps_not_the_signal_timing() {
    let Some(library) = libfaketime() else { return };
    let dir = tempfile::tempdir().unwrap();
    let offset_file = dir.path().join("faketime");
    std::fs::write(&offset_file, "+0\n").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = Peer::tcp(listener);
    let (library, offset) = (
        library.display().to_string(),
        offset_file.display().to_string(),
    );
    let port = peer.port.to_string();
    let outbox = dir.path().join("outbox.db").display().to_string();
    let mut env = LIGHT.to_vec();
    env.extend([
        ("LD_PRELOAD", library.as_str()),
        ("FAKETIME_TIMESTAMP_FILE", offset.as_str()),
        ("FAKETIME_NO_CACHE", "1"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ("ORCHESTRATOR_HOST", "127.0.0.1"),
        ("ORCHESTRATOR_PORT", port.as_str()),
        ("OUTBOX_PATH", outbox.as_str()),
        ("DECISION_INTERVAL", "0.5"),
        ("MIN_GREEN_TIME", "5"),
    ]);
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    wait_for_stamps(&peer, 0, 0.0);
    assert_ticking(&daemon);

    std::fs::write(&offset_file, "-1h\n").unwrap();
    daemon.wait_for_line("the wall clock stepped back by 1h", WITHIN);
    wait_for_stamps(&peer, peer.count(), -3600.0);
    assert_ticking(&daemon);

    // `+1d` is a day ahead of the real time: a step of a day and an hour from the last.
    std::fs::write(&offset_file, "+1d\n").unwrap();
    daemon.wait_for_line("the wall clock stepped forward by 1day 1h", WITHIN);
    wait_for_stamps(&peer, peer.count(), 86_400.0);
    assert_ticking(&daemon);
    // Two greens under the new time: the first ends on its own.
    let greens = daemon.lines_with(" green (");
    let deadline = Instant::now() + WITHIN;
    while daemon.lines_with(" green (") < greens + 2 {
        assert!(Instant::now() < deadline, "no green after the steps");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _) = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{}", daemon.stderr());
    assert_eq!(
        daemon.lines_with("the wall clock stepped"),
        2,
        "each step once"
    );

    // events.csv follows the wall clock: its last rows are a day ahead of today.
    let events = std::fs::read_to_string(dir.path().join("logs/events.csv")).unwrap();
    let tomorrow = chrono::Local::now() + chrono::Duration::days(1);
    let last = events.lines().last().unwrap();
    assert!(
        last.starts_with(&tomorrow.format("%Y-%m-%d").to_string()),
        "{last}"
    );
    // No green was cut short by the steps: every green but the last (the stop forces it off)
    // lasted its minimum (5 s), from its begin (1) to its end (gap-out 4, max-out 5 or
    // force-off 6), measured on rows of one wall-clock era.
    let rows: Vec<(f64, u32, u32)> = events
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let t =
                chrono::NaiveDateTime::parse_from_str(f.next()?, "%Y-%m-%d %H:%M:%S%.f").ok()?;
            let seconds = t.and_utc().timestamp_millis() as f64 / 1000.0;
            Some((seconds, f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect();
    let mut checked = 0;
    let last_begin = rows.iter().rposition(|r| r.1 == 1).unwrap();
    for (i, &(begin, code, group)) in rows.iter().enumerate().take(last_begin) {
        if code != 1 {
            continue;
        }
        let ended = rows[i..]
            .iter()
            .find(|&&(_, c, g)| matches!(c, 4..=6) && g == group);
        let Some(&(end, _, _)) = ended else {
            continue;
        };
        let lasted = end - begin;
        // A span across a step shows the step; those are left out (they are an hour or a
        // day off, not seconds).
        if lasted.abs() < 600.0 {
            assert!(lasted >= 4.9, "a green of {lasted} s: {events}");
            checked += 1;
        }
    }
    assert!(checked >= 1, "{events}");
}
