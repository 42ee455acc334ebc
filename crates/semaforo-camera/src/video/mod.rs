//! Video files as a camera: MP4/MOV with H.264, decoded by OpenH264 (bundled C source, so a
//! fresh clone needs only a C compiler), for replaying recorded intersections through the
//! same pipeline as a live camera.
//!
//! In configuration: `file:PATH` or a bare path, with options after `?`
//! (`file:clips/street.mp4?loop=true&pace=fast`); see [`VideoFileOptions::from_params`].
//! Frames come out in display order with a gap-free `seq` (continuing across loops) and a
//! wall-clock `captured` stamp taken when the frame is handed out. Paced at the file's rate
//! (the default), a read waits until the frame's presentation time after open, so detectors
//! and the controller see the recording's real timing; `pace=fast` decodes as fast as it can.
//!
//! ```no_run
//! use semaforo_resources::CameraDevice;
//! use semaforo_camera::{Pacing, VideoFile, VideoFileOptions};
//!
//! let options = VideoFileOptions { looping: false, pacing: Pacing::AsFastAsPossible };
//! let mut clip = VideoFile::open("street-a.mp4".as_ref(), options).unwrap();
//! while let Ok(frame) = clip.read() {
//!     // ... use the frame, then give its buffer back for the next one:
//!     clip.recycle(frame);
//! }
//! ```
//!
//! Allocation per frame: the compressed sample (a few kB, read by the `mp4` crate) and, unless
//! the consumer hands frames back with [`VideoFile::recycle`], the RGB buffer. The YUV planes
//! live in OpenH264's own buffers.

pub(crate) mod annexb;
pub(crate) mod container;
pub(crate) mod h264;
pub(crate) mod pacing;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_base::{Clocks, SystemClocks};
use semaforo_resources::{CameraDevice, CameraProperty};

use crate::{Frame, SourceError};
/// The AVCC-to-Annex B rewriting that every H.264 sample goes through before OpenH264, public
/// for the fuzz targets (`fuzz/`) that feed it samples of their own.
pub use annexb::{AnnexBWriter, AvccError};
use h264::{H264Decoder, Picture, RgbPool};
use pacing::Pacer;
pub use pacing::Pacing;

/// OpenCV's property numbers, so code written against `cv2.VideoCapture` reads the same.
pub mod property {
    use semaforo_resources::CameraProperty;

    /// `CAP_PROP_POS_MSEC`: presentation time of the next frame within the file, in ms.
    pub const POS_MSEC: CameraProperty = CameraProperty::Other(0);
    /// `CAP_PROP_POS_FRAMES`: index of the next frame within the file (0 after a loop).
    pub const POS_FRAMES: CameraProperty = CameraProperty::Other(1);
    /// `CAP_PROP_FRAME_COUNT`: frames in the file.
    pub const FRAME_COUNT: CameraProperty = CameraProperty::Other(7);
}

/// How a file is played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoFileOptions {
    /// Start again from the first frame at the end of the file (`loop=true`).
    pub looping: bool,
    pub pacing: Pacing,
}

impl VideoFileOptions {
    /// Parses URI parameters: `loop=true|false` (also `1|0|yes|no`) and `pace=real|fast`,
    /// separated by `&`. Unknown parameters are errors, so a typo is not silently ignored.
    pub fn from_params(params: &str) -> Result<Self, SourceError> {
        let mut options = VideoFileOptions::default();
        let bad = |parameter: &str, expected: &str| SourceError::BadParameter {
            source_kind: "video-file",
            parameter: parameter.to_string(),
            expected: expected.to_string(),
        };
        for pair in params.split('&').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match playback_param(key, value, &mut options.looping, &mut options.pacing) {
                Ok(true) => {}
                Ok(false) => return Err(bad(pair, "loop=true|false or pace=real|fast")),
                Err(expected) => return Err(bad(pair, expected)),
            }
        }
        Ok(options)
    }
}

/// Applies a `loop=` or `pace=` URI parameter, which every recorded source (video files,
/// image folders) takes: `Ok(false)` when `key` is neither, `Err(expected)` for a bad value.
pub(crate) fn playback_param(
    key: &str,
    value: &str,
    looping: &mut bool,
    pacing: &mut Pacing,
) -> Result<bool, &'static str> {
    match (key.trim(), value.trim().to_ascii_lowercase().as_str()) {
        ("loop", "true" | "1" | "yes") => *looping = true,
        ("loop", "false" | "0" | "no") => *looping = false,
        ("loop", _) => return Err("loop=true or loop=false"),
        ("pace", "real" | "realtime") => *pacing = Pacing::RealTime,
        ("pace", "fast") => *pacing = Pacing::AsFastAsPossible,
        ("pace", _) => return Err("pace=real or pace=fast"),
        _ => return Ok(false),
    }
    Ok(true)
}

/// An MP4/MOV file played as a camera.
pub struct VideoFile {
    path: PathBuf,
    track: container::VideoTrack,
    /// `None` only between dropping a pass's decoder and starting the next one's.
    decoder: Option<H264Decoder>,
    options: VideoFileOptions,
    pacer: Pacer,
    /// Next sample to decode, 0-based in decode order.
    next_sample: u32,
    flushed: bool,
    ready: VecDeque<Picture>,
    pool: RgbPool,
    /// Frames handed out in the current pass through the file.
    shown_in_pass: u64,
    loops: u32,
    seq: u64,
    width: u32,
    height: u32,
    open: bool,
    /// In a file cut short: the first sample that is not all there (1-based), once reached.
    cut_at: Option<u32>,
}

impl std::fmt::Debug for VideoFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFile")
            .field("path", &self.path)
            .field("codec", &self.track.codec)
            .field("options", &self.options)
            .field("seq", &self.seq)
            .finish()
    }
}

impl VideoFile {
    /// Opens `path`, paced (if asked) by the system clock.
    pub fn open(path: &Path, options: VideoFileOptions) -> Result<Self, SourceError> {
        Self::open_with_clock(path, options, Box::new(SystemClocks::new()))
    }

    /// Opens `path` with pacing measured on `clock` (tests pass a fake one).
    pub fn open_with_clock(
        path: &Path,
        options: VideoFileOptions,
        clock: Box<dyn Clocks>,
    ) -> Result<Self, SourceError> {
        let track = container::open(path)?;
        let decoder = Self::new_decoder(path, &track)?;
        Ok(VideoFile {
            path: path.to_path_buf(),
            width: track.width,
            height: track.height,
            track,
            decoder: Some(decoder),
            options,
            pacer: Pacer::new(options.pacing, clock),
            next_sample: 0,
            flushed: false,
            ready: VecDeque::new(),
            pool: RgbPool::default(),
            shown_in_pass: 0,
            loops: 0,
            seq: 0,
            open: true,
            cut_at: None,
        })
    }

    fn new_decoder(path: &Path, track: &container::VideoTrack) -> Result<H264Decoder, SourceError> {
        H264Decoder::new(track.length_size, &track.sps, &track.pps).map_err(|e| {
            SourceError::Decode {
                path: path.to_path_buf(),
                what: "the stream".into(),
                reason: e.to_string(),
            }
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The codec and profile, e.g. `H.264 High`.
    pub fn codec(&self) -> &str {
        &self.track.codec
    }

    /// Frames in the file (one pass).
    pub fn frame_count(&self) -> u64 {
        self.track.sample_count as u64
    }

    /// The file's frame rate, from its timing (59.94 for 60000/1001).
    pub fn fps(&self) -> f64 {
        self.track.fps
    }

    /// The length of one pass.
    pub fn duration(&self) -> Duration {
        self.track.duration
    }

    pub fn options(&self) -> VideoFileOptions {
        self.options
    }

    /// Gives a frame's RGB buffer back for reuse by the next frames; without it each frame
    /// allocates its own buffer.
    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.rgb);
    }

    /// Starts again from the first frame of the file (a new decoder; the H.264 stream is
    /// decoded from its first IDR).
    fn rewind(&mut self) -> Result<(), SourceError> {
        // The old decoder goes before the new one starts: OpenH264 zeroes a 3 MB bitstream
        // buffer and its pictures when it starts (about 7 MB at 640x352), and two at once were
        // the peak of a looping file's memory.
        self.decoder = None;
        self.decoder = Some(Self::new_decoder(&self.path, &self.track)?);
        self.next_sample = 0;
        self.flushed = false;
        for picture in self.ready.drain(..) {
            self.pool.give(picture.rgb);
        }
        self.shown_in_pass = 0;
        Ok(())
    }

    /// The next picture in display order, decoding samples until one is ready.
    fn next_picture(&mut self) -> Result<Picture, SourceError> {
        loop {
            if let Some(picture) = self.ready.pop_front() {
                return Ok(picture);
            }
            // A decoder that could not start again at a rewind is tried again at each read.
            let decoder = match &mut self.decoder {
                Some(decoder) => decoder,
                None => self
                    .decoder
                    .insert(Self::new_decoder(&self.path, &self.track)?),
            };
            let Self {
                ready,
                pool,
                track,
                path,
                ..
            } = self;
            if self.next_sample < track.sample_count {
                // mp4 sample ids start at 1.
                let id = self.next_sample + 1;
                self.next_sample += 1;
                let decode_error = |reason: String| SourceError::Decode {
                    path: path.clone(),
                    what: format!("sample {id} of {}", track.sample_count),
                    reason,
                };
                let read = match track.sample_size(id) {
                    // The `mp4` crate allocates a sample's size before reading it: a size
                    // larger than the whole file (a damaged `stsz`) could ask for gigabytes.
                    Some(bytes) if bytes > track.size => Err(format!(
                        "`stsz` gives it {bytes} bytes, more than the whole file's {}",
                        track.size
                    )),
                    _ => track
                        .reader
                        .read_sample(track.track_id, id)
                        .map_err(|e| format!("cannot read it: {e}")),
                };
                let sample = match read {
                    Ok(Some(sample)) => sample,
                    // The file is cut short here: what was decoded is shown, then it ends.
                    Err(_) | Ok(None) if track.truncated.is_some() => {
                        self.cut_at = Some(id);
                        self.next_sample = track.sample_count;
                        continue;
                    }
                    Ok(None) => return Err(decode_error("the file has no such sample".into())),
                    Err(reason) => return Err(decode_error(reason)),
                };
                decoder
                    .decode(&sample.bytes, sample.is_sync, pool, ready)
                    .map_err(|e| decode_error(e.to_string()))?;
                continue;
            }
            if !self.flushed {
                self.flushed = true;
                decoder
                    .flush(pool, ready)
                    .map_err(|e| SourceError::Decode {
                        path: path.clone(),
                        what: "the last frames".into(),
                        reason: e.to_string(),
                    })?;
                continue;
            }
            if self.options.looping && self.shown_in_pass > 0 {
                self.loops += 1;
                self.rewind()?;
                continue;
            }
            if let Some(sample) = self.cut_at {
                return Err(SourceError::Truncated {
                    path: self.path.clone(),
                    size: self.track.size,
                    sample,
                    samples: self.track.sample_count,
                    frames: self.seq,
                });
            }
            return Err(SourceError::EndOfStream {
                path: self.path.clone(),
                frames: self.seq,
            });
        }
    }

    /// Presentation time of the `index`-th frame of the current pass, from the start of
    /// playback (loops included).
    fn presentation(&self, index: u64) -> Duration {
        let times = &self.track.presentation;
        let within = match times.get(index as usize) {
            Some(&t) => t,
            // More pictures than samples (a damaged file): keep time moving.
            None => self.track.duration,
        };
        within + self.track.duration * self.loops
    }
}

impl CameraDevice for VideoFile {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Closed);
        }
        let picture = self.next_picture()?;
        self.pacer.wait_for(self.presentation(self.shown_in_pass));
        self.shown_in_pass += 1;
        self.width = picture.width;
        self.height = picture.height;
        Ok(picture.into_frame(&mut self.seq))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match property {
            CameraProperty::FrameWidth => Some(self.width as f64),
            CameraProperty::FrameHeight => Some(self.height as f64),
            CameraProperty::Fps => Some(self.track.fps),
            property::FRAME_COUNT => Some(self.track.sample_count as f64),
            property::POS_FRAMES => Some(self.shown_in_pass as f64),
            property::POS_MSEC => {
                let t = match self.track.presentation.get(self.shown_in_pass as usize) {
                    Some(&t) => t,
                    None => self.track.duration,
                };
                Some(t.as_secs_f64() * 1000.0)
            }
            _ => None,
        }
    }

    /// Only a rewind (`POS_FRAMES` = 0) can be set: a file's size and rate are its own, and
    /// seeking elsewhere is not supported.
    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), SourceError> {
        match property {
            property::POS_FRAMES if value == 0.0 => {
                self.rewind()?;
                // Frame 0 is due now, as if the file had just been opened.
                self.loops = 0;
                self.pacer.restart();
                Ok(())
            }
            property::POS_FRAMES => Err(SourceError::BadSetting {
                property: "position",
                value,
                expected: "0 (a video file source can rewind, not seek)".into(),
            }),
            _ => Err(SourceError::BadSetting {
                property: "property",
                value,
                expected: format!(
                    "position 0 only ({} sets its own size and frame rate; use pace=fast to \
                     read faster than real time)",
                    self.path.display()
                ),
            }),
        }
    }

    fn is_opened(&self) -> bool {
        self.open
    }

    fn release(&mut self) {
        self.open = false;
        self.ready.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parameters_choose_looping_and_pacing() {
        assert_eq!(
            VideoFileOptions::from_params("").unwrap(),
            VideoFileOptions::default()
        );
        let o = VideoFileOptions::from_params("loop=true&pace=fast").unwrap();
        assert!(o.looping);
        assert_eq!(o.pacing, Pacing::AsFastAsPossible);
        let o = VideoFileOptions::from_params("pace=real&loop=no").unwrap();
        assert_eq!(o, VideoFileOptions::default());
    }

    /// Found by the `mp4` fuzz target: a sample size in `stsz` larger than the file made the
    /// `mp4` crate allocate it (2 GiB here) before finding the bytes missing.
    #[test]
    fn a_sample_larger_than_the_file_is_refused_before_it_is_read() {
        // 32x32, 3 frames (ffmpeg's testsrc in H.264 Baseline), its first sample's size
        // changed to 0x80000407 bytes.
        let mut file = include_bytes!("../../tests/fixtures/tiny-baseline.mp4").to_vec();
        let stsz = file.windows(4).position(|w| w == b"stsz").unwrap();
        file[stsz + 16..stsz + 20].copy_from_slice(&0x8000_0407u32.to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge-sample.mp4");
        std::fs::write(&path, &file).unwrap();
        let options = VideoFileOptions {
            looping: false,
            pacing: Pacing::AsFastAsPossible,
        };
        let mut video = VideoFile::open(&path, options).unwrap();
        let error = video.read().unwrap_err().to_string();
        assert!(
            error.contains("huge-sample.mp4")
                && error.contains("sample 1 of 3")
                && error.contains("`stsz` gives it 2147484679 bytes, more than the whole file's"),
            "{error}"
        );
    }

    /// Found by the `mp4` fuzz target: a sample that `stts` gives no time for made the `mp4`
    /// crate panic when it was read.
    #[test]
    fn a_short_stts_plays_the_frames_it_gives_times_for() {
        // The same 3 frames, `stts` saying 2 samples of 1024 ticks instead of 3.
        let mut file = include_bytes!("../../tests/fixtures/tiny-baseline.mp4").to_vec();
        let stts = file.windows(4).position(|w| w == b"stts").unwrap();
        assert_eq!(file[stts + 12..stts + 16], 3u32.to_be_bytes());
        file[stts + 12..stts + 16].copy_from_slice(&2u32.to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short-stts.mp4");
        std::fs::write(&path, &file).unwrap();
        let options = VideoFileOptions {
            looping: false,
            pacing: Pacing::AsFastAsPossible,
        };
        let mut video = VideoFile::open(&path, options).unwrap();
        assert_eq!(video.frame_count(), 2);
        let mut frames = 0;
        let end = loop {
            match video.read() {
                Ok(_) => frames += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(frames, 2);
        assert!(matches!(end, SourceError::EndOfStream { .. }), "{end}");
    }

    /// Found by the `mp4` fuzz target: an `stsc` entry for chunk 0 made the `mp4` crate
    /// subtract past zero (and one with no samples per chunk would divide by zero).
    #[test]
    fn an_stsc_chunk_numbered_zero_is_refused_naming_it() {
        let original = include_bytes!("../../tests/fixtures/tiny-baseline.mp4").to_vec();
        let stsc = original.windows(4).position(|w| w == b"stsc").unwrap();
        assert_eq!(original[stsc + 12..stsc + 20], [0, 0, 0, 1, 0, 0, 0, 3]);
        let dir = tempfile::tempdir().unwrap();
        for (at, expected) in [
            (12, "`stsc` gives chunk 0 3 samples per chunk"),
            (16, "`stsc` gives chunk 1 0 samples per chunk"),
        ] {
            let mut file = original.clone();
            file[stsc + at..stsc + at + 4].copy_from_slice(&0u32.to_be_bytes());
            let path = dir.path().join("bad-stsc.mp4");
            std::fs::write(&path, &file).unwrap();
            let options = VideoFileOptions::default();
            let error = VideoFile::open(&path, options).unwrap_err().to_string();
            assert!(
                error.contains("bad-stsc.mp4") && error.contains(expected),
                "{error}"
            );
        }
    }

    #[test]
    fn bad_uri_parameters_name_themselves() {
        let err = VideoFileOptions::from_params("loop=maybe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "video-file parameter `loop=maybe` is not valid: expected loop=true or loop=false"
        );
        let err = VideoFileOptions::from_params("speed=2").unwrap_err();
        assert!(err.to_string().contains("`speed=2`"), "{err}");
    }
}
