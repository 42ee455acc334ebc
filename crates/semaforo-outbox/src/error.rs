//! What can go wrong with an outbox, each error naming the file (or directory) it is about.
//!
//! An unusable file at open is not among them: it is moved aside and reported as a
//! [`SetAside`](crate::SetAside), since the daemon must keep controlling the intersection.

use std::path::PathBuf;

use crate::{MessageKind, Seq};

/// An outbox operation failed. Every variant names the outbox file concerned.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite failed on a file that was usable (disk full, I/O error, a fresh file that cannot
    /// be created).
    #[error("outbox {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// Another process (or another `Outbox` in this one) holds the file: two daemons for one
    /// intersection would interleave their `seq`s, so the second one is refused, and nothing
    /// is moved aside.
    #[error(
        "outbox {path} is held by another process (is a second semaforo running for this \
         intersection?)"
    )]
    Locked { path: PathBuf },

    /// The outbox's directory does not exist and cannot be created.
    #[error("outbox {path}: cannot create its directory {dir}: {source}")]
    CreateDir {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The outbox's path names a directory (a configuration mistake, not a damaged file).
    #[error("outbox {path} is a directory; the outbox is a file (give a file name in it)")]
    IsADirectory { path: PathBuf },

    /// The file was unusable and could not be renamed out of the way, so no fresh outbox
    /// could take its place.
    #[error("outbox {path} is unusable ({reason}) and could not be moved aside to {to}: {source}")]
    MoveAside {
        path: PathBuf,
        to: PathBuf,
        reason: String,
        #[source]
        source: std::io::Error,
    },

    /// A bound of zero would leave no room for any message.
    #[error("outbox {path}: {what} must be at least 1")]
    InvalidLimit { path: PathBuf, what: &'static str },

    /// Message bodies are JSON objects, so that the outbox can add their `seq`.
    #[error("outbox {path}: a {kind} message body must be a JSON object, got {found}")]
    NotAnObject {
        path: PathBuf,
        kind: MessageKind,
        found: &'static str,
    },

    /// One message larger than the whole byte bound could never be stored.
    #[error(
        "outbox {path}: a {kind} message of {bytes} bytes is larger than max_bytes ({max_bytes})"
    )]
    TooLarge {
        path: PathBuf,
        kind: MessageKind,
        bytes: u64,
        max_bytes: u64,
    },

    /// A cursor name that was never registered (or was removed).
    #[error("outbox {path}: no cursor named {name:?} (register it first)")]
    UnknownCursor { path: PathBuf, name: String },

    /// Cursor names are the transports' names: not empty.
    #[error("outbox {path}: a cursor name must not be empty")]
    EmptyCursorName { path: PathBuf },

    /// An acknowledgement of a message that was never pushed: a transport's bug.
    #[error(
        "outbox {path}: cursor {name:?} acknowledged seq {seq}, past the last pushed ({last})"
    )]
    AckAhead {
        path: PathBuf,
        name: String,
        seq: Seq,
        last: Seq,
    },

    /// A stored row that this program did not write (edited by hand).
    #[error("outbox {path}: message {seq} has an unknown kind {kind:?}")]
    UnknownKind {
        path: PathBuf,
        seq: Seq,
        kind: String,
    },
}
