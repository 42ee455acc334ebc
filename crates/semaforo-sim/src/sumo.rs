//! A running `sumo` process with its TraCI connection, as a guard.
//!
//! [`Sumo::start`] finds the binary, starts it on a free loopback port and connects; dropping the
//! guard kills and reaps the process on every path (errors, panics, early returns), so no
//! simulator outlives the evaluation. [`Sumo::finish`] is the normal end: it closes the TraCI
//! session so SUMO writes its trip information, and waits for it to exit.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::traci::{Batch, Client, Value};

/// How long SUMO may take to load and open its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one TraCI reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// The oldest TraCI API level this client speaks (SUMO 1.0 has 18; 1.15 has 20).
const MIN_API: i32 = 18;

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
    /// Simulated time to run, seconds.
    pub end: f64,
}

/// Finds `binary` on the PATH (or checks the path given), with an error saying how to install
/// SUMO when it is missing.
pub fn locate(binary: &Path) -> Result<PathBuf> {
    let found = if binary.components().count() > 1 {
        binary.is_file().then(|| binary.to_path_buf())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(binary))
                .find(|p| p.is_file())
        })
    };
    found.ok_or_else(|| {
        anyhow!(
            "the SUMO simulator `{}` was not found{}; install it (Debian/Ubuntu: \
             `apt-get install sumo sumo-tools`; elsewhere see https://sumo.dlr.de/docs/Installing) \
             or name it with --sumo PATH",
            binary.display(),
            if binary.components().count() > 1 {
                String::new()
            } else {
                " on the PATH".to_string()
            }
        )
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
    pub fn start(launch: &Launch) -> Result<Sumo> {
        let binary = locate(&launch.binary)?;
        // A port the OS just handed out; SUMO binds it a moment later. Another process taking
        // it in between makes SUMO exit, which the retry below catches.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            match Self::start_on(&binary, launch, port) {
                Ok(s) => return Ok(s),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("SUMO did not start")))
    }

    fn start_on(binary: &Path, launch: &Launch, port: u16) -> Result<Sumo> {
        let log = File::create(&launch.log)
            .with_context(|| format!("cannot create SUMO's log {}", launch.log.display()))?;
        let log_err = log.try_clone()?;
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
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
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
                    if let Some(status) = sumo.child.try_wait()? {
                        bail!(
                            "SUMO exited ({status}) before accepting a connection on port {port}: {}",
                            sumo.log_tail()
                        );
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "SUMO did not open port {port} within {} s ({e}): {}",
                            START_TIMEOUT.as_secs(),
                            sumo.log_tail()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        let mut client = Client::new(stream, REPLY_TIMEOUT)?;
        let mut hello = Batch::new();
        hello.get_version();
        let api = client
            .send(&hello)
            .context("the TraCI version handshake failed")?
            .first()
            .and_then(|v| v.as_count().ok())
            .unwrap_or(0);
        if (api as i32) < MIN_API {
            bail!("SUMO speaks TraCI API level {api}; at least {MIN_API} (SUMO 1.0) is needed");
        }
        sumo.client = Some(client);
        Ok(sumo)
    }

    /// Sends a batch of commands and returns the values read.
    pub fn send(&mut self, batch: &Batch) -> Result<Vec<Value>> {
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| anyhow!("the TraCI session is closed"))?;
        match client.send(batch) {
            Ok(v) => Ok(v),
            Err(e) => {
                let tail = self.log_tail();
                Err(anyhow!(e).context(format!("SUMO's messages: {tail}")))
            }
        }
    }

    /// Closes the session and waits for SUMO to write its outputs and exit.
    pub fn finish(mut self) -> Result<()> {
        let mut close = Batch::new();
        close.close();
        self.send(&close).context("closing the TraCI session")?;
        self.client = None;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!("SUMO exited with {status}: {}", self.log_tail());
            }
            if Instant::now() > deadline {
                bail!("SUMO did not exit after the TraCI session was closed");
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

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot find a free loopback port for SUMO")?;
    Ok(listener.local_addr()?.port())
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
