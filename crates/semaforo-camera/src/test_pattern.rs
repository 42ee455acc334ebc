//! `testsrc:` — a generated test pattern, like a broadcast test card: colour bars, a grey ramp
//! and a block that moves one step per frame, so a viewer (or a test) can see that frames are
//! flowing and none are repeated.
//!
//! It is a bring-up source: it proves the path from a camera to the frame store and the logs
//! without any hardware. It shows no vehicles, so nothing can be counted from it.

use std::time::SystemTime;

use semaforo_resources::{CameraDevice, CameraProperty};

use crate::frame::Frame;
use crate::SourceError;

/// The eight bars of a classic test card: white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

/// Renders test-pattern frames of a fixed size.
#[derive(Debug, Clone)]
pub struct TestPattern {
    background: Frame,
    seq: u64,
}

impl TestPattern {
    /// A pattern of `width` x `height` pixels (each at least 16).
    pub fn new(width: u32, height: u32) -> Self {
        let (w, h) = (width.max(16) as usize, height.max(16) as usize);
        let mut rgb = vec![0u8; w * h * 3];
        let bars_end = h * 2 / 3;
        for y in 0..h {
            for x in 0..w {
                let px = if y < bars_end {
                    BARS[x * BARS.len() / w]
                } else {
                    let v = (x * 255 / (w - 1)) as u8;
                    [v, v, v]
                };
                let at = (y * w + x) * 3;
                rgb[at..at + 3].copy_from_slice(&px);
            }
        }
        let background = Frame {
            seq: 0,
            captured: SystemTime::UNIX_EPOCH,
            width: w as u32,
            height: h as u32,
            rgb,
        };
        TestPattern { background, seq: 0 }
    }

    pub fn width(&self) -> u32 {
        self.background.width
    }

    pub fn height(&self) -> u32 {
        self.background.height
    }

    /// The next frame, stamped `captured`.
    pub fn next_frame(&mut self, captured: SystemTime) -> Frame {
        let mut frame = self.background.clone();
        frame.seq = self.seq;
        frame.captured = captured;
        let (w, h) = (frame.width as usize, frame.height as usize);
        let side = (h / 8).max(4);
        let x0 = (self.seq as usize * 4) % (w - side);
        let y0 = h * 2 / 3 + (h / 3 - side) / 2;
        for y in y0..(y0 + side).min(h) {
            let row = (y * w + x0) * 3;
            frame.rgb[row..row + side * 3].fill(255);
        }
        self.seq += 1;
        frame
    }
}

/// The test pattern as a camera: `testsrc:` in configuration.
#[derive(Debug)]
pub struct TestPatternCamera {
    pattern: TestPattern,
    fps: f64,
    open: bool,
}

/// Checks a generated picture's width or height.
pub(crate) fn check_size(property: &'static str, value: f64, max: u32) -> Result<u32, SourceError> {
    const MIN: u32 = 16;
    if value.is_finite() && value >= MIN as f64 && value <= max as f64 {
        Ok(value as u32)
    } else {
        Err(SourceError::BadSetting {
            property,
            value,
            expected: format!("{MIN} to {max} pixels"),
        })
    }
}

/// Checks a generated source's frame rate.
pub(crate) fn check_fps(value: f64) -> Result<f64, SourceError> {
    if value.is_finite() && (0.1..=240.0).contains(&value) {
        Ok(value)
    } else {
        Err(SourceError::BadSetting {
            property: "fps",
            value,
            expected: "0.1 to 240 frames per second".into(),
        })
    }
}

/// The properties every generated source reports: its size and frame rate.
pub(crate) fn size_and_rate(
    property: CameraProperty,
    width: u32,
    height: u32,
    fps: f64,
) -> Option<f64> {
    match property {
        CameraProperty::FrameWidth => Some(width as f64),
        CameraProperty::FrameHeight => Some(height as f64),
        CameraProperty::Fps => Some(fps),
        _ => None,
    }
}

impl TestPatternCamera {
    /// Opens a test pattern of `width` x `height` (16 to 7680 by 16 to 4320) at `fps`.
    pub fn open(width: u32, height: u32, fps: f64) -> Result<Self, SourceError> {
        let width = check_size("width", width as f64, 7680)?;
        let height = check_size("height", height as f64, 4320)?;
        let mut camera = TestPatternCamera {
            pattern: TestPattern::new(width, height),
            fps: 1.0,
            open: true,
        };
        camera.set(CameraProperty::Fps, fps)?;
        Ok(camera)
    }
}

impl CameraDevice for TestPatternCamera {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Closed);
        }
        Ok(self.pattern.next_frame(SystemTime::now()))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        size_and_rate(
            property,
            self.pattern.width(),
            self.pattern.height(),
            self.fps,
        )
    }

    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), SourceError> {
        match property {
            CameraProperty::FrameWidth => {
                let width = check_size("width", value, 7680)?;
                self.pattern = TestPattern::new(width, self.pattern.height());
            }
            CameraProperty::FrameHeight => {
                let height = check_size("height", value, 4320)?;
                self.pattern = TestPattern::new(self.pattern.width(), height);
            }
            CameraProperty::Fps => self.fps = check_fps(value)?,
            other => {
                return Err(SourceError::BadSetting {
                    property: "property",
                    value,
                    expected: format!("width, height or fps (testsrc: has no {other:?})"),
                })
            }
        }
        Ok(())
    }

    fn is_opened(&self) -> bool {
        self.open
    }

    fn release(&mut self) {
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_camera_reports_and_changes_its_settings_and_refuses_bad_ones() {
        let mut camera = TestPatternCamera::open(320, 240, 15.0).unwrap();
        assert_eq!(camera.get(CameraProperty::FrameWidth), Some(320.0));
        camera.set(CameraProperty::FrameWidth, 640.0).unwrap();
        assert_eq!(camera.read().unwrap().width, 640);
        let err = camera.set(CameraProperty::Fps, 0.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "fps = 0 is not possible: expected 0.1 to 240 frames per second"
        );
        assert!(TestPatternCamera::open(8, 240, 15.0).is_err());
        camera.release();
        assert!(matches!(camera.read(), Err(SourceError::Closed)));
    }

    #[test]
    fn frames_count_up_and_the_block_moves() {
        let mut pattern = TestPattern::new(64, 48);
        let a = pattern.next_frame(SystemTime::UNIX_EPOCH);
        let b = pattern.next_frame(SystemTime::UNIX_EPOCH);
        assert_eq!((a.seq, b.seq), (0, 1));
        assert_eq!(a.rgb.len(), 64 * 48 * 3);
        assert_ne!(a.rgb, b.rgb, "consecutive frames differ");
        // Top-left is the white bar, top-right the black one.
        assert_eq!(&a.rgb[..3], &[235, 235, 235]);
        assert_eq!(&a.rgb[(63 * 3)..(63 * 3 + 3)], &[16, 16, 16]);
    }
}
