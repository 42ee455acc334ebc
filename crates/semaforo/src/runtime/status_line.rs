//! The live status line on the console: signal heads, the interval and time in it, the mode,
//! frames per second per camera and the orchestrator link, redrawn in place twice a second
//! when standard error is a terminal (never into a log file or a pipe).

use std::io::{IsTerminal, Write};
use std::time::Duration;

const REFRESH: Duration = Duration::from_millis(500);

pub struct StatusLine {
    enabled: bool,
    next: Duration,
    last_at: Duration,
    last_frames: Vec<u64>,
}

impl StatusLine {
    pub fn new(console: bool, now: Duration) -> Self {
        StatusLine {
            enabled: console && std::io::stderr().is_terminal(),
            next: now,
            last_at: now,
            last_frames: Vec::new(),
        }
    }

    /// Whether it is time to redraw; the caller then builds the parts and calls [`draw`].
    pub fn due(&self, now: Duration) -> bool {
        self.enabled && now >= self.next
    }

    /// Frames per second per camera since the last draw.
    pub fn rates(&mut self, now: Duration, frames: &[(&str, u64)]) -> String {
        let dt = (now - self.last_at).as_secs_f64().max(1e-3);
        let rates: Vec<String> = frames
            .iter()
            .enumerate()
            .map(|(i, (name, n))| {
                let before = self.last_frames.get(i).copied().unwrap_or(*n);
                format!("{name} {:.1} fps", (n - before) as f64 / dt)
            })
            .collect();
        self.last_frames = frames.iter().map(|(_, n)| *n).collect();
        self.last_at = now;
        rates.join(", ")
    }

    pub fn draw(&mut self, now: Duration, text: &str) {
        self.next = now + REFRESH;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
    }

    /// Leaves the terminal on a fresh line.
    pub fn finish(&self) {
        if self.enabled {
            let _ = writeln!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
