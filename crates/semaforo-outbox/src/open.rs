//! Opening an outbox file: the checks that decide whether the file on disk is a usable outbox
//! of this intersection, moving an unusable one aside, and creating a fresh one.
//!
//! Why a file is moved aside rather than refused: the daemon must keep controlling the
//! intersection whatever happened to its disk (a power cut during a checkpoint on an SD card,
//! a file truncated by a full disk, a wrong path). The old file keeps its name with
//! `.corrupt-<unix time>` added, its `-wal`, `-shm` and `-journal` beside it under the same new
//! name, so `sqlite3 outbox.db.corrupt-1764…` opens it with its write-ahead log for a look.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::OutboxError;
use crate::outbox::{CursorRow, State};

/// `PRAGMA application_id`: "SEMA". Tells our outbox from any other SQLite database (the
/// `file` command prints it too).
const APPLICATION_ID: i32 = 0x5345_4D41;

/// `PRAGMA user_version` of the schema below; an outbox of another version is moved aside.
const SCHEMA_VERSION: i32 = 1;

/// How long an open waits for another holder of the file to let go (a daemon still stopping)
/// before calling it [`OutboxError::Locked`].
const LOCK_WAIT: Duration = Duration::from_millis(250);

/// After a checkpoint the write-ahead log is cut back to this size, so the disk holds at most
/// the database and about this much more (SQLite checkpoints at 1,000 pages, 4 MiB).
const WAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

/// Schema version 1.
///
/// - `meta`: `intersection` (the outbox belongs to one), `last_seq` (the high-water mark: the
///   highest seq ever assigned is the larger of it and `max(message.seq)`; it is written
///   whenever rows are deleted, so a seq is never reused, even once every message is gone),
///   `dropped_total` (messages the bound dropped, ever).
/// - `message`: one row per message; `bytes` is the body's length in bytes (what the byte
///   bound counts). The partial index finds the oldest status without scanning.
/// - `cursor`: per transport, the highest seq it acknowledged and the messages dropped before
///   it acknowledged them.
const SCHEMA: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value NOT NULL
) WITHOUT ROWID;
CREATE TABLE message (
    seq INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('decision', 'status', 'event')),
    created_ns INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX message_status ON message (seq) WHERE kind = 'status';
CREATE TABLE cursor (
    name TEXT PRIMARY KEY NOT NULL,
    acked INTEGER NOT NULL,
    skipped INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Why an outbox file could not be used and was moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Not a SQLite database at all (garbage, another kind of file, a damaged header).
    NotADatabase(String),
    /// A SQLite database that fails `PRAGMA quick_check` or reads as malformed (a truncated
    /// file, damaged pages).
    Damaged(String),
    /// The file could not be opened or read (permissions, I/O error).
    Unreadable(String),
    /// A healthy SQLite database of some other program, or of an outbox schema this program
    /// does not read.
    NotAnOutbox(String),
    /// A healthy outbox of another intersection (`intersection.id` changed, or a copied file):
    /// its undelivered messages stay in the moved file, not sent under this intersection.
    OtherIntersection { found: String },
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::NotADatabase(detail) => write!(f, "not a SQLite database: {detail}"),
            Unusable::Damaged(detail) => write!(f, "damaged: {detail}"),
            Unusable::Unreadable(detail) => write!(f, "unreadable: {detail}"),
            Unusable::NotAnOutbox(detail) => write!(f, "not a semaforo outbox: {detail}"),
            Unusable::OtherIntersection { found } => {
                write!(f, "the outbox of another intersection, {found:?}")
            }
        }
    }
}

/// An unusable outbox file found at open and renamed out of the way; a fresh outbox took its
/// place. The daemon logs it (its `Display` is the whole story) and carries on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// The outbox's path, where the fresh outbox is now.
    pub path: PathBuf,
    /// Where the old file went (its `-wal`/`-shm`/`-journal`, if any, beside it).
    pub moved_to: PathBuf,
    pub reason: Unusable,
    /// The fresh outbox's first seq. Past every seq the old file could have given out, so an
    /// orchestrator deduplicating by seq drops none of the new messages: the old high-water
    /// mark + 1 when it could be read from a healthy file, otherwise the larger of what could
    /// be read + 1 and the Unix time in milliseconds (the outbox gives out far fewer than a
    /// thousand seqs a second, so that is past any seq it gave before).
    pub first_seq: crate::Seq,
}

impl std::fmt::Display for SetAside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "outbox {} was {}; moved it to {} and started a new outbox there (seq from {}); \
             messages not yet delivered stay in the moved file",
            self.path.display(),
            self.reason,
            self.moved_to.display(),
            self.first_seq
        )
    }
}

/// What stands in the way of using the file as it is.
enum Problem {
    /// Someone else holds it: refuse, move nothing.
    Locked,
    Unusable {
        reason: Unusable,
        /// The highest seq that could still be read from the file.
        salvaged: Option<u64>,
    },
}

enum Inspected {
    /// A usable outbox of this intersection.
    Ready(State),
    /// No database yet (a new or empty file): create the schema in place.
    Blank(Connection),
}

/// Opens (or creates) the outbox at `path`, moving an unusable file aside.
pub(crate) fn open_outbox(
    path: &Path,
    intersection: &str,
    synchronous: &'static str,
) -> Result<(State, Option<SetAside>), OutboxError> {
    let sqlite = |source: rusqlite::Error| match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => OutboxError::Locked {
            path: path.to_owned(),
        },
        _ => OutboxError::Sqlite {
            path: path.to_owned(),
            source,
        },
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| OutboxError::CreateDir {
            path: path.to_owned(),
            dir: dir.to_owned(),
            source,
        })?;
    }
    if path.is_dir() {
        // Moving a directory aside would hide whatever it holds: a wrong path, not damage.
        return Err(OutboxError::IsADirectory {
            path: path.to_owned(),
        });
    }
    match inspect(path, intersection) {
        Ok(Inspected::Ready(mut state)) => {
            prepare(&mut state.conn, synchronous).map_err(sqlite)?;
            Ok((state, None))
        }
        Ok(Inspected::Blank(conn)) => {
            let state = create(conn, intersection, 1, synchronous).map_err(sqlite)?;
            sync_directory(path);
            Ok((state, None))
        }
        Err(Problem::Locked) => Err(OutboxError::Locked {
            path: path.to_owned(),
        }),
        Err(Problem::Unusable { reason, salvaged }) => {
            let moved_to = move_aside(path, &reason)?;
            let after_old = salvaged.map_or(1, |s| s.saturating_add(1));
            let first_seq = match reason {
                Unusable::OtherIntersection { .. } => after_old,
                _ => after_old.max(unix_millis()),
            };
            let conn = connect(path).map_err(sqlite)?;
            let state = create(conn, intersection, first_seq, synchronous).map_err(sqlite)?;
            sync_directory(path);
            let set_aside = SetAside {
                path: path.to_owned(),
                moved_to,
                reason,
                first_seq: crate::Seq::new(first_seq),
            };
            Ok((state, Some(set_aside)))
        }
    }
}

/// A connection that, from its first read on, keeps the file to itself: a second daemon on
/// the same outbox would interleave seqs, and one process needs no shared-memory index (no
/// `-shm` file).
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(LOCK_WAIT)?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    Ok(conn)
}

fn classify(e: rusqlite::Error) -> Problem {
    let reason = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => return Problem::Locked,
        Some(ErrorCode::NotADatabase) => Unusable::NotADatabase(e.to_string()),
        Some(ErrorCode::DatabaseCorrupt) => Unusable::Damaged(e.to_string()),
        Some(_) => Unusable::Unreadable(e.to_string()),
        // Not SQLite's complaint but rusqlite's: a value of the wrong type where the schema
        // has a number.
        None => Unusable::Damaged(e.to_string()),
    };
    Problem::Unusable {
        reason,
        salvaged: None,
    }
}

fn inspect(path: &Path, intersection: &str) -> Result<Inspected, Problem> {
    let conn = connect(path).map_err(classify)?;
    // Closing a connection checkpoints the write-ahead log into the file and deletes it: not
    // what should happen to a file about to be moved aside as found. `prepare` turns it back
    // on for a usable outbox.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(classify)?;
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(classify)?;
    let user_version: i32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(classify)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(classify)?;
    if application_id == 0 && user_version == 0 && objects == 0 {
        return Ok(Inspected::Blank(conn));
    }
    let not_an_outbox = |detail: String| Problem::Unusable {
        reason: Unusable::NotAnOutbox(detail),
        salvaged: None,
    };
    if application_id != APPLICATION_ID {
        return Err(not_an_outbox(format!(
            "application_id {application_id:#x}, an outbox has {APPLICATION_ID:#x}"
        )));
    }
    // From here on the file was an outbox once: whatever else is wrong, remember how far its
    // seqs went, so the fresh outbox starts past them.
    let salvaged = salvage_last_seq(&conn);
    let with_salvage = |problem: Problem| match problem {
        Problem::Unusable { reason, .. } => Problem::Unusable { reason, salvaged },
        locked => locked,
    };
    if user_version != SCHEMA_VERSION {
        return Err(with_salvage(not_an_outbox(format!(
            "schema version {user_version}, this program reads {SCHEMA_VERSION}"
        ))));
    }
    let mut findings = Vec::new();
    conn.pragma(None, "quick_check", 5, |row| {
        findings.push(row.get::<_, String>(0)?);
        Ok(())
    })
    .map_err(|e| with_salvage(classify(e)))?;
    if findings != ["ok"] {
        return Err(Problem::Unusable {
            reason: Unusable::Damaged(format!("quick_check: {}", findings.join("; "))),
            salvaged,
        });
    }
    for probe in [
        "SELECT seq, kind, created_ns, bytes, body FROM message LIMIT 0",
        "SELECT name, acked, skipped FROM cursor LIMIT 0",
    ] {
        conn.prepare(probe)
            .map_err(|e| with_salvage(not_an_outbox(e.to_string())))?;
    }
    let found: String = meta(&conn, "intersection").map_err(with_salvage)?;
    if found != intersection {
        return Err(Problem::Unusable {
            reason: Unusable::OtherIntersection { found },
            salvaged,
        });
    }
    load(conn).map_err(with_salvage)
}

/// The highest seq the file shows, read as well as a damaged file allows.
fn salvage_last_seq(conn: &Connection) -> Option<u64> {
    let from_meta = conn
        .query_row("SELECT value FROM meta WHERE key = 'last_seq'", [], |r| {
            r.get::<_, u64>(0)
        })
        .ok();
    let from_rows = conn
        .query_row("SELECT max(seq) FROM message", [], |r| {
            r.get::<_, Option<u64>>(0)
        })
        .ok()
        .flatten();
    // A damaged page can read as any number: past 2^53 it is not a seq this outbox gave out
    // (and would not survive a JSON reader's doubles).
    from_meta.max(from_rows).filter(|&s| s < MAX_PLAUSIBLE_SEQ)
}

const MAX_PLAUSIBLE_SEQ: u64 = 1 << 53;

fn meta<T: rusqlite::types::FromSql>(conn: &Connection, key: &str) -> Result<T, Problem> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Problem::Unusable {
                reason: Unusable::NotAnOutbox(format!("no {key} in its meta table")),
                salvaged: None,
            },
            e => classify(e),
        })
}

fn load(conn: Connection) -> Result<Inspected, Problem> {
    let meta_last_seq: u64 = meta(&conn, "last_seq")?;
    let dropped_total: u64 = meta(&conn, "dropped_total")?;
    let (messages, bytes, max_seq) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(bytes), 0), max(seq) FROM message",
            [],
            |r| {
                Ok((
                    r.get::<_, u64>(0)?,
                    r.get::<_, u64>(1)?,
                    r.get::<_, Option<u64>>(2)?,
                ))
            },
        )
        .map_err(classify)?;
    let cursors = {
        let mut stmt = conn
            .prepare("SELECT name, acked, skipped FROM cursor")
            .map_err(classify)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    CursorRow {
                        acked: r.get(1)?,
                        skipped: r.get(2)?,
                    },
                ))
            })
            .map_err(classify)?;
        rows.collect::<rusqlite::Result<_>>().map_err(classify)?
    };
    Ok(Inspected::Ready(State {
        conn,
        last_seq: meta_last_seq.max(max_seq.unwrap_or(0)),
        messages,
        bytes,
        dropped_total,
        cursors,
        wakes: 0,
    }))
}

/// Settings of every open: write-ahead log, the chosen `synchronous`, the log's size cap, and
/// the exclusive lock taken now rather than at the first push.
fn prepare(conn: &mut Connection, synchronous: &'static str) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("journal_mode WAL refused (SQLite kept {mode})")),
        ));
    }
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.transaction_with_behavior(TransactionBehavior::Exclusive)?
        .commit()
}

/// A new outbox in `conn`'s (blank) file, its first message to be `first_seq`.
fn create(
    mut conn: Connection,
    intersection: &str,
    first_seq: u64,
    synchronous: &'static str,
) -> rusqlite::Result<State> {
    prepare(&mut conn, synchronous)?;
    let last_seq = first_seq.saturating_sub(1);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('intersection', ?1), ('last_seq', ?2), \
         ('dropped_total', 0)",
        rusqlite::params![intersection, last_seq],
    )?;
    tx.commit()?;
    Ok(State {
        conn,
        last_seq,
        messages: 0,
        bytes: 0,
        dropped_total: 0,
        cursors: Default::default(),
        wakes: 0,
    })
}

/// `path` with `suffix` added to its file name (`outbox.db` + `-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Renames the file (and its sidecars) to `<name>.corrupt-<unix seconds>[-n]`.
fn move_aside(path: &Path, reason: &Unusable) -> Result<PathBuf, OutboxError> {
    let stamp = format!(
        ".corrupt-{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    let mut to = with_suffix(path, &stamp);
    let mut n = 1;
    while to.exists() || with_suffix(&to, "-wal").exists() {
        n += 1;
        to = with_suffix(path, &format!("{stamp}-{n}"));
    }
    let failed = |to: &Path| {
        let to = to.to_owned();
        move |source| OutboxError::MoveAside {
            path: path.to_owned(),
            to,
            reason: reason.to_string(),
            source,
        }
    };
    std::fs::rename(path, &to).map_err(failed(&to))?;
    for sidecar in ["-wal", "-shm", "-journal"] {
        let from = with_suffix(path, sidecar);
        if from.exists() {
            let sidecar_to = with_suffix(&to, sidecar);
            std::fs::rename(&from, &sidecar_to).map_err(failed(&sidecar_to))?;
        }
    }
    sync_directory(path);
    Ok(to)
}

/// Makes renames and a new file's name durable. Best effort: where a directory cannot be
/// opened for syncing, the next checkpoint's syncs usually carry it.
fn sync_directory(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
