//! The outbox itself: pushing messages within the bound, and each transport's cursor over them.
//!
//! One SQLite connection behind a mutex serves every thread (the control loop pushes, one
//! thread per transport reads and acknowledges): the file is held exclusively by this process
//! anyway, so more connections would buy no concurrency between writers, and one connection
//! lets the counters live in memory (a push is one insert, no counting queries) and lets a
//! reader wait on a condition variable for the next push instead of polling the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, TransactionBehavior};

use crate::error::OutboxError;
use crate::message::{from_unix_nanos, json_type, to_unix_nanos, WithSeq};
use crate::open::{open_outbox, SetAside};
use crate::{Entry, MessageKind, Pushed, Seq};

/// The bound on what the outbox keeps while links are down (`outbox.max_messages`,
/// `outbox.max_mb`). When a push would pass either, the oldest statuses are dropped first,
/// then, only when no status is left, the oldest messages of any kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_messages: u64,
    /// The bodies' bytes (the JSON text); the file is larger by SQLite's pages and indexes
    /// (1.33 times for 100,000 statuses of 153 bytes), plus a write-ahead log of about 4 MiB
    /// at most.
    pub max_bytes: u64,
}

impl Default for Limits {
    /// 100,000 messages or 64 MiB: with a status every 2 s, more than two days of outage.
    fn default() -> Limits {
        Limits {
            max_messages: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What a returned `push` survives. SQLite's `synchronous` setting, in write-ahead-log mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous = FULL`: every push's commit is synced to the disk (one `fsync` of the
    /// write-ahead log) before `push` returns, so a message whose push returned survives a power
    /// cut and a kernel crash, not only a crash of the program. The default, as the outbox is
    /// what must survive "anything short of a destroyed disk".
    #[default]
    PowerLoss,
    /// `synchronous = NORMAL`: no sync at commit, only at checkpoints. A message survives the
    /// program crashing or being killed (the kernel has the write), but the last pushes before
    /// a power cut may be lost. For disks whose sync is too slow for the control loop.
    ProcessCrash,
}

impl Durability {
    fn synchronous(self) -> &'static str {
        match self {
            Durability::PowerLoss => "FULL",
            Durability::ProcessCrash => "NORMAL",
        }
    }
}

/// A transport's position in the outbox, from [`Outbox::register_cursor`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    name: String,
}

impl Cursor {
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Figures for metrics, from [`Outbox::statistics`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// Messages stored (not yet acknowledged by every cursor).
    pub messages: u64,
    /// Their bodies' bytes, what [`Limits::max_bytes`] bounds.
    pub bytes: u64,
    /// The oldest stored message's creation time.
    pub oldest_created: Option<SystemTime>,
    /// Messages the bound dropped since the outbox was created.
    pub dropped_total: u64,
    /// The last seq given out ([`Seq::ZERO`] before the first push).
    pub last_seq: Seq,
    /// Per cursor, by name.
    pub cursors: Vec<CursorStatistics>,
}

impl Statistics {
    /// How long the oldest stored message has waited, at `now`.
    pub fn oldest_age(&self, now: SystemTime) -> Option<Duration> {
        self.oldest_created
            .map(|t| now.duration_since(t).unwrap_or(Duration::ZERO))
    }
}

/// One cursor's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorStatistics {
    pub name: String,
    /// The highest seq it acknowledged.
    pub acked: Seq,
    /// Messages stored that it has not acknowledged: its backlog.
    pub depth: u64,
    /// Messages the bound dropped before it acknowledged them, ever.
    pub skipped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CursorRow {
    pub acked: u64,
    pub skipped: u64,
}

/// The connection and what is known of the file without asking it. The counters change only
/// after a commit succeeded, so a failed push or ack leaves them true.
pub(crate) struct State {
    pub conn: Connection,
    /// The last seq given out.
    pub last_seq: u64,
    pub messages: u64,
    pub bytes: u64,
    pub dropped_total: u64,
    pub cursors: BTreeMap<String, CursorRow>,
    /// Bumped by [`Outbox::wake_waiting_readers`].
    pub wakes: u64,
}

/// The durable outbox of one intersection. `Send + Sync`: share it (`Arc<Outbox>`) between the
/// control loop, which pushes, and one thread per transport, which reads and acknowledges
/// through its cursor.
///
/// Delivery contract: every message whose `push` returned is delivered to every registered
/// cursor at least once, in seq order, unless the bound dropped it first (counted in
/// [`Outbox::dropped`] and in the cursor's `skipped`). A message is deleted once every
/// registered cursor has acknowledged it; with no cursor registered nothing is deleted (the
/// bound still holds).
pub struct Outbox {
    path: PathBuf,
    intersection: String,
    limits: Limits,
    durability: Durability,
    set_aside: Option<SetAside>,
    state: Mutex<State>,
    /// Signalled at every push (and by `wake_waiting_readers`).
    pushed: Condvar,
}

impl Outbox {
    /// Opens the outbox at `path` for `intersection` (creating the file and its directory if
    /// needed), with [`Durability::PowerLoss`].
    ///
    /// A file that is not a usable outbox of this intersection (not a SQLite database, failing
    /// `PRAGMA quick_check`, another program's database or schema, another intersection's
    /// outbox) is renamed to `<name>.corrupt-<unix time>` and a fresh outbox is created:
    /// [`Outbox::set_aside`] tells. It is an error only when the file is held by another
    /// process ([`OutboxError::Locked`]) or no fresh outbox can be created.
    ///
    /// The check reads the whole file: 80 ms for 100,000 stored messages (BENCHMARKS.md).
    pub fn open(
        path: impl AsRef<Path>,
        limits: Limits,
        intersection: &str,
    ) -> Result<Outbox, OutboxError> {
        Outbox::open_with(path, limits, intersection, Durability::default())
    }

    /// [`Outbox::open`] with a chosen [`Durability`].
    pub fn open_with(
        path: impl AsRef<Path>,
        limits: Limits,
        intersection: &str,
        durability: Durability,
    ) -> Result<Outbox, OutboxError> {
        let path = path.as_ref();
        for (value, what) in [
            (limits.max_messages, "max_messages"),
            (limits.max_bytes, "max_bytes"),
        ] {
            if value == 0 {
                return Err(OutboxError::InvalidLimit {
                    path: path.to_owned(),
                    what,
                });
            }
        }
        let (state, set_aside) = open_outbox(path, intersection, durability.synchronous())?;
        Ok(Outbox {
            path: path.to_owned(),
            intersection: intersection.to_owned(),
            limits,
            durability,
            set_aside,
            state: Mutex::new(state),
            pushed: Condvar::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn intersection(&self) -> &str {
        &self.intersection
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The unusable file this open found and moved aside, if it did: log it.
    pub fn set_aside(&self) -> Option<&SetAside> {
        self.set_aside.as_ref()
    }

    /// Stores a message and gives it the next seq. `body` must be a JSON object; the stored
    /// body is that object with `"seq"` added as its first member (replacing any `seq` of its
    /// own), which is what transports send. `created` is the message's own time (its
    /// `timestamp`), kept for the oldest-message age.
    ///
    /// When the message would pass the bound, the oldest statuses are dropped first (then the
    /// oldest messages of any kind); [`Pushed::dropped_now`] counts them. When `push` returns
    /// `Ok`, the message is on disk as [`Durability`] says.
    pub fn push(
        &self,
        kind: MessageKind,
        body: &serde_json::Value,
        created: SystemTime,
    ) -> Result<Pushed, OutboxError> {
        let Some(members) = body.as_object() else {
            return Err(OutboxError::NotAnObject {
                path: self.path.clone(),
                kind,
                found: json_type(body),
            });
        };
        let mut guard = self.lock();
        let st = &mut *guard;
        let seq = st.last_seq + 1;
        let text = serde_json::to_string(&WithSeq {
            seq: Seq::new(seq),
            body: members,
        })
        .expect("a JSON object (string keys, finite numbers) always serializes");
        let bytes = text.len() as u64;
        if bytes > self.limits.max_bytes {
            return Err(OutboxError::TooLarge {
                path: self.path.clone(),
                kind,
                bytes,
                max_bytes: self.limits.max_bytes,
            });
        }

        let mut messages = st.messages;
        let mut stored_bytes = st.bytes;
        // Copied only when a drop changes a cursor's skip count.
        let mut cursors: Option<BTreeMap<String, CursorRow>> = None;
        let mut dropped_now = 0u64;
        let tx = st
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sqlite())?;
        while messages >= self.limits.max_messages || stored_bytes + bytes > self.limits.max_bytes {
            let Some((victim, victim_bytes)) = oldest_to_drop(&tx).map_err(self.sqlite())? else {
                break;
            };
            tx.prepare_cached("DELETE FROM message WHERE seq = ?1")
                .and_then(|mut s| s.execute([victim]))
                .map_err(self.sqlite())?;
            tx.prepare_cached("UPDATE cursor SET skipped = skipped + 1 WHERE acked < ?1")
                .and_then(|mut s| s.execute([victim]))
                .map_err(self.sqlite())?;
            let cursors = cursors.get_or_insert_with(|| st.cursors.clone());
            for c in cursors.values_mut().filter(|c| c.acked < victim) {
                c.skipped += 1;
            }
            messages -= 1;
            stored_bytes -= victim_bytes;
            dropped_now += 1;
        }
        tx.prepare_cached(
            "INSERT INTO message (seq, kind, created_ns, bytes, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                seq,
                kind.name(),
                to_unix_nanos(created),
                bytes,
                text
            ])
        })
        .map_err(self.sqlite())?;
        let dropped_total = st.dropped_total + dropped_now;
        if dropped_now > 0 {
            // Rows were deleted: keep the high-water mark (see the schema) and the count.
            write_meta(&tx, "last_seq", seq).map_err(self.sqlite())?;
            write_meta(&tx, "dropped_total", dropped_total).map_err(self.sqlite())?;
        }
        tx.commit().map_err(self.sqlite())?;

        st.last_seq = seq;
        st.messages = messages + 1;
        st.bytes = stored_bytes + bytes;
        st.dropped_total = dropped_total;
        if let Some(cursors) = cursors {
            st.cursors = cursors;
        }
        drop(guard);
        self.pushed.notify_all();
        Ok(Pushed {
            seq: Seq::new(seq),
            dropped_now,
        })
    }

    /// Registers a transport's cursor (`"tcp"`, `"websocket"`, `"mqtt"`), or finds it again
    /// after a restart at the position it acknowledged. A new cursor starts at the oldest
    /// stored message: it receives what is still waiting for the others, not what they
    /// already had deleted.
    pub fn register_cursor(&self, name: &str) -> Result<Cursor, OutboxError> {
        if name.is_empty() {
            return Err(OutboxError::EmptyCursorName {
                path: self.path.clone(),
            });
        }
        let mut guard = self.lock();
        let st = &mut *guard;
        if !st.cursors.contains_key(name) {
            let oldest: Option<u64> = st
                .conn
                .prepare_cached("SELECT min(seq) FROM message")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(self.sqlite())?;
            let acked = oldest.map_or(st.last_seq, |o| o - 1);
            st.conn
                .prepare_cached("INSERT INTO cursor (name, acked, skipped) VALUES (?1, ?2, 0)")
                .and_then(|mut s| s.execute(rusqlite::params![name, acked]))
                .map_err(self.sqlite())?;
            st.cursors
                .insert(name.to_owned(), CursorRow { acked, skipped: 0 });
        }
        Ok(Cursor {
            name: name.to_owned(),
        })
    }

    /// Forgets a cursor (a transport switched off in the configuration), so that it no longer
    /// holds messages back; messages only it was waiting for are deleted. `false` if there was
    /// no such cursor.
    pub fn remove_cursor(&self, name: &str) -> Result<bool, OutboxError> {
        let mut guard = self.lock();
        let st = &mut *guard;
        if !st.cursors.contains_key(name) {
            return Ok(false);
        }
        let mut cursors = st.cursors.clone();
        cursors.remove(name);
        let tx = st
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sqlite())?;
        tx.execute("DELETE FROM cursor WHERE name = ?1", [name])
            .map_err(self.sqlite())?;
        let (gone, gone_bytes) =
            delete_acked_by_all(&tx, &cursors, st.last_seq).map_err(self.sqlite())?;
        tx.commit().map_err(self.sqlite())?;
        st.cursors = cursors;
        st.messages -= gone;
        st.bytes -= gone_bytes;
        Ok(true)
    }

    /// The names of the registered cursors.
    pub fn cursor_names(&self) -> Vec<String> {
        self.lock().cursors.keys().cloned().collect()
    }

    /// Up to `limit` messages after the cursor's acknowledged position, in seq order. Until the
    /// cursor acknowledges them, the same messages come back again (at least once).
    pub fn pending(&self, cursor: &Cursor, limit: usize) -> Result<Vec<Entry>, OutboxError> {
        self.pending_after(cursor, Seq::ZERO, limit)
    }

    /// Up to `limit` messages after both `after` and the cursor's acknowledged position: for a
    /// transport that sends ahead of its acknowledgements (MQTT's in-flight window, TCP
    /// between heartbeats).
    pub fn pending_after(
        &self,
        cursor: &Cursor,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Entry>, OutboxError> {
        let st = self.lock();
        self.read_after(&st, cursor, after, limit)
    }

    /// [`Outbox::pending_after`], waiting up to `timeout` for a push when nothing is pending.
    /// Returns an empty list when the time is up or [`Outbox::wake_waiting_readers`] was
    /// called (a transport checks its own shutdown then).
    pub fn wait_pending(
        &self,
        cursor: &Cursor,
        after: Seq,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<Entry>, OutboxError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        let wakes = st.wakes;
        loop {
            let entries = self.read_after(&st, cursor, after, limit)?;
            let now = Instant::now();
            if !entries.is_empty() || now >= deadline || st.wakes != wakes {
                return Ok(entries);
            }
            // A push needs the lock this wait releases, so none can slip in between the read
            // above and the wait.
            st = self
                .pushed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Ends every [`Outbox::wait_pending`] now (with what it has, usually nothing): for a
    /// shutdown.
    pub fn wake_waiting_readers(&self) {
        self.lock().wakes += 1;
        self.pushed.notify_all();
    }

    /// Records that the cursor's peer has every message up to `up_to` (TCP: written whole and
    /// the connection alive after a heartbeat; MQTT: PUBACK). Acknowledging a position already
    /// passed changes nothing. Messages every cursor has acknowledged are deleted.
    ///
    /// The acknowledgement is committed without a sync even with
    /// [`Durability::PowerLoss`]: one lost to a power cut only means those messages are
    /// delivered again, which the contract allows (receivers deduplicate by seq), and it
    /// spares the disk a sync per acknowledgement. The next push's sync carries it.
    pub fn ack(&self, cursor: &Cursor, up_to: Seq) -> Result<(), OutboxError> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let row = *self.row(st, cursor)?;
        if up_to.get() > st.last_seq {
            return Err(OutboxError::AckAhead {
                path: self.path.clone(),
                name: cursor.name.clone(),
                seq: up_to,
                last: Seq::new(st.last_seq),
            });
        }
        if up_to.get() <= row.acked {
            return Ok(());
        }
        let mut cursors = st.cursors.clone();
        cursors.insert(
            cursor.name.clone(),
            CursorRow {
                acked: up_to.get(),
                ..row
            },
        );
        let relax = self.durability == Durability::PowerLoss;
        if relax {
            st.conn
                .pragma_update(None, "synchronous", Durability::ProcessCrash.synchronous())
                .map_err(self.sqlite())?;
        }
        let committed = (|| {
            let tx = st
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("UPDATE cursor SET acked = ?1 WHERE name = ?2")?
                .execute(rusqlite::params![up_to.get(), cursor.name])?;
            let gone = delete_acked_by_all(&tx, &cursors, st.last_seq)?;
            tx.commit()?;
            Ok(gone)
        })();
        if relax {
            // Back to syncing pushes, whatever happened to the acknowledgement.
            st.conn
                .pragma_update(None, "synchronous", self.durability.synchronous())
                .map_err(self.sqlite())?;
        }
        let (gone, gone_bytes) = committed.map_err(self.sqlite())?;
        st.cursors = cursors;
        st.messages -= gone;
        st.bytes -= gone_bytes;
        Ok(())
    }

    /// The highest seq the cursor has acknowledged.
    pub fn acked(&self, cursor: &Cursor) -> Result<Seq, OutboxError> {
        let st = self.lock();
        Ok(Seq::new(self.row(&st, cursor)?.acked))
    }

    /// Messages stored that the cursor has not acknowledged (its backlog).
    pub fn depth(&self, cursor: &Cursor) -> Result<u64, OutboxError> {
        let st = self.lock();
        let acked = self.row(&st, cursor)?.acked;
        count_after(&st.conn, acked).map_err(self.sqlite())
    }

    /// Messages the bound dropped since the outbox was created (kept across restarts): what
    /// the next status reports as `dropped`.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped_total
    }

    /// The last seq given out ([`Seq::ZERO`] before the first push).
    pub fn last_seq(&self) -> Seq {
        Seq::new(self.lock().last_seq)
    }

    /// Figures for metrics: stored messages and bytes, the oldest message's time, drops, and
    /// each cursor's position, backlog and skips.
    pub fn statistics(&self) -> Result<Statistics, OutboxError> {
        let st = self.lock();
        let oldest_created = st
            .conn
            .prepare_cached("SELECT created_ns FROM message ORDER BY seq LIMIT 1")
            .and_then(|mut s| {
                s.query_row([], |r| r.get::<_, i64>(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
            })
            .map_err(self.sqlite())?
            .map(from_unix_nanos);
        let mut cursors = Vec::with_capacity(st.cursors.len());
        for (name, row) in &st.cursors {
            cursors.push(CursorStatistics {
                name: name.clone(),
                acked: Seq::new(row.acked),
                depth: count_after(&st.conn, row.acked).map_err(self.sqlite())?,
                skipped: row.skipped,
            });
        }
        Ok(Statistics {
            messages: st.messages,
            bytes: st.bytes,
            oldest_created,
            dropped_total: st.dropped_total,
            last_seq: Seq::new(st.last_seq),
            cursors,
        })
    }

    /// The state; a thread that panicked holding it left it consistent, since the counters
    /// change only after a commit and SQLite rolls back an unfinished transaction.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> OutboxError + '_ {
        move |source| OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn row<'s>(&self, st: &'s State, cursor: &Cursor) -> Result<&'s CursorRow, OutboxError> {
        st.cursors
            .get(&cursor.name)
            .ok_or_else(|| OutboxError::UnknownCursor {
                path: self.path.clone(),
                name: cursor.name.clone(),
            })
    }

    fn read_after(
        &self,
        st: &State,
        cursor: &Cursor,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Entry>, OutboxError> {
        let from = self.row(st, cursor)?.acked.max(after.get());
        let mut stmt = st
            .conn
            .prepare_cached(
                "SELECT seq, kind, created_ns, body FROM message WHERE seq > ?1 ORDER BY seq \
                 LIMIT ?2",
            )
            .map_err(self.sqlite())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(rusqlite::params![from, limit], |r| {
                Ok((
                    r.get::<_, u64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(self.sqlite())?;
        let mut entries = Vec::new();
        for row in rows {
            let (seq, kind, created_ns, body) = row.map_err(self.sqlite())?;
            let Some(kind) = MessageKind::from_name(&kind) else {
                return Err(OutboxError::UnknownKind {
                    path: self.path.clone(),
                    seq: Seq::new(seq),
                    kind,
                });
            };
            entries.push(Entry {
                seq: Seq::new(seq),
                kind,
                created: from_unix_nanos(created_ns),
                body,
            });
        }
        Ok(entries)
    }
}

/// The message the bound drops next: the oldest status, else the oldest of any kind.
fn oldest_to_drop(conn: &Connection) -> rusqlite::Result<Option<(u64, u64)>> {
    for sql in [
        "SELECT seq, bytes FROM message WHERE kind = 'status' ORDER BY seq LIMIT 1",
        "SELECT seq, bytes FROM message ORDER BY seq LIMIT 1",
    ] {
        let found = conn
            .prepare_cached(sql)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)));
        match found {
            Ok(victim) => return Ok(Some(victim)),
            Err(rusqlite::Error::QueryReturnedNoRows) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Deletes the messages every cursor has acknowledged (none when there is no cursor), keeping
/// the seq high-water mark. Returns the messages and bytes deleted.
fn delete_acked_by_all(
    conn: &Connection,
    cursors: &BTreeMap<String, CursorRow>,
    last_seq: u64,
) -> rusqlite::Result<(u64, u64)> {
    let Some(floor) = cursors.values().map(|c| c.acked).min() else {
        return Ok((0, 0));
    };
    let (gone, gone_bytes): (u64, u64) = conn
        .prepare_cached("SELECT count(*), coalesce(sum(bytes), 0) FROM message WHERE seq <= ?1")?
        .query_row([floor], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if gone > 0 {
        conn.prepare_cached("DELETE FROM message WHERE seq <= ?1")?
            .execute([floor])?;
        write_meta(conn, "last_seq", last_seq)?;
    }
    Ok((gone, gone_bytes))
}

fn write_meta(conn: &Connection, key: &str, value: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE meta SET value = ?1 WHERE key = ?2")?
        .execute(rusqlite::params![value, key])?;
    Ok(())
}

fn count_after(conn: &Connection, acked: u64) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM message WHERE seq > ?1")?
        .query_row([acked], |r| r.get(0))
}
