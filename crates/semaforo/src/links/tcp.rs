//! The orchestrator over TCP, in the original's framing (a 4-byte big-endian length, then the
//! UTF-8 JSON body), plus a heartbeat `{"type":"heartbeat"}` every `orchestrator.heartbeat`.
//!
//! The original protocol has the orchestrator never answer, so a written message is only known
//! to be delivered once the connection has stayed alive after it: at each heartbeat, when the
//! peer has not closed the connection and the heartbeat is written whole, every message
//! written before it is acknowledged in the outbox. A peer that went away is noticed before the
//! next write (a closed socket still takes one write into the kernel and loses it); what it
//! had not acknowledged goes out again after the reconnect, in order, so a peer may see a
//! message twice (it deduplicates by `seq`) and never misses one.

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use semaforo_outbox::{Cursor, Seq};

use super::backoff::{keep_connected, Backoff};
use super::LinkContext;
use crate::config::Config;
use crate::orchestrator::frame;

/// Messages written per outbox read.
const BATCH: usize = 64;

#[derive(Debug, Clone)]
pub struct TcpSettings {
    pub host: String,
    pub port: u16,
    /// Connect and write timeout.
    pub timeout: Duration,
    pub heartbeat: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl TcpSettings {
    pub fn from_config(config: &Config, host: &str) -> Self {
        let o = &config.orchestrator;
        TcpSettings {
            host: host.to_string(),
            port: o.port,
            timeout: o.timeout,
            heartbeat: o.heartbeat,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

fn connect(settings: &TcpSettings) -> std::io::Result<TcpStream> {
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

/// Whether the peer has closed the connection (or it failed), without blocking. The
/// orchestrator never writes, so readable data is unexpected and ignored.
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

/// One connection's progress through the outbox.
struct Connection {
    stream: TcpStream,
    /// The last message written on this connection.
    written: Seq,
    next_heartbeat: Instant,
}

/// The link's thread: until a stop, connect, write what the outbox holds for it, heartbeat,
/// acknowledge, and reconnect with backoff when the peer goes away.
pub fn run(ctx: &LinkContext, settings: &TcpSettings) {
    let peer = format!("{}:{}", settings.host, settings.port);
    let cursor = match ctx.outbox.register_cursor("tcp") {
        Ok(cursor) => cursor,
        Err(e) => {
            tracing::error!("orchestrator {peer}: {e}; no TCP link");
            return;
        }
    };
    let heartbeat = frame(br#"{"type":"heartbeat"}"#);
    keep_connected(
        ctx,
        &cursor,
        (&peer, "connected"),
        Backoff::new(settings.min_backoff, settings.max_backoff),
        || {
            let stream = connect(settings).map_err(|e| e.to_string())?;
            Ok(Connection {
                stream,
                written: acked(ctx, &cursor),
                next_heartbeat: Instant::now() + settings.heartbeat,
            })
        },
        |conn| exchange(ctx, &cursor, conn, &heartbeat, settings.heartbeat),
    );
}

fn acked(ctx: &LinkContext, cursor: &Cursor) -> Seq {
    ctx.outbox.acked(cursor).unwrap_or(Seq::ZERO)
}

/// Writes what is pending (waiting for it up to the next heartbeat), then heartbeats when due.
fn exchange(
    ctx: &LinkContext,
    cursor: &Cursor,
    conn: &mut Connection,
    heartbeat: &[u8],
    interval: Duration,
) -> Result<(), String> {
    let wait = conn
        .next_heartbeat
        .saturating_duration_since(Instant::now());
    let entries = ctx
        .outbox
        .wait_pending(cursor, conn.written, BATCH, wait)
        .map_err(|e| format!("cannot read the outbox: {e}"))?;
    if !entries.is_empty() {
        // Noticed before writing: on a socket the peer closed, the first write still
        // "succeeds" into the kernel and is lost.
        if peer_closed(&conn.stream) {
            return Err("the peer closed the connection".into());
        }
        for entry in entries {
            conn.stream
                .write_all(&frame(entry.body.as_bytes()))
                .map_err(|e| format!("connection lost ({e})"))?;
            conn.written = entry.seq;
        }
    }
    if Instant::now() >= conn.next_heartbeat {
        if peer_closed(&conn.stream) {
            return Err("the peer closed the connection".into());
        }
        conn.stream
            .write_all(heartbeat)
            .map_err(|e| format!("connection lost at a heartbeat ({e})"))?;
        conn.next_heartbeat = Instant::now() + interval;
        let before = acked(ctx, cursor);
        if conn.written > before {
            ctx.outbox
                .ack(cursor, conn.written)
                .map_err(|e| format!("cannot acknowledge in the outbox: {e}"))?;
            let n = conn.written.get() - before.get();
            ctx.update(|s| s.delivered += n);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use semaforo_outbox::{Limits, MessageKind, Outbox};
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;

    fn settings(port: u16) -> TcpSettings {
        TcpSettings {
            host: "127.0.0.1".into(),
            port,
            timeout: Duration::from_secs(2),
            heartbeat: Duration::from_millis(20),
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        }
    }

    /// Reads one framed message from the peer side.
    fn read_message(stream: &mut TcpStream) -> serde_json::Value {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// The next message that is not a heartbeat.
    fn next_message(stream: &mut TcpStream) -> serde_json::Value {
        loop {
            let m = read_message(stream);
            if m["type"] != "heartbeat" {
                return m;
            }
        }
    }

    fn push(outbox: &Outbox, direction: &str) {
        let body = serde_json::json!({"type": "decision", "direction": direction});
        outbox
            .push(MessageKind::Decision, &body, SystemTime::now())
            .unwrap();
    }

    struct Running {
        ctx: Arc<LinkContext>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.ctx.stop.request("test over");
            self.ctx.outbox.wake_waiting_readers();
            if let Some(t) = self.thread.take() {
                t.join().unwrap();
            }
        }
    }

    fn start(outbox: Arc<Outbox>, port: u16) -> Running {
        let ctx = Arc::new(LinkContext {
            outbox,
            state: Arc::new(Mutex::new(super::super::LinkState::default())),
            stop: semaforo_base::Shutdown::new(),
            refreshed: Mutex::new(None),
        });
        let c = ctx.clone();
        let thread = std::thread::spawn(move || run(&c, &settings(port)));
        Running {
            ctx,
            thread: Some(thread),
        }
    }

    #[test]
    fn messages_wait_while_the_peer_is_away_and_arrive_in_order_with_seq_after_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            Arc::new(Outbox::open(dir.path().join("o.db"), Limits::default(), "x").unwrap());
        // A port held closed while messages are stored, then listened on.
        let (socket, port) = semaforo_testkit::refusing_port();
        let link = start(outbox.clone(), port);
        for i in 0..5 {
            push(&outbox, &format!("A{i}"));
        }
        socket.listen(16).unwrap();
        let listener: TcpListener = socket.into();
        let (mut peer, _) = listener.accept().unwrap();
        let got: Vec<_> = (0..5).map(|_| next_message(&mut peer)).collect();
        let seqs: Vec<_> = got.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(got[4]["direction"], "A4");
        // Heartbeats on a live connection acknowledge them.
        let tcp = outbox.register_cursor("tcp").unwrap();
        while outbox.depth(&tcp).unwrap() > 0 {
            read_message(&mut peer);
        }
        // The peer drops the connection: the link notices, reconnects and goes on.
        drop(peer);
        push(&outbox, "B");
        let (mut peer, _) = listener.accept().unwrap();
        let m = next_message(&mut peer);
        assert_eq!(
            (m["seq"].as_u64(), m["direction"].as_str()),
            (Some(6), Some("B"))
        );
        drop(link);
    }
}
