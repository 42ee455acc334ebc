//! High-resolution controller events (Indiana enumerations) and their CSV line format.
//!
//! Signal performance tools (ATSPM and its descendants) read a controller's event log: one record
//! per state change, `timestamp,event_code,parameter`, timestamps to 0.1 s, codes from the
//! *Indiana Traffic Signal Hi Resolution Data Logger Enumerations*. The controller emits
//! [`HiResEvent`]s stamped with [`SignalTime`]; a [`LogEpoch`] (the wall-clock time of signal
//! time zero, supplied by the caller, since this crate reads no clock) turns them into
//! [`HiResRecord`]s, whose `Display` is the CSV line and whose `FromStr` parses it back.
//!
//! Timestamps are UTC, `YYYY-MM-DD HH:MM:SS.d` (e.g. `2026-11-25 06:43:01.3`), truncated (not
//! rounded) to the tenth of a second, so an event is never logged later than it happened.
//!
//! Parameter conventions: phase events (1–12, 43) carry the signal group number (ATSPM's "phase"
//! is a movement, which is what a signal group is); detector events carry a detector channel:
//! the stop-line presence zone of group *g* is channel *g* (on/off as the zone becomes occupied
//! or empty), its count line is channel 64 + *g* (an on and an off per vehicle counted).
//! Controller-wide states (policy, fail-safe, stop, flash) use 131 (coordination pattern change)
//! with the pattern numbers in [`pattern`] and 173 (unit flash status change) with NTCIP 1202
//! flash status values in [`flash_status`].

use std::fmt;
use std::str::FromStr;

use crate::time::SignalTime;

/// An Indiana hi-res event code (0–255).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventCode(pub u8);

impl EventCode {
    /// Green indication begins.
    pub const PHASE_BEGIN_GREEN: EventCode = EventCode(1);
    /// Green ends because no vehicle was detected for the passage time (or the queue cleared).
    pub const PHASE_GAP_OUT: EventCode = EventCode(4);
    /// Green ends because the maximum green expired.
    pub const PHASE_MAX_OUT: EventCode = EventCode(5);
    /// Green ends because the plan or policy forced it off.
    pub const PHASE_FORCE_OFF: EventCode = EventCode(6);
    /// Green indication ends.
    pub const PHASE_GREEN_TERMINATION: EventCode = EventCode(7);
    /// Yellow change interval begins.
    pub const PHASE_BEGIN_YELLOW_CLEARANCE: EventCode = EventCode(8);
    /// Yellow change interval ends.
    pub const PHASE_END_YELLOW_CLEARANCE: EventCode = EventCode(9);
    /// Red clearance begins (logged even when red clearance is zero, at the same instant).
    pub const PHASE_BEGIN_RED_CLEARANCE: EventCode = EventCode(10);
    /// Red clearance ends.
    pub const PHASE_END_RED_CLEARANCE: EventCode = EventCode(11);
    /// The group is no longer active.
    pub const PHASE_INACTIVE: EventCode = EventCode(12);
    /// A vehicle call is registered on a red group.
    pub const PHASE_CALL_REGISTERED: EventCode = EventCode(43);
    /// Detector off.
    pub const DETECTOR_OFF: EventCode = EventCode(81);
    /// Detector on.
    pub const DETECTOR_ON: EventCode = EventCode(82);
    /// Detector restored after a fault.
    pub const DETECTOR_RESTORED: EventCode = EventCode(83);
    /// Detector fault (reported unhealthy by the detection stage).
    pub const DETECTOR_FAULT_OTHER: EventCode = EventCode(84);
    /// The active pattern changed (parameter: a [`pattern`] number).
    pub const COORD_PATTERN_CHANGE: EventCode = EventCode(131);
    /// The unit's flash status changed (parameter: a [`flash_status`] value).
    pub const UNIT_FLASH_STATUS_CHANGE: EventCode = EventCode(173);

    /// The enumeration's name for the codes this crate emits.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "Phase Begin Green",
            4 => "Phase Gap Out",
            5 => "Phase Max Out",
            6 => "Phase Force Off",
            7 => "Phase Green Termination",
            8 => "Phase Begin Yellow Clearance",
            9 => "Phase End Yellow Clearance",
            10 => "Phase Begin Red Clearance",
            11 => "Phase End Red Clearance",
            12 => "Phase Inactive",
            43 => "Phase Call Registered",
            81 => "Detector Off",
            82 => "Detector On",
            83 => "Detector Restored",
            84 => "Detector Fault - Other",
            131 => "Coord Pattern Change",
            173 => "Unit Flash Status Change",
            _ => return None,
        })
    }
}

/// Pattern numbers logged with [`EventCode::COORD_PATTERN_CHANGE`]. 254 and 255 are the values
/// ATSPM reads as "free" and "flash"; 1 and 253 are this crate's fixed-time plans, 252 its stop.
///
/// The Indiana enumerations have no "all-red hold" event (their stop-time input freezes interval
/// timing, which is not what a stop does), so a stop is logged as a change to pattern 252
/// ([`STOPPED`](pattern::STOPPED)).
pub mod pattern {
    /// The fixed-time plan, chosen as the operating policy.
    pub const FIXED_TIME: u8 = 1;
    /// Stopped: the last green was ended and cleared, all heads hold red
    /// ([`Controller::request_stop`](crate::Controller::request_stop)).
    pub const STOPPED: u8 = 252;
    /// The fixed-time plan run as fail-safe because all detection is lost.
    pub const FAIL_SAFE: u8 = 253;
    /// Free (actuated or adaptive) operation.
    pub const FREE: u8 = 254;
    /// Flash (conflict monitor fault).
    pub const FLASH: u8 = 255;
}

/// NTCIP 1202 `unitFlashStatus` values logged with [`EventCode::UNIT_FLASH_STATUS_CHANGE`].
pub mod flash_status {
    /// Not flashing.
    pub const NOT_FLASH: u8 = 2;
    /// Flashing because the conflict monitor (MMU) tripped.
    pub const MMU: u8 = 6;
}

/// Offset of count-line detector channels: group *g*'s count line is channel `64 + g`.
pub const COUNT_CHANNEL_OFFSET: u8 = 64;

/// One controller event, stamped with signal time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HiResEvent {
    /// When it happened.
    pub at: SignalTime,
    /// What happened.
    pub code: EventCode,
    /// The signal group number, detector channel or status value the code is about.
    pub parameter: u8,
}

/// A wall-clock instant to 0.1 s: deciseconds since 1970-01-01 00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallTime(pub i64);

/// The wall-clock time of signal time zero, so events can be logged with real timestamps
/// without this crate reading a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEpoch {
    unix_ms: i64,
}

impl LogEpoch {
    /// Signal time zero happened at `unix_ms` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(unix_ms: i64) -> Self {
        LogEpoch { unix_ms }
    }

    /// The wall-clock time of `at`, truncated to 0.1 s.
    pub fn wall_time(&self, at: SignalTime) -> WallTime {
        let ms = i128::from(self.unix_ms) + i128::from(at.as_millis());
        let ds = ms.div_euclid(100);
        WallTime(i64::try_from(ds).unwrap_or(i64::MAX))
    }

    /// The signal time of a wall-clock time (the start of its tenth of a second); `None` when
    /// it lies before signal time zero's tenth of a second.
    pub fn signal_time(&self, wall: WallTime) -> Option<SignalTime> {
        let ms = i128::from(wall.0) * 100 - i128::from(self.unix_ms);
        if ms >= 0 {
            u64::try_from(ms).ok().map(SignalTime::from_millis)
        } else if ms > -100 {
            Some(SignalTime::ZERO)
        } else {
            None
        }
    }

    /// The CSV record of an event.
    pub fn record(&self, event: &HiResEvent) -> HiResRecord {
        HiResRecord {
            timestamp: self.wall_time(event.at),
            code: event.code,
            parameter: event.parameter,
        }
    }

    /// The event a record describes, its time truncated to 0.1 s.
    pub fn event(&self, record: &HiResRecord) -> Option<HiResEvent> {
        Some(HiResEvent {
            at: self.signal_time(record.timestamp)?,
            code: record.code,
            parameter: record.parameter,
        })
    }
}

/// The header line of a hi-res event CSV file.
pub const CSV_HEADER: &str = "timestamp,event_code,parameter";

/// One line of the hi-res event CSV: `Display` writes it, `FromStr` parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HiResRecord {
    /// Wall-clock time, to 0.1 s.
    pub timestamp: WallTime,
    /// Event code.
    pub code: EventCode,
    /// Event parameter.
    pub parameter: u8,
}

impl fmt::Display for HiResRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.timestamp, self.code.0, self.parameter)
    }
}

/// A CSV line that is not a hi-res event record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventParseError {
    /// Not three comma-separated fields.
    #[error("expected 3 fields (timestamp,event_code,parameter), found {found} in {line:?}")]
    FieldCount {
        /// Fields found.
        found: usize,
        /// The line.
        line: String,
    },
    /// The timestamp is not `YYYY-MM-DD HH:MM:SS.d`.
    #[error("timestamp {value:?} is not YYYY-MM-DD HH:MM:SS.d (UTC, tenths of a second)")]
    Timestamp {
        /// The rejected field.
        value: String,
    },
    /// The event code is not an integer 0–255.
    #[error("event code {value:?} is not an integer from 0 to 255")]
    EventCode {
        /// The rejected field.
        value: String,
    },
    /// The parameter is not an integer 0–255.
    #[error("parameter {value:?} is not an integer from 0 to 255")]
    Parameter {
        /// The rejected field.
        value: String,
    },
}

impl FromStr for HiResRecord {
    type Err = EventParseError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let line = line.trim_end_matches(['\r', '\n']);
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 3 {
            return Err(EventParseError::FieldCount {
                found: fields.len(),
                line: line.to_string(),
            });
        }
        let timestamp =
            fields[0]
                .trim()
                .parse::<WallTime>()
                .map_err(|()| EventParseError::Timestamp {
                    value: fields[0].to_string(),
                })?;
        let code = fields[1]
            .trim()
            .parse::<u8>()
            .map_err(|_| EventParseError::EventCode {
                value: fields[1].to_string(),
            })?;
        let parameter = fields[2]
            .trim()
            .parse::<u8>()
            .map_err(|_| EventParseError::Parameter {
                value: fields[2].to_string(),
            })?;
        Ok(HiResRecord {
            timestamp,
            code: EventCode(code),
            parameter,
        })
    }
}

// Civil-date conversions (proleptic Gregorian), after Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = self.0.rem_euclid(10);
        let secs = self.0.div_euclid(10);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{tenths}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

impl FromStr for WallTime {
    type Err = ();

    /// Parses exactly `YYYY-MM-DD HH:MM:SS.d` (years 0000–9999).
    fn from_str(s: &str) -> Result<Self, ()> {
        let b = s.as_bytes();
        if b.len() != 21 {
            return Err(());
        }
        let shape_ok = b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            19 => c == b'.',
            _ => c.is_ascii_digit(),
        });
        if !shape_ok {
            return Err(());
        }
        let num = |r: std::ops::Range<usize>| -> i64 {
            b[r].iter()
                .fold(0, |acc, &c| acc * 10 + i64::from(c - b'0'))
        };
        let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
        let (h, mi, sec, tenth) = (num(11..13), num(14..16), num(17..19), num(20..21));
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err(());
        }
        if h > 23 || mi > 59 || sec > 59 {
            return Err(());
        }
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
        Ok(WallTime(secs * 10 + tenth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_a_known_instant() {
        // 2026-11-25 06:43:01.3 UTC
        let epoch = LogEpoch::from_unix_millis(1_795_588_981_300);
        let ev = HiResEvent {
            at: SignalTime::from_millis(0),
            code: EventCode::PHASE_BEGIN_GREEN,
            parameter: 2,
        };
        assert_eq!(epoch.record(&ev).to_string(), "2026-11-25 06:43:01.3,1,2");
    }

    #[test]
    fn timestamps_truncate_to_the_tenth() {
        let epoch = LogEpoch::from_unix_millis(0);
        let w = epoch.wall_time(SignalTime::from_millis(1_999));
        assert_eq!(w.to_string(), "1970-01-01 00:00:01.9");
    }

    #[test]
    fn parses_a_line_with_crlf() {
        let r: HiResRecord = "2026-11-25 06:43:01.3,8,1\r\n".parse().unwrap();
        assert_eq!(r.code, EventCode::PHASE_BEGIN_YELLOW_CLEARANCE);
        assert_eq!(r.parameter, 1);
        assert_eq!(r.to_string(), "2026-11-25 06:43:01.3,8,1");
    }

    #[test]
    fn bad_lines_say_which_field_is_wrong() {
        let cases = [
            ("2026-11-25 06:43:01.3,1", "expected 3 fields"),
            (
                "2026-11-25 06:43:01,1,2",
                "timestamp \"2026-11-25 06:43:01\"",
            ),
            ("2026-02-30 06:43:01.3,1,2", "timestamp"),
            ("2026-11-25 24:00:00.0,1,2", "timestamp"),
            ("2026-11-25 06:43:01.3,256,2", "event code \"256\""),
            ("2026-11-25 06:43:01.3,1,x", "parameter \"x\""),
        ];
        for (line, want) in cases {
            let e = line.parse::<HiResRecord>().unwrap_err().to_string();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn header_names_the_three_fields() {
        assert_eq!(CSV_HEADER.split(',').count(), 3);
        assert!(CSV_HEADER.parse::<HiResRecord>().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        // Deciseconds from 0001-01-01 to 9999-12-31 23:59:59.9.
        fn csv_records_round_trip(ds in -621_355_968_000_i64..=2_534_023_007_999_i64,
                                  code in any::<u8>(), parameter in any::<u8>()) {
            let rec = HiResRecord { timestamp: WallTime(ds), code: EventCode(code), parameter };
            let line = rec.to_string();
            let back: HiResRecord = line.parse().unwrap();
            prop_assert_eq!(back, rec, "line {}", line);
        }

        #[test]
        fn events_round_trip_to_the_tenth(epoch_ms in 0i64..4_102_444_800_000,
                                          at in 0u64..10_000_000_000,
                                          code in any::<u8>(), parameter in any::<u8>()) {
            let epoch = LogEpoch::from_unix_millis(epoch_ms);
            let ev = HiResEvent { at: SignalTime::from_millis(at), code: EventCode(code), parameter };
            let line = epoch.record(&ev).to_string();
            let back = epoch.event(&line.parse().unwrap()).unwrap();
            prop_assert_eq!((back.code, back.parameter), (ev.code, ev.parameter));
            prop_assert!(back.at <= ev.at && ev.at.as_millis() - back.at.as_millis() < 100,
                "{} -> {} -> {}", ev.at, line, back.at);
        }
    }
}
