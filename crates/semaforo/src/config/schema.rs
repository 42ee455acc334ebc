//! Every setting semaforo has, in one table: its key in the TOML file, the environment
//! variables that set it (the Guide's and the original system's names first), its default,
//! and the values it accepts.
//!
//! The table is the single source of truth: the loader, the validator, `semaforo config
//! check` and the README's configuration section all follow it, so a setting cannot exist in
//! one place and be forgotten in another (the original read its settings from three places and
//! most of them had no effect).

use std::fmt;

/// What values a setting accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number within `min..=max`, with the unit it is counted in.
    Int {
        min: i64,
        max: i64,
        unit: &'static str,
    },
    /// A number within `min..=max`, with the unit it is counted in.
    Float {
        min: f64,
        max: f64,
        unit: &'static str,
    },
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off` in the environment).
    Bool,
    /// One of a fixed set of words (compared without case).
    Choice(&'static [&'static str]),
    /// A non-empty path.
    Path,
    /// Free text that may be empty (empty means "off").
    OptionalText,
    /// A camera source: `synthetic:`, `testsrc:`, `file:PATH` or a path, `rtsp://…`,
    /// `http(s)://…`, `v4l2:…`, `/dev/videoN`, a camera index, `dir:PATH`.
    CameraSource,
    /// A prefix for temporary file names: letters, digits, `_`, `-`, `.`; no path separators.
    FilePrefix,
    /// A name that goes into messages and topics: letters, digits, `_`, `-`, `.`.
    Identifier,
    /// A password: any text, never shown (`***` in `config check`, logs and errors).
    Secret,
    /// A bearer token: at least 16 visible characters, or empty for none; never shown.
    Token,
    /// An MQTT topic prefix: letters, digits, `_`, `-`, `.` and `/` between levels (no
    /// wildcards, no empty level).
    Topic,
    /// Where a server listens: `HOST:PORT` (an IP address or `localhost`), or `off`.
    ListenAddress,
    /// Part of the intersection's layout (`[intersection]` groups, phases, conflicts): a list
    /// or array of tables in the file, read by [`super::layout`], described by the words.
    Layout(&'static str),
}

impl Kind {
    /// A password or a token: its value is never shown.
    pub fn is_secret(self) -> bool {
        matches!(self, Kind::Secret | Kind::Token)
    }

    /// The accepted range or form, as an error message ends with it.
    pub fn expected(&self) -> String {
        match self {
            Kind::Int { min, max, unit } => {
                format!("a whole number of {unit} from {min} to {max}")
            }
            Kind::Float { min, max, unit } => format!("a number of {unit} from {min} to {max}"),
            Kind::Bool => "true or false".to_string(),
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
            Kind::Path => "a path to a file or directory".to_string(),
            Kind::OptionalText => "a text (empty in the file or with --set to turn it off; an \
                 empty environment variable means not set)"
                .to_string(),
            Kind::CameraSource => "a camera source: synthetic:, testsrc:, file:PATH or a video \
                 file path, rtsp://HOST/PATH, http(s)://HOST/PATH (MJPEG), v4l2:/dev/videoN, \
                 /dev/videoN, a camera index such as 0, dir:PATH, or ffmpeg:PATH or \
                 ffmpeg:URL (a build with the ffmpeg feature)"
                .to_string(),
            Kind::FilePrefix => {
                "a file-name prefix of letters, digits, '_', '-' or '.' (no '/')".to_string()
            }
            Kind::Identifier => "a name of letters, digits, '_', '-' or '.'".to_string(),
            Kind::ListenAddress => {
                "HOST:PORT (an IP address or localhost, e.g. 127.0.0.1:8080 or 0.0.0.0:8080), or off"
                    .to_string()
            }
            Kind::Token => {
                "at least 16 visible characters (no spaces), or empty for none; never shown"
                    .to_string()
            }
            Kind::Layout(words) => words.to_string(),
            Kind::Secret => "a text (empty for none), never shown".to_string(),
            Kind::Topic => "an MQTT topic prefix: levels of letters, digits, '_', '-' or '.' \
                            separated by '/'"
                .to_string(),
        }
    }
}

/// A setting's built-in default.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'static str),
    /// `semaforo/` in the operating system's temporary directory (`$TMPDIR`, else `/tmp`): a
    /// directory of its own, so the orphan sweep can never touch another program's files.
    SystemTempDir,
    /// The machine's host name (`/proc/sys/kernel/hostname`), else `semaforo`.
    HostName,
    /// The value of another setting (a per-group timing defaults to `[signal]`'s).
    Inherit(&'static str),
    /// Described in words (the layout's parts, which come from the built-in layout).
    Described(&'static str),
}

impl fmt::Display for Default {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Default::Int(v) => write!(f, "{v}"),
            Default::Float(v) => write!(f, "{v}"),
            Default::Bool(v) => write!(f, "{v}"),
            Default::Text(v) => write!(f, "\"{v}\""),
            Default::SystemTempDir => write!(f, "`$TMPDIR/semaforo` (`/tmp/semaforo`)"),
            Default::HostName => write!(f, "the host name"),
            Default::Inherit(key) => write!(f, "`{key}`"),
            Default::Described(words) => f.write_str(words),
        }
    }
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Dotted key in the TOML file, e.g. `signal.min_green`.
    pub key: &'static str,
    /// Environment variables that set it, the preferred name first; later names are the
    /// original system's aliases.
    pub env: &'static [&'static str],
    pub kind: Kind,
    pub default: Default,
    /// One line for `config check` and the README.
    pub help: &'static str,
}

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];
const DETECTORS: &[&str] = &["auto", "bgsub", "yolox"];
const RUNTIMES: &[&str] = &["tract", "onnxruntime"];

/// All settings, grouped by TOML section.
pub const SETTINGS: &[Spec] = &[
    // --- logging ---
    Spec {
        key: "logging.level",
        env: &["LOG_LEVEL"],
        kind: Kind::Choice(LEVELS),
        default: Default::Text("info"),
        help: "lowest level written to traffic_light.log and the console (WARNING and CRITICAL are accepted as warn and error)",
    },
    Spec {
        key: "logging.dir",
        env: &["LOG_DIR"],
        kind: Kind::Path,
        default: Default::Text("logs"),
        help: "directory of traffic_light.log, errors.log and performance.log",
    },
    Spec {
        key: "logging.format",
        env: &["LOG_FORMAT"],
        kind: Kind::Choice(&["text", "json"]),
        default: Default::Text("text"),
        help: "log file lines as text or as JSON objects (the console is always text)",
    },
    Spec {
        key: "logging.max_file_size_mb",
        env: &["MAX_LOG_FILE_SIZE_MB"],
        kind: Kind::Float { min: 0.01, max: 10240.0, unit: "MB" },
        default: Default::Float(10.0),
        help: "a log file is rotated when it would grow past this size",
    },
    Spec {
        key: "logging.backup_count",
        env: &["LOG_BACKUP_COUNT"],
        kind: Kind::Int { min: 0, max: 1000, unit: "files" },
        default: Default::Int(5),
        help: "rotated files kept per log (name.log.1 is the newest)",
    },
    Spec {
        key: "logging.to_console",
        env: &["LOG_TO_CONSOLE"],
        kind: Kind::Bool,
        default: Default::Bool(true),
        help: "also print log lines on standard error",
    },
    Spec {
        key: "logging.to_file",
        env: &["LOG_TO_FILE"],
        kind: Kind::Bool,
        default: Default::Bool(true),
        help: "write the three log files",
    },
    Spec {
        key: "logging.performance",
        env: &["ENABLE_PERFORMANCE_LOGGING"],
        kind: Kind::Bool,
        default: Default::Bool(true),
        help: "write stage timings and resource statistics to performance.log",
    },
    Spec {
        key: "logging.queue_capacity",
        env: &["LOG_QUEUE_CAPACITY"],
        kind: Kind::Int { min: 16, max: 1_000_000, unit: "lines" },
        default: Default::Int(8192),
        help: "lines waiting for the log writer; when full, new lines are dropped and counted",
    },
    // --- resources ---
    Spec {
        key: "resources.memory_limit_mb",
        env: &["MEMORY_LIMIT_MB"],
        kind: Kind::Int { min: 16, max: 1_048_576, unit: "MB" },
        default: Default::Int(512),
        help: "process resident memory above which frames are not saved and the in-memory frame buffer is emptied, until it is back under 90% of this (checked every 5 s; logged, and shown in /health and /api/status)",
    },
    Spec {
        key: "resources.statistics_interval",
        env: &["RESOURCE_STATS_INTERVAL"],
        kind: Kind::Float { min: 1.0, max: 86400.0, unit: "seconds" },
        default: Default::Float(60.0),
        help: "how often resource statistics go to performance.log",
    },
    Spec {
        key: "temp.dir",
        env: &["TEMP_DIR"],
        kind: Kind::Path,
        default: Default::SystemTempDir,
        help: "where semaforo creates its temporary files and sweeps their orphans (created at start)",
    },
    Spec {
        key: "temp.prefix",
        env: &["TEMP_FILE_PREFIX"],
        kind: Kind::FilePrefix,
        default: Default::Text("traffic_"),
        help: "name prefix of semaforo's temporary files; the orphan sweep touches nothing else",
    },
    Spec {
        key: "temp.max_age_hours",
        env: &["TEMP_FILE_MAX_AGE_HOURS"],
        kind: Kind::Float { min: 0.01, max: 87600.0, unit: "hours" },
        default: Default::Float(24.0),
        help: "temporary files older than this are orphans, swept at start and every hour",
    },
    // --- frames ---
    Spec {
        key: "frames.save",
        env: &["SAVE_FRAMES"],
        kind: Kind::Bool,
        default: Default::Bool(true),
        help: "save every Nth camera frame as a JPEG in frames.dir (rotated, bounded)",
    },
    Spec {
        key: "frames.save_interval",
        env: &["FRAME_SAVE_INTERVAL"],
        kind: Kind::Int { min: 1, max: 1_000_000, unit: "frames" },
        default: Default::Int(100),
        help: "save one frame per camera every this many frames",
    },
    Spec {
        key: "frames.max_saved",
        env: &["MAX_FRAMES_SAVED"],
        kind: Kind::Int { min: 1, max: 10_000_000, unit: "frames" },
        default: Default::Int(100),
        help: "saved JPEGs kept per camera; the oldest is removed first",
    },
    Spec {
        key: "frames.annotate",
        env: &["ANNOTATE_FRAMES"],
        kind: Kind::Bool,
        default: Default::Bool(true),
        help: "draw the zones, the tracked boxes with their ids and the counts on saved frames, as /api/cameras/<name>/snapshot.jpg shows them; false saves the camera's frames as they are",
    },
    Spec {
        key: "frames.dir",
        env: &["FRAME_DIR"],
        kind: Kind::Path,
        default: Default::Text("detection_frames"),
        help: "directory of the saved frames",
    },
    Spec {
        key: "frames.jpeg_quality",
        env: &["JPEG_QUALITY"],
        kind: Kind::Int { min: 1, max: 100, unit: "percent" },
        default: Default::Int(85),
        help: "JPEG quality of saved frames",
    },
    Spec {
        key: "frames.buffer_memory_mb",
        env: &["FRAME_BUFFER_MEMORY_MB"],
        kind: Kind::Float { min: 1.0, max: 65536.0, unit: "MB" },
        default: Default::Float(100.0),
        help: "bytes of recent frames held in memory (the frames themselves, not the process)",
    },
    Spec {
        key: "frames.min_free_disk_percent",
        env: &["MIN_FREE_DISK_PERCENT"],
        kind: Kind::Float { min: 0.0, max: 99.0, unit: "percent" },
        default: Default::Float(10.0),
        help: "below this share of free space on the frames' or the temp directory's disk, frames are not saved and orphaned temporary files older than a minute are swept (checked every 5 s; logged, and shown in /health and /api/status)",
    },
    // --- cameras (one table per camera: `[cameras.a]`, `[cameras.b]`) ---
    Spec {
        key: "cameras.<name>.source",
        env: &["CAMERA_<NAME>_SOURCE", "CAMERA_<NAME>_INDEX"],
        kind: Kind::CameraSource,
        default: Default::Text("synthetic:"),
        help: "what the camera watches; without a zones file a camera counts for the signal group of its own name (camera a for approach A)",
    },
    Spec {
        key: "cameras.<name>.zones",
        env: &["CAMERA_<NAME>_ZONES"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "zones file (TOML: queue polygons, count lines, masks) for the camera; empty: the synthetic scene's own zones, or the whole picture for other sources",
    },
    Spec {
        key: "cameras.<name>.detector",
        env: &["CAMERA_<NAME>_DETECTOR"],
        kind: Kind::Choice(DETECTORS),
        default: Default::Text("auto"),
        help: "vehicle detector of the camera: bgsub (background model), yolox (neural network on every frame) or auto (the network behind a motion gate; bgsub when the model is missing)",
    },
    Spec {
        key: "cameras.<name>.detection_rate",
        env: &["CAMERA_<NAME>_DETECTION_RATE"],
        kind: Kind::Float { min: 0.5, max: 60.0, unit: "network runs per second" },
        default: Default::Inherit("detection.rate"),
        help: "how often this camera's neural network runs, instead of detection.rate: more often for a fast approach, less for a side street's camera, to share a small board's cores",
    },
    Spec {
        key: "cameras.width",
        env: &["CAMERA_WIDTH"],
        kind: Kind::Int { min: 160, max: 1920, unit: "pixels" },
        default: Default::Int(640),
        help: "frame width requested from cameras (synthetic scenes render at this size)",
    },
    Spec {
        key: "cameras.height",
        env: &["CAMERA_HEIGHT"],
        kind: Kind::Int { min: 120, max: 1080, unit: "pixels" },
        default: Default::Int(480),
        help: "frame height requested from cameras",
    },
    Spec {
        key: "cameras.fps",
        env: &["CAMERA_FPS"],
        kind: Kind::Float { min: 1.0, max: 60.0, unit: "frames per second" },
        default: Default::Float(15.0),
        help: "frame rate requested from cameras",
    },
    Spec {
        key: "cameras.stale_after",
        env: &["CAMERA_STALE_AFTER"],
        kind: Kind::Float { min: 0.5, max: 600.0, unit: "seconds" },
        default: Default::Float(3.0),
        help: "a camera without a good frame for this long loses its groups' detection (served on recall); a file or generated camera is then closed and opened again with backoff (0.5 s doubling to 30 s), a network or USB camera reconnects by itself",
    },
    // --- detection ---
    Spec {
        key: "detection.model",
        env: &["DETECTION_MODEL"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "YOLOX-Nano ONNX model file; empty: models/yolox_nano.onnx in the working directory or the project",
    },
    Spec {
        key: "detection.min_score",
        env: &["DETECTION_MIN_SCORE"],
        kind: Kind::Float { min: 0.05, max: 0.95, unit: "score" },
        default: Default::Float(0.3),
        help: "least confidence of a YOLOX detection that counts",
    },
    Spec {
        key: "detection.rate",
        env: &["DETECTION_RATE"],
        kind: Kind::Float { min: 0.5, max: 60.0, unit: "network runs per second" },
        default: Default::Float(3.0),
        help: "how often each camera's neural network (yolox, auto) runs, on the newest frame (a camera's own cameras.<name>.detection_rate overrides it); the tracker carries the vehicles on the frames between, so counts stay fresh frame by frame; at or above cameras.fps, every frame. A camera whose detector cannot keep this rate lowers it step by step (to at least 1 a second) and climbs back when it can (logged, and shown in /health and /api/status). The background model (bgsub) runs on every frame",
    },
    Spec {
        key: "detection.state_dir",
        env: &["DETECTION_STATE_DIR"],
        kind: Kind::OptionalText,
        default: Default::Text("state"),
        help: "where each camera's background model (bgsub, or the one auto runs beside the network) is saved, as background-<camera>.bin, at shutdown and every 15 minutes, and restored from at start when the camera shows the same view, so a queue waiting at red while the daemon restarts is still counted; empty: not saved",
    },
    Spec {
        key: "detection.max_latency",
        env: &["DETECTION_MAX_LATENCY"],
        kind: Kind::Float { min: 0.001, max: 60.0, unit: "seconds" },
        default: Default::Float(2.0),
        help: "a camera's detector whose median time over its last 10 frames is above this, or that fails 3 frames in a row, is replaced by the background model (bgsub) until the daemon restarts; logged, and shown in /health and /api/status",
    },
    Spec {
        key: "detection.background_beside",
        env: &["DETECTION_BACKGROUND_BESIDE"],
        kind: Kind::Bool,
        default: Default::Bool(true),
        help: "auto also runs the background model (bgsub) on every frame, at about 1.2 ms a frame (2% of a core at 15 fps) and 4–5 MB a camera: it reports how much of each queue zone is covered (/api/status, metrics, count's JSON), learns a vehicle's size and how its counts compare with the network's where both ran, and takes over warm (not blind to a waiting queue) when the network fails or is too slow; false: a cold background model takes over",
    },
    Spec {
        key: "detection.runtime",
        env: &["DETECTION_RUNTIME"],
        kind: Kind::Choice(RUNTIMES),
        default: Default::Text("tract"),
        help: "what runs the YOLOX network: tract (built in, pure Rust) or onnxruntime (ONNX Runtime's shared library, loaded at start; about 2.5x faster; only in a build with the `onnxruntime` feature; a camera whose library cannot be loaded runs tract and says why)",
    },
    Spec {
        key: "detection.onnxruntime_library",
        env: &["DETECTION_ONNXRUNTIME_LIBRARY"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "ONNX Runtime's shared library for detection.runtime = onnxruntime; empty: ORT_DYLIB_PATH, else the library in python3's onnxruntime wheel (pip install onnxruntime), else the system's libonnxruntime.so",
    },
    // --- orchestrator ---
    Spec {
        key: "orchestrator.host",
        env: &["ORCHESTRATOR_HOST"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "host of the central orchestrator; empty means no orchestrator link",
    },
    Spec {
        key: "orchestrator.port",
        env: &["ORCHESTRATOR_PORT"],
        kind: Kind::Int { min: 1, max: 65535, unit: "port number" },
        default: Default::Int(9000),
        help: "TCP port of the central orchestrator",
    },
    Spec {
        key: "orchestrator.timeout",
        env: &["NETWORK_TIMEOUT"],
        kind: Kind::Float { min: 0.1, max: 300.0, unit: "seconds" },
        default: Default::Float(5.0),
        help: "connect and write timeout of the orchestrator link",
    },
    Spec {
        key: "orchestrator.heartbeat",
        env: &["ORCHESTRATOR_HEARTBEAT"],
        kind: Kind::Float { min: 0.2, max: 300.0, unit: "seconds" },
        default: Default::Float(2.0),
        help: "how often the TCP link writes {\"type\":\"heartbeat\"} (and the WebSocket link pings): a message counts as delivered once a heartbeat after it went out on a live connection",
    },
    Spec {
        key: "orchestrator.url",
        env: &["ORCHESTRATOR_URL"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "a WebSocket orchestrator, ws://HOST:PORT/PATH or wss://… (one JSON message per text frame); empty means none",
    },
    Spec {
        key: "orchestrator.ca_file",
        env: &["ORCHESTRATOR_CA_FILE"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "PEM file of the certificate authority a wss:// orchestrator's certificate is checked against; empty: the system's roots",
    },
    Spec {
        key: "outbox.path",
        env: &["OUTBOX_PATH"],
        kind: Kind::Path,
        default: Default::Text("outbox/outbox.db"),
        help: "the durable outbox (SQLite, WAL): every message is stored here before any link sends it and removed once every link has it",
    },
    Spec {
        key: "outbox.max_messages",
        env: &["OUTBOX_MAX_MESSAGES"],
        kind: Kind::Int { min: 10, max: 100_000_000, unit: "messages" },
        default: Default::Int(1_000_000),
        help: "messages the outbox keeps while a link is away; beyond it the oldest statuses are dropped first, counted and reported in the next status's `dropped`",
    },
    Spec {
        key: "outbox.max_mb",
        env: &["OUTBOX_MAX_MB"],
        kind: Kind::Float { min: 0.1, max: 102_400.0, unit: "MB" },
        default: Default::Float(256.0),
        help: "bytes of messages the outbox keeps, the same way",
    },
    Spec {
        key: "mqtt.host",
        env: &["MQTT_HOST"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "the MQTT broker; empty means no MQTT",
    },
    Spec {
        key: "mqtt.port",
        env: &["MQTT_PORT"],
        kind: Kind::Int { min: 1, max: 65535, unit: "port number" },
        default: Default::Int(1883),
        help: "the broker's port (8883 is usual with TLS)",
    },
    Spec {
        key: "mqtt.protocol",
        env: &["MQTT_PROTOCOL"],
        kind: Kind::Choice(&["3.1.1", "5"]),
        default: Default::Text("3.1.1"),
        help: "the MQTT version spoken to the broker",
    },
    Spec {
        key: "mqtt.username",
        env: &["MQTT_USERNAME"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "user name at the broker; empty: none",
    },
    Spec {
        key: "mqtt.password",
        env: &["MQTT_PASSWORD"],
        kind: Kind::Secret,
        default: Default::Text(""),
        help: "password at the broker (never logged or shown)",
    },
    Spec {
        key: "mqtt.topic_prefix",
        env: &["MQTT_TOPIC_PREFIX"],
        kind: Kind::Topic,
        default: Default::Text("semaforo"),
        help: "topics are <prefix>/<intersection id>/…",
    },
    Spec {
        key: "mqtt.client_id",
        env: &["MQTT_CLIENT_ID"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "the MQTT client id; empty: semaforo-<intersection id>",
    },
    Spec {
        key: "mqtt.tls",
        env: &["MQTT_TLS"],
        kind: Kind::Bool,
        default: Default::Bool(false),
        help: "connect to the broker over TLS (rustls; the system's roots unless mqtt.ca_file)",
    },
    Spec {
        key: "mqtt.ca_file",
        env: &["MQTT_CA_FILE"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "PEM file of the certificate authority the broker's certificate is checked against",
    },
    Spec {
        key: "mqtt.client_cert",
        env: &["MQTT_CLIENT_CERT"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "PEM client certificate for brokers that ask for one (with mqtt.client_key)",
    },
    Spec {
        key: "mqtt.client_key",
        env: &["MQTT_CLIENT_KEY"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "PEM private key of mqtt.client_cert",
    },
    Spec {
        key: "mqtt.home_assistant",
        env: &["MQTT_HOME_ASSISTANT"],
        kind: Kind::Bool,
        default: Default::Bool(false),
        help: "publish Home Assistant discovery messages, so the intersection shows up there with its queues and signal state",
    },
    Spec {
        key: "intersection.id",
        env: &["INTERSECTION_ID"],
        kind: Kind::Identifier,
        default: Default::HostName,
        help: "the intersection's name in every message to the orchestrator (`intersection`)",
    },
    Spec {
        key: "intersection.builtin",
        env: &["INTERSECTION_BUILTIN"],
        kind: Kind::Choice(&["two-approach", "four-arm"]),
        default: Default::Text("two-approach"),
        help: "the built-in layout, used when neither intersection.groups nor intersection.from_sumo is given: two-approach (the original's approaches A and B) or four-arm (groups N, S, E and W in phases NS and EW)",
    },
    Spec {
        key: "intersection.from_sumo",
        env: &["INTERSECTION_FROM_SUMO"],
        kind: Kind::OptionalText,
        default: Default::Text(""),
        help: "`PATH.net.xml#TLS_ID` (or just the path, when the network has one traffic light): the signal groups, phases, yellow and red clearance of that light's program, read as `semaforo sim` reads them",
    },
    Spec {
        key: "intersection.groups",
        env: &[],
        kind: Kind::Layout("a list of signal group names (letters, digits, '_', '-', '.', '#'), in the file only"),
        default: Default::Described("the built-in layout's"),
        help: "the signal groups (heads that always show the same colour); each zone's `approach` names one",
    },
    Spec {
        key: "intersection.phases",
        env: &[],
        kind: Kind::Layout("`[[intersection.phases]]` tables, each with `name` and `groups` (a list of group names), in the file only"),
        default: Default::Described("the built-in layout's"),
        help: "the phases, in the order a fixed-time plan cycles through them: the groups green together",
    },
    Spec {
        key: "intersection.conflicts",
        env: &[],
        kind: Kind::Layout("a list of pairs of group names, in the file only"),
        default: Default::Described("every pair of groups that no phase greens together"),
        help: "the pairs of groups that must never be green together (the conflict monitor's table)",
    },
    Spec {
        key: "intersection.timings.<group>.min_green",
        env: &[],
        kind: Kind::Float { min: 5.0, max: 300.0, unit: "seconds" },
        default: Default::Inherit("signal.min_green"),
        help: "the group's own minimum green (`[intersection.timings.<group>]`)",
    },
    Spec {
        key: "intersection.timings.<group>.max_green",
        env: &[],
        kind: Kind::Float { min: 10.0, max: 600.0, unit: "seconds" },
        default: Default::Inherit("signal.max_green"),
        help: "the group's own maximum green",
    },
    Spec {
        key: "intersection.timings.<group>.passage",
        env: &[],
        kind: Kind::Float { min: 0.0, max: 30.0, unit: "seconds" },
        default: Default::Inherit("signal.passage"),
        help: "the group's own passage (gap) time",
    },
    Spec {
        key: "intersection.timings.<group>.yellow",
        env: &[],
        kind: Kind::Float { min: 1.0, max: 10.0, unit: "seconds" },
        default: Default::Inherit("signal.yellow"),
        help: "the group's own yellow change interval",
    },
    Spec {
        key: "intersection.timings.<group>.red_clearance",
        env: &[],
        kind: Kind::Float { min: 0.0, max: 10.0, unit: "seconds" },
        default: Default::Inherit("signal.red_clearance"),
        help: "the group's own red clearance after its yellow",
    },
    Spec {
        key: "intersection.timings.<group>.recall",
        env: &[],
        kind: Kind::Choice(&["none", "min", "max"]),
        default: Default::Text("none"),
        help: "the group's recall: none (served on demand), min (served every cycle for at least its minimum green) or max (served every cycle to its maximum green); a group that no working camera watches is on recall whatever this says",
    },
    // --- signal ---
    Spec {
        key: "signal.policy",
        env: &["SIGNAL_POLICY"],
        kind: Kind::Choice(&["fixed", "compare", "actuated", "max-pressure"]),
        default: Default::Text("actuated"),
        help: "how green time is allocated: actuated (NEMA fully actuated: vehicles crossing the count line or the stop line extend the green, gap out, gap reduction, max out; over `semaforo sim`'s shipped scenarios the least delay on six of ten, compare on the other four, and the shortest longest waits, with exact counts and with a camera's counting errors, see BENCHMARKS.md), max-pressure (Varaiya's rule: the phase whose queues press hardest, with hysteresis and gap-out), compare (the original's rule: more vehicles wins, bounded waits) or fixed (a fixed-time plan)",
    },
    Spec {
        key: "signal.min_green",
        env: &["MIN_GREEN_TIME"],
        kind: Kind::Float { min: 5.0, max: 300.0, unit: "seconds" },
        default: Default::Float(10.0),
        help: "shortest green of any phase",
    },
    Spec {
        key: "signal.max_green",
        env: &["MAX_GREEN_TIME"],
        kind: Kind::Float { min: 10.0, max: 600.0, unit: "seconds" },
        default: Default::Float(60.0),
        help: "longest green of any phase while another approach is waiting",
    },
    Spec {
        key: "signal.yellow",
        env: &["YELLOW_TIME"],
        kind: Kind::Float { min: 1.0, max: 10.0, unit: "seconds" },
        default: Default::Float(3.0),
        help: "yellow change interval",
    },
    Spec {
        key: "signal.red_clearance",
        env: &["RED_TIME"],
        kind: Kind::Float { min: 0.0, max: 10.0, unit: "seconds" },
        default: Default::Float(2.0),
        help: "all-red clearance after each yellow",
    },
    Spec {
        key: "signal.decision_interval",
        env: &["DECISION_INTERVAL"],
        kind: Kind::Float { min: 0.5, max: 3600.0, unit: "seconds" },
        default: Default::Float(2.0),
        help: "how often status (counts) is reported to the orchestrator and the log",
    },
    Spec {
        key: "signal.passage",
        env: &["PASSAGE_TIME"],
        kind: Kind::Float { min: 0.0, max: 30.0, unit: "seconds" },
        default: Default::Float(3.0),
        help: "passage (gap) time: an actuated green gaps out when no vehicle has crossed the count line or the stop line for this long",
    },
    // --- policy parameters (semaforo_signal::POLICY_PARAMETERS; a test keeps them equal) ---
    Spec {
        key: "signal.actuated_time_before_reduction",
        env: &["ACTUATED_TIME_BEFORE_REDUCTION"],
        kind: Kind::Float { min: 0.0, max: 300.0, unit: "seconds" },
        default: Default::Float(5.0),
        help: "actuated (gap reduction): how long a conflicting call waits before the green's allowed gap starts to shrink",
    },
    Spec {
        key: "signal.actuated_time_to_reduce",
        env: &["ACTUATED_TIME_TO_REDUCE"],
        kind: Kind::Float { min: 0.0, max: 300.0, unit: "seconds" },
        default: Default::Float(15.0),
        help: "actuated (gap reduction): over how long the allowed gap then shrinks from the passage time to actuated_minimum_gap",
    },
    Spec {
        key: "signal.actuated_minimum_gap",
        env: &["ACTUATED_MINIMUM_GAP"],
        kind: Kind::Float { min: 0.0, max: 30.0, unit: "seconds" },
        default: Default::Float(1.5),
        help: "actuated (gap reduction): the smallest allowed gap",
    },
    Spec {
        key: "signal.compare_margin",
        env: &["COMPARE_MARGIN"],
        kind: Kind::Int { min: 0, max: 100, unit: "vehicles" },
        default: Default::Int(8),
        help: "compare: how many more vehicles the waiting approach needs than the green one before the green is ended (after its minimum green)",
    },
    Spec {
        key: "signal.max_pressure_ratio",
        env: &["MAX_PRESSURE_RATIO"],
        kind: Kind::Float { min: 1.0, max: 10.0, unit: "ratio" },
        default: Default::Float(3.0),
        help: "max-pressure: a waiting phase ends the green when its pressure is at least this many times the green's plus max_pressure_margin (hysteresis)",
    },
    Spec {
        key: "signal.max_pressure_margin",
        env: &["MAX_PRESSURE_MARGIN"],
        kind: Kind::Int { min: 0, max: 100, unit: "vehicles" },
        default: Default::Int(3),
        help: "max-pressure: the vehicles added to the green's pressure in that comparison",
    },
    Spec {
        key: "signal.max_pressure_empty_gap",
        env: &["MAX_PRESSURE_EMPTY_GAP"],
        kind: Kind::Float { min: 0.1, max: 30.0, unit: "seconds" },
        default: Default::Float(1.0),
        help: "max-pressure: the green gaps out when its zones have held no vehicle for this long (its queue has cleared)",
    },
    Spec {
        key: "signal.max_pressure_stall_gap",
        env: &["MAX_PRESSURE_STALL_GAP"],
        kind: Kind::Float { min: 0.0, max: 60.0, unit: "seconds" },
        default: Default::Float(3.0),
        help: "max-pressure: the green gaps out when vehicles crossed the stop line during it but none has for this long (0 turns it off; otherwise at least 0.5)",
    },
    // --- http (the API, metrics and dashboard) ---
    Spec {
        key: "http.addr",
        env: &["HTTP_ADDR"],
        kind: Kind::ListenAddress,
        default: Default::Text("127.0.0.1:8080"),
        help: "where the HTTP API, /metrics and the dashboard listen (`run --http ADDR`); off turns them off; an address other than loopback needs http.token",
    },
    Spec {
        key: "http.token",
        env: &["HTTP_TOKEN"],
        kind: Kind::Token,
        default: Default::Text(""),
        help: "bearer token: when set, every endpoint but /health and the dashboard's static page asks for `Authorization: Bearer <token>` (the page asks for the token and sends it); required on an address other than loopback",
    },
];

/// The placeholder for a camera's name in [`Spec::key`] and its environment variables
/// (`<NAME>`, the name in upper case with `-` as `_`).
pub const CAMERA_NAME: &str = "<name>";

/// The placeholder of per-group settings' keys (`intersection.timings.<group>.min_green`).
pub const GROUP_NAME: &str = "<group>";

/// Where per-group timing keys start.
pub const GROUP_TIMINGS: &str = "intersection.timings.";

pub const DEFAULT_CAMERAS: &[&str] = &["a", "b"];

impl Spec {
    pub fn is_per_camera(&self) -> bool {
        self.key.contains(CAMERA_NAME)
    }

    /// A setting that defaults to another one (a camera's own `detection_rate`): it exists
    /// only where it is given, and the other setting's value stands for it elsewhere.
    pub fn is_given_only(&self) -> bool {
        matches!(self.default, Default::Inherit(_))
    }

    /// A per-group timing: only the groups the configuration names get one, the others
    /// take `[signal]`'s values.
    pub fn is_per_group(&self) -> bool {
        self.key.contains(GROUP_NAME)
    }

    /// Part of the layout, read by [`super::layout`] rather than as a single value.
    pub fn is_layout(&self) -> bool {
        matches!(self.kind, Kind::Layout(_))
    }

    pub fn key_for(&self, camera: &str) -> String {
        self.key.replace(CAMERA_NAME, camera)
    }

    pub fn env_for(&self, camera: &str) -> Vec<String> {
        let upper = camera.to_ascii_uppercase().replace('-', "_");
        self.env
            .iter()
            .map(|var| var.replace("<NAME>", &upper))
            .collect()
    }
}

/// Whose setting a key is: a camera's (`cameras.a.source`) or a group's
/// (`intersection.timings.north.min_green`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'k> {
    Camera(&'k str),
    Group(&'k str),
}

/// The setting a key names, and its camera or group for a per-camera or per-group key.
pub fn spec(key: &str) -> Option<(&'static Spec, Option<Owner<'_>>)> {
    if let Some(spec) = SETTINGS.iter().find(|s| s.key == key) {
        return Some((spec, None));
    }
    // A group's name may hold dots (SUMO's edge ids may): the field is the last part.
    if let Some((group, field)) = key
        .strip_prefix(GROUP_TIMINGS)
        .and_then(|rest| rest.rsplit_once('.'))
    {
        return SETTINGS
            .iter()
            .filter(|s| s.is_per_group())
            .find(|s| s.key.rsplit('.').next() == Some(field))
            .filter(|_| !group.is_empty())
            .map(|s| (s, Some(Owner::Group(group))));
    }
    let (camera, leaf) = key.strip_prefix("cameras.")?.split_once('.')?;
    SETTINGS
        .iter()
        .filter(|s| s.is_per_camera())
        .find(|s| s.key_for(camera) == key)
        .filter(|_| !leaf.contains('.') && !camera.is_empty())
        .map(|s| (s, Some(Owner::Camera(camera))))
}

pub fn suggest(unknown: &str) -> Option<String> {
    let lower = unknown.to_ascii_lowercase();
    let camera = lower
        .strip_prefix("cameras.")
        .and_then(|rest| rest.split_once('.'))
        .map_or(DEFAULT_CAMERAS[0], |(name, _)| name);
    let group = lower
        .strip_prefix(GROUP_TIMINGS)
        .and_then(|rest| rest.rsplit_once('.'))
        .map_or(GROUP_NAME, |(name, _)| name);
    SETTINGS
        .iter()
        .map(|s| {
            let key = s.key_for(camera).replace(GROUP_NAME, group);
            // Compare whole keys, and also the last segment alone, so `signal.min_gren` and
            // `min_green` in the wrong section both find `signal.min_green`.
            let whole = strsim::jaro_winkler(&lower, &key);
            let last = lower.rsplit('.').next().unwrap_or(&lower);
            let leaf = s.key.rsplit('.').next().unwrap_or(s.key);
            let tail = strsim::jaro_winkler(last, leaf) * 0.95;
            (key, whole.max(tail))
        })
        .filter(|(_, score)| *score >= 0.85)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(key, _)| key)
}

/// Every setting as a Markdown table (`semaforo config keys`, and the README's copy of it).
pub fn reference_table() -> String {
    let mut out = String::from(
        "| key | environment | default | accepted | what it does |\n|---|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let env: Vec<String> = s.env.iter().map(|e| format!("`{e}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            s.key,
            env.join(", "),
            s.default,
            s.kind.expected(),
            s.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_env_names_are_unique() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
        let mut envs: Vec<_> = SETTINGS.iter().flat_map(|s| s.env.iter()).collect();
        let n = envs.len();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), n);
    }

    #[test]
    fn guide_names_have_guide_defaults() {
        let default_of = |env: &str| {
            SETTINGS
                .iter()
                .find(|s| s.env.contains(&env))
                .map(|s| s.default.to_string())
                .unwrap_or_default()
        };
        assert_eq!(default_of("MEMORY_LIMIT_MB"), "512");
        assert_eq!(default_of("FRAME_SAVE_INTERVAL"), "100");
        assert_eq!(default_of("MAX_FRAMES_SAVED"), "100");
        assert_eq!(default_of("TEMP_FILE_PREFIX"), "\"traffic_\"");
        assert_eq!(default_of("TEMP_FILE_MAX_AGE_HOURS"), "24");
        assert_eq!(default_of("MIN_GREEN_TIME"), "10");
        assert_eq!(default_of("MAX_GREEN_TIME"), "60");
        assert_eq!(default_of("YELLOW_TIME"), "3");
        assert_eq!(default_of("RED_TIME"), "2");
        assert_eq!(default_of("MAX_LOG_FILE_SIZE_MB"), "10");
        assert_eq!(default_of("LOG_BACKUP_COUNT"), "5");
    }

    #[test]
    fn the_readme_lists_every_setting_as_config_keys_prints_it() {
        let readme = include_str!("../../../../README.md");
        assert!(
            readme.contains(&reference_table()),
            "README.md's configuration table is out of date: paste `semaforo config keys`"
        );
    }

    #[test]
    fn typos_find_the_intended_key() {
        let suggest = |key| suggest(key);
        assert_eq!(
            suggest("signal.min_gren").as_deref(),
            Some("signal.min_green")
        );
        assert_eq!(suggest("logging.levle").as_deref(), Some("logging.level"));
        assert_eq!(
            suggest("frames.jpeg_qualty").as_deref(),
            Some("frames.jpeg_quality")
        );
        assert_eq!(
            suggest("cameras.b.sorce").as_deref(),
            Some("cameras.b.source")
        );
        assert_eq!(suggest("completely.unrelated"), None);
    }

    #[test]
    fn policy_parameters_match_the_signal_crates_table() {
        use semaforo_signal::policy::parameter_range;
        use semaforo_signal::PolicyKind;
        let cases = [
            (
                "signal.actuated_time_before_reduction",
                PolicyKind::Actuated,
                "time_before_reduction",
            ),
            (
                "signal.actuated_time_to_reduce",
                PolicyKind::Actuated,
                "time_to_reduce",
            ),
            (
                "signal.actuated_minimum_gap",
                PolicyKind::Actuated,
                "minimum_gap",
            ),
            ("signal.compare_margin", PolicyKind::Compare, "margin"),
            (
                "signal.max_pressure_ratio",
                PolicyKind::MaxPressure,
                "ratio",
            ),
            (
                "signal.max_pressure_margin",
                PolicyKind::MaxPressure,
                "margin",
            ),
            (
                "signal.max_pressure_empty_gap",
                PolicyKind::MaxPressure,
                "empty_gap",
            ),
            (
                "signal.max_pressure_stall_gap",
                PolicyKind::MaxPressure,
                "stall_gap",
            ),
        ];
        for (key, policy, name) in cases {
            let (setting, _) = spec(key).unwrap();
            let range = parameter_range(policy, name).unwrap();
            let (min, max) = match setting.kind {
                Kind::Int { min, max, .. } => (min as f64, max as f64),
                Kind::Float { min, max, .. } => (min, max),
                other => panic!("{key} is {other:?}"),
            };
            // The stall gap's setting also takes 0, for "off" (the policy's `None`).
            let expected_min = if name == "stall_gap" { 0.0 } else { range.min };
            assert_eq!((min, max), (expected_min, range.max), "{key}");
            assert_eq!(
                setting.default.to_string(),
                range.default.to_string(),
                "{key}"
            );
        }
    }

    #[test]
    fn per_camera_keys_name_their_camera() {
        let (zones, camera) = spec("cameras.b.zones").unwrap();
        assert_eq!(
            (zones.key, camera),
            ("cameras.<name>.zones", Some(Owner::Camera("b")))
        );
        assert_eq!(zones.env_for("north-left"), ["CAMERA_NORTH_LEFT_ZONES"]);
        assert_eq!(spec("cameras.width").unwrap().1, None);
        assert!(spec("cameras.b.zones.extra").is_none());
        assert!(spec("cameras..zones").is_none());
    }

    #[test]
    fn per_group_keys_name_their_group_even_with_dots() {
        let (min, group) = spec("intersection.timings.north-left.min_green").unwrap();
        assert_eq!(
            (min.key, group),
            (
                "intersection.timings.<group>.min_green",
                Some(Owner::Group("north-left"))
            )
        );
        let (_, group) = spec("intersection.timings.-123#4.5.recall").unwrap();
        assert_eq!(group, Some(Owner::Group("-123#4.5")));
        assert!(spec("intersection.timings.north.min_gren").is_none());
        assert!(spec("intersection.timings..min_green").is_none());
    }
}
