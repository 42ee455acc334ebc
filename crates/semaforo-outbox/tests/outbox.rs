//! The outbox's contract on real SQLite files: seq, cursors, the bound, and damaged files.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use semaforo_outbox::{Durability, Entry, Limits, MessageKind, Outbox, OutboxError, Seq, Unusable};
use serde_json::json;

const PLENTY: Limits = Limits {
    max_messages: 1_000_000,
    max_bytes: 1 << 30,
};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + secs)
}

fn status(n: u64) -> serde_json::Value {
    json!({"type": "status", "count_a": n, "count_b": 3, "timestamp": 1_764_000_000 + n})
}

fn decision(n: u64) -> serde_json::Value {
    json!({"type": "decision", "direction": if n.is_multiple_of(2) { "A" } else { "B" }, "timestamp": n})
}

fn outbox_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("outbox.db")
}

fn seqs(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq.get()).collect()
}

fn range(from: u64, to: u64) -> Vec<u64> {
    (from..=to).collect()
}

/// The files in `dir` whose name starts with `prefix`, sorted.
fn files_starting(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

#[test]
fn seq_continues_across_reopen_even_after_every_message_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
        assert!(outbox.set_aside().is_none());
        assert_eq!(outbox.last_seq(), Seq::ZERO);
        let tcp = outbox.register_cursor("tcp").unwrap();
        for n in 1..=5 {
            let pushed = outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
            assert_eq!(pushed.seq, Seq::new(n));
            assert_eq!(pushed.dropped_now, 0);
        }
        outbox.ack(&tcp, Seq::new(5)).unwrap();
        assert_eq!(outbox.statistics().unwrap().messages, 0);
    }
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    assert_eq!(outbox.last_seq(), Seq::new(5));
    let pushed = outbox
        .push(MessageKind::Decision, &decision(6), at(6))
        .unwrap();
    assert_eq!(pushed.seq, Seq::new(6), "a seq is never reused");
}

#[test]
fn a_cursor_gets_every_message_in_order_again_until_it_acknowledges_them() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(outbox_path(&dir), PLENTY, "x1").unwrap();
    let tcp = outbox.register_cursor("tcp").unwrap();
    for n in 1..=10u64 {
        let kind = if n.is_multiple_of(3) {
            MessageKind::Decision
        } else {
            MessageKind::Status
        };
        let body = if n.is_multiple_of(3) {
            decision(n)
        } else {
            status(n)
        };
        outbox.push(kind, &body, at(n)).unwrap();
    }
    let first = outbox.pending(&tcp, 4).unwrap();
    assert_eq!(seqs(&first), [1, 2, 3, 4]);
    assert_eq!(first[2].kind, MessageKind::Decision);
    assert_eq!(first[2].created, at(3));
    let body: serde_json::Value = serde_json::from_str(&first[2].body).unwrap();
    assert_eq!(body["seq"], 3);
    assert_eq!(body["type"], "decision");
    assert!(first[2].body.starts_with(r#"{"seq":3,"#));
    // Not acknowledged: the same again (at least once).
    assert_eq!(outbox.pending(&tcp, 4).unwrap(), first);
    // Sending ahead of the acknowledgements.
    assert_eq!(
        seqs(&outbox.pending_after(&tcp, Seq::new(4), 3).unwrap()),
        [5, 6, 7]
    );
    outbox.ack(&tcp, Seq::new(4)).unwrap();
    assert_eq!(outbox.acked(&tcp).unwrap(), Seq::new(4));
    assert_eq!(seqs(&outbox.pending(&tcp, 100).unwrap()), range(5, 10));
    // An old acknowledgement changes nothing.
    outbox.ack(&tcp, Seq::new(2)).unwrap();
    assert_eq!(outbox.acked(&tcp).unwrap(), Seq::new(4));
    assert_eq!(outbox.depth(&tcp).unwrap(), 6);
}

#[test]
fn acknowledgements_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
        let mqtt = outbox.register_cursor("mqtt").unwrap();
        for n in 1..=6 {
            outbox.push(MessageKind::Event, &status(n), at(n)).unwrap();
        }
        outbox.ack(&mqtt, Seq::new(4)).unwrap();
    }
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    assert_eq!(outbox.cursor_names(), ["mqtt"]);
    let mqtt = outbox.register_cursor("mqtt").unwrap();
    assert_eq!(outbox.acked(&mqtt).unwrap(), Seq::new(4));
    assert_eq!(seqs(&outbox.pending(&mqtt, 100).unwrap()), [5, 6]);
}

#[test]
fn a_message_is_deleted_only_once_every_cursor_has_acknowledged_it() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(outbox_path(&dir), PLENTY, "x1").unwrap();
    let tcp = outbox.register_cursor("tcp").unwrap();
    let mqtt = outbox.register_cursor("mqtt").unwrap();
    for n in 1..=6 {
        outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
    }
    outbox.ack(&tcp, Seq::new(6)).unwrap();
    assert_eq!(
        outbox.statistics().unwrap().messages,
        6,
        "mqtt has none yet"
    );
    assert_eq!(seqs(&outbox.pending(&mqtt, 100).unwrap()), range(1, 6));
    assert!(outbox.pending(&tcp, 100).unwrap().is_empty());
    outbox.ack(&mqtt, Seq::new(2)).unwrap();
    let stats = outbox.statistics().unwrap();
    assert_eq!(stats.messages, 4);
    assert_eq!(stats.oldest_created, Some(at(3)));
    assert_eq!(stats.oldest_age(at(13)), Some(Duration::from_secs(10)));
    let depths: Vec<(String, u64)> = stats
        .cursors
        .iter()
        .map(|c| (c.name.clone(), c.depth))
        .collect();
    assert_eq!(depths, [("mqtt".to_string(), 4), ("tcp".to_string(), 0)]);
    outbox.ack(&mqtt, Seq::new(6)).unwrap();
    let stats = outbox.statistics().unwrap();
    assert_eq!((stats.messages, stats.bytes), (0, 0));
    assert_eq!(stats.oldest_created, None);
}

#[test]
fn messages_are_kept_until_a_cursor_registers_and_a_late_cursor_starts_at_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(outbox_path(&dir), PLENTY, "x1").unwrap();
    for n in 1..=3 {
        outbox
            .push(MessageKind::Decision, &decision(n), at(n))
            .unwrap();
    }
    let tcp = outbox.register_cursor("tcp").unwrap();
    assert_eq!(seqs(&outbox.pending(&tcp, 100).unwrap()), [1, 2, 3]);
    outbox.ack(&tcp, Seq::new(2)).unwrap();
    assert_eq!(outbox.statistics().unwrap().messages, 1);
    // The WebSocket link is switched on later: it starts at the oldest message still stored.
    let ws = outbox.register_cursor("websocket").unwrap();
    assert_eq!(seqs(&outbox.pending(&ws, 100).unwrap()), [3]);
    outbox.ack(&tcp, Seq::new(3)).unwrap();
    outbox.ack(&ws, Seq::new(3)).unwrap();
    // Nothing stored: a new cursor starts after the last seq.
    let mqtt = outbox.register_cursor("mqtt").unwrap();
    assert_eq!(outbox.acked(&mqtt).unwrap(), Seq::new(3));
    outbox.push(MessageKind::Status, &status(4), at(4)).unwrap();
    assert_eq!(seqs(&outbox.pending(&mqtt, 100).unwrap()), [4]);
}

#[test]
fn removing_a_cursor_releases_the_messages_only_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(outbox_path(&dir), PLENTY, "x1").unwrap();
    let tcp = outbox.register_cursor("tcp").unwrap();
    let _ws = outbox.register_cursor("websocket").unwrap();
    for n in 1..=4 {
        outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
    }
    outbox.ack(&tcp, Seq::new(3)).unwrap();
    assert_eq!(outbox.statistics().unwrap().messages, 4);
    assert!(outbox.remove_cursor("websocket").unwrap());
    assert!(!outbox.remove_cursor("websocket").unwrap());
    assert_eq!(outbox.statistics().unwrap().messages, 1);
    assert_eq!(outbox.cursor_names(), ["tcp"]);
}

#[test]
fn the_message_bound_drops_statuses_first_and_counts_them_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    let limits = Limits {
        max_messages: 5,
        max_bytes: 1 << 20,
    };
    {
        let outbox = Outbox::open(&path, limits, "x1").unwrap();
        let tcp = outbox.register_cursor("tcp").unwrap();
        // seq 1 D, 2 S, 3 S, 4 D, 5 S: full.
        let plan = [
            MessageKind::Decision,
            MessageKind::Status,
            MessageKind::Status,
            MessageKind::Decision,
            MessageKind::Status,
        ];
        for (n, kind) in (1..).zip(plan) {
            let pushed = outbox.push(kind, &status(n), at(n)).unwrap();
            assert_eq!(pushed.dropped_now, 0);
        }
        // Each push now drops the oldest status: 2, then 3, then 5.
        for n in 6..=8 {
            let pushed = outbox
                .push(MessageKind::Decision, &decision(n), at(n))
                .unwrap();
            assert_eq!(pushed.dropped_now, 1, "push {n}");
        }
        assert_eq!(seqs(&outbox.pending(&tcp, 100).unwrap()), [1, 4, 6, 7, 8]);
        assert_eq!(outbox.dropped(), 3);
        let stats = outbox.statistics().unwrap();
        assert_eq!(stats.dropped_total, 3);
        assert_eq!(stats.cursors[0].skipped, 3, "tcp had not acknowledged them");
    }
    let outbox = Outbox::open(&path, limits, "x1").unwrap();
    assert_eq!(outbox.dropped(), 3, "the count is kept on disk");
    // No status left: the oldest message of any kind goes.
    let pushed = outbox.push(MessageKind::Event, &status(9), at(9)).unwrap();
    assert_eq!(pushed.dropped_now, 1);
    let tcp = outbox.register_cursor("tcp").unwrap();
    assert_eq!(seqs(&outbox.pending(&tcp, 100).unwrap()), [4, 6, 7, 8, 9]);
    assert_eq!(outbox.dropped(), 4);
    assert_eq!(outbox.statistics().unwrap().cursors[0].skipped, 4);
}

#[test]
fn a_cursor_that_had_already_acknowledged_a_dropped_message_does_not_count_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_messages: 3,
        max_bytes: 1 << 20,
    };
    let outbox = Outbox::open(outbox_path(&dir), limits, "x1").unwrap();
    let fast = outbox.register_cursor("fast").unwrap();
    let slow = outbox.register_cursor("slow").unwrap();
    for n in 1..=3 {
        outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
    }
    outbox.ack(&fast, Seq::new(3)).unwrap();
    outbox.push(MessageKind::Status, &status(4), at(4)).unwrap();
    let stats = outbox.statistics().unwrap();
    let skipped: Vec<u64> = stats.cursors.iter().map(|c| c.skipped).collect();
    assert_eq!(skipped, [0, 1], "fast, slow");
    assert_eq!(seqs(&outbox.pending(&slow, 100).unwrap()), [2, 3, 4]);
}

#[test]
fn the_byte_bound_counts_body_bytes_and_drops_the_oldest_statuses_first() {
    let dir = tempfile::tempdir().unwrap();
    let body = |n: u64| json!({"type": "status", "pad": "x".repeat(80), "n": n});
    let one =
        serde_json::to_string(&json!({"seq": 1, "type": "status", "pad": "x".repeat(80), "n": 1}))
            .unwrap()
            .len() as u64;
    let limits = Limits {
        max_messages: 1_000,
        max_bytes: 3 * one + one / 2,
    };
    let outbox = Outbox::open(outbox_path(&dir), limits, "x1").unwrap();
    let tcp = outbox.register_cursor("tcp").unwrap();
    outbox.push(MessageKind::Decision, &body(1), at(1)).unwrap();
    outbox.push(MessageKind::Status, &body(2), at(2)).unwrap();
    outbox.push(MessageKind::Status, &body(3), at(3)).unwrap();
    assert_eq!(outbox.statistics().unwrap().bytes, 3 * one);
    let pushed = outbox.push(MessageKind::Status, &body(4), at(4)).unwrap();
    assert_eq!(pushed.dropped_now, 1);
    assert_eq!(seqs(&outbox.pending(&tcp, 100).unwrap()), [1, 3, 4]);
    assert_eq!(outbox.statistics().unwrap().bytes, 3 * one);

    let too_big = json!({"type": "status", "pad": "x".repeat(4 * one as usize)});
    let err = outbox
        .push(MessageKind::Status, &too_big, at(5))
        .unwrap_err();
    assert!(matches!(err, OutboxError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("outbox.db"), "{err}");
    assert_eq!(
        outbox.last_seq(),
        Seq::new(4),
        "a refused push takes no seq"
    );
}

#[test]
fn a_smaller_bound_at_reopen_is_applied_at_the_next_push() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
        for n in 1..=10 {
            outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
        }
    }
    let limits = Limits {
        max_messages: 4,
        max_bytes: 1 << 20,
    };
    let outbox = Outbox::open(&path, limits, "x1").unwrap();
    let pushed = outbox
        .push(MessageKind::Decision, &decision(11), at(11))
        .unwrap();
    assert_eq!(pushed.dropped_now, 7);
    let tcp = outbox.register_cursor("tcp").unwrap();
    assert_eq!(seqs(&outbox.pending(&tcp, 100).unwrap()), [8, 9, 10, 11]);
}

#[test]
fn bad_calls_are_errors_that_name_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(outbox_path(&dir), PLENTY, "x1").unwrap();
    let tcp = outbox.register_cursor("tcp").unwrap();
    outbox.push(MessageKind::Status, &status(1), at(1)).unwrap();

    let err = outbox.ack(&tcp, Seq::new(2)).unwrap_err();
    assert!(matches!(err, OutboxError::AckAhead { .. }), "{err}");
    let err = outbox
        .push(MessageKind::Status, &json!([1, 2]), at(2))
        .unwrap_err();
    assert!(matches!(err, OutboxError::NotAnObject { .. }), "{err}");
    assert!(err.to_string().contains("an array"), "{err}");
    let err = outbox.register_cursor("").unwrap_err();
    assert!(matches!(err, OutboxError::EmptyCursorName { .. }), "{err}");
    outbox.remove_cursor("tcp").unwrap();
    let err = outbox.pending(&tcp, 10).unwrap_err();
    assert!(matches!(err, OutboxError::UnknownCursor { .. }), "{err}");
    for err in [err, outbox.ack(&tcp, Seq::new(1)).unwrap_err()] {
        assert!(err.to_string().contains("outbox.db"), "{err}");
    }
    let err = Outbox::open(
        dir.path().join("other.db"),
        Limits {
            max_messages: 0,
            max_bytes: 1,
        },
        "x1",
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("max_messages"), "{err}");
}

#[test]
fn a_waiting_reader_wakes_at_a_push_and_at_wake_waiting_readers() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(outbox_path(&dir), PLENTY, "x1").unwrap());
    let tcp = outbox.register_cursor("tcp").unwrap();
    let reader = {
        let (outbox, tcp) = (Arc::clone(&outbox), tcp.clone());
        std::thread::spawn(move || {
            outbox
                .wait_pending(&tcp, Seq::ZERO, 10, Duration::from_secs(600))
                .unwrap()
        })
    };
    outbox
        .push(MessageKind::Decision, &decision(1), at(1))
        .unwrap();
    assert_eq!(seqs(&reader.join().unwrap()), [1]);

    let reader = {
        let (outbox, tcp) = (Arc::clone(&outbox), tcp.clone());
        std::thread::spawn(move || {
            outbox
                .wait_pending(&tcp, Seq::new(1), 10, Duration::from_secs(600))
                .unwrap()
        })
    };
    // A wake counts for the waits already started: repeat it until the reader has started
    // waiting and so has ended.
    while !reader.is_finished() {
        outbox.wake_waiting_readers();
        std::thread::yield_now();
    }
    assert!(reader.join().unwrap().is_empty());
    // Nothing new and no time to wait: an empty answer at once.
    assert!(outbox
        .wait_pending(&tcp, Seq::new(1), 10, Duration::ZERO)
        .unwrap()
        .is_empty());
}

#[test]
fn the_outbox_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Outbox>();
}

#[test]
fn durability_process_crash_keeps_the_same_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open_with(&path, PLENTY, "x1", Durability::ProcessCrash).unwrap();
        assert_eq!(outbox.durability(), Durability::ProcessCrash);
        for n in 1..=3 {
            outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
        }
    }
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    let tcp = outbox.register_cursor("tcp").unwrap();
    assert_eq!(seqs(&outbox.pending(&tcp, 10).unwrap()), [1, 2, 3]);
}

// ---- opening damaged, foreign and busy files ----

#[test]
fn a_garbage_file_is_moved_aside_with_its_wal_and_a_fresh_outbox_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    std::fs::write(dir.path().join("outbox.db-wal"), b"not a wal either").unwrap();

    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    let moved = outbox
        .set_aside()
        .expect("the garbage was moved aside")
        .clone();
    assert!(
        matches!(moved.reason, Unusable::NotADatabase(_)),
        "{:?}",
        moved.reason
    );
    assert_eq!(moved.path, path);
    let moved_name = moved.moved_to.file_name().unwrap().to_str().unwrap();
    assert!(moved_name.starts_with("outbox.db.corrupt-"), "{moved_name}");
    assert_eq!(std::fs::read(&moved.moved_to).unwrap(), garbage);
    let moved_wal = PathBuf::from(format!("{}-wal", moved.moved_to.display()));
    assert_eq!(std::fs::read(moved_wal).unwrap(), b"not a wal either");
    let message = moved.to_string();
    assert!(
        message.contains("outbox.db") && message.contains(moved_name),
        "{message}"
    );

    // The fresh outbox works, and its seqs are past anything the old file could have had.
    let first = outbox
        .push(MessageKind::Decision, &decision(1), at(1))
        .unwrap();
    assert_eq!(first.seq, moved.first_seq);
    assert!(first.seq.get() > 1_700_000_000_000, "{}", first.seq);
    drop(outbox);
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    assert!(outbox.set_aside().is_none(), "the fresh file is healthy");
    let tcp = outbox.register_cursor("tcp").unwrap();
    assert_eq!(seqs(&outbox.pending(&tcp, 10).unwrap()), [first.seq.get()]);
}

#[test]
fn a_garbage_write_ahead_log_beside_a_healthy_outbox_is_ignored_as_sqlite_does() {
    // A torn log (a power cut while it was being written) fails its checksums: SQLite takes
    // the database as it was before it, which is what the outbox relies on.
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
        for n in 1..=3 {
            outbox
                .push(MessageKind::Decision, &decision(n), at(n))
                .unwrap();
        }
    }
    std::fs::write(dir.path().join("outbox.db-wal"), vec![0x5a; 10_000]).unwrap();
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    assert!(outbox.set_aside().is_none(), "{:?}", outbox.set_aside());
    let tcp = outbox.register_cursor("tcp").unwrap();
    assert_eq!(seqs(&outbox.pending(&tcp, 10).unwrap()), [1, 2, 3]);
    assert_eq!(
        outbox
            .push(MessageKind::Status, &status(4), at(4))
            .unwrap()
            .seq,
        Seq::new(4)
    );
}

#[test]
fn a_truncated_outbox_is_moved_aside_and_the_fresh_one_continues_past_its_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
        let body = json!({"type": "status", "pad": "y".repeat(300)});
        for n in 1..=2_000 {
            outbox.push(MessageKind::Status, &body, at(n)).unwrap();
        }
    }
    assert!(!dir.path().join("outbox.db-wal").exists(), "closed cleanly");
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 500_000, "{len}");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);

    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    let moved = outbox
        .set_aside()
        .expect("the truncated file was moved aside");
    assert!(
        matches!(moved.reason, Unusable::Damaged(_)),
        "{:?}",
        moved.reason
    );
    assert_eq!(std::fs::metadata(&moved.moved_to).unwrap().len(), len / 2);
    let pushed = outbox.push(MessageKind::Status, &status(1), at(1)).unwrap();
    assert!(pushed.seq.get() > 2_000, "{}", pushed.seq);
}

#[test]
fn another_programs_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE frames (id INTEGER PRIMARY KEY, jpeg BLOB); INSERT INTO frames (jpeg) VALUES (x'ffd8');")
        .unwrap();
    drop(conn);
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    let moved = outbox.set_aside().expect("moved aside");
    assert!(
        matches!(moved.reason, Unusable::NotAnOutbox(_)),
        "{:?}",
        moved.reason
    );
    assert!(
        moved.to_string().contains("not a semaforo outbox"),
        "{moved}"
    );
    let theirs = rusqlite::Connection::open(&moved.moved_to).unwrap();
    let rows: i64 = theirs
        .query_row("SELECT count(*) FROM frames", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "their data is untouched under the new name");
    outbox.push(MessageKind::Status, &status(1), at(1)).unwrap();
}

#[test]
fn an_outbox_of_another_schema_version_is_moved_aside_and_seq_moves_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
        for n in 1..=3 {
            outbox.push(MessageKind::Status, &status(n), at(n)).unwrap();
        }
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    let moved = outbox.set_aside().expect("moved aside");
    assert!(
        matches!(&moved.reason, Unusable::NotAnOutbox(d) if d.contains("schema version 2")),
        "{:?}",
        moved.reason
    );
    assert!(moved.first_seq > Seq::new(3));
}

#[test]
fn an_outbox_of_another_intersection_is_moved_aside_and_seq_continues_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    {
        let outbox = Outbox::open(&path, PLENTY, "old-name").unwrap();
        for n in 1..=3 {
            outbox
                .push(MessageKind::Decision, &decision(n), at(n))
                .unwrap();
        }
    }
    let outbox = Outbox::open(&path, PLENTY, "new-name").unwrap();
    let moved = outbox.set_aside().expect("moved aside");
    assert_eq!(
        moved.reason,
        Unusable::OtherIntersection {
            found: "old-name".into()
        }
    );
    assert_eq!(moved.first_seq, Seq::new(4));
    assert_eq!(outbox.intersection(), "new-name");
    let pushed = outbox.push(MessageKind::Status, &status(4), at(4)).unwrap();
    assert_eq!(pushed.seq, Seq::new(4));
    let moved_files = files_starting(dir.path(), "outbox.db.corrupt-");
    let name = moved.moved_to.file_name().unwrap().to_str().unwrap();
    assert_eq!(moved_files, [name.to_string(), format!("{name}-wal")]);
}

#[test]
fn an_empty_file_becomes_an_outbox_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    std::fs::write(&path, b"").unwrap();
    let outbox = Outbox::open(&path, PLENTY, "x1").unwrap();
    assert!(outbox.set_aside().is_none());
    assert_eq!(
        outbox
            .push(MessageKind::Status, &status(1), at(1))
            .unwrap()
            .seq,
        Seq::new(1)
    );
    assert!(files_starting(dir.path(), "outbox.db.corrupt").is_empty());
}

#[test]
fn a_second_open_of_a_live_outbox_is_refused_and_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = outbox_path(&dir);
    let first = Outbox::open(&path, PLENTY, "x1").unwrap();
    first.push(MessageKind::Status, &status(1), at(1)).unwrap();
    let err = Outbox::open(&path, PLENTY, "x1").err().expect("refused");
    assert!(matches!(err, OutboxError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("outbox.db"), "{err}");
    assert!(files_starting(dir.path(), "outbox.db.corrupt").is_empty());
    // The first one is unharmed.
    assert_eq!(
        first
            .push(MessageKind::Status, &status(2), at(2))
            .unwrap()
            .seq,
        Seq::new(2)
    );
    drop(first);
    assert!(Outbox::open(&path, PLENTY, "x1").is_ok());
}

#[test]
fn the_directory_is_created_and_an_impossible_one_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("var/lib/semaforo/outbox.db");
    Outbox::open(&nested, PLENTY, "x1").unwrap();
    assert!(nested.exists());

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let err = Outbox::open(file.join("outbox.db"), PLENTY, "x1")
        .err()
        .expect("a directory under a file cannot exist");
    assert!(matches!(err, OutboxError::CreateDir { .. }), "{err}");
    assert!(err.to_string().contains("a-file"), "{err}");

    // A directory where the file should be is a wrong path, not damage: it is not moved.
    let err = Outbox::open(dir.path().join("var"), PLENTY, "x1")
        .err()
        .expect("a directory is not an outbox");
    assert!(matches!(err, OutboxError::IsADirectory { .. }), "{err}");
    assert!(dir.path().join("var/lib/semaforo/outbox.db").exists());
}
