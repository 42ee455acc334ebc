//! The orchestrator over WebSocket (`orchestrator.url`, `ws://` or `wss://`): one JSON message
//! per text frame, the same bodies as the TCP link's.
//!
//! Delivery is proven by WebSocket's own ping: every `orchestrator.heartbeat` the link sends a
//! ping carrying the last seq it wrote; the peer's pong (which every WebSocket peer sends, and
//! only after reading everything before the ping) acknowledges every message up to that seq
//! in the outbox. A connection that fails sends again, after the reconnect, what was not
//! acknowledged.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use semaforo_outbox::{Cursor, Seq};
use tungstenite::protocol::WebSocket;
use tungstenite::stream::MaybeTlsStream;

use super::backoff::{keep_connected, Backoff};
use super::LinkContext;
use crate::config::Config;

/// Messages written per outbox read.
const BATCH: usize = 64;

/// How long a read waits for the peer's frames: reads only collect what has arrived (pongs);
/// the link waits on the outbox, which wakes it at once when a message is stored.
const READ_POLL: Duration = Duration::from_millis(1);

/// The longest wait on the outbox, so pongs are read at least this often.
const IDLE: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct WebSocketSettings {
    pub url: String,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub heartbeat: Duration,
}

impl WebSocketSettings {
    pub fn from_config(config: &Config, url: &str) -> Self {
        let o = &config.orchestrator;
        WebSocketSettings {
            url: url.to_string(),
            ca_file: o.ca_file.clone(),
            timeout: o.timeout,
            heartbeat: o.heartbeat,
        }
    }
}

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(settings: &WebSocketSettings) -> Result<Socket, String> {
    let uri: tungstenite::http::Uri = settings
        .url
        .parse()
        .map_err(|e| format!("not a URL ({e})"))?;
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        other => return Err(format!("expected ws:// or wss://, not {other:?}")),
    };
    let host = uri.host().ok_or("no host in the URL")?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let mut last = "the host has no address".to_string();
    let mut stream = None;
    for addr in (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
    {
        match TcpStream::connect_timeout(&addr, settings.timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let stream = stream.ok_or(last)?;
    stream
        .set_write_timeout(Some(settings.timeout))
        .and_then(|()| stream.set_read_timeout(Some(settings.timeout)))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| e.to_string())?;
    let connector = if secure {
        let tls = super::tls::client_config(settings.ca_file.as_deref(), None)?;
        Some(tungstenite::Connector::Rustls(tls))
    } else {
        None
    };
    let (socket, _) =
        tungstenite::client_tls_with_config(settings.url.as_str(), stream, None, connector)
            .map_err(|e| format!("the WebSocket handshake failed ({e})"))?;
    // From here a read waits only briefly: the link also has the outbox to watch.
    match socket.get_ref() {
        MaybeTlsStream::Plain(s) => s.set_read_timeout(Some(READ_POLL)),
        MaybeTlsStream::Rustls(s) => s.sock.set_read_timeout(Some(READ_POLL)),
        _ => Ok(()),
    }
    .map_err(|e| e.to_string())?;
    Ok(socket)
}

/// One connection's progress.
struct Connection {
    socket: Socket,
    written: Seq,
    next_ping: Instant,
}

/// The link's thread.
pub fn run(ctx: &LinkContext, settings: &WebSocketSettings) {
    let peer = semaforo_camera::redact(&settings.url);
    let cursor = match ctx.outbox.register_cursor("websocket") {
        Ok(cursor) => cursor,
        Err(e) => {
            tracing::error!("orchestrator {peer}: {e}; no WebSocket link");
            return;
        }
    };
    let connection = keep_connected(
        ctx,
        &cursor,
        (&peer, "WebSocket connected"),
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
        || {
            Ok(Connection {
                socket: connect(settings)?,
                written: ctx.outbox.acked(&cursor).unwrap_or(Seq::ZERO),
                next_ping: Instant::now() + settings.heartbeat,
            })
        },
        |conn| exchange(ctx, &cursor, conn, settings.heartbeat),
    );
    if let Some(mut conn) = connection {
        let _ = conn.socket.close(None);
        let _ = conn.socket.flush();
    }
}

/// Writes what is pending, pings when due, and takes the peer's pongs as acknowledgements.
fn exchange(
    ctx: &LinkContext,
    cursor: &Cursor,
    conn: &mut Connection,
    heartbeat: Duration,
) -> Result<(), String> {
    let wait = conn
        .next_ping
        .saturating_duration_since(Instant::now())
        .min(IDLE);
    let entries = ctx
        .outbox
        .wait_pending(cursor, conn.written, BATCH, wait)
        .map_err(|e| format!("cannot read the outbox: {e}"))?;
    for entry in entries {
        conn.socket
            .send(tungstenite::Message::text(entry.body))
            .map_err(|e| format!("connection lost ({e})"))?;
        conn.written = entry.seq;
    }
    if Instant::now() >= conn.next_ping {
        conn.socket
            .send(tungstenite::Message::Ping(
                conn.written.get().to_be_bytes().to_vec().into(),
            ))
            .map_err(|e| format!("connection lost at a ping ({e})"))?;
        conn.next_ping = Instant::now() + heartbeat;
    }
    // Everything the peer has sent by now (pongs, mostly).
    loop {
        match conn.socket.read() {
            Ok(tungstenite::Message::Pong(payload)) => {
                let Ok(bytes) = <[u8; 8]>::try_from(payload.as_ref()) else {
                    continue; // not our ping's
                };
                let upto = Seq::new(u64::from_be_bytes(bytes));
                let before = ctx.outbox.acked(cursor).unwrap_or(Seq::ZERO);
                if upto > before && upto <= conn.written {
                    ctx.outbox
                        .ack(cursor, upto)
                        .map_err(|e| format!("cannot acknowledge in the outbox: {e}"))?;
                    ctx.update(|s| s.delivered += upto.get() - before.get());
                }
            }
            Ok(tungstenite::Message::Close(_)) => {
                return Err("the peer closed the connection".into())
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(format!("connection lost ({e})")),
        }
    }
}
