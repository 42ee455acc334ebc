//! The messages for the central orchestrator, in the original system's wire format: each
//! message a 4-byte big-endian length followed by UTF-8 JSON:
//!
//! - `{"type":"decision","direction":"A","timestamp":1764052981.3}` when a group's green
//!   begins;
//! - `{"type":"status","count_a":5,"count_b":3,"timestamp":…}` every `DECISION_INTERVAL`.
//!
//! Every message also carries `seq` (from the outbox), `intersection`, `phase`, `green` and
//! `counts`. [`crate::links`] stores them in the durable outbox and delivers them.

use std::time::SystemTime;

/// One message to the orchestrator. The original's fields (`type`, `direction`, `count_a`,
/// `count_b`, `timestamp`) keep their names and values; every message also carries the
/// [`Situation`], so an orchestrator can follow any intersection. `schema/messages.json` is the
/// JSON Schema of the bodies, and the tests check every kind against it.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// An approach's green began.
    Decision {
        direction: String,
        timestamp: SystemTime,
        situation: Situation,
    },
    /// Vehicles queued per approach, every `DECISION_INTERVAL`. `None` (JSON `null`) for an
    /// approach whose camera or detector is not working: the original sent 0 there, which
    /// an orchestrator cannot tell from an empty road.
    Status {
        /// The original's `count_a` and `count_b`, sent for an intersection whose groups are
        /// the original's A and B, and left out for any other.
        original_counts: Option<[Option<u32>; 2]>,
        timestamp: SystemTime,
        situation: Situation,
    },
}

/// What every message says of the intersection, beyond the original's fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Situation {
    /// `intersection.id` (the host name by default).
    pub intersection: String,
    /// The phase green or last green, by name; `None` before the first green.
    pub phase: Option<String>,
    /// The signal groups green now.
    pub green: Vec<String>,
    /// Vehicles queued per signal group; `None` where detection is not working.
    pub counts: Vec<(String, Option<u32>)>,
}

impl Situation {
    fn add_to(&self, body: &mut serde_json::Value) {
        let counts: serde_json::Map<String, serde_json::Value> = self
            .counts
            .iter()
            .map(|(group, n)| (group.clone(), serde_json::json!(n)))
            .collect();
        if let Some(map) = body.as_object_mut() {
            map.insert("intersection".into(), self.intersection.clone().into());
            map.insert("phase".into(), serde_json::json!(self.phase));
            map.insert("green".into(), serde_json::json!(self.green));
            map.insert("counts".into(), counts.into());
        }
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Message {
    /// The JSON body: the original's fields, and the situation's.
    pub fn to_json(&self) -> serde_json::Value {
        let (mut body, situation) = match self {
            Message::Decision {
                direction,
                timestamp,
                situation,
            } => (
                serde_json::json!({
                    "type": "decision",
                    "direction": direction,
                    "timestamp": unix_seconds(*timestamp),
                }),
                situation,
            ),
            Message::Status {
                original_counts,
                timestamp,
                situation,
            } => {
                let body = match original_counts {
                    Some([count_a, count_b]) => serde_json::json!({
                        "type": "status",
                        "count_a": count_a,
                        "count_b": count_b,
                        "timestamp": unix_seconds(*timestamp),
                    }),
                    None => serde_json::json!({
                        "type": "status",
                        "timestamp": unix_seconds(*timestamp),
                    }),
                };
                (body, situation)
            }
        };
        situation.add_to(&mut body);
        body
    }

    /// The bytes on the wire: length prefix and body in one buffer, written in one call.
    #[cfg(test)]
    pub fn frame(&self) -> Vec<u8> {
        frame(self.to_json().to_string().as_bytes())
    }

    /// What the outbox calls the message.
    pub fn kind(&self) -> semaforo_outbox::MessageKind {
        match self {
            Message::Decision { .. } => semaforo_outbox::MessageKind::Decision,
            Message::Status { .. } => semaforo_outbox::MessageKind::Status,
        }
    }

    /// When the message was made.
    pub fn timestamp(&self) -> SystemTime {
        match self {
            Message::Decision { timestamp, .. } | Message::Status { timestamp, .. } => *timestamp,
        }
    }
}

/// A body with its length prefix (4 bytes, big-endian), in one buffer written in one call.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn two_approach_situation() -> Situation {
        Situation {
            intersection: "main-and-5th".into(),
            phase: Some("A".into()),
            green: vec!["A".into()],
            counts: vec![("A".into(), Some(5)), ("B".into(), None)],
        }
    }

    #[test]
    fn messages_use_the_original_wire_format_and_say_where_they_are_from() {
        let frame = Message::Decision {
            direction: "A".into(),
            timestamp: at(1_764_052_981),
            situation: two_approach_situation(),
        }
        .frame();
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
        let json: serde_json::Value = serde_json::from_slice(&frame[4..]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type":"decision","direction":"A","timestamp":1764052981.0,
                "intersection":"main-and-5th","phase":"A","green":["A"],
                "counts":{"A":5,"B":null}})
        );
        let status = Message::Status {
            original_counts: Some([Some(5), Some(3)]),
            timestamp: at(1),
            situation: Situation::default(),
        }
        .to_json();
        assert_eq!(
            status,
            serde_json::json!({"type":"status","count_a":5,"count_b":3,"timestamp":1.0,
                "intersection":"","phase":null,"green":[],"counts":{}})
        );
    }

    #[test]
    fn every_message_kind_matches_the_published_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schema/messages.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let messages = [
            Message::Decision {
                direction: "A".into(),
                timestamp: at(1_764_052_981),
                situation: two_approach_situation(),
            },
            Message::Status {
                original_counts: Some([Some(5), None]),
                timestamp: at(1_764_052_982),
                situation: two_approach_situation(),
            },
            Message::Status {
                original_counts: Some([None, None]),
                timestamp: at(1_764_052_983),
                situation: Situation {
                    intersection: "start-up".into(),
                    ..Situation::default()
                },
            },
            // Any other intersection: no count_a and count_b, its groups' counts instead.
            Message::Status {
                original_counts: None,
                timestamp: at(1_764_052_984),
                situation: Situation {
                    intersection: "main-and-5th".into(),
                    phase: Some("ns-left".into()),
                    green: vec!["north-left".into(), "south-left".into()],
                    counts: vec![("north-left".into(), Some(2)), ("east".into(), None)],
                },
            },
        ];
        for message in &messages {
            let body = message.to_json();
            let problems: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| e.to_string())
                .collect();
            assert!(problems.is_empty(), "{body}: {problems:?}");
        }
        // The schema is not a formality: a message without its type is refused, and so is
        // a status of the original's intersection without the original's counts.
        let mut broken = messages[0].to_json();
        broken.as_object_mut().unwrap().remove("type");
        assert!(!validator.is_valid(&broken));
        let mut broken = messages[1].to_json();
        broken.as_object_mut().unwrap().remove("count_b");
        assert!(!validator.is_valid(&broken));
    }
}
