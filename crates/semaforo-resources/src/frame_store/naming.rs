//! Frame file names: how the store writes them and reads them back at open.
//!
//! Layout: `{seq}_camera_{name}_cycle_{cycle}_{time}.jpg`, for example
//! `0000000042_camera_A_cycle_7_20261125T072242.123456Z.jpg`.
//!
//! - `seq` is the store's sequence number, zero-padded to the width of the sequence modulus
//!   (10 digits by default), first, so a plain `ls` lists frames oldest first across
//!   cameras. The store never relies on that text order: it orders by the number, and
//!   handles the wrap back to 0 after `modulus - 1`.
//! - `name` is the camera name: 1 to 64 of `A-Z a-z 0-9 _ -`. Underscores are allowed, so
//!   the name is found by parsing from the right (`time` has no underscore, `cycle` is
//!   digits).
//! - `time` is UTC with microseconds; it is for people, never used for ordering.
//!
//! Temporary files of an unfinished write are `.{final name}.partial`: hidden, and never
//! matching the frame pattern, so a crash can leave one but never a partial `.jpg`.

use std::time::SystemTime;

/// Suffix of the temporary file a frame is written to before its rename.
pub(crate) const PARTIAL_SUFFIX: &str = ".partial";

/// Why a camera name cannot be part of a file name, or `None` if it can.
pub(crate) fn camera_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 64 {
        Some("it is longer than 64 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("it contains a character other than letters, digits, '_' and '-'")
    } else {
        None
    }
}

/// Decimal digits needed to write `modulus - 1`.
pub(crate) fn sequence_width(modulus: u64) -> usize {
    (modulus.saturating_sub(1)).max(1).to_string().len()
}

/// `20261125T072242.123456Z` for a time (UTC).
pub(crate) fn utc_stamp(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{day:02}T{:02}{:02}{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 23
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 => c == b'T',
            15 => c == b'.',
            22 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// The file name of a frame.
pub(crate) fn frame_file_name(
    seq: u64,
    width: usize,
    camera: &str,
    cycle: u64,
    time: SystemTime,
) -> String {
    format!(
        "{seq:0width$}_camera_{camera}_cycle_{cycle}_{}.jpg",
        utc_stamp(time)
    )
}

/// A frame file name read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedName {
    pub seq: u64,
    pub camera: String,
    pub cycle: u64,
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Reads a frame file name back; `None` for anything else (the store leaves such files
/// alone).
pub(crate) fn parse_frame_file_name(name: &str) -> Option<ParsedName> {
    let stem = name.strip_suffix(".jpg")?;
    let (seq, rest) = stem.split_once('_')?;
    let seq = digits(seq)?;
    let rest = rest.strip_prefix("camera_")?;
    let (rest, stamp) = rest.rsplit_once('_')?;
    if !is_stamp(stamp) {
        return None;
    }
    let (camera, cycle) = rest.rsplit_once("_cycle_")?;
    let cycle = digits(cycle)?;
    if camera_name_problem(camera).is_some() {
        return None;
    }
    Some(ParsedName {
        seq,
        camera: camera.to_owned(),
        cycle,
    })
}

/// Whether a name is a temporary file of an unfinished frame write.
pub(crate) fn is_partial_file_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(PARTIAL_SUFFIX) && name.contains("_camera_")
}

/// Orders sequence numbers that may have wrapped past `modulus`: returns the oldest one.
/// The numbers present span less than half the modulus (the store keeps far fewer frames
/// than that), so the oldest is the one after the largest gap on the circle.
pub(crate) fn oldest_on_circle(sorted: &[u64], modulus: u64) -> Option<u64> {
    let (&first, &last) = (sorted.first()?, sorted.last()?);
    let mut best_gap = first + modulus - last; // the gap across the wrap
    let mut oldest = first;
    for w in sorted.windows(2) {
        let gap = w[1] - w[0];
        if gap > best_gap {
            best_gap = gap;
            oldest = w[1];
        }
    }
    Some(oldest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn names_round_trip_with_underscores_in_the_camera_name() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_055_362_123_456);
        let name = frame_file_name(42, 10, "north_cycle_2", 7, t);
        assert_eq!(
            name,
            "0000000042_camera_north_cycle_2_cycle_7_20251125T072242.123456Z.jpg"
        );
        assert_eq!(
            parse_frame_file_name(&name),
            Some(ParsedName {
                seq: 42,
                camera: "north_cycle_2".into(),
                cycle: 7
            })
        );
    }

    #[test]
    fn foreign_and_malformed_names_are_not_frames() {
        for name in [
            "camera_A_cycle_1_20251125T072242.123456Z.jpg",
            "0042_camera_A_cycle_x_20251125T072242.123456Z.jpg",
            "0042_camera_A_cycle_1_2025-11-25.jpg",
            "0042_camera_A_cycle_1_20251125T072242.123456Z.png",
            "0042_camera_a.b_cycle_1_20251125T072242.123456Z.jpg",
            "0042_camera__cycle_1_20251125T072242.123456Z.jpg",
            "-42_camera_A_cycle_1_20251125T072242.123456Z.jpg",
            ".0042_camera_A_cycle_1_20251125T072242.123456Z.jpg.partial",
            "notes.txt",
        ] {
            assert_eq!(parse_frame_file_name(name), None, "{name}");
        }
        assert!(is_partial_file_name(
            ".0042_camera_A_cycle_1_20251125T072242.123456Z.jpg.partial"
        ));
        assert!(!is_partial_file_name("0042_camera_A.jpg"));
    }

    #[test]
    fn utc_stamps_match_known_dates() {
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101T000000.000000Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "20000229T000000.000000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_799); // 2099-12-31 23:59:59
        assert_eq!(utc_stamp(t), "20991231T235959.000000Z");
    }

    #[test]
    fn camera_names_are_checked_for_file_name_safety() {
        assert_eq!(camera_name_problem("A"), None);
        assert_eq!(camera_name_problem("north-1_left"), None);
        assert!(camera_name_problem("").is_some());
        assert!(camera_name_problem("../etc").is_some());
        assert!(camera_name_problem("a b").is_some());
        assert!(camera_name_problem(&"x".repeat(65)).is_some());
    }

    #[test]
    fn oldest_is_found_across_a_wrap() {
        assert_eq!(oldest_on_circle(&[3, 4, 5], 100), Some(3));
        assert_eq!(oldest_on_circle(&[0, 1, 98, 99], 100), Some(98));
        assert_eq!(oldest_on_circle(&[0, 97], 100), Some(97));
        assert_eq!(oldest_on_circle(&[7], 100), Some(7));
        assert_eq!(oldest_on_circle(&[], 100), None);
        assert_eq!(sequence_width(10_000_000_000), 10);
        assert_eq!(sequence_width(100), 2);
    }
}
