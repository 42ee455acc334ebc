//! USB cameras on Linux through V4L2 (cargo feature `v4l2`): `v4l2:/dev/videoN`,
//! `/dev/videoN`, `v4l2:N` or a bare index `N`.
//!
//! The camera is asked for Motion-JPEG first (what USB cameras deliver at full size and rate
//! over USB 2.0), YUYV 4:2:2 otherwise, at the requested width, height and frame rate; the
//! driver answers with what it granted (often the nearest size it has), which is what
//! `get` reports and what frames carry. Frames come from four memory-mapped buffers.
//!
//! Camera quirks handled: many USB cameras send MJPEG frames without Huffman tables (the
//! decoder then uses the standard ones), and some send a truncated frame now and then (an
//! error for that read; the next read goes on).
//!
//! Tested without a camera only (the build machine has none): opening a device that does not
//! exist. Capturing from a real camera has not been tested.

use std::time::Duration;

use semaforo_resources::{CameraDevice, CameraProperty};
use v4l::buffer::Type;
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, FourCC};

use crate::video::h264::RgbPool;
use crate::{still, Frame, Requested, SourceError};

/// The device path a `v4l2:` URI, `/dev/videoN` or an index names.
pub fn device_path(uri: &str) -> String {
    let rest = uri.trim();
    let rest = rest
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("v4l2:"))
        .map_or(rest, |_| &rest[5..]);
    if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
        format!("/dev/video{rest}")
    } else {
        rest.to_string()
    }
}

/// A V4L2 capture device.
pub struct V4l2Camera {
    path: String,
    // The stream's buffers are mapped from the device; the stream goes first on drop.
    stream: Option<MmapStream<'static>>,
    _device: Device,
    fourcc: [u8; 4],
    width: u32,
    height: u32,
    fps: f64,
    pool: RgbPool,
    seq: u64,
}

impl std::fmt::Debug for V4l2Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4l2Camera")
            .field("path", &self.path)
            .field("format", &String::from_utf8_lossy(&self.fourcc))
            .field("size", &(self.width, self.height))
            .finish()
    }
}

impl V4l2Camera {
    /// Opens the device `uri` names and asks for `requested`.
    pub fn open(uri: &str, requested: Requested) -> Result<Self, SourceError> {
        let path = device_path(uri);
        let fail = |reason: String| SourceError::Device {
            device: path.clone(),
            reason,
        };
        if !std::path::Path::new(&path).exists() {
            return Err(fail(
                "no such device (is the camera plugged in? `ls /dev/video*` lists the cameras)"
                    .into(),
            ));
        }
        let device = Device::with_path(&path).map_err(|e| fail(format!("cannot open it: {e}")))?;
        let caps = device
            .query_caps()
            .map_err(|e| fail(format!("it is not a V4L2 device: {e}")))?;
        let mut granted = None;
        for code in [b"MJPG", b"YUYV"] {
            let mut format = device
                .format()
                .map_err(|e| fail(format!("cannot read its format: {e}")))?;
            format.width = requested.width;
            format.height = requested.height;
            format.fourcc = FourCC::new(code);
            if let Ok(set) = device.set_format(&format) {
                if set.fourcc.repr == *code {
                    granted = Some(set);
                    break;
                }
            }
        }
        let format = granted.ok_or_else(|| {
            let formats = device
                .enum_formats()
                .map(|f| {
                    f.iter()
                        .map(|d| d.fourcc.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            fail(format!(
                "{} offers neither MJPG nor YUYV (it offers: {formats})",
                caps.card
            ))
        })?;
        let fps = requested.fps.round().max(1.0) as u32;
        let params = device
            .set_params(&v4l::video::capture::Parameters::with_fps(fps))
            .map_err(|e| fail(format!("cannot set {fps} frames/s: {e}")))?;
        let granted_fps = match params.interval {
            i if i.numerator > 0 => i.denominator as f64 / i.numerator as f64,
            _ => requested.fps,
        };
        let mut stream = MmapStream::with_buffers(&device, Type::VideoCapture, 4)
            .map_err(|e| fail(format!("cannot start capturing: {e}")))?;
        stream.set_timeout(Duration::from_secs(5));
        Ok(V4l2Camera {
            path,
            stream: Some(stream),
            _device: device,
            fourcc: format.fourcc.repr,
            width: format.width,
            height: format.height,
            fps: granted_fps,
            pool: RgbPool::default(),
            seq: 0,
        })
    }

    /// `Motion JPEG` or `YUYV 4:2:2`.
    pub fn codec(&self) -> &'static str {
        if &self.fourcc == b"MJPG" {
            "Motion JPEG (V4L2)"
        } else {
            "YUYV 4:2:2 (V4L2)"
        }
    }

    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.rgb);
    }
}

/// YUYV 4:2:2 (BT.601 limited range) to RGB.
fn yuyv_to_rgb(yuyv: &[u8], rgb: &mut [u8]) {
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    for (src, dst) in yuyv.chunks_exact(4).zip(rgb.chunks_exact_mut(6)) {
        let (u, v) = (src[1] as i32 - 128, src[3] as i32 - 128);
        for (i, y) in [src[0], src[2]].into_iter().enumerate() {
            let c = 298 * (y as i32 - 16);
            dst[i * 3] = clamp((c + 409 * v + 128) >> 8);
            dst[i * 3 + 1] = clamp((c - 100 * u - 208 * v + 128) >> 8);
            dst[i * 3 + 2] = clamp((c + 516 * u + 128) >> 8);
        }
    }
}

impl CameraDevice for V4l2Camera {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(SourceError::Closed);
        };
        let (bytes, meta) = stream.next().map_err(|e| SourceError::Device {
            device: self.path.clone(),
            reason: format!("no frame: {e}"),
        })?;
        let used = (meta.bytesused as usize).min(bytes.len());
        let bytes = &bytes[..used];
        let (width, height, rgb) = if &self.fourcc == b"MJPG" {
            let picture =
                still::decode_jpeg(bytes, &mut self.pool).map_err(|e| SourceError::Image {
                    camera: self.path.clone(),
                    what: format!("frame {}", self.seq),
                    reason: e.to_string(),
                })?;
            (picture.width, picture.height, picture.rgb)
        } else {
            let (w, h) = (self.width as usize, self.height as usize);
            if bytes.len() < w * h * 2 {
                return Err(SourceError::Image {
                    camera: self.path.clone(),
                    what: format!("frame {}", self.seq),
                    reason: format!(
                        "a YUYV frame of {} bytes, expected {} for {w}x{h}",
                        bytes.len(),
                        w * h * 2
                    ),
                });
            }
            let mut rgb = self.pool.take(w * h * 3);
            yuyv_to_rgb(&bytes[..w * h * 2], &mut rgb);
            (self.width, self.height, rgb)
        };
        let picture = crate::video::h264::Picture { width, height, rgb };
        Ok(picture.into_frame(&mut self.seq))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match property {
            CameraProperty::FrameWidth => Some(self.width as f64),
            CameraProperty::FrameHeight => Some(self.height as f64),
            CameraProperty::Fps => Some(self.fps),
            _ => None,
        }
    }

    fn set(&mut self, _property: CameraProperty, value: f64) -> Result<(), SourceError> {
        Err(SourceError::BadSetting {
            property: "property",
            value,
            expected: format!(
                "nothing while {} captures: size and rate are requested at open",
                self.path
            ),
        })
    }

    fn is_opened(&self) -> bool {
        self.stream.is_some()
    }

    fn release(&mut self) {
        self.stream = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_device_paths() {
        assert_eq!(device_path("0"), "/dev/video0");
        assert_eq!(device_path("v4l2:2"), "/dev/video2");
        assert_eq!(device_path("V4L2:/dev/video1"), "/dev/video1");
        assert_eq!(device_path("/dev/video3"), "/dev/video3");
    }

    #[test]
    fn a_missing_device_is_named_in_the_error() {
        let requested = Requested {
            width: 640,
            height: 480,
            fps: 15.0,
        };
        let err = crate::Source::open("/dev/video97", requested).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("camera device /dev/video97: no such device"),
            "{err}"
        );
        let err = crate::Source::open("96", requested).unwrap_err();
        assert!(err.to_string().contains("/dev/video96"), "{err}");
    }

    #[test]
    fn yuyv_grey_and_white_convert() {
        let mut rgb = [0u8; 6];
        yuyv_to_rgb(&[16, 128, 235, 128], &mut rgb);
        assert_eq!(rgb, [0, 0, 0, 255, 255, 255]);
    }
}
