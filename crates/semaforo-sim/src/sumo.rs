//! A running `sumo` process with its TraCI connection, as a guard.
//!
//! [`Sumo::start`] finds the binary, starts it on a free loopback port and connects; dropping the
//! guard kills and reaps the process on every path (errors, panics, early returns), so no
//! simulator outlives the evaluation. [`Sumo::finish`] is the normal end: it closes the TraCI
//! session so SUMO writes its trip information, and waits for it to exit.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::traci::{Batch, Client, TraciError, Value};

/// How long SUMO may take to load and open its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one TraCI reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// The oldest TraCI API level this client speaks (SUMO 1.0 has 18; 1.15 has 20).
const MIN_API: i32 = 18;

/// A failure to find, start, talk to or stop SUMO. Where SUMO itself said why, the error
/// quotes the last lines of its log.
#[derive(Debug, thiserror::Error)]
pub enum SumoError {
    /// The binary is not on the PATH, or the path given is not a file.
    #[error(
        "the SUMO simulator `{}` was not found{}; install it (Debian/Ubuntu: \
         `apt-get install sumo sumo-tools`; elsewhere see https://sumo.dlr.de/docs/Installing) \
         or name it with --sumo PATH",
        .binary.display(),
        if is_bare_name(.binary) { " on the PATH" } else { "" }
    )]
    NotFound {
        /// The name or path asked for.
        binary: PathBuf,
    },
    /// No loopback port could be had for SUMO's TraCI server.
    #[error("cannot find a free loopback port for SUMO")]
    FreePort(#[source] io::Error),
    /// SUMO's log file could not be created.
    #[error("cannot create SUMO's log {}", .path.display())]
    CreateLog {
        /// The log file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The process could not be started.
    #[error("cannot start {}", .binary.display())]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The process's state could not be read.
    #[error("cannot wait for the SUMO process")]
    Wait(#[source] io::Error),
    /// SUMO exited while it should have been opening its port.
    #[error("SUMO exited ({status}) before accepting a connection on port {port}: {log_tail}")]
    ExitedBeforeConnecting {
        /// Its exit status.
        status: ExitStatus,
        /// The port it was given.
        port: u16,
        /// Its last messages.
        log_tail: String,
    },
    /// SUMO did not open its port in time.
    #[error(
        "SUMO did not open port {port} within {} s ({last_attempt}): {log_tail}",
        START_TIMEOUT.as_secs()
    )]
    PortNotOpened {
        /// The port it was given.
        port: u16,
        /// Why the last connection attempt failed.
        last_attempt: io::Error,
        /// Its last messages.
        log_tail: String,
    },
    /// The TraCI connection could not be set up.
    #[error(transparent)]
    Connect(TraciError),
    /// The version handshake failed.
    #[error("the TraCI version handshake failed")]
    Handshake(#[source] TraciError),
    /// SUMO is too old for this client.
    #[error("SUMO speaks TraCI API level {api}; at least {MIN_API} (SUMO 1.0) is needed")]
    OldApi {
        /// The API level it answered.
        api: u32,
    },
    /// A command was sent after the session was closed.
    #[error("the TraCI session is closed")]
    Closed,
    /// A TraCI exchange failed.
    #[error("SUMO's messages: {log_tail}")]
    Traci {
        /// SUMO's last messages.
        log_tail: String,
        /// The failure.
        source: TraciError,
    },
    /// Closing the session failed.
    #[error("closing the TraCI session")]
    Close(#[source] Box<SumoError>),
    /// SUMO failed at the end of the simulation.
    #[error("SUMO exited with {status}: {log_tail}")]
    Failed {
        /// Its exit status.
        status: ExitStatus,
        /// Its last messages.
        log_tail: String,
    },
    /// SUMO kept running after the session was closed.
    #[error("SUMO did not exit after the TraCI session was closed")]
    DidNotExit,
}

/// Whether `binary` is a bare name, looked up on the PATH.
fn is_bare_name(binary: &Path) -> bool {
    binary.components().count() <= 1
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `sumo` binary: a name looked up on the PATH, or a path.
    pub binary: PathBuf,
    /// Network file.
    pub net: PathBuf,
    /// Route files.
    pub routes: Vec<PathBuf>,
    /// Additional files, in load order.
    pub additional: Vec<PathBuf>,
    /// Where SUMO writes its trip information.
    pub tripinfo: PathBuf,
    /// Where SUMO's own messages go.
    pub log: PathBuf,
    /// Random seed (demand realisation, driver imperfection).
    pub seed: u64,
    /// Simulation step, seconds.
    pub step_length: f64,
    /// When the simulation begins, seconds.
    pub begin: f64,
    /// When it ends, seconds.
    pub end: f64,
}

/// Finds `binary` on the PATH (or checks the path given), with an error saying how to install
/// SUMO when it is missing.
pub fn locate(binary: &Path) -> Result<PathBuf, SumoError> {
    let found = if !is_bare_name(binary) {
        binary.is_file().then(|| binary.to_path_buf())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(binary))
                .find(|p| p.is_file())
        })
    };
    found.ok_or_else(|| SumoError::NotFound {
        binary: binary.to_path_buf(),
    })
}

/// A running simulator. See the module documentation.
pub struct Sumo {
    child: Child,
    client: Option<Client>,
    log: PathBuf,
}

impl Sumo {
    /// Starts SUMO as `launch` says and connects to it.
    pub fn start(launch: &Launch) -> Result<Sumo, SumoError> {
        let binary = locate(&launch.binary)?;
        // A port the OS just handed out; SUMO binds it a moment later. Another process taking
        // it in between makes SUMO exit, which the retries catch; the last attempt's error is
        // the one returned.
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            match Self::start_on(&binary, launch, port) {
                Ok(s) => return Ok(s),
                Err(e) if attempt == 3 => return Err(e),
                Err(_) => attempt += 1,
            }
        }
    }

    fn start_on(binary: &Path, launch: &Launch, port: u16) -> Result<Sumo, SumoError> {
        let create_log = |source| SumoError::CreateLog {
            path: launch.log.clone(),
            source,
        };
        let log = File::create(&launch.log).map_err(create_log)?;
        let log_err = log.try_clone().map_err(create_log)?;
        let join = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut cmd = Command::new(binary);
        cmd.arg("--net-file")
            .arg(&launch.net)
            .arg("--route-files")
            .arg(join(&launch.routes));
        if !launch.additional.is_empty() {
            cmd.arg("--additional-files").arg(join(&launch.additional));
        }
        cmd.arg("--tripinfo-output")
            .arg(&launch.tripinfo)
            .args(["--tripinfo-output.write-unfinished", "true"])
            .args(["--remote-port", &port.to_string()])
            .args(["--num-clients", "1"])
            .args(["--seed", &launch.seed.to_string()])
            .args(["--step-length", &format!("{}", launch.step_length)])
            .args(["--begin", &format!("{}", launch.begin)])
            .args(["--end", &format!("{}", launch.end)])
            .args(["--no-step-log", "true", "--no-warnings", "true"])
            .args(["--duration-log.disable", "true"])
            // Without SUMO_HOME, validation would look schemas up on the web.
            .args(["--xml-validation", "never"])
            .args(["--xml-validation.net", "never"])
            .args(["--xml-validation.routes", "never"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = cmd.spawn().map_err(|source| SumoError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
        let mut sumo = Sumo {
            child,
            client: None,
            log: launch.log.clone(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let stream = loop {
            match TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
                Ok(s) => break s,
                Err(e) => {
                    if let Some(status) = sumo.child.try_wait().map_err(SumoError::Wait)? {
                        return Err(SumoError::ExitedBeforeConnecting {
                            status,
                            port,
                            log_tail: sumo.log_tail(),
                        });
                    }
                    if Instant::now() > deadline {
                        return Err(SumoError::PortNotOpened {
                            port,
                            last_attempt: e,
                            log_tail: sumo.log_tail(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        let mut client = Client::new(stream, REPLY_TIMEOUT).map_err(SumoError::Connect)?;
        let mut hello = Batch::new();
        hello.get_version();
        let api = client
            .send(&hello)
            .map_err(SumoError::Handshake)?
            .first()
            .and_then(|v| v.as_count().ok())
            .unwrap_or(0);
        if (api as i32) < MIN_API {
            return Err(SumoError::OldApi { api });
        }
        sumo.client = Some(client);
        Ok(sumo)
    }

    /// Sends a batch of commands and returns the values read.
    pub fn send(&mut self, batch: &Batch) -> Result<Vec<Value>, SumoError> {
        let client = self.client.as_mut().ok_or(SumoError::Closed)?;
        client.send(batch).map_err(|source| SumoError::Traci {
            log_tail: self.log_tail(),
            source,
        })
    }

    /// Closes the session and waits for SUMO to write its outputs and exit.
    pub fn finish(mut self) -> Result<(), SumoError> {
        let mut close = Batch::new();
        close.close();
        self.send(&close)
            .map_err(|e| SumoError::Close(Box::new(e)))?;
        self.client = None;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(SumoError::Wait)? {
                if status.success() {
                    return Ok(());
                }
                return Err(SumoError::Failed {
                    status,
                    log_tail: self.log_tail(),
                });
            }
            if Instant::now() > deadline {
                return Err(SumoError::DidNotExit);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last lines SUMO wrote, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.contains("SUMO_HOME")).collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
        if tail.is_empty() {
            format!("(nothing in {})", self.log.display())
        } else {
            tail
        }
    }
}

impl Drop for Sumo {
    fn drop(&mut self) {
        self.client = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, SumoError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(SumoError::FreePort)?;
    let address = listener.local_addr().map_err(SumoError::FreePort)?;
    Ok(address.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_is_named_with_how_to_install_it() {
        let e = locate(Path::new("sumo-that-does-not-exist"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`sumo-that-does-not-exist` was not found on the PATH"),
            "{e}"
        );
        assert!(e.contains("apt-get install sumo"), "{e}");
        let e = locate(Path::new("/nowhere/sumo")).unwrap_err().to_string();
        assert!(e.contains("`/nowhere/sumo` was not found; install"), "{e}");
    }
}
