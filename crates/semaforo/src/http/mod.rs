//! The HTTP side of `semaforo run`: the JSON API, Prometheus metrics, health and the
//! dashboard, served by axum on a small tokio runtime of its own thread.
//!
//! Nothing here can slow the controller: the run loop publishes a [`Snapshot`] each tick
//! (a pointer swap, see [`crate::runtime::snapshot`]) and every handler reads the latest one.
//! HTTP is not needed for safety, so an address that cannot be bound is logged and the
//! intersection runs on without it.
//!
//! | path | what |
//! |---|---|
//! | `/` | the dashboard (static page, built into the binary) |
//! | `/health` | each check and its state; 200, or 503 when one is failing (no token asked) |
//! | `/api/status` | the snapshot as JSON |
//! | `/api/events` | recent high-resolution events; `/api/events/stream` (or `?stream`) live, as Server-Sent Events |
//! | `/api/cameras/<name>/snapshot.jpg` | the camera's latest frame with zones, boxes, track ids and counts |
//! | `/metrics` | Prometheus text format |
//!
//! With `http.token` set, every path but `/health` and the dashboard's static files asks for
//! `Authorization: Bearer <token>` (compared in constant time).
//!
//! [`Snapshot`]: crate::runtime::snapshot::Snapshot

mod auth;
mod dashboard;
mod events;
mod handlers;
mod health;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use semaforo_resources::{HandleGuard, ResourceTracker};

use crate::config::{HttpConfig, Secret};
use crate::runtime::camera_view::CameraView;
use crate::runtime::snapshot::Snapshots;

/// How long a stop waits for open connections (a live event stream, a picture being drawn)
/// before they are cut.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What every handler reads.
pub struct Context {
    pub snapshots: Snapshots,
    pub views: Vec<Arc<CameraView>>,
    pub token: Option<Secret>,
    /// Turns true when the server stops, ending the live event streams.
    pub closing: watch::Receiver<bool>,
}

/// The running server; dropping it stops it (open connections get [`STOP_GRACE`]) and waits
/// for its thread.
pub struct HttpServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _tracked: HandleGuard,
}

/// Starts the server the configuration asks for; `None` when it is off or its address cannot
/// be bound (logged: the intersection runs on without it).
pub fn start(
    config: &HttpConfig,
    snapshots: Snapshots,
    views: Vec<Arc<CameraView>>,
    tracker: &ResourceTracker,
) -> Option<HttpServer> {
    let Some(addr) = config.addr else {
        tracing::info!("the HTTP API and dashboard are off (http.addr = off)");
        return None;
    };
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(
                "HTTP API: cannot listen on {addr} (http.addr): {e}; the intersection is \
                 controlled without the API, metrics and dashboard"
            );
            return None;
        }
    };
    let bound = match listener.set_nonblocking(true).and(listener.local_addr()) {
        Ok(bound) => bound,
        Err(e) => {
            tracing::error!("HTTP API: cannot use the socket on {addr}: {e}");
            return None;
        }
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let (closing_tx, closing_rx) = watch::channel(false);
    let context = Arc::new(Context {
        snapshots,
        views,
        token: config.token.clone(),
        closing: closing_rx,
    });
    let spawned = std::thread::Builder::new()
        .name("http".into())
        .spawn(move || serve(listener, context, stop_rx, closing_tx));
    let thread = match spawned {
        Ok(thread) => thread,
        Err(e) => {
            tracing::error!("HTTP API: cannot start its thread: {e}");
            return None;
        }
    };
    let auth = if config.token.is_some() {
        "a bearer token (http.token) is asked for"
    } else {
        "no token"
    };
    tracing::info!("HTTP API and dashboard on http://{bound}/ ({auth})");
    Some(HttpServer {
        addr: bound,
        stop: Some(stop_tx),
        thread: Some(thread),
        _tracked: tracker.register("http", format!("HTTP server on {bound}")),
    })
}

/// The server thread: a current-thread runtime until the stop request, then the grace period.
fn serve(
    listener: std::net::TcpListener,
    context: Arc<Context>,
    stop: oneshot::Receiver<()>,
    closing: watch::Sender<bool>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("HTTP API: cannot start its runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!("HTTP API: cannot use its socket: {e}");
                return;
            }
        };
        let mut closed = closing.subscribe();
        let app = handlers::router(context);
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop.await;
            let _ = closing.send(true);
        });
        let cut = async move {
            let _ = closed.wait_for(|c| *c).await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        tokio::select! {
            result = server => if let Err(e) = result {
                tracing::error!("HTTP API stopped with an error: {e}");
            },
            () = cut => tracing::warn!(
                "HTTP API: connections still open {} s after the stop were closed",
                STOP_GRACE.as_secs()
            ),
        }
    });
    // Dropping the runtime ends every task still running, and with them their sockets.
    drop(runtime);
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("HTTP API: its thread panicked");
            }
        }
        tracing::info!("HTTP API on {} stopped", self.addr);
    }
}
