//! JPEG encoding of saved frames with MozJPEG 4 (a fork of libjpeg-turbo with its SIMD code),
//! which the `mozjpeg` crate bundles and builds with a C compiler. It is set to libjpeg's v6
//! defaults, which give the same files as libjpeg-turbo and OpenCV's `imwrite`: baseline,
//! standard (Annex K) quantisation and Huffman tables with IJG quality scaling, 4:2:0 chroma
//! for colour.
//!
//! Why MozJPEG: measured on the 2-core development machine at quality 85 on 640x480 and
//! 1280x720 frames (BENCHMARKS.md, "JPEG encoders for live snapshots"), it encodes in
//! 0.76–0.86 of the time of the project's former hand-written AVX2 encoder (which also turned
//! pure red green), within 2.2% of libjpeg-turbo 3.1 through the `turbojpeg` crate, and 3.1–3.4
//! times faster than the pure-Rust `jpeg-encoder` crate, at the same size and quality. Unlike
//! `turbojpeg` it needs no cmake (and Debian 12's system libturbojpeg is too old for that
//! crate). Its x86 SIMD is assembled with nasm when nasm is installed; without nasm the build
//! still succeeds but encodes 4.5–7 times slower. On aarch64 (a Raspberry Pi) its NEON code
//! needs no extra tool.

use std::io;
use std::panic::{self, AssertUnwindSafe};

use mozjpeg::{ColorSpace, Compress};

use super::image::{ImageRef, PixelFormat};

/// libjpeg's largest width or height (`JPEG_MAX_DIMENSION`), a little below the format's 65535.
const MAX_DIMENSION: u32 = 65_500;

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
    let error = |reason: String| EncodeError {
        width: image.width(),
        height: image.height(),
        quality,
        reason,
    };
    if !(1..=100).contains(&quality) {
        return Err(error("quality must be 1 to 100".into()));
    }
    if image.width() > MAX_DIMENSION || image.height() > MAX_DIMENSION {
        return Err(error(format!(
            "width and height must be at most {MAX_DIMENSION} (libjpeg's limit)"
        )));
    }
    out.clear();
    // libjpeg reports a fatal error by unwinding out of its C code (the `mozjpeg` crate's
    // error handler); with the checks above none is expected, but one must not take the
    // saving thread down with it.
    match panic::catch_unwind(AssertUnwindSafe(|| compress(image, quality, out))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(error(e.to_string())),
        Err(payload) => Err(error(
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "libjpeg failed".into()),
        )),
    }
}

fn compress(image: ImageRef<'_>, quality: u8, out: &mut Vec<u8>) -> io::Result<()> {
    let colour = match image.format() {
        PixelFormat::Rgb8 => ColorSpace::JCS_RGB,
        PixelFormat::Bgr8 => ColorSpace::JCS_EXT_BGR,
        PixelFormat::Gray8 => ColorSpace::JCS_GRAYSCALE,
    };
    let mut c = Compress::new(colour);
    // libjpeg v6 settings (no trellis quantisation, no progressive scans, no Huffman
    // optimisation): MozJPEG's own defaults make smaller files several times slower.
    c.set_fastest_defaults();
    c.set_size(image.width() as usize, image.height() as usize);
    c.set_quality(f32::from(quality));
    if image.format() != PixelFormat::Gray8 {
        c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    }
    let mut started = c.start_compress(out)?;
    started.write_scanlines(image.data())?;
    started.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(jpeg.to_vec()));
        let px = d.decode().unwrap();
        let (w, h) = d.dimensions().unwrap();
        (w, h, px)
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    fn smooth_rgb(w: usize, h: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                v.extend([
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    ((x + y) * 127 / (w + h)) as u8 + 60,
                ]);
            }
        }
        v
    }

    #[test]
    fn colour_round_trip_is_faithful_at_all_sizes() {
        for (w, h) in [(640, 480), (17, 9), (1, 1), (33, 47), (8, 8), (15, 16)] {
            let src = smooth_rgb(w, h);
            let mut out = Vec::new();
            let img = ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &src).unwrap();
            encode_jpeg(img, 90, &mut out).unwrap();
            let (dw, dh, px) = decode(&out);
            assert_eq!((dw, dh), (w, h));
            let p = psnr(&src, &px);
            assert!(p > 33.0, "{w}x{h}: PSNR {p:.1} dB");
        }
    }

    #[test]
    fn noisy_scene_round_trip_at_quality_85() {
        let (w, h) = (320, 240);
        let mut state = 12345u32;
        let src: Vec<u8> = smooth_rgb(w, h)
            .into_iter()
            .map(|v| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (i32::from(v) + (state >> 16) as i32 % 21 - 10).clamp(0, 255) as u8
            })
            .collect();
        let mut out = Vec::new();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &src).unwrap(),
            85,
            &mut out,
        )
        .unwrap();
        let (_, _, px) = decode(&out);
        let p = psnr(&src, &px);
        assert!(p > 30.0, "PSNR {p:.1} dB");
    }

    #[test]
    fn bgr_and_gray_round_trip() {
        let (w, h) = (40, 24);
        let rgb = smooth_rgb(w, h);
        let bgr: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        let mut out = Vec::new();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Bgr8, &bgr).unwrap(),
            95,
            &mut out,
        )
        .unwrap();
        let (_, _, px) = decode(&out);
        assert!(psnr(&rgb, &px) > 33.0);

        let gray: Vec<u8> = (0..w * h).map(|i| (i % w * 6) as u8).collect();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Gray8, &gray).unwrap(),
            95,
            &mut out,
        )
        .unwrap();
        let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(out.clone()));
        let px = d.decode().unwrap();
        let px: Vec<u8> = if px.len() == gray.len() {
            px
        } else {
            px.chunks_exact(3).map(|p| p[0]).collect()
        };
        assert!(psnr(&gray, &px) > 35.0);
    }

    #[test]
    fn stuffing_keeps_the_stream_decodable_at_extreme_contrast() {
        // A checkerboard at quality 100 produces long codes and many 0xFF bytes.
        let (w, h) = (64, 64);
        let src: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if (i % w + i / w) % 2 == 0 {
                    [255u8, 0, 255]
                } else {
                    [0, 255, 0]
                }
            })
            .collect();
        let mut out = Vec::new();
        encode_jpeg(
            ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &src).unwrap(),
            100,
            &mut out,
        )
        .unwrap();
        assert!(
            out.windows(2).any(|p| p == [0xFF, 0x00]),
            "the test image must need stuffing"
        );
        let (dw, dh, _) = decode(&out);
        assert_eq!((dw, dh), (w, h));
        assert_eq!(&out[out.len() - 2..], &[0xFF, 0xD9]);
    }

    #[test]
    fn saturated_colours_keep_their_hue() {
        // The former encoder rounded Cr of pure red (and Cb of pure blue) to 256, stored as 0:
        // red came out green. Traffic signals, tail lights and red annotation boxes are such
        // colours.
        for colour in [
            [255u8, 0, 0],
            [0, 0, 255],
            [255, 255, 0],
            [0, 255, 255],
            [255, 0, 255],
        ] {
            let src = colour.repeat(16 * 16);
            let mut out = Vec::new();
            encode_jpeg(
                ImageRef::new(16, 16, PixelFormat::Rgb8, &src).unwrap(),
                85,
                &mut out,
            )
            .unwrap();
            let (_, _, px) = decode(&out);
            for (got, want) in px[..3].iter().zip(colour) {
                assert!(
                    got.abs_diff(want) <= 3,
                    "{colour:?} decoded as {:?}",
                    &px[..3]
                );
            }
        }
    }

    #[test]
    fn sizes_beyond_libjpeg_are_refused_with_the_size() {
        let pixels = vec![0u8; 65_501];
        let image = ImageRef::new(65_501, 1, PixelFormat::Gray8, &pixels).unwrap();
        let err = encode_jpeg(image, 85, &mut Vec::new()).unwrap_err();
        assert_eq!(err.width, 65_501);
        assert!(err.to_string().contains("65501x1"), "{err}");
        assert!(err.to_string().contains("at most 65500"), "{err}");
    }
}
