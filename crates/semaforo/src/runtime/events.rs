//! `logs/events.csv`: the controller's high-resolution events in the line format ATSPM tools
//! read (`timestamp,event_code,parameter`, Indiana enumerations, 0.1 s), rotated by size like
//! the other logs.
//!
//! A controller writes a handful of events per cycle, so lines go straight to a buffered file
//! and are flushed once per tick that had any; losing the file (disk full) is logged once and
//! never stops the controller.

use std::path::Path;

use semaforo_signal::{HiResEvent, LogEpoch, CSV_HEADER};

use crate::logging::RotatingFile;

pub const EVENTS_FILE: &str = "events.csv";

pub struct EventLog {
    file: Option<RotatingFile>,
    epoch: LogEpoch,
    failed: bool,
}

impl EventLog {
    /// Opens (appending) `dir/events.csv`; `epoch` is the wall-clock time of signal time zero.
    pub fn open(dir: &Path, max_bytes: u64, backups: usize, epoch: LogEpoch) -> Self {
        let path = dir.join(EVENTS_FILE);
        let opened = std::fs::create_dir_all(dir).and_then(|()| {
            let new = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
            let mut file = RotatingFile::open(path.clone(), max_bytes, backups)?;
            if new {
                file.write_line(CSV_HEADER)?;
            }
            Ok(file)
        });
        let file = match opened {
            Ok(file) => Some(file),
            Err(e) => {
                tracing::error!(
                    "high-resolution events will not be written to {}: {e}",
                    path.display()
                );
                None
            }
        };
        EventLog {
            file,
            epoch,
            failed: false,
        }
    }

    /// Stamps the events from `epoch` from now on (the wall clock was stepped).
    pub fn set_epoch(&mut self, epoch: LogEpoch) {
        self.epoch = epoch;
    }

    /// Appends the events of one tick.
    pub fn write(&mut self, events: &[HiResEvent]) {
        if events.is_empty() {
            return;
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        // A log directory removed by hand is made again (the events would go nowhere).
        let result = file
            .reopen_if_gone()
            .and_then(|()| {
                events
                    .iter()
                    .try_for_each(|e| file.write_line(&self.epoch.record(e).to_string()))
            })
            .and_then(|()| file.flush());
        if let Err(e) = result {
            if !self.failed {
                tracing::error!("cannot write high-resolution events: {e}");
            }
            self.failed = true;
        } else {
            self.failed = false;
        }
    }
}
