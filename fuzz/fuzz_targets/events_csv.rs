//! The hi-res event CSV (`events.csv`, ATSPM's format): each line parsed as a `HiResRecord`;
//! a record that parses writes back to a line that parses to the same record, and its time
//! goes to signal time and back unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use semaforo_signal::{HiResRecord, LogEpoch};

/// 2026-12-06 00:00:00 UTC, and the Unix epoch itself.
const EPOCHS: [LogEpoch; 2] = [
    LogEpoch::from_unix_millis(1_796_515_200_000),
    LogEpoch::from_unix_millis(0),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let record = match line.parse::<HiResRecord>() {
            Ok(record) => record,
            Err(e) => {
                let _ = e.to_string();
                continue;
            }
        };
        let written = record.to_string();
        assert_eq!(
            written.parse::<HiResRecord>(),
            Ok(record),
            "{line:?} -> {written:?}"
        );
        for epoch in EPOCHS {
            if let Some(event) = epoch.event(&record) {
                assert_eq!(epoch.record(&event), record, "{line:?} through signal time");
            }
        }
    }
});
