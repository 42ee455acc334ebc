//! The live status line on the console: signal heads, the interval and time in it, the mode,
//! frames per second per camera (read, and analysed when fewer) and the orchestrator link,
//! redrawn in place twice a second when standard error is a terminal (never into a log file
//! or a pipe).

use std::io::{IsTerminal, Write};
use std::time::Duration;

const REFRESH: Duration = Duration::from_millis(500);

pub struct StatusLine {
    enabled: bool,
    next: Duration,
    last_at: Duration,
    /// Frames read and analysed per camera at the last draw.
    last_frames: Vec<(u64, u64)>,
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

    /// Frames per second per camera since the last draw: read, and analysed by the detector
    /// when that differs (a 60 fps file is read at 60 and analysed at `cameras.fps`).
    pub fn rates(&mut self, now: Duration, frames: &[(&str, u64, u64)]) -> String {
        let dt = (now - self.last_at).as_secs_f64().max(1e-3);
        let rates: Vec<String> = frames
            .iter()
            .enumerate()
            .map(|(i, &(name, read, analysed))| {
                let (read_before, analysed_before) =
                    self.last_frames.get(i).copied().unwrap_or((read, analysed));
                let read_rate = (read - read_before) as f64 / dt;
                let analysed_rate = (analysed - analysed_before) as f64 / dt;
                if (read_rate - analysed_rate).abs() < 0.05 {
                    format!("{name} {read_rate:.1} fps")
                } else {
                    format!("{name} {read_rate:.1} fps read, {analysed_rate:.1} analysed")
                }
            })
            .collect();
        self.last_frames = frames.iter().map(|&(_, r, a)| (r, a)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_camera_read_faster_than_it_is_analysed_shows_both_rates() {
        let mut line = StatusLine::new(false, Duration::ZERO);
        line.rates(Duration::ZERO, &[("a", 0, 0), ("b", 0, 0)]);
        let text = line.rates(Duration::from_secs(2), &[("a", 120, 30), ("b", 30, 30)]);
        assert_eq!(text, "a 60.0 fps read, 15.0 analysed, b 15.0 fps");
    }
}
