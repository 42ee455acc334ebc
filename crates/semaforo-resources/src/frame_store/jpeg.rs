//! JPEG encoding of saved frames: baseline, 4:2:0 chroma subsampling for colour (what
//! OpenCV's `imwrite` does by default), the standard IJG quality scaling.
//!
//! Encoder: `jpeg-encoder` with its `simd` feature (pure Rust, AVX2 chosen at run time, no
//! system library, no cmake or nasm), so a fresh clone builds with cargo alone. Measured
//! alternatives and the figures are in `BENCH_RESULTS.md`.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::image::{ImageRef, PixelFormat};

/// Why an image could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode a {width}x{height} image as JPEG at quality {quality}: {reason}")]
pub struct EncodeError {
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub reason: String,
}

/// Encodes `image` as a baseline JPEG at `quality` (1–100) into `out` (cleared first); colour
/// images use 4:2:0 chroma subsampling. What [`FrameStore::save_current`](crate::FrameStore::save_current)
/// writes; public for other consumers of JPEG frames (an MJPEG stream, a snapshot endpoint).
///
/// ```
/// use semaforo_resources::{encode_jpeg, ImageRef, PixelFormat};
/// let pixels = vec![128u8; 16 * 16 * 3];
/// let mut out = Vec::new();
/// encode_jpeg(ImageRef::new(16, 16, PixelFormat::Rgb8, &pixels).unwrap(), 85, &mut out).unwrap();
/// assert_eq!(&out[..2], &[0xFF, 0xD8]);
/// let err = encode_jpeg(ImageRef::new(16, 16, PixelFormat::Rgb8, &pixels).unwrap(), 0, &mut out).unwrap_err();
/// assert!(err.to_string().contains("quality 0"));
/// ```
pub fn encode_jpeg(image: ImageRef<'_>, quality: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let fail = |reason: String| EncodeError {
        width: image.width(),
        height: image.height(),
        quality,
        reason,
    };
    if !(1..=100).contains(&quality) {
        return Err(fail("quality must be 1 to 100".into()));
    }
    encode(&image, quality, out).map_err(fail)
}

fn encode(image: &ImageRef<'_>, quality: u8, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let color = match image.format() {
        PixelFormat::Rgb8 => ColorType::Rgb,
        PixelFormat::Bgr8 => ColorType::Bgr,
        PixelFormat::Gray8 => ColorType::Luma,
    };
    // ImageRef guarantees 1..=65535 for both sides.
    let (w, h) = (image.width() as u16, image.height() as u16);
    let mut encoder = Encoder::new(&mut *out, quality);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder
        .encode(image.data(), w, h, color)
        .map_err(|e| e.to_string())
}
