//! A decoded camera frame: packed 8-bit RGB pixels with the capture time and the source's
//! sequence number, so consumers can tell how old a frame is and whether any were skipped.

use std::time::SystemTime;

use semaforo_resources::{ImageError, ImageRef, PixelFormat};

/// One frame from a camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Counts frames from the source's start, without gaps; a gap means frames were dropped.
    pub seq: u64,
    /// When the frame was captured (wall clock, as cameras stamp them).
    pub captured: SystemTime,
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes, RGB, rows top to bottom.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// A black frame.
    pub fn black(width: u32, height: u32) -> Self {
        Frame {
            seq: 0,
            captured: SystemTime::UNIX_EPOCH,
            width,
            height,
            rgb: vec![0; width as usize * height as usize * 3],
        }
    }

    /// A borrowed view for the frame store and other consumers of plain images; an error if
    /// the buffer does not match the size.
    pub fn image(&self) -> Result<ImageRef<'_>, ImageError> {
        ImageRef::new(self.width, self.height, PixelFormat::Rgb8, &self.rgb)
    }
}
