//! The three log files the Guide names, written off the hot path.
//!
//! - `traffic_light.log`: everything at the configured level;
//! - `errors.log`: warnings and errors;
//! - `performance.log`: stage timings and resource statistics (events with the `tracing`
//!   target `performance`, which go nowhere else).
//!
//! Code logs with the ordinary `tracing` macros. The [`FileLayer`] formats each event and hands
//! the line to a bounded channel; one writer thread owns the files, rotates them by size and
//! flushes whenever the channel runs dry. When the channel is full the line is dropped and
//! counted (the count is written to the logs as soon as there is room): logging never blocks a
//! camera or the controller. Dropping the [`LogGuard`] drains the channel and syncs the files, so
//! every line accepted before exit is on disk.
//!
//! When the files cannot be written (the disk is full, the directory went away or became
//! read-only), the lines go to the console instead, with a note when that starts and when the
//! files work again; the lines the files' buffers hold are written once they can be.

mod rotating;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

pub use rotating::RotatingFile;

use crate::config::{LogFormat, LoggingConfig};

/// The `tracing` target whose events go to `performance.log`.
pub const PERFORMANCE_TARGET: &str = "performance";

/// File names under the log directory, as the Guide lists them.
pub const MAIN_LOG: &str = "traffic_light.log";
pub const ERRORS_LOG: &str = "errors.log";
pub const PERFORMANCE_LOG: &str = "performance.log";

const TO_MAIN: u8 = 1;
const TO_ERRORS: u8 = 2;
const TO_PERFORMANCE: u8 = 4;

enum Message {
    Line {
        to: u8,
        text: String,
        /// Whether the line was printed on the console already.
        on_console: bool,
    },
    /// Write everything before this, flush, then answer.
    #[cfg_attr(not(test), allow(dead_code))]
    Flush(SyncSender<()>),
    /// Write everything before this, sync the files, answer, and stop the writer.
    Stop(SyncSender<()>),
}

/// Counters shared by the layer and the writer.
#[derive(Debug, Default)]
pub struct LogCounters {
    /// Lines dropped because the channel was full (or the writer had stopped).
    pub dropped: AtomicU64,
    /// Lines the writer could not write (disk full, file removed...).
    pub write_failures: AtomicU64,
}

/// The `tracing` layer that formats events and queues them for the writer.
pub struct FileLayer {
    tx: SyncSender<Message>,
    counters: Arc<LogCounters>,
    main_level: Level,
    performance: bool,
    format: LogFormat,
    console: Option<Level>,
    console_is_terminal: bool,
    to_file: bool,
}

/// Owns the writer thread; dropping it drains and syncs the log files.
pub struct LogGuard {
    tx: Option<SyncSender<Message>>,
    writer: Option<JoinHandle<()>>,
    counters: Arc<LogCounters>,
}

impl LogGuard {
    /// Waits until every line queued so far is written and flushed.
    #[cfg(test)]
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (ack_tx, ack_rx) = mpsc::sync_channel(1);
            if tx.send(Message::Flush(ack_tx)).is_ok() {
                let _ = ack_rx.recv();
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // The layer keeps a sender of its own (a global subscriber lives as long as the
        // process), so the channel never closes by itself: the writer is told to stop. The
        // channel is FIFO, so every line queued before the stop is written first.
        if let (Some(tx), Some(writer)) = (self.tx.take(), self.writer.take()) {
            let (ack_tx, ack_rx) = mpsc::sync_channel(1);
            if tx.send(Message::Stop(ack_tx)).is_ok() {
                let _ = ack_rx.recv();
            }
            let _ = writer.join();
        }
    }
}

/// Builds the layer and starts the writer. With `to_file` off, the layer only prints to the
/// console. The error names the log directory when it cannot be created or written.
pub fn start(config: &LoggingConfig) -> Result<(FileLayer, LogGuard), std::io::Error> {
    let (tx, rx) = mpsc::sync_channel(config.queue_capacity.max(1));
    let counters = Arc::new(LogCounters::default());
    let writer = if config.to_file {
        let files = open_files(config)?;
        let counters = counters.clone();
        Some(
            std::thread::Builder::new()
                .name("log-writer".into())
                .spawn(move || writer_loop(rx, files, counters))?,
        )
    } else {
        drop(rx);
        None
    };
    let layer = FileLayer {
        tx: tx.clone(),
        counters: counters.clone(),
        main_level: config.level,
        performance: config.performance,
        format: config.format,
        console: config.to_console.then_some(config.level),
        to_file: writer.is_some(),
        console_is_terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let guard = LogGuard {
        tx: Some(tx),
        writer,
        counters,
    };
    Ok((layer, guard))
}

fn open_files(config: &LoggingConfig) -> Result<[RotatingFile; 3], std::io::Error> {
    let named = |e: std::io::Error, path: &Path| {
        std::io::Error::new(e.kind(), format!("log file {}: {e}", path.display()))
    };
    std::fs::create_dir_all(&config.dir).map_err(|e| named(e, &config.dir))?;
    let open = |name: &str| {
        let path = config.dir.join(name);
        RotatingFile::open(path.clone(), config.max_file_bytes, config.backup_count)
            .map_err(|e| named(e, &path))
    };
    Ok([open(MAIN_LOG)?, open(ERRORS_LOG)?, open(PERFORMANCE_LOG)?])
}

/// Writes lines as they come; flushes whenever the queue runs dry, so a quiet program's
/// lines are on disk at once and a busy one writes in large blocks.
fn writer_loop(rx: Receiver<Message>, files: [RotatingFile; 3], counters: Arc<LogCounters>) {
    let mut files = Files {
        files,
        failing: None,
        checked: std::time::Instant::now(),
    };
    let mut reported_drops = 0;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line {
                    to,
                    text,
                    on_console,
                } => files.write(to, &text, on_console, &counters),
                Message::Flush(ack) => {
                    flush_all(&mut files, &counters, &mut reported_drops);
                    let _ = ack.send(());
                }
                Message::Stop(ack) => {
                    flush_all(&mut files, &counters, &mut reported_drops);
                    for f in files.files.iter_mut() {
                        let _ = f.sync();
                    }
                    let _ = ack.send(());
                    return;
                }
            }
            next = rx.try_recv().ok();
        }
        flush_all(&mut files, &counters, &mut reported_drops);
    }
}

/// The three files, and where lines go while they cannot be written.
struct Files {
    files: [RotatingFile; 3],
    /// Since a write or a flush failed: the lines printed on the console instead.
    failing: Option<u64>,
    /// When the files were last checked to be where they belong.
    checked: std::time::Instant,
}

/// How often the writer checks that its files are still at their paths.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Files {
    /// Writes a line to the files it belongs in; while they fail, it goes to the console as
    /// well (unless it was printed there already).
    fn write(&mut self, to: u8, text: &str, on_console: bool, counters: &LogCounters) {
        let mut refused = None;
        for (bit, file) in [TO_MAIN, TO_ERRORS, TO_PERFORMANCE]
            .into_iter()
            .zip(self.files.iter_mut())
        {
            if to & bit == 0 {
                continue;
            }
            if let Err(e) = file.write_line(text) {
                counters.write_failures.fetch_add(1, Ordering::Relaxed);
                refused.get_or_insert_with(|| format!("{}: {e}", file.path().display()));
            }
        }
        if let Some(why) = refused {
            self.failed(&why);
        }
        // While the files fail, every line is on the console too: one a file's buffer took
        // may never reach the disk.
        if let (Some(lines), false) = (&mut self.failing, on_console) {
            eprintln!("{text}");
            *lines += 1;
        }
    }

    /// Says on the console, once, that the files cannot be written.
    fn failed(&mut self, why: &str) {
        if self.failing.is_none() {
            eprintln!(
                "[{}] [WARNING ] [semaforo::logging] cannot write the log file {why}; log lines \
                 go to the console until the log files can be written again",
                chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f")
            );
            self.failing = Some(0);
        }
    }

    /// Flushes every file; once all are written again after a failure, says so on the
    /// console and in the files.
    fn flush(&mut self, counters: &LogCounters) {
        let mut failure = None;
        // While failing, at every flush: the files are back only once they are where they
        // belong (a flush into a file whose directory was removed succeeds, and is lost).
        let check = self.failing.is_some() || self.checked.elapsed() >= CHECK_EVERY;
        if check {
            self.checked = std::time::Instant::now();
        }
        for f in self.files.iter_mut() {
            if check {
                if let Err(e) = f.reopen_if_gone() {
                    failure.get_or_insert_with(|| format!("{}: {e}", f.path().display()));
                }
            }
            if let Err(e) = f.flush() {
                counters.write_failures.fetch_add(1, Ordering::Relaxed);
                failure.get_or_insert_with(|| format!("{}: {e}", f.path().display()));
            }
        }
        match (failure, self.failing) {
            (Some(why), _) => self.failed(&why),
            (None, Some(lines)) if check => {
                self.failing = None;
                let text = format!(
                    "[{}] [INFO    ] [semaforo::logging] the log files are written again; {lines} \
                     line(s) went to the console meanwhile",
                    chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f")
                );
                eprintln!("{text}");
                self.write(TO_MAIN | TO_ERRORS, &text, true, counters);
            }
            (None, _) => {}
        }
    }
}

fn flush_all(files: &mut Files, counters: &LogCounters, reported_drops: &mut u64) {
    report_drops(files, counters, reported_drops);
    files.flush(counters);
}

fn report_drops(files: &mut Files, counters: &LogCounters, reported: &mut u64) {
    let dropped = counters.dropped.load(Ordering::Relaxed);
    if dropped > *reported {
        let text = format!(
            "[{}] [WARNING ] [semaforo::logging] {} log lines were dropped because the log queue was full",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f"),
            dropped - *reported
        );
        files.write(TO_MAIN | TO_ERRORS, &text, false, counters);
        *reported = dropped;
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.rest.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.rest.push((field.name(), format!("{value:?}")));
        }
    }
}

fn level_name(level: &Level) -> &'static str {
    // The original's names, so its operators' greps keep working.
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARNING",
        Level::ERROR => "ERROR",
    }
}

impl FileLayer {
    fn destinations(&self, meta: &Metadata<'_>) -> u8 {
        if !self.to_file {
            return 0;
        }
        if meta.target() == PERFORMANCE_TARGET {
            return if self.performance { TO_PERFORMANCE } else { 0 };
        }
        let mut to = 0;
        if meta.level() <= &self.main_level {
            to |= TO_MAIN;
        }
        if meta.level() <= &Level::WARN {
            to |= TO_ERRORS;
        }
        to
    }

    fn wants_console(&self, meta: &Metadata<'_>) -> bool {
        self.console.is_some_and(|l| meta.level() <= &l) && meta.target() != PERFORMANCE_TARGET
    }
}

fn format_text(time: &chrono::DateTime<chrono::Local>, meta: &Metadata<'_>, f: &Fields) -> String {
    let mut line = format!(
        "[{}] [{:<8}] [{}] {}",
        time.format("%Y-%m-%d %H:%M:%S%.3f"),
        level_name(meta.level()),
        meta.target(),
        f.message
    );
    for (k, v) in &f.rest {
        let _ = write!(line, " {k}={v}");
    }
    line
}

fn format_json(time: &chrono::DateTime<chrono::Local>, meta: &Metadata<'_>, f: &Fields) -> String {
    let mut object = serde_json::Map::new();
    object.insert(
        "time".into(),
        time.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
            .into(),
    );
    object.insert("level".into(), level_name(meta.level()).into());
    object.insert("target".into(), meta.target().into());
    object.insert("message".into(), f.message.clone().into());
    for (k, v) in &f.rest {
        object.insert((*k).to_string(), v.clone().into());
    }
    serde_json::Value::Object(object).to_string()
}

impl<S: Subscriber> Layer<S> for FileLayer {
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.destinations(meta) != 0 || self.wants_console(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let to = self.destinations(meta);
        let console = self.wants_console(meta);
        if to == 0 && !console {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = chrono::Local::now();
        if console {
            let mut line = format!(
                "{} {:<7} {}",
                now.format("%H:%M:%S%.3f"),
                level_name(meta.level()),
                fields.message
            );
            for (k, v) in &fields.rest {
                let _ = write!(line, " {k}={v}");
            }
            let mut err = std::io::stderr().lock();
            // On a terminal, wipe the live status line first; the loop redraws it.
            let clear = if self.console_is_terminal {
                "\r\x1b[2K"
            } else {
                ""
            };
            let _ = writeln!(err, "{clear}{line}");
        }
        if to != 0 {
            let text = match self.format {
                LogFormat::Text => format_text(&now, meta, &fields),
                LogFormat::Json => format_json(&now, meta, &fields),
            };
            let line = Message::Line {
                to,
                text,
                on_console: console,
            };
            match self.tx.try_send(line) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Installs the log layer as the process-wide `tracing` subscriber.
///
/// When the log directory cannot be used, logging falls back to the console alone and the
/// error is returned beside the guard, for the caller to report: a controller keeps running
/// without its log files rather than not at all.
pub fn install(config: &LoggingConfig) -> (LogGuard, Option<std::io::Error>) {
    use tracing_subscriber::layer::SubscriberExt;
    let (result, failure) = match start(config) {
        Ok(pair) => (pair, None),
        Err(e) => {
            let console_only = LoggingConfig {
                to_file: false,
                ..config.clone()
            };
            match start(&console_only) {
                Ok(pair) => (pair, Some(e)),
                Err(second) => return (LogGuard::inert(), Some(second)),
            }
        }
    };
    let (layer, guard) = result;
    let subscriber = tracing_subscriber::registry().with(layer);
    // A second install in one process (only tests do that) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    (guard, failure)
}

impl LogGuard {
    fn inert() -> Self {
        LogGuard {
            tx: None,
            writer: None,
            counters: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    fn config(dir: &Path) -> LoggingConfig {
        LoggingConfig {
            level: Level::INFO,
            dir: dir.to_path_buf(),
            format: LogFormat::Text,
            max_file_bytes: 10 * 1024 * 1024,
            backup_count: 5,
            to_console: false,
            to_file: true,
            performance: true,
            queue_capacity: 1024,
        }
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap_or_default()
    }

    #[test]
    fn each_line_goes_to_the_files_it_belongs_in_and_reaches_disk_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let (layer, guard) = start(&config(dir.path())).unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::debug!("too detailed");
            tracing::info!(approach = "A", "green began");
            tracing::warn!("camera B stalled");
            tracing::error!("camera B lost");
            tracing::info!(target: PERFORMANCE_TARGET, stage = "detect", ms = 4.2, "timing");
        });
        drop(guard);
        let main = read(dir.path(), MAIN_LOG);
        let errors = read(dir.path(), ERRORS_LOG);
        let perf = read(dir.path(), PERFORMANCE_LOG);
        assert!(!main.contains("too detailed"));
        assert!(main.contains("] [INFO    ] ["), "{main}");
        assert!(main.contains("green began approach=A"), "{main}");
        assert!(main.contains("camera B stalled") && main.contains("camera B lost"));
        assert!(
            !main.contains("timing"),
            "performance lines stay in performance.log"
        );
        assert_eq!(errors.lines().count(), 2, "{errors}");
        assert!(errors.contains("[WARNING ]") && errors.contains("[ERROR   ]"));
        assert!(perf.contains("timing stage=detect ms=4.2"), "{perf}");
    }

    #[test]
    fn json_format_writes_one_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LoggingConfig {
            format: LogFormat::Json,
            ..config(dir.path())
        };
        let (layer, guard) = start(&cfg).unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(count_a = 5, "status \"quoted\"");
        });
        drop(guard);
        let main = read(dir.path(), MAIN_LOG);
        let value: serde_json::Value = serde_json::from_str(main.trim()).unwrap();
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["message"], "status \"quoted\"");
        assert_eq!(value["count_a"], "5");
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LoggingConfig {
            queue_capacity: 16,
            ..config(dir.path())
        };
        let (layer, guard) = start(&cfg).unwrap();
        // Hold the writer: a flush whose answer goes into a rendezvous channel blocks it until
        // the test receives, so the 16-line queue fills deterministically.
        let (ack_tx, ack_rx) = mpsc::sync_channel(0);
        guard
            .tx
            .as_ref()
            .unwrap()
            .send(Message::Flush(ack_tx))
            .unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for i in 0..1000 {
                tracing::info!("line {i}");
            }
        });
        // The writer is blocked answering the flush until we receive.
        ack_rx.recv().unwrap();
        let dropped = guard.dropped();
        drop(guard);
        let main = read(dir.path(), MAIN_LOG);
        let written = main.lines().filter(|l| l.contains("] line ")).count() as u64;
        assert!(
            dropped > 0,
            "a 16-line queue cannot take 1000 lines at once"
        );
        assert_eq!(
            written + dropped,
            1000,
            "every line is either written or counted"
        );
        // Drops are reported as they are noticed, possibly in several lines; together they
        // account for every dropped line.
        let reported: u64 = main
            .lines()
            .filter_map(|l| {
                l.split("] ")
                    .nth(3)?
                    .strip_suffix(" log lines were dropped because the log queue was full")
            })
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(reported, dropped, "{main}");
    }

    #[test]
    fn rotation_keeps_the_configured_number_of_backups() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LoggingConfig {
            max_file_bytes: 2048,
            backup_count: 2,
            ..config(dir.path())
        };
        let (layer, guard) = start(&cfg).unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for i in 0..500 {
                tracing::info!("a line that takes some room {i}");
                if i % 50 == 0 {
                    guard.flush();
                }
            }
        });
        drop(guard);
        assert!(dir.path().join("traffic_light.log.1").exists());
        assert!(dir.path().join("traffic_light.log.2").exists());
        assert!(!dir.path().join("traffic_light.log.3").exists());
        let size = std::fs::metadata(dir.path().join(MAIN_LOG)).unwrap().len();
        assert!(size <= 2048);
    }

    #[test]
    fn an_unusable_log_directory_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "").unwrap();
        let err = start(&config(&blocker.join("logs"))).err().unwrap();
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }
}
