//! The link to the central orchestrator, in the original system's wire format: TCP, each
//! message a 4-byte big-endian length followed by UTF-8 JSON:
//!
//! - `{"type":"decision","direction":"A","timestamp":1764052981.3}` when an approach's green
//!   begins;
//! - `{"type":"status","count_a":5,"count_b":3,"timestamp":…}` every `DECISION_INTERVAL`.
//!
//! Unlike the original (which dropped every message sent while the peer was away, wrote each
//! message in two `send` calls and reconnected every 5 s without backoff), messages wait in a
//! bounded queue while the orchestrator is unreachable and go out in order once it is back; the
//! link reconnects with capped exponential backoff; each message is written whole. When the
//! queue is full the oldest message is dropped and counted. The queue lives in memory for now:
//! the durable on-disk outbox comes with the daemon issue.
//!
//! Nothing here blocks the caller: [`OrchestratorLink::send`] only queues; one thread owns the
//! socket.

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

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
    pub fn frame(&self) -> Vec<u8> {
        let body = self.to_json().to_string().into_bytes();
        let mut out = Vec::with_capacity(4 + body.len());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }
}

/// How the link behaves.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub host: String,
    pub port: u16,
    /// Connect and write timeout (`NETWORK_TIMEOUT`).
    pub timeout: Duration,
    /// Messages kept while the orchestrator is away; beyond it the oldest is dropped.
    pub queue_capacity: usize,
    /// First wait after a failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

#[derive(Debug, Default)]
struct State {
    /// Frames with their sequence number, oldest first.
    queue: VecDeque<(u64, Vec<u8>)>,
    next_id: u64,
    dropped: u64,
    sent: u64,
    connected: bool,
    stopping: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Counters for the status line and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatistics {
    pub queued: usize,
    pub sent: u64,
    pub dropped: u64,
    pub connected: bool,
}

/// A running link; dropping it stops the thread after one last attempt to deliver what is
/// queued (bounded by the timeout).
pub struct OrchestratorLink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    capacity: usize,
}

impl OrchestratorLink {
    pub fn start(settings: LinkSettings) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            wake: Condvar::new(),
        });
        let capacity = settings.queue_capacity.max(1);
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("orchestrator".into())
                .spawn(move || deliver(&shared, &settings))?
        };
        Ok(OrchestratorLink {
            shared,
            thread: Some(thread),
            capacity,
        })
    }

    /// Queues a message; never blocks on the network.
    pub fn send(&self, message: &Message) {
        let frame = message.frame();
        let mut state = self.shared.lock();
        if state.queue.len() >= self.capacity {
            state.queue.pop_front();
            state.dropped += 1;
            if state.dropped.is_power_of_two() {
                tracing::warn!(
                    "orchestrator queue full ({} messages): {} oldest dropped so far",
                    self.capacity,
                    state.dropped
                );
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        state.queue.push_back((id, frame));
        self.shared.wake.notify_all();
    }

    pub fn statistics(&self) -> LinkStatistics {
        let s = self.shared.lock();
        LinkStatistics {
            queued: s.queue.len(),
            sent: s.sent,
            dropped: s.dropped,
            connected: s.connected,
        }
    }
}

impl Drop for OrchestratorLink {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let s = self.shared.lock();
        if !s.queue.is_empty() || s.dropped > 0 {
            tracing::warn!(
                "orchestrator link closed with {} message(s) undelivered and {} dropped",
                s.queue.len(),
                s.dropped
            );
        }
    }
}

fn connect(settings: &LinkSettings) -> std::io::Result<TcpStream> {
    let target = (settings.host.as_str(), settings.port);
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address");
    for addr in target.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, settings.timeout) {
            Ok(stream) => {
                stream.set_write_timeout(Some(settings.timeout))?;
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The link's thread: connect, write queued frames in order, back off on failure.
fn deliver(shared: &Shared, settings: &LinkSettings) {
    let peer = format!("{}:{}", settings.host, settings.port);
    let mut stream: Option<TcpStream> = None;
    let mut backoff = settings.min_backoff;
    let mut failures = 0u32;
    loop {
        {
            let mut state = shared.lock();
            while state.queue.is_empty() && !state.stopping {
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if state.queue.is_empty() {
                return; // stopping with nothing left
            }
        }
        // A peer that closed its side is noticed before writing to it, not after: on a socket
        // the peer has closed, the first write still "succeeds" into the kernel and is lost.
        if stream.as_ref().is_some_and(peer_closed) {
            tracing::warn!("orchestrator {peer}: the peer closed the connection; reconnecting");
            stream = None;
            shared.lock().connected = false;
        }
        if stream.is_none() {
            match connect(settings) {
                Ok(s) => {
                    tracing::info!("orchestrator {peer}: connected");
                    stream = Some(s);
                    backoff = settings.min_backoff;
                    failures = 0;
                    shared.lock().connected = true;
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(
                            "orchestrator {peer}: cannot connect ({e}); retrying in {backoff:?} \
                             ({failures} attempts so far, messages wait in the queue)"
                        );
                    }
                    if wait_or_stop(shared, backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(settings.max_backoff);
                    continue;
                }
            }
        }
        let Some(s) = stream.as_mut() else { continue };
        // Take the front only now that the connection is up: while connecting, the queue may
        // have dropped what was at its front then.
        let Some((id, frame)) = shared.lock().queue.front().cloned() else {
            continue;
        };
        match s.write_all(&frame) {
            Ok(()) => {
                let mut state = shared.lock();
                // If the queue overflowed during the write, the front is another message.
                if state.queue.front().is_some_and(|(front, _)| *front == id) {
                    state.queue.pop_front();
                }
                state.sent += 1;
            }
            Err(e) => {
                tracing::warn!("orchestrator {peer}: connection lost ({e}); will reconnect");
                stream = None;
                shared.lock().connected = false;
                if wait_or_stop(shared, backoff) {
                    return;
                }
            }
        }
    }
}

/// Whether the peer has closed the connection (or it failed), without blocking. The original
/// protocol has the orchestrator never write, so readable data is unexpected and ignored.
fn peer_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut byte = [0u8; 1];
    let closed = match stream.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    closed || stream.set_nonblocking(false).is_err()
}

/// Waits `d` unless the link is stopping; true if it is.
fn wait_or_stop(shared: &Shared, d: Duration) -> bool {
    let state = shared.lock();
    let (state, _) = shared
        .wake
        .wait_timeout_while(state, d, |s| !s.stopping)
        .unwrap_or_else(|p| p.into_inner());
    state.stopping
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn settings(port: u16) -> LinkSettings {
        LinkSettings {
            host: "127.0.0.1".into(),
            port,
            timeout: Duration::from_secs(2),
            queue_capacity: 100,
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        }
    }

    /// A local port held closed: bound, not listening, so the link's connections are refused
    /// and no other test's server can be given the port until [`listen`] opens it.
    fn closed_port() -> (socket2::Socket, u16) {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        // As std's listeners do, so that the port can be bound again after it is closed.
        socket.set_reuse_address(true).unwrap();
        let any: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
        socket.bind(&SockAddr::from(any)).unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        (socket, port)
    }

    /// The peer starts listening on a port [`closed_port`] held.
    fn listen(socket: socket2::Socket) -> TcpListener {
        socket.listen(16).unwrap();
        socket.into()
    }

    /// Reads one framed message from the peer side.
    fn read_message(stream: &mut TcpStream) -> serde_json::Value {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

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

    #[test]
    fn a_real_peer_receives_messages_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = OrchestratorLink::start(settings(port)).unwrap();
        link.send(&Message::Decision {
            direction: "A".into(),
            timestamp: at(10),
            situation: Situation::default(),
        });
        link.send(&Message::Status {
            original_counts: Some([Some(4), None]),
            timestamp: at(11),
            situation: Situation::default(),
        });
        let (mut peer, _) = listener.accept().unwrap();
        assert_eq!(read_message(&mut peer)["type"], "decision");
        let status = read_message(&mut peer);
        assert_eq!(
            (status["count_a"].as_u64(), status["count_b"].is_null()),
            (Some(4), true)
        );
        drop(link);
    }

    #[test]
    fn messages_wait_while_the_peer_is_away_and_arrive_in_order_after_it_returns() {
        // Hold a port closed while messages are queued, then listen on it.
        let (socket, port) = closed_port();
        let link = OrchestratorLink::start(settings(port)).unwrap();
        for i in 0..5 {
            link.send(&Message::Decision {
                direction: format!("A{i}"),
                timestamp: at(i),
                situation: Situation::default(),
            });
        }
        let listener = listen(socket);
        let (mut peer, _) = listener.accept().unwrap();
        let directions: Vec<_> = (0..5)
            .map(|_| read_message(&mut peer)["direction"].clone())
            .collect();
        assert_eq!(directions, ["A0", "A1", "A2", "A3", "A4"]);
        // The peer goes away and comes back: the link reconnects and goes on.
        drop(peer);
        drop(listener);
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        link.send(&Message::Decision {
            direction: "B".into(),
            timestamp: at(9),
            situation: Situation::default(),
        });
        link.send(&Message::Decision {
            direction: "A".into(),
            timestamp: at(10),
            situation: Situation::default(),
        });
        let (mut peer, _) = listener.accept().unwrap();
        assert_eq!(read_message(&mut peer)["direction"], "B");
        assert_eq!(read_message(&mut peer)["direction"], "A");
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let (socket, port) = closed_port();
        let link = OrchestratorLink::start(LinkSettings {
            queue_capacity: 3,
            ..settings(port)
        })
        .unwrap();
        for i in 0..10 {
            link.send(&Message::Decision {
                direction: format!("{i}"),
                timestamp: at(i),
                situation: Situation::default(),
            });
        }
        let stats = link.statistics();
        assert_eq!((stats.queued, stats.dropped), (3, 7));
        let listener = listen(socket);
        let (mut peer, _) = listener.accept().unwrap();
        let kept: Vec<_> = (0..3)
            .map(|_| read_message(&mut peer)["direction"].clone())
            .collect();
        assert_eq!(kept, ["7", "8", "9"], "the newest messages are kept");
    }
}
