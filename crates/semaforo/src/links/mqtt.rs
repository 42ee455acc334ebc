//! The MQTT link, for fleets of intersections on a city's broker, with the topic conventions
//! people know from Frigate (`<prefix>` is `mqtt.topic_prefix`, `<id>` `intersection.id`):
//!
//! - `<prefix>/<id>/available`: `online`, retained; `offline` as the last will, so the broker
//!   says so when the box dies;
//! - `<prefix>/<id>/signal`: retained JSON, the heads per group, the phase and the mode;
//! - `<prefix>/<id>/<group>/queue` and `.../arrivals`: retained numbers (`null` without
//!   detection; arrivals in the last status interval);
//! - `<prefix>/<id>/events`: one JSON per high-resolution event;
//! - `<prefix>/<id>/decision` and `.../status`: the orchestrator's messages from the outbox,
//!   QoS 1, each acknowledged in the outbox at the broker's PUBACK.
//!
//! The retained state and the events come straight from the control loop (they describe
//! now; `logs/events.csv` is the durable record of events); the decisions and statuses come
//! from the outbox and survive the broker being away. With `mqtt.home_assistant`, discovery
//! messages make the intersection appear in Home Assistant with its queues and signal state.
//!
//! MQTT 3.1.1 and 5 (`mqtt.protocol`) through `rumqttc`; TLS through rustls. The password
//! never appears in logs or errors; a broker that refuses the credentials is logged with what
//! to check, and the link keeps retrying with backoff while the intersection runs on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use semaforo_outbox::{Cursor, Seq};
use semaforo_signal::{HiResEvent, Intersection};

use super::backoff::Backoff;
use super::{LinkContext, LinkThread};
use crate::config::{Config, MqttConfig};

/// Outbox messages published and not yet acknowledged, at most.
const IN_FLIGHT: usize = 32;

/// The state MQTT's retained topics show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignalState {
    /// Per group: name, head (`green`, `yellow`, `red`...), queue (`None`: no detection),
    /// arrivals in the last status interval.
    pub groups: Vec<(String, String, Option<u32>, u32)>,
    pub phase: Option<String>,
    pub mode: String,
}

/// What the topics are called.
#[derive(Debug, Clone)]
struct Topics {
    base: String,
}

impl Topics {
    fn new(config: &Config) -> Self {
        Topics {
            base: format!("{}/{}", config.mqtt.topic_prefix, config.intersection.id),
        }
    }

    fn of(&self, leaf: &str) -> String {
        format!("{}/{leaf}", self.base)
    }
}

/// The broker, as logs show it.
pub fn peer(mqtt: &MqttConfig) -> String {
    let scheme = if mqtt.tls { "mqtts" } else { "mqtt" };
    format!(
        "{scheme}://{}:{}",
        mqtt.host.as_deref().unwrap_or_default(),
        mqtt.port
    )
}

/// A client of either protocol version, for publishing.
#[derive(Clone)]
enum Client {
    V4(rumqttc::Client),
    V5(rumqttc::v5::Client),
}

impl Client {
    /// Queues a publish without waiting (a full request queue is an error, not a wait).
    fn try_publish(&self, topic: String, qos1: bool, retain: bool, payload: Vec<u8>) -> bool {
        match self {
            Client::V4(c) => {
                let qos = if qos1 {
                    rumqttc::QoS::AtLeastOnce
                } else {
                    rumqttc::QoS::AtMostOnce
                };
                c.try_publish(topic, qos, retain, payload).is_ok()
            }
            Client::V5(c) => {
                let qos = if qos1 {
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce
                } else {
                    rumqttc::v5::mqttbytes::QoS::AtMostOnce
                };
                c.try_publish(topic, qos, retain, payload).is_ok()
            }
        }
    }
}

/// What the connection did, in either protocol version.
enum Happened {
    Connected,
    /// A QoS 1 publish went out with this packet id.
    Sent(u16),
    Acked(u16),
    Failed(String),
    Nothing,
}

/// A connection's event loop, of either protocol version.
enum Connection {
    V4(Box<rumqttc::Connection>),
    V5(Box<rumqttc::v5::Connection>),
}

impl Connection {
    fn poll(&mut self, timeout: Duration) -> Happened {
        match self {
            Connection::V4(c) => match c.recv_timeout(timeout) {
                Err(_) => Happened::Nothing,
                Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))) => {
                    Happened::Connected
                }
                Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(ack)))) => {
                    Happened::Acked(ack.pkid)
                }
                Ok(Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Publish(pkid)))) if pkid != 0 => {
                    Happened::Sent(pkid)
                }
                Ok(Ok(_)) => Happened::Nothing,
                Ok(Err(rumqttc::ConnectionError::ConnectionRefused(code))) => {
                    Happened::Failed(refused(&format!("{code:?}")))
                }
                Ok(Err(e)) => Happened::Failed(e.to_string()),
            },
            Connection::V5(c) => {
                use rumqttc::v5::mqttbytes::v5::Packet;
                match c.recv_timeout(timeout) {
                    Err(_) => Happened::Nothing,
                    Ok(Ok(rumqttc::v5::Event::Incoming(Packet::ConnAck(_)))) => Happened::Connected,
                    Ok(Ok(rumqttc::v5::Event::Incoming(Packet::PubAck(ack)))) => {
                        Happened::Acked(ack.pkid)
                    }
                    Ok(Ok(rumqttc::v5::Event::Outgoing(rumqttc::Outgoing::Publish(pkid))))
                        if pkid != 0 =>
                    {
                        Happened::Sent(pkid)
                    }
                    Ok(Ok(_)) => Happened::Nothing,
                    Ok(Err(rumqttc::v5::ConnectionError::ConnectionRefused(code))) => {
                        Happened::Failed(refused(&format!("{code:?}")))
                    }
                    Ok(Err(e)) => Happened::Failed(e.to_string()),
                }
            }
        }
    }
}

/// A refusal in words, with what to check.
fn refused(code: &str) -> String {
    let hint = match code {
        "BadUserNamePassword" | "NotAuthorized" | "BadAuthenticationMethod" => {
            ": check mqtt.username and mqtt.password (MQTT_USERNAME, MQTT_PASSWORD)"
        }
        "BadClientId" | "ClientIdentifierNotValid" => ": check mqtt.client_id",
        "RefusedProtocolVersion" | "UnsupportedProtocolVersion" => {
            ": the broker does not speak this mqtt.protocol"
        }
        _ => "",
    };
    format!("the broker refused the connection ({code}){hint}")
}

/// Small messages go out at once: with Nagle's algorithm a publish waited for the broker's
/// delayed ACK of the one before, 40 to 200 ms (measured: p50 48 ms, p99 211 ms).
fn no_delay() -> rumqttc::NetworkOptions {
    let mut options = rumqttc::NetworkOptions::new();
    options.set_tcp_nodelay(true);
    options
}

/// How to (re)connect.
struct Connector {
    protocol5: bool,
    client_id: String,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    will_topic: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Connector {
    fn connect(&self) -> (Client, Connection) {
        let transport = || match &self.tls {
            Some(tls) => {
                rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(tls.clone()))
            }
            None => rumqttc::Transport::tcp(),
        };
        if self.protocol5 {
            use rumqttc::v5::mqttbytes::{v5::LastWill, QoS};
            let mut o = rumqttc::v5::MqttOptions::new(&self.client_id, &self.host, self.port);
            o.set_keep_alive(Duration::from_secs(5))
                .set_transport(transport())
                .set_last_will(LastWill::new(
                    &self.will_topic,
                    "offline",
                    QoS::AtLeastOnce,
                    true,
                    None,
                ));
            if let Some((user, password)) = &self.credentials {
                o.set_credentials(user, password);
            }
            o.set_network_options(no_delay());
            let (client, connection) = rumqttc::v5::Client::new(o, 2 * IN_FLIGHT + 64);
            (Client::V5(client), Connection::V5(Box::new(connection)))
        } else {
            let mut o = rumqttc::MqttOptions::new(&self.client_id, &self.host, self.port);
            o.set_keep_alive(Duration::from_secs(5))
                .set_transport(transport())
                .set_last_will(rumqttc::LastWill::new(
                    &self.will_topic,
                    "offline",
                    rumqttc::QoS::AtLeastOnce,
                    true,
                ));
            if let Some((user, password)) = &self.credentials {
                o.set_credentials(user, password);
            }
            let (client, mut connection) = rumqttc::Client::new(o, 2 * IN_FLIGHT + 64);
            connection.eventloop.set_network_options(no_delay());
            (Client::V4(client), Connection::V4(Box::new(connection)))
        }
    }
}

/// The control loop's side: publishes the retained state and the events on the current
/// connection's client (nothing while there is none), never waiting.
pub struct Publisher {
    /// The current connection (its client and number: each connection gets the next).
    live: Arc<Mutex<Live>>,
    /// The connection the last state went out on: a new one gets the whole state again (a
    /// restarted broker may have lost the retained messages).
    connection: u64,
    topics: Topics,
    last: Option<SignalState>,
    /// Publishes the request queue had no room for.
    skipped: u64,
}

impl Publisher {
    fn client(&mut self) -> Option<Client> {
        let (client, connection) = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .client
            .clone()?;
        if connection != self.connection {
            self.connection = connection;
            self.last = None;
        }
        Some(client)
    }

    fn publish(&mut self, client: &Client, topic: String, retain: bool, payload: Vec<u8>) {
        if !client.try_publish(topic, false, retain, payload) {
            self.skipped += 1;
        }
    }

    /// Publishes what changed since the last call.
    pub fn publish_state(&mut self, state: &SignalState) {
        let Some(client) = self.client() else {
            // Not connected: the whole state goes out once the link is back.
            self.last = None;
            return;
        };
        let last = self.last.take().unwrap_or_default();
        let heads: BTreeMap<&str, &str> = state
            .groups
            .iter()
            .map(|(g, head, _, _)| (g.as_str(), head.as_str()))
            .collect();
        if state.phase != last.phase
            || state.mode != last.mode
            || last.groups.len() != state.groups.len()
            || state
                .groups
                .iter()
                .zip(&last.groups)
                .any(|(a, b)| a.1 != b.1)
        {
            let body =
                serde_json::json!({"heads": heads, "phase": state.phase, "mode": state.mode});
            self.publish(
                &client,
                self.topics.of("signal"),
                true,
                body.to_string().into_bytes(),
            );
        }
        for (i, (group, _, queue, arrivals)) in state.groups.iter().enumerate() {
            let before = last.groups.get(i);
            if before.is_none_or(|b| b.2 != *queue) {
                let text = queue.map_or("null".to_string(), |q| q.to_string());
                self.publish(
                    &client,
                    self.topics.of(&format!("{group}/queue")),
                    true,
                    text.into_bytes(),
                );
            }
            if before.is_none_or(|b| b.3 != *arrivals) {
                self.publish(
                    &client,
                    self.topics.of(&format!("{group}/arrivals")),
                    true,
                    arrivals.to_string().into_bytes(),
                );
            }
        }
        self.last = Some(state.clone());
    }

    /// One JSON per event on `<prefix>/<id>/events`.
    pub fn publish_events(&mut self, intersection: &Intersection, events: &[HiResEvent]) {
        if events.is_empty() {
            return;
        }
        let Some(client) = self.client() else {
            return;
        };
        for e in events {
            let group = intersection
                .group_by_number(e.parameter)
                .map(|g| intersection.group(g).name().to_string());
            let body = serde_json::json!({
                "code": e.code.0,
                "parameter": e.parameter,
                "group": group,
                "at_ms": e.at.as_millis(),
            });
            self.publish(
                &client,
                self.topics.of("events"),
                false,
                body.to_string().into_bytes(),
            );
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if self.skipped > 0 {
            tracing::warn!(
                "mqtt: {} state or event publishes skipped (the broker link was busy)",
                self.skipped
            );
        }
    }
}

/// Builds the link: its publisher for the control loop, and the function its thread runs.
pub fn start(config: &Config) -> Result<(Publisher, LinkThread), String> {
    let m = &config.mqtt;
    let topics = Topics::new(config);
    let tls = if m.tls {
        let client_auth = match (&m.client_cert, &m.client_key) {
            (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
            _ => None,
        };
        Some(super::tls::client_config(
            m.ca_file.as_deref(),
            client_auth,
        )?)
    } else {
        None
    };
    let connector = Connector {
        protocol5: m.protocol == "5",
        client_id: m
            .client_id
            .clone()
            .unwrap_or_else(|| format!("semaforo-{}", config.intersection.id)),
        host: m.host.clone().unwrap_or_default(),
        port: m.port,
        credentials: m.username.clone().map(|user| {
            (
                user,
                m.password
                    .as_ref()
                    .map_or_else(String::new, |p| p.expose().to_string()),
            )
        }),
        will_topic: topics.of("available"),
        tls,
    };
    let live = Arc::new(Mutex::new(Live::default()));
    let publisher = Publisher {
        live: live.clone(),
        connection: 0,
        topics: topics.clone(),
        last: None,
        skipped: 0,
    };
    let discovery = m
        .home_assistant
        .then(|| discovery_messages(config, &topics));
    let run = Box::new(move |ctx: LinkContext| {
        run(&ctx, &connector, &live, &topics, discovery.as_deref())
    });
    Ok((publisher, run))
}

/// The current connection, as the link's two threads and the control loop see it.
#[derive(Default)]
struct Live {
    /// The connection's client and number, once the broker accepted it.
    client: Option<(Client, u64)>,
    /// The link's QoS 1 publishes not yet acknowledged.
    flight: InFlight,
    /// The last outbox message published on this connection.
    written: Seq,
    /// The broker has every message up to this one, and the outbox has not been told yet.
    /// The publishing thread tells it: an acknowledgement is a write to the outbox (now and
    /// then one that checkpoints its log), and the event loop, which writes the publishes to
    /// the socket, must never wait on one.
    unsaved_ack: Option<Seq>,
}

fn lock(live: &Mutex<Live>) -> std::sync::MutexGuard<'_, Live> {
    live.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The link's threads: one drives the connection (connects, announces, takes the broker's
/// acknowledgements, reconnects with backoff; it waits in the event loop, which is never cut
/// short while it writes), the other publishes the outbox's messages as soon as they are
/// stored (it waits on the outbox, which a store wakes at once). Any failure drops the
/// connection and everything in flight, which goes again.
fn run(
    ctx: &LinkContext,
    connector: &Connector,
    live: &Mutex<Live>,
    topics: &Topics,
    discovery: Option<&[(String, String)]>,
) {
    let peer = format!("{}:{}", connector.host, connector.port);
    let cursor = match ctx.outbox.register_cursor("mqtt") {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("mqtt {peer}: {e}; no MQTT link");
            return;
        }
    };
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("link-mqtt-out".into())
            .spawn_scoped(scope, || publish_from_outbox(ctx, &cursor, live, topics));
        if let Err(e) = spawned {
            tracing::error!("mqtt {peer}: cannot start its publishing thread: {e}");
            return;
        }
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut connections = 0u64;
        while !ctx.stop.is_requested() {
            let (client, mut connection) = connector.connect();
            let why = session(
                ctx,
                &cursor,
                (&client, &mut connection),
                (&mut backoff, &mut connections),
                live,
                topics,
                discovery,
            );
            {
                let mut l = lock(live);
                l.client = None;
                l.flight = InFlight::default();
            }
            ctx.update(|s| s.connected = false);
            let Some(why) = why else {
                break; // stopping
            };
            if backoff.failed() {
                tracing::warn!(
                    "mqtt {peer}: {why}; retrying in {:?} ({} attempts so far; decisions and \
                     statuses wait in the outbox)",
                    backoff.delay(),
                    backoff.failures
                );
            }
            ctx.update(|s| s.problem = Some(why));
            backoff.wait(&ctx.stop);
        }
    });
    // Acknowledgements that came in after the publishing thread's last round.
    save_acknowledged(ctx, &cursor, live);
}

/// The publishing thread: while connected, every stored message not yet published on this
/// connection goes out (at most [`IN_FLIGHT`] unacknowledged), in seq order.
fn publish_from_outbox(ctx: &LinkContext, cursor: &Cursor, live: &Mutex<Live>, topics: &Topics) {
    while !ctx.stop.is_requested() {
        let (written, published, full) = {
            let mut l = lock(live);
            let Some((client, _)) = l.client.clone() else {
                drop(l);
                let _ = ctx.stop.wait_timeout(Duration::from_millis(20));
                continue;
            };
            let room = IN_FLIGHT.saturating_sub(l.flight.len());
            let entries = if room == 0 {
                Vec::new()
            } else {
                ctx.outbox
                    .pending_after(cursor, l.written, room)
                    .unwrap_or_default()
            };
            let published = !entries.is_empty();
            // Queued under the lock, so the packet ids the event loop reports come in the
            // order of `flight.queued`.
            for entry in entries {
                let leaf = entry.kind.name();
                if !client.try_publish(topics.of(leaf), true, false, entry.body.into_bytes()) {
                    break;
                }
                l.flight.queued.push_back(Owner::Message(entry.seq));
                l.written = entry.seq;
            }
            (l.written, published, room == 0)
        };
        save_acknowledged(ctx, cursor, live);
        ctx.refresh_waiting(cursor);
        if full {
            let _ = ctx.stop.wait_timeout(Duration::from_millis(5));
        } else if !published {
            let _ = ctx
                .outbox
                .wait_pending(cursor, written, 1, Duration::from_millis(100));
        }
    }
}

/// Tells the outbox what the broker acknowledged since the last time (on the publishing
/// thread, after its publishes; and once more when the link stops). A failed write is
/// logged and tried again on the next round: until it takes, those messages would only be
/// sent again after a restart, which at-least-once delivery allows.
fn save_acknowledged(ctx: &LinkContext, cursor: &Cursor, live: &Mutex<Live>) {
    let Some(upto) = lock(live).unsaved_ack.take() else {
        return;
    };
    let before = ctx.outbox.acked(cursor).unwrap_or(Seq::ZERO);
    if upto <= before {
        return;
    }
    match ctx.outbox.ack(cursor, upto) {
        Ok(()) => ctx.update(|s| s.delivered += upto.get() - before.get()),
        Err(e) => {
            tracing::warn!(
                "mqtt {}: cannot record the broker's acknowledgement up to seq {} in the outbox: \
                 {e} (tried again with the next one)",
                ctx.state_peer(),
                upto.get()
            );
            let mut l = lock(live);
            l.unsaved_ack = l.unsaved_ack.max(Some(upto));
        }
    }
}

/// Who a QoS 1 publish of the link's is for.
enum Owner {
    /// The `online` announcement.
    Announcement,
    /// An outbox message.
    Message(Seq),
}

/// The link's QoS 1 publishes between `try_publish` and PUBACK.
#[derive(Default)]
struct InFlight {
    /// Queued, in order, before the event loop gave them packet ids.
    queued: VecDeque<Owner>,
    /// Sent, with their packet ids.
    sent: VecDeque<(u16, Owner)>,
    /// Outbox messages acknowledged while an older one is still in flight.
    acked: Vec<Seq>,
}

impl InFlight {
    fn len(&self) -> usize {
        self.queued.len() + self.sent.len()
    }

    /// The oldest outbox message not yet acknowledged by the broker.
    fn oldest(&self) -> Option<Seq> {
        let seq = |o: &Owner| match o {
            Owner::Message(s) => Some(*s),
            Owner::Announcement => None,
        };
        self.queued
            .iter()
            .filter_map(seq)
            .chain(self.sent.iter().filter_map(|(_, o)| seq(o)))
            .min()
    }

    /// A PUBACK: returns the seq every message up to which the broker now has, if it moved.
    fn acknowledged(&mut self, pkid: u16) -> Option<Seq> {
        let at = self.sent.iter().position(|(id, _)| *id == pkid)?;
        if let Some((_, Owner::Message(seq))) = self.sent.remove(at) {
            self.acked.push(seq);
        }
        let oldest = self.oldest();
        let upto = self
            .acked
            .iter()
            .copied()
            .filter(|s| oldest.is_none_or(|o| *s < o))
            .max()?;
        self.acked.retain(|s| *s > upto);
        Some(upto)
    }
}

/// One connection, until it fails (the reason) or the link stops (`None`).
fn session(
    ctx: &LinkContext,
    cursor: &Cursor,
    (client, connection): (&Client, &mut Connection),
    (backoff, connections): (&mut Backoff, &mut u64),
    live: &Mutex<Live>,
    topics: &Topics,
    discovery: Option<&[(String, String)]>,
) -> Option<String> {
    let mut connected = false;
    loop {
        if ctx.stop.is_requested() {
            if connected {
                say_offline(client, connection, topics);
            }
            return None;
        }
        match connection.poll(Duration::from_millis(100)) {
            Happened::Nothing => {}
            Happened::Failed(why) => return Some(why),
            Happened::Connected => {
                connected = true;
                backoff.succeeded();
                tracing::info!("mqtt {}: connected", ctx.state_peer());
                ctx.update(|s| {
                    s.connected = true;
                    s.problem = None;
                });
                let mut l = lock(live);
                l.flight = InFlight::default();
                // Everything after the last acknowledged message goes again.
                let acked = ctx.outbox.acked(cursor).unwrap_or(Seq::ZERO);
                l.written = l.unsaved_ack.map_or(acked, |a| a.max(acked));
                if !client.try_publish(topics.of("available"), true, true, b"online".to_vec()) {
                    return Some("cannot queue the availability message".into());
                }
                l.flight.queued.push_back(Owner::Announcement);
                for (topic, body) in discovery.unwrap_or_default() {
                    client.try_publish(topic.clone(), false, true, body.clone().into_bytes());
                }
                *connections += 1;
                l.client = Some((client.clone(), *connections));
                drop(l);
                ctx.outbox.wake_waiting_readers();
            }
            Happened::Sent(pkid) => {
                let mut l = lock(live);
                if let Some(owner) = l.flight.queued.pop_front() {
                    l.flight.sent.push_back((pkid, owner));
                }
            }
            Happened::Acked(pkid) => {
                let mut l = lock(live);
                if let Some(upto) = l.flight.acknowledged(pkid) {
                    l.unsaved_ack = l.unsaved_ack.max(Some(upto));
                }
            }
        }
    }
}

/// A clean stop leaves no last will behind: `offline` is published (retained) and waited for
/// briefly.
fn say_offline(client: &Client, connection: &mut Connection, topics: &Topics) {
    if !client.try_publish(topics.of("available"), true, true, b"offline".to_vec()) {
        return;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut ours = None;
    while std::time::Instant::now() < deadline {
        match connection.poll(Duration::from_millis(50)) {
            // Earlier publishes still in flight come first; ours is the last one sent.
            Happened::Sent(pkid) => ours = Some(pkid),
            Happened::Acked(pkid) if Some(pkid) == ours => return,
            Happened::Failed(_) => return,
            _ => {}
        }
    }
}

/// Home Assistant's MQTT discovery: a sensor per group's queue, one for the phase, and the
/// availability topic, all under one device.
fn discovery_messages(config: &Config, topics: &Topics) -> Vec<(String, String)> {
    let id = &config.intersection.id;
    let node = id.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let device = serde_json::json!({
        "identifiers": [format!("semaforo_{node}")],
        "name": format!("Intersection {id}"),
        "manufacturer": "semaforo",
        "model": "adaptive traffic-signal controller",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    let available = topics.of("available");
    let mut out = Vec::new();
    for group in config.layout.group_names() {
        let object = format!(
            "{node}_{}",
            group.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        let config = serde_json::json!({
            "name": format!("{group} queue"),
            "unique_id": format!("semaforo_{object}_queue"),
            "state_topic": topics.of(&format!("{group}/queue")),
            "unit_of_measurement": "vehicles",
            "state_class": "measurement",
            "availability_topic": available,
            "device": device,
        });
        out.push((
            format!("homeassistant/sensor/{object}_queue/config"),
            config.to_string(),
        ));
    }
    let phase = serde_json::json!({
        "name": "phase",
        "unique_id": format!("semaforo_{node}_phase"),
        "state_topic": topics.of("signal"),
        "value_template": "{{ value_json.phase }}",
        "json_attributes_topic": topics.of("signal"),
        "availability_topic": available,
        "device": device,
    });
    out.push((
        format!("homeassistant/sensor/{node}_phase/config"),
        phase.to_string(),
    ));
    out
}

impl LinkContext {
    fn state_peer(&self) -> String {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peer
            .clone()
    }
}
