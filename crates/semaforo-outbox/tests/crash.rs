//! A real crash: a child process (this test binary, run again as `crash_child_pushes_until_killed`)
//! pushes as fast as it can, reporting each seq on stdout once `push` returned, and is killed
//! with SIGKILL (`Child::kill`) in the middle of the stream, so most likely inside a commit.
//! The outbox, reopened, must hold every message whose push returned, in order, without a
//! gap, and at most the one message that was committed but not yet reported. Three rounds on
//! one file, so seq must also continue across each crash; the last round runs with a small
//! bound, so the kill also lands inside pushes that drop messages.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use semaforo_outbox::{Limits, MessageKind, Outbox, Seq};

/// Set in the child's environment: the outbox path (and the bound) it pushes into.
const CHILD_PATH: &str = "SEMAFORO_OUTBOX_CRASH_CHILD";
const CHILD_MAX_MESSAGES: &str = "SEMAFORO_OUTBOX_CRASH_CHILD_MAX_MESSAGES";

const PLENTY: u64 = 1_000_000;

fn limits(max_messages: u64) -> Limits {
    Limits {
        max_messages,
        max_bytes: 1 << 30,
    }
}

/// Not a test of its own: the child's side of `sigkill_mid_stream_loses_no_push_that_returned`,
/// doing nothing unless that test started it.
#[test]
fn crash_child_pushes_until_killed() {
    let Ok(path) = std::env::var(CHILD_PATH) else {
        return;
    };
    let max_messages = std::env::var(CHILD_MAX_MESSAGES).unwrap().parse().unwrap();
    let outbox = Outbox::open(&path, limits(max_messages), "crash").unwrap();
    let mut out = std::io::stdout().lock();
    // On a line of its own: the harness has written "test crash_child… ... " without an end.
    writeln!(out, "\nopened {}", outbox.last_seq()).unwrap();
    out.flush().unwrap();
    for i in 0u64.. {
        let (kind, kind_name) = if i % 4 == 3 {
            (MessageKind::Decision, "decision")
        } else {
            (MessageKind::Status, "status")
        };
        let body = serde_json::json!({
            "type": kind_name,
            "i": i,
            "pad": "z".repeat((i % 7 * 40) as usize),
        });
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + i);
        let pushed = outbox.push(kind, &body, created).unwrap();
        // One write per line: a kill cannot leave half a line behind a whole one.
        writeln!(out, "pushed {}", pushed.seq).unwrap();
        out.flush().unwrap();
    }
}

/// Runs the child until it has reported `wait_for` pushes, kills it, and returns what it
/// reported: the `last_seq` it opened with and every seq whose push returned.
fn run_child_and_kill(path: &Path, max_messages: u64, wait_for: usize) -> (u64, Vec<u64>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_pushes_until_killed",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_PATH, path)
        .env(CHILD_MAX_MESSAGES, max_messages.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut opened = None;
    let mut pushed = Vec::new();
    let mut killed = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break; // the child is gone and the pipe is empty
        }
        let Some(whole) = line.strip_suffix('\n') else {
            continue; // cut by the kill
        };
        if let Some(seq) = whole.strip_prefix("pushed ") {
            pushed.push(seq.parse().unwrap());
        } else if let Some(seq) = whole.strip_prefix("opened ") {
            opened = Some(seq.parse().unwrap());
        }
        if pushed.len() == wait_for && !killed {
            // SIGKILL on unix: no destructor, no flush, no close, mid-push.
            child.kill().unwrap();
            killed = true;
            // Read on: what the child wrote before it died is still in the pipe.
        }
    }
    let status = child.wait().unwrap();
    assert!(
        killed,
        "the child ended by itself ({status}) after {pushed:?}"
    );
    (opened.expect("the child opened the outbox"), pushed)
}

#[test]
fn sigkill_mid_stream_loses_no_push_that_returned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    {
        // A cursor that never acknowledges: every message stays (or is counted as dropped).
        let outbox = Outbox::open(&path, limits(PLENTY), "crash").unwrap();
        outbox.register_cursor("tcp").unwrap();
    }
    let mut last_seq = 0u64;
    for (round, (max_messages, wait_for)) in [(PLENTY, 150), (PLENTY, 220), (50, 180)]
        .into_iter()
        .enumerate()
    {
        let (opened, pushed) = run_child_and_kill(&path, max_messages, wait_for);
        assert_eq!(
            opened, last_seq,
            "round {round}: the child saw the last seq"
        );
        let expected: Vec<u64> = (last_seq + 1..=last_seq + pushed.len() as u64).collect();
        assert_eq!(pushed, expected, "round {round}: seq continues, one by one");
        let reported = *pushed.last().unwrap();

        let outbox = Outbox::open(&path, limits(max_messages), "crash").unwrap();
        assert!(
            outbox.set_aside().is_none(),
            "round {round}: {:?}",
            outbox.set_aside()
        );
        last_seq = outbox.last_seq().get();
        assert!(
            last_seq == reported || last_seq == reported + 1,
            "round {round}: last seq {last_seq}, the child reported {reported} (at most one \
             more may have been committed before the kill)"
        );
        let tcp = outbox.register_cursor("tcp").unwrap();
        let stored = outbox.pending(&tcp, usize::MAX).unwrap();
        let stats = outbox.statistics().unwrap();
        // Nothing was acknowledged: every seq ever given out is stored or counted as dropped.
        assert_eq!(
            stats.messages + stats.dropped_total,
            last_seq,
            "round {round}"
        );
        assert_eq!(stats.messages, stored.len() as u64);
        for entry in &stored {
            let body: serde_json::Value = serde_json::from_str(&entry.body).unwrap();
            assert_eq!(body["seq"], entry.seq.get(), "round {round}");
        }
        let seqs: Vec<u64> = stored.iter().map(|e| e.seq.get()).collect();
        if max_messages == PLENTY {
            assert_eq!(stats.dropped_total, 0);
            assert_eq!(seqs, (1..=last_seq).collect::<Vec<_>>(), "round {round}");
        } else {
            assert!(stats.messages <= max_messages);
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "round {round}: in order"
            );
            assert_eq!(seqs.last(), Some(&last_seq), "the newest is never dropped");
        }
        assert!(outbox.last_seq() >= Seq::new(reported));
    }
}
