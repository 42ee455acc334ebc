//! Still images (JPEG and PNG) decoded to packed RGB, for image folders (`dir:`) and MJPEG
//! streams, whose every frame is one JPEG.
//!
//! Pure Rust: `zune-jpeg` (fast, no C) and `png`. The RGB buffer comes from the caller's
//! [`RgbPool`], so a stream of same-sized frames reuses the same few buffers.

use std::io::Cursor;

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::video::h264::{Picture, RgbPool};

/// The largest frame side accepted (a corrupt header must not allocate gigabytes).
pub const MAX_SIDE: usize = 8192;

/// Why still-image bytes did not decode. Each says what the bytes are (their first bytes and
/// length, the size their header gives) or what the decoder found wrong; the caller adds the
/// file or camera they came from.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    #[error("not a JPEG or PNG image (it starts with {start:02x?}, {len} bytes)")]
    NotAnImage { start: Vec<u8>, len: usize },
    #[error("bad JPEG header: {reason}")]
    JpegHeader { reason: String },
    #[error("the JPEG has no frame header")]
    JpegNoFrame,
    #[error("the JPEG decodes to {decoded:?} bytes, expected {expected} for {width}x{height} RGB")]
    JpegSize {
        decoded: Option<usize>,
        expected: usize,
        width: usize,
        height: usize,
    },
    #[error("bad JPEG data: {reason}")]
    JpegData { reason: String },
    #[error("bad PNG header: {reason}")]
    PngHeader { reason: String },
    #[error("{width}x{height} PNG is larger than {MAX_SIDE} pixels a side")]
    PngTooLarge { width: usize, height: usize },
    #[error("the PNG is too large to decode")]
    PngBuffer,
    #[error("bad PNG data: {reason}")]
    PngData { reason: String },
}

/// What kind of still image `bytes` hold, from their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StillKind {
    Jpeg,
    Png,
}

impl StillKind {
    pub fn sniff(bytes: &[u8]) -> Option<StillKind> {
        if bytes.starts_with(&[0xFF, 0xD8]) {
            Some(StillKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(StillKind::Png)
        } else {
            None
        }
    }
}

/// Decodes a JPEG or PNG into RGB; the error says what the bytes are or why they failed.
pub fn decode(bytes: &[u8], pool: &mut RgbPool) -> Result<Picture, StillError> {
    match StillKind::sniff(bytes) {
        Some(StillKind::Jpeg) => decode_jpeg(bytes, pool),
        Some(StillKind::Png) => decode_png(bytes, pool),
        None => Err(StillError::NotAnImage {
            start: bytes[..bytes.len().min(4)].to_vec(),
            len: bytes.len(),
        }),
    }
}

/// Decodes a baseline or progressive JPEG (greyscale, YCbCr or CMYK) into RGB.
pub fn decode_jpeg(bytes: &[u8], pool: &mut RgbPool) -> Result<Picture, StillError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| StillError::JpegHeader {
            reason: e.to_string(),
        })?;
    let info = decoder.info().ok_or(StillError::JpegNoFrame)?;
    let (width, height) = (info.width as usize, info.height as usize);
    let mut rgb = pool.take(width * height * 3);
    if decoder.output_buffer_size() != Some(rgb.len()) {
        return Err(StillError::JpegSize {
            decoded: decoder.output_buffer_size(),
            expected: rgb.len(),
            width,
            height,
        });
    }
    decoder
        .decode_into(&mut rgb)
        .map_err(|e| StillError::JpegData {
            reason: e.to_string(),
        })?;
    Ok(Picture {
        width: width as u32,
        height: height as u32,
        rgb,
    })
}

/// Decodes a PNG (any bit depth and colour type, alpha dropped) into RGB.
pub fn decode_png(bytes: &[u8], pool: &mut RgbPool) -> Result<Picture, StillError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| StillError::PngHeader {
        reason: e.to_string(),
    })?;
    let (width, height) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(StillError::PngTooLarge { width, height });
    }
    let size = reader.output_buffer_size().ok_or(StillError::PngBuffer)?;
    let mut raw = vec![0; size];
    let out = reader
        .next_frame(&mut raw)
        .map_err(|e| StillError::PngData {
            reason: e.to_string(),
        })?;
    let channels = out.color_type.samples();
    let mut rgb = pool.take(width * height * 3);
    for y in 0..height {
        let row = &raw[y * out.line_size..][..width * channels];
        let dst = &mut rgb[y * width * 3..][..width * 3];
        match channels {
            // Greyscale (with or without alpha).
            1 | 2 => {
                for (px, d) in row.chunks_exact(channels).zip(dst.chunks_exact_mut(3)) {
                    d.fill(px[0]);
                }
            }
            // RGB, or RGBA with alpha dropped.
            _ => {
                for (px, d) in row.chunks_exact(channels).zip(dst.chunks_exact_mut(3)) {
                    d.copy_from_slice(&px[..3]);
                }
            }
        }
    }
    Ok(Picture {
        width: width as u32,
        height: height as u32,
        rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use semaforo_resources::{encode_jpeg, ImageRef, PixelFormat};

    fn gradient(width: u32, height: u32) -> Vec<u8> {
        let mut rgb = Vec::new();
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&[(x * 4) as u8, (y * 4) as u8, 128]);
            }
        }
        rgb
    }

    #[test]
    fn a_jpeg_from_the_project_encoder_decodes_close_to_its_pixels() {
        let rgb = gradient(48, 32);
        let mut jpeg = Vec::new();
        let image = ImageRef::new(48, 32, PixelFormat::Rgb8, &rgb).unwrap();
        encode_jpeg(image, 95, &mut jpeg).unwrap();
        let mut pool = RgbPool::default();
        let picture = decode(&jpeg, &mut pool).unwrap();
        assert_eq!((picture.width, picture.height), (48, 32));
        let mean = rgb
            .iter()
            .zip(&picture.rgb)
            .map(|(a, b)| a.abs_diff(*b) as f64)
            .sum::<f64>()
            / rgb.len() as f64;
        assert!(mean < 3.0, "mean difference {mean}");
    }

    #[test]
    fn a_png_decodes_exactly_and_alpha_is_dropped() {
        let mut png_bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png_bytes, 2, 1);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer
                .write_image_data(&[1, 2, 3, 255, 4, 5, 6, 0])
                .unwrap();
        }
        let picture = decode(&png_bytes, &mut RgbPool::default()).unwrap();
        assert_eq!(picture.rgb, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn bytes_that_are_no_image_say_what_they_start_with() {
        let err = decode(b"GIF89a....", &mut RgbPool::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("not a JPEG or PNG image"), "{err}");
        assert!(err.contains("[47, 49, 46, 38], 10 bytes"), "{err}");
        let err = decode(&[0xFF, 0xD8, 0xFF, 0x00], &mut RgbPool::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("JPEG"), "{err}");
    }
}
