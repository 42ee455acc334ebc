//! JPEG encoding of saved frames: baseline, 4:2:0 chroma subsampling for colour (what
//! OpenCV's `imwrite` does by default), the standard IJG quality scaling.
//!
//! Encoder: `jpeg-encoder` with its `simd` feature (pure Rust, AVX2 chosen at run time, no
//! system library, no cmake or nasm), so a fresh clone builds with cargo alone. Measured
//! alternatives and the figures are in `BENCH_RESULTS.md`.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::image::{ImageRef, PixelFormat};

/// Encodes `image` at `quality` (1–100) into `out` (cleared first).
pub(crate) fn encode(image: &ImageRef<'_>, quality: u8, out: &mut Vec<u8>) -> Result<(), String> {
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
