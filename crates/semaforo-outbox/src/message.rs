//! What the outbox holds: messages with their `seq`, kind, time of creation and JSON body.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A message's sequence number: assigned by [`Outbox::push`](crate::Outbox::push), increasing
/// by one per message, continuing across restarts and never reused, so an orchestrator that
/// deduplicates by `seq` drops only true duplicates. The first message of a new outbox is 1;
/// `Seq::new(0)` comes before every message.
///
/// Seqs stay far below 2^53, so they survive JSON readers that hold numbers as doubles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(u64);

impl Seq {
    /// Before every message.
    pub const ZERO: Seq = Seq(0);

    pub const fn new(n: u64) -> Seq {
        Seq(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a message reports. The kind decides what the bound drops first: statuses are
/// repeated every `DECISION_INTERVAL` and the next one supersedes the last, while a decision
/// or an event happened once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// An approach's green began (`{"type":"decision",…}`).
    Decision,
    /// Counts per approach, periodic (`{"type":"status",…}`); dropped first when full.
    Status,
    /// A high-resolution signal event (MQTT's `…/events`).
    Event,
}

impl MessageKind {
    pub const ALL: [MessageKind; 3] = [
        MessageKind::Decision,
        MessageKind::Status,
        MessageKind::Event,
    ];

    /// The name stored in the file and used in messages' `type`.
    pub const fn name(self) -> &'static str {
        match self {
            MessageKind::Decision => "decision",
            MessageKind::Status => "status",
            MessageKind::Event => "event",
        }
    }

    pub fn from_name(name: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One message as a transport reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: Seq,
    pub kind: MessageKind,
    /// When the message was made (the `created` given to `push`), not when it was stored.
    pub created: SystemTime,
    /// The JSON object given to `push` with `"seq"` as its first member: what goes on the
    /// wire, as it is.
    pub body: String,
}

/// What [`Outbox::push`](crate::Outbox::push) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// The new message's sequence number.
    pub seq: Seq,
    /// Messages this push dropped to stay within the bound (statuses first); the running total
    /// is [`Outbox::dropped`](crate::Outbox::dropped).
    pub dropped_now: u64,
}

/// A body serialized with `"seq"` first, then the caller's members (any `seq` of theirs is
/// replaced), without copying the map.
pub(crate) struct WithSeq<'a> {
    pub seq: Seq,
    pub body: &'a serde_json::Map<String, serde_json::Value>,
}

impl Serialize for WithSeq<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let others = self.body.iter().filter(|(k, _)| k.as_str() != "seq");
        let mut map = serializer.serialize_map(Some(1 + others.clone().count()))?;
        map.serialize_entry("seq", &self.seq.0)?;
        for (k, v) in others {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The name of a JSON value's type, for errors.
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Time as stored: signed nanoseconds since the Unix epoch (good until 2262).
pub(crate) fn to_unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

pub(crate) fn from_unix_nanos(ns: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_goes_first_and_replaces_the_callers_own() {
        let body = serde_json::json!({"type": "status", "seq": 99, "count_a": 5});
        let text = serde_json::to_string(&WithSeq {
            seq: Seq(7),
            body: body.as_object().unwrap(),
        })
        .unwrap();
        assert!(text.starts_with(r#"{"seq":7,"#), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["seq"], 7);
        assert_eq!(back["count_a"], 5);
        assert_eq!(back.as_object().unwrap().len(), 3);
    }

    #[test]
    fn times_round_trip_to_the_nanosecond_on_both_sides_of_the_epoch() {
        for t in [
            SystemTime::UNIX_EPOCH + Duration::new(1_764_052_981, 300_000_123),
            SystemTime::UNIX_EPOCH - Duration::new(5, 7),
            SystemTime::UNIX_EPOCH,
        ] {
            assert_eq!(from_unix_nanos(to_unix_nanos(t)), t);
        }
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::from_name(k.name()), Some(k));
        }
        assert_eq!(MessageKind::from_name("heartbeat"), None);
    }
}
