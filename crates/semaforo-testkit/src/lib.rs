//! What semaforo's tests and benchmarks share, as a dev-dependency of every crate: where the
//! shared data is (`../shared`: the street footage), whether a tool a test needs is installed,
//! one way to skip a test whose data or tool is missing, and the machine and date a benchmark
//! reports.
//!
//! A skip is loud: it goes straight to standard error, past the test harness's capture (which
//! hides a passing test's `eprintln!`), names the test and says how to get what is missing.
//! Under `CI=true` it is a failure instead, so CI never passes by skipping.
//!
//! ```
//! // In a test: return early, loudly, when the clip is not there.
//! let Some(clip) = semaforo_testkit::street_a() else { return };
//! assert!(clip.ends_with("street-a.mp4"));
//! ```

pub mod peers;
pub mod soak;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether this run is CI's (`CI=true`), where a missing fixture fails the test.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports that `what` is missing and how to get it, for the test running on this thread:
/// on standard error past the harness's capture, or as a panic under `CI=true`.
pub fn skip(what: &str, how: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let message = format!("SKIPPED {test}: {what} is missing. {how}");
    if in_ci() {
        panic!("{message} (CI=true: a missing fixture is a failure)");
    }
    // Straight to stderr, not `eprintln!`: the harness captures the macro's output and hides
    // it when the test passes, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "\n==== {message} ====\n");
}

/// The project's `shared/` directory: `$SEMAFORO_SHARED` if set, else `shared/` beside the
/// checkout (where CI puts it).
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("SEMAFORO_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => repository().join("../shared"),
    }
}

/// The repository's root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file under [`shared_dir`], or `None` after [`skip`] says it is missing.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = shared_dir().join(relative);
    if path.is_file() {
        return Some(path);
    }
    skip(
        &format!("{}", path.display()),
        "Put the project's shared/ directory beside the checkout, or set SEMAFORO_SHARED to its \
         path.",
    );
    None
}

/// The real street footage `media/street-a.mp4` (H.264 High, 640x352), or `None` after a skip.
pub fn street_a() -> Option<PathBuf> {
    shared_file("media/street-a.mp4")
}

/// Whether the program `name` is on the `PATH`; when not, a [`skip`] saying how to install it.
pub fn tool(name: &str, install: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()));
    if !found {
        skip(&format!("the program `{name}` (not on the PATH)"), install);
    }
    found
}

/// A local TCP port that refuses every connection for as long as the returned socket lives: it
/// is bound but never listens. A port found free and closed again can be handed to another
/// test's server a moment later; a held one cannot (the kernel's choice for port 0 skips bound
/// ports).
pub fn refusing_port() -> (socket2::Socket, u16) {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a socket");
    // As std's listeners do, so that the port can be listened on again after a close.
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    let any: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    socket.bind(&SockAddr::from(any)).expect("a local port");
    let port = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .expect("a bound IPv4 address")
        .port();
    (socket, port)
}

/// The CPU model and the number of CPUs, from `lscpu`, for a benchmark's report.
pub fn machine() -> (String, String) {
    let text = std::process::Command::new("lscpu")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    (field("Model name"), field("CPU(s)"))
}

/// The date and time now, in UTC, for a benchmark's report.
pub fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_port_refuses() {
        let (_held, port) = refusing_port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn tools_on_the_path_are_found() {
        assert!(tool("sh", "it is part of every Unix"));
    }
}
