//! The links that carry messages off the box: the orchestrator over TCP in the original's
//! framing, the orchestrator over WebSocket, and an MQTT broker. Any of them may be on at
//! once.
//!
//! Every message goes first into the durable outbox ([`semaforo_outbox`], one SQLite file),
//! and then each link reads it through a cursor of its own, on a thread of its own, and
//! acknowledges it once its peer has it: TCP when a heartbeat after it went out on a live
//! connection, WebSocket when the peer answered a ping sent after it, MQTT at the broker's
//! PUBACK. So a peer that is away, a restart, a crash or a power cut loses nothing: what was
//! stored is delivered, in `seq` order, at least once (peers deduplicate by `seq`). The
//! control loop only stores (one short transaction); it never waits on a network.
//!
//! An outbox that cannot be opened as it is is moved aside and a new one started (the outbox
//! says so, and it is logged); one that cannot be created at all leaves the links without a
//! store, and every message is then counted as lost and said so, while the intersection keeps
//! being controlled.

mod backoff;
mod mqtt;
mod tcp;
mod tls;
mod websocket;

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use semaforo_base::Shutdown;
use semaforo_outbox::{Limits, Outbox};
use semaforo_signal::HiResEvent;

use crate::config::Config;
use crate::orchestrator::Message;

pub use mqtt::SignalState;

/// What a link reports of itself, for the status line, the logs and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    /// `tcp`, `websocket` or `mqtt`.
    pub name: &'static str,
    /// Where it sends (credentials removed).
    pub peer: String,
    pub connected: bool,
    /// Messages it has had acknowledged since start.
    pub delivered: u64,
    /// Messages stored and not yet acknowledged by it.
    pub waiting: u64,
    /// The last problem, while it lasts.
    pub problem: Option<String>,
}

/// One link's thread and its shared state.
struct Running {
    state: Arc<Mutex<LinkState>>,
    thread: Option<JoinHandle<()>>,
}

/// Everything a link thread gets.
pub(crate) struct LinkContext {
    pub outbox: Arc<Outbox>,
    pub state: Arc<Mutex<LinkState>>,
    pub stop: Shutdown,
    /// When `waiting` was last counted, and `delivered` then.
    pub refreshed: Mutex<Option<(std::time::Instant, u64)>>,
}

impl LinkContext {
    pub fn update(&self, change: impl FnOnce(&mut LinkState)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Sets `waiting` from the outbox (the messages the cursor has not acknowledged): counted
    /// at most once a second, and whenever the link delivered something.
    pub fn refresh_waiting(&self, cursor: &semaforo_outbox::Cursor) {
        let now = std::time::Instant::now();
        let mut last = self
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let delivered = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .delivered;
        let due = last.is_none_or(|(at, seen)| {
            seen != delivered || now.duration_since(at) >= std::time::Duration::from_secs(1)
        });
        if due {
            *last = Some((now, delivered));
            drop(last);
            if let Ok(depth) = self.outbox.depth(cursor) {
                self.update(|s| s.waiting = depth);
            }
        }
    }
}

/// What a link's thread runs.
pub(crate) type LinkThread = Box<dyn FnOnce(LinkContext) + Send>;

/// The outbox and the links reading it. Dropping it stops the links (what is stored stays
/// for the next start).
pub struct Links {
    outbox: Option<Arc<Outbox>>,
    running: Vec<Running>,
    mqtt: Option<mqtt::Publisher>,
    stop: Shutdown,
    /// Messages that could not be stored (no outbox, or a write error).
    lost: u64,
    /// How long a stop waits for connected links to deliver what is waiting.
    drain: std::time::Duration,
}

impl Links {
    /// Opens the outbox and starts the configured links; with none configured, nothing.
    pub fn start(config: &Config) -> Links {
        let o = &config.orchestrator;
        let mut links = Links {
            outbox: None,
            running: Vec::new(),
            mqtt: None,
            stop: Shutdown::new(),
            lost: 0,
            drain: o.timeout,
        };
        if o.host.is_none() && o.url.is_none() && config.mqtt.host.is_none() {
            tracing::info!(
                "no orchestrator or broker configured (orchestrator.host, orchestrator.url and \
                 mqtt.host are empty): messages are not sent"
            );
            return links;
        }
        let outbox = match open_outbox(config) {
            Some(outbox) => Arc::new(outbox),
            None => return links,
        };
        links.outbox = Some(outbox.clone());
        let context = |name: &'static str, peer: String| LinkContext {
            outbox: outbox.clone(),
            state: Arc::new(Mutex::new(LinkState {
                name,
                peer,
                ..LinkState::default()
            })),
            stop: links.stop.clone(),
            refreshed: Mutex::new(None),
        };
        let mut started: Vec<(LinkContext, LinkThread)> = Vec::new();
        if let Some(host) = &o.host {
            let settings = tcp::TcpSettings::from_config(config, host);
            let ctx = context("tcp", format!("{host}:{}", o.port));
            started.push((ctx, Box::new(move |ctx| tcp::run(&ctx, &settings))));
        }
        if let Some(url) = &o.url {
            let settings = websocket::WebSocketSettings::from_config(config, url);
            let ctx = context("websocket", semaforo_camera::redact(url));
            started.push((ctx, Box::new(move |ctx| websocket::run(&ctx, &settings))));
        }
        if config.mqtt.host.is_some() {
            let ctx = context("mqtt", mqtt::peer(&config.mqtt));
            match mqtt::start(config) {
                Ok((publisher, run)) => {
                    links.mqtt = Some(publisher);
                    started.push((ctx, run));
                }
                Err(e) => tracing::error!("mqtt: {e}; no MQTT link"),
            }
        }
        for (ctx, run) in started {
            let state = ctx.state.clone();
            let name = state.lock().unwrap_or_else(PoisonError::into_inner).name;
            match std::thread::Builder::new()
                .name(format!("link-{name}"))
                .spawn(move || run(ctx))
            {
                Ok(thread) => links.running.push(Running {
                    state,
                    thread: Some(thread),
                }),
                Err(e) => tracing::error!("{name} link: cannot start its thread: {e}"),
            }
        }
        links
    }

    /// Stores a message for every link (the status gets the outbox's running count of dropped
    /// messages as `dropped`). Never waits on a network; the store is one short transaction.
    pub fn send(&mut self, message: &Message) {
        let Some(outbox) = &self.outbox else {
            if !self.running.is_empty() || self.lost > 0 {
                self.lost += 1;
            }
            return;
        };
        let mut body = message.to_json();
        if let (Message::Status { .. }, Some(map)) = (message, body.as_object_mut()) {
            map.insert("dropped".into(), (outbox.dropped() + self.lost).into());
        }
        match outbox.push(message.kind(), &body, message.timestamp()) {
            Ok(pushed) => {
                let before = outbox.dropped() - pushed.dropped_now;
                // The first drop, then each time the total passes a power of two: a link away
                // for a week must not fill the log.
                let crossed = (before + 1..=outbox.dropped()).any(u64::is_power_of_two);
                if pushed.dropped_now > 0 && crossed {
                    let limits = outbox.limits();
                    tracing::warn!(
                        "outbox full ({} messages, {:.1} MB at most): the oldest messages are \
                         dropped, statuses first; {} dropped so far, and each status says so",
                        limits.max_messages,
                        limits.max_bytes as f64 / (1024.0 * 1024.0),
                        outbox.dropped()
                    );
                }
            }
            Err(e) => {
                self.lost += 1;
                if self.lost.is_power_of_two() {
                    tracing::error!(
                        "outbox: cannot store a message ({e}); {} lost so far",
                        self.lost
                    );
                }
            }
        }
    }

    /// The signal's state for MQTT's retained topics (published when it changed).
    pub fn publish_state(&mut self, state: &SignalState) {
        if let Some(mqtt) = &mut self.mqtt {
            mqtt.publish_state(state);
        }
    }

    /// High-resolution events for MQTT's events topic.
    pub fn publish_events(
        &mut self,
        intersection: &semaforo_signal::Intersection,
        events: &[HiResEvent],
    ) {
        if let Some(mqtt) = &mut self.mqtt {
            mqtt.publish_events(intersection, events);
        }
    }

    /// Whether any link runs.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Each link's state, its waiting count read from the outbox.
    pub fn states(&self) -> Vec<LinkState> {
        self.running
            .iter()
            .map(|r| {
                r.state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .collect()
    }

    /// Messages the outbox dropped to stay within its bound, plus those never stored.
    pub fn dropped(&self) -> u64 {
        self.outbox.as_ref().map_or(0, |o| o.dropped()) + self.lost
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        // Connected links get a moment to deliver (and have acknowledged) what is waiting;
        // whatever is left stays in the outbox for the next start.
        let deadline = std::time::Instant::now() + self.drain;
        while std::time::Instant::now() < deadline
            && self.states().iter().any(|s| s.connected && s.waiting > 0)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        self.stop.request("the run is ending");
        if let Some(outbox) = &self.outbox {
            outbox.wake_waiting_readers();
        }
        self.mqtt = None;
        for running in &mut self.running {
            if let Some(thread) = running.thread.take() {
                if thread.join().is_err() {
                    tracing::error!("a link's thread panicked");
                }
            }
        }
        for state in self.states() {
            tracing::info!(
                "{} link to {}: {} delivered, {} waiting in the outbox for the next start",
                state.name,
                state.peer,
                state.delivered,
                state.waiting
            );
        }
        if self.dropped() > 0 {
            tracing::warn!(
                "{} message(s) dropped: {} by the outbox's bound, {} that could not be stored",
                self.dropped(),
                self.dropped() - self.lost,
                self.lost
            );
        }
    }
}

fn open_outbox(config: &Config) -> Option<Outbox> {
    let o = &config.outbox;
    let limits = Limits {
        max_messages: o.max_messages,
        max_bytes: o.max_bytes.max(1),
    };
    match Outbox::open(&o.path, limits, &config.intersection.id) {
        Ok(outbox) => {
            if let Some(aside) = outbox.set_aside() {
                tracing::error!("outbox: {aside}; a new outbox was started");
            }
            tracing::info!(
                "outbox {}: messages are stored here before they are sent (seq continues from \
                 {})",
                o.path.display(),
                outbox.last_seq()
            );
            Some(outbox)
        }
        Err(e) => {
            tracing::error!(
                "outbox: {e}; messages cannot be stored and will be lost until the next start \
                 (the intersection is still controlled)"
            );
            None
        }
    }
}
