//! The orchestrator's framing (a 4-byte big-endian length, then the UTF-8 JSON body), as the
//! TCP link writes it. The original protocol has the orchestrator never answer, so semaforo
//! only writes frames: the target builds messages from arbitrary names, counts and times and
//! checks that every frame reads back, as an orchestrator reads it, to the same message.
//!
//! Input: NUL-separated fields (direction, intersection, phase, comma-separated green groups,
//! one count byte per group), with the first 8 bytes also giving the timestamp.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use semaforo::orchestrator::{frame, Message, Situation};
use serde_json::{json, Value};

/// Reads a frame as an orchestrator does: the length, then exactly that many bytes of JSON.
fn read_frame(bytes: &[u8]) -> Value {
    let (length, body) = bytes.split_at(4);
    let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]);
    assert_eq!(
        length as usize,
        body.len(),
        "the prefix gives the body's length"
    );
    serde_json::from_slice(body).expect("the body is JSON")
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\0');
    let mut field = || fields.next().unwrap_or_default().to_string();
    let direction = field();
    let intersection = field();
    let phase = Some(field()).filter(|p| !p.is_empty());
    let green: Vec<String> = field()
        .split(',')
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    let counts: Vec<(String, Option<u32>)> = green
        .iter()
        .zip(field().bytes())
        .map(|(group, n)| (group.clone(), (n != 0xff).then_some(u32::from(n))))
        .collect();
    let mut millis = [0u8; 8];
    for (to, from) in millis.iter_mut().zip(data) {
        *to = *from;
    }
    // Up to year 2286, and before 1970 too (a clock set wrong): sent as 0.
    let offset = Duration::from_millis(u64::from_le_bytes(millis) % 10_000_000_000_000);
    let timestamp = if data.first().is_some_and(|b| b & 1 == 1) {
        SystemTime::UNIX_EPOCH + offset
    } else {
        SystemTime::UNIX_EPOCH - offset
    };
    let situation = Situation {
        intersection: intersection.clone(),
        phase: phase.clone(),
        green: green.clone(),
        counts: counts.clone(),
    };
    let original_counts = (counts.len() == 2).then(|| [counts[0].1, counts[1].1]);
    let messages = [
        Message::Decision {
            direction: direction.clone(),
            timestamp,
            situation: situation.clone(),
        },
        Message::Status {
            original_counts,
            timestamp,
            situation,
        },
    ];
    let expected_counts: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(group, n)| (group.clone(), json!(n)))
        .collect();
    for message in &messages {
        let body = message.to_json().to_string();
        let read = read_frame(&frame(body.as_bytes()));
        assert_eq!(read["intersection"], json!(intersection));
        assert_eq!(read["phase"], json!(phase));
        assert_eq!(read["green"], json!(green));
        assert_eq!(read["counts"], Value::Object(expected_counts.clone()));
        let seconds = read["timestamp"].as_f64().expect("a numeric timestamp");
        assert!(seconds >= 0.0 && seconds.is_finite());
        match message {
            Message::Decision { .. } => {
                assert_eq!(read["type"], "decision");
                assert_eq!(read["direction"], json!(direction));
            }
            Message::Status { .. } => {
                assert_eq!(read["type"], "status");
                if let Some([a, b]) = original_counts {
                    assert_eq!((&read["count_a"], &read["count_b"]), (&json!(a), &json!(b)));
                }
            }
        }
    }
    // Any body, not only JSON, keeps its length in the prefix.
    let framed = frame(data);
    assert_eq!(&framed[4..], data);
    assert_eq!(framed[..4], (data.len() as u32).to_be_bytes());
});
