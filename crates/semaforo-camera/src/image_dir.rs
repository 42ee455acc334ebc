//! Image folders as a camera (`dir:PATH`): the JPEG and PNG files of a folder, one frame each,
//! in name order, for tests and for replaying frames a frame store saved.
//!
//! Name order is *natural* order: runs of digits compare as numbers, so `cycle_9.jpg` comes
//! before `cycle_10.jpg` (the original sorted file names as text and got that wrong).
//! Options after `?`: `loop=true` starts again after the last file; `fps=N` hands frames out
//! at N per second (default: the rate the camera is asked for); `pace=fast` as fast as they
//! decode. The folder is listed once, at open.
//!
//! ```no_run
//! use semaforo_resources::CameraDevice;
//! use semaforo_camera::{Requested, Source};
//!
//! let requested = Requested { width: 640, height: 480, fps: 15.0 };
//! let mut replay = Source::open("dir:detection_frames/camera_a?loop=true&pace=fast", requested).unwrap();
//! let frame = replay.read().unwrap();
//! ```

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_resources::{CameraDevice, CameraProperty};

use crate::video::h264::RgbPool;
use crate::video::pacing::Pacer;
use crate::video::playback_param;
use crate::{still, Frame, Pacing, SourceError};
use semaforo_base::{Clocks, SystemClocks};

/// How an image folder is played.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageFolderOptions {
    pub looping: bool,
    pub pacing: Pacing,
    /// Frames per second when paced.
    pub fps: f64,
}

impl ImageFolderOptions {
    /// Parses `loop=true|false`, `fps=N` (0.1 to 1000) and `pace=real|fast`, joined by `&`;
    /// `fps` defaults to `default_fps`.
    pub fn from_params(params: &str, default_fps: f64) -> Result<Self, SourceError> {
        let mut options = ImageFolderOptions {
            looping: false,
            pacing: Pacing::RealTime,
            fps: default_fps,
        };
        let bad = |parameter: &str, expected: &str| SourceError::BadParameter {
            source_kind: "image-folder",
            parameter: parameter.to_string(),
            expected: expected.to_string(),
        };
        for pair in params.split('&').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match playback_param(key, value, &mut options.looping, &mut options.pacing) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(expected) => return Err(bad(pair, expected)),
            }
            match (key.trim(), value.trim().to_ascii_lowercase().as_str()) {
                ("fps", v) => match v.parse::<f64>() {
                    Ok(fps) if (0.1..=1000.0).contains(&fps) => options.fps = fps,
                    _ => return Err(bad(pair, "fps=N with N from 0.1 to 1000")),
                },
                _ => return Err(bad(pair, "loop=true|false, fps=N or pace=real|fast")),
            }
        }
        Ok(options)
    }
}

/// Compares file names as people read them: digit runs by value (`9` < `10`), the rest as text.
pub fn natural_order(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let strip = |n: &[u8]| -> usize { n.iter().take_while(|&&c| c == b'0').count() };
                let (ta, tb) = (&na[strip(na)..], &nb[strip(nb)..]);
                // Fewer significant digits is a smaller number; equal lengths compare as text.
                let order = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn is_still(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

/// The JPEG/PNG files of a folder played as a camera.
#[derive(Debug)]
pub struct ImageFolder {
    dir: PathBuf,
    files: Vec<PathBuf>,
    options: ImageFolderOptions,
    pacer: Pacer,
    next: usize,
    loops: u32,
    seq: u64,
    width: u32,
    height: u32,
    pool: RgbPool,
    open: bool,
}

impl ImageFolder {
    /// Lists `dir` (its JPEG and PNG files, by natural name order), paced by the system clock.
    pub fn open(dir: &Path, options: ImageFolderOptions) -> Result<Self, SourceError> {
        Self::open_with_clock(dir, options, Box::new(SystemClocks::new()))
    }

    /// As [`ImageFolder::open`], with pacing measured on `clock` (tests pass a fake one).
    pub fn open_with_clock(
        dir: &Path,
        options: ImageFolderOptions,
        clock: Box<dyn Clocks>,
    ) -> Result<Self, SourceError> {
        let folder_error = |reason: String| SourceError::ImageFolder {
            path: dir.to_path_buf(),
            reason,
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| folder_error(format!("cannot list it: {e} (expected a folder)")))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| folder_error(format!("cannot list it: {e}")))?;
            let path = entry.path();
            if path.is_file() && is_still(&path) {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(folder_error(
                "it holds no .jpg, .jpeg or .png file (expected one frame per file)".into(),
            ));
        }
        files.sort_by(|a, b| {
            let name = |p: &PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned());
            natural_order(&name(a).unwrap_or_default(), &name(b).unwrap_or_default())
        });
        let mut folder = ImageFolder {
            dir: dir.to_path_buf(),
            files,
            options,
            pacer: Pacer::new(options.pacing, clock),
            next: 0,
            loops: 0,
            seq: 0,
            width: 0,
            height: 0,
            pool: RgbPool::default(),
            open: true,
        };
        // The size of the first frame is the folder's size until a frame says otherwise.
        let first = folder.decode(0)?;
        folder.width = first.width;
        folder.height = first.height;
        folder.pool.give(first.rgb);
        Ok(folder)
    }

    /// The frame files, in the order they are played.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    pub fn options(&self) -> ImageFolderOptions {
        self.options
    }

    /// Gives a frame's buffer back for reuse.
    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.rgb);
    }

    fn decode(&mut self, index: usize) -> Result<crate::video::h264::Picture, SourceError> {
        let path = &self.files[index];
        let camera = format!("image folder {}", self.dir.display());
        let bytes = std::fs::read(path).map_err(|e| SourceError::Image {
            camera: camera.clone(),
            what: path.display().to_string(),
            reason: format!("cannot read it: {e}"),
        })?;
        still::decode(&bytes, &mut self.pool).map_err(|e| SourceError::Image {
            camera,
            what: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

impl CameraDevice for ImageFolder {
    type Frame = Frame;
    type Error = SourceError;

    /// The next file's frame. A file that does not decode is an error for that read; the next
    /// read goes on with the next file.
    fn read(&mut self) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Closed);
        }
        if self.next == self.files.len() {
            if !self.options.looping {
                return Err(SourceError::EndOfStream {
                    path: self.dir.clone(),
                    frames: self.seq,
                });
            }
            self.next = 0;
            self.loops += 1;
        }
        let index = self.next;
        self.next += 1;
        let picture = self.decode(index)?;
        let shown = (self.loops as u64 * self.files.len() as u64 + index as u64) as f64;
        self.pacer
            .wait_for(Duration::from_secs_f64(shown / self.options.fps));
        self.width = picture.width;
        self.height = picture.height;
        Ok(picture.into_frame(&mut self.seq))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match property {
            CameraProperty::FrameWidth => Some(self.width as f64),
            CameraProperty::FrameHeight => Some(self.height as f64),
            CameraProperty::Fps => Some(self.options.fps),
            crate::video::property::FRAME_COUNT => Some(self.files.len() as f64),
            crate::video::property::POS_FRAMES => Some(self.next as f64),
            _ => None,
        }
    }

    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), SourceError> {
        match property {
            CameraProperty::Fps if (0.1..=1000.0).contains(&value) => {
                self.options.fps = value;
                Ok(())
            }
            crate::video::property::POS_FRAMES if value == 0.0 => {
                self.next = 0;
                self.loops = 0;
                self.pacer.restart();
                Ok(())
            }
            _ => Err(SourceError::BadSetting {
                property: "property",
                value,
                expected: format!(
                    "fps from 0.1 to 1000 or position 0 (image folder {} has its own frame size)",
                    self.dir.display()
                ),
            }),
        }
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
    fn numbers_in_names_sort_by_value() {
        let mut names = vec![
            "cycle_10.jpg",
            "cycle_9.jpg",
            "cycle_100.jpg",
            "cycle_09b.jpg",
        ];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            names,
            [
                "cycle_9.jpg",
                "cycle_09b.jpg",
                "cycle_10.jpg",
                "cycle_100.jpg"
            ]
        );
        assert_eq!(natural_order("a2", "a02"), Ordering::Equal);
        assert_eq!(natural_order("b", "a10"), Ordering::Greater);
    }

    #[test]
    fn options_parse_and_bad_ones_name_themselves() {
        let o = ImageFolderOptions::from_params("loop=true&fps=2.5", 15.0).unwrap();
        assert!(o.looping);
        assert_eq!(o.fps, 2.5);
        let o = ImageFolderOptions::from_params("pace=fast", 15.0).unwrap();
        assert_eq!((o.pacing, o.fps), (Pacing::AsFastAsPossible, 15.0));
        let err = ImageFolderOptions::from_params("fps=0", 15.0).unwrap_err();
        assert!(err.to_string().contains("`fps=0`"), "{err}");
    }
}
