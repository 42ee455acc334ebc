//! Decoding through the system's FFmpeg libraries (cargo feature `ffmpeg`): `ffmpeg:PATH` or
//! `ffmpeg:rtsp://...` opens anything FFmpeg opens (H.265, MPEG-4, Motion-JPEG in AVI/MOV,
//! RTSP with any codec), and a video file that the bundled OpenH264 cannot decode (an H.265
//! file, say) falls back to FFmpeg by itself.
//!
//! Frames are converted to RGB by swscale (bicubic, as the `ffmpeg` command line does), one
//! decoding thread per source (cameras each have their own thread already; more threads per
//! decoder would fight them for a Pi's four cores). Files are read as fast as they decode:
//! pacing belongs to [`crate::VideoFile`], which plays files by default.

use std::path::PathBuf;

use ffmpeg_next as ff;
use semaforo_resources::{CameraDevice, CameraProperty};

use crate::net::NetworkOptions;
use crate::redact;
use crate::video::h264::RgbPool;
use crate::{Frame, SourceError};

/// The swscale context, owned by one source.
struct Scaler(ff::software::scaling::Context);

// SAFETY: an `SwsContext` holds no thread-local state and no reference to other objects; it is
// only ever used through `&mut self` of the one `FfmpegInput` that owns it, so moving it to
// another thread (the camera's) and using it there is sound. ffmpeg-next leaves `Send` off only
// because it wraps a raw pointer.
unsafe impl Send for Scaler {}

/// A file or stream decoded by FFmpeg.
pub struct FfmpegInput {
    shown: String,
    input: ff::format::context::Input,
    stream_index: usize,
    decoder: ff::decoder::Video,
    scaler: Option<Scaler>,
    codec: String,
    fps: Option<f64>,
    frame_count: Option<u64>,
    decoded: ff::frame::Video,
    rgb_frame: ff::frame::Video,
    eof_sent: bool,
    ended: bool,
    live: bool,
    pool: RgbPool,
    seq: u64,
    width: u32,
    height: u32,
    open: bool,
}

impl std::fmt::Debug for FfmpegInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfmpegInput")
            .field("source", &self.shown)
            .field("codec", &self.codec)
            .finish()
    }
}

impl FfmpegInput {
    /// Opens `target` (a path or a URL FFmpeg reads; an `ffmpeg:` prefix is removed).
    pub fn open(target: &str, network: NetworkOptions) -> Result<Self, SourceError> {
        let target = target.trim();
        let target = target
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("ffmpeg:"))
            .map_or(target, |_| &target[7..]);
        let shown = redact(target);
        let live = target.contains("://");
        let fail = |reason: String| -> SourceError {
            if live {
                SourceError::Unreachable {
                    camera: shown.clone(),
                    address: shown.clone(),
                    reason,
                }
            } else {
                SourceError::NotVideo {
                    path: PathBuf::from(target),
                    reason,
                }
            }
        };
        if !live && !std::path::Path::new(target).is_file() {
            return Err(SourceError::FileAccess {
                path: PathBuf::from(target),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        ff::init().map_err(|e| fail(format!("FFmpeg did not start: {e}")))?;
        let mut options = ff::Dictionary::new();
        if target.starts_with("rtsp://") {
            options.set("rtsp_transport", "tcp");
            // Microseconds; FFmpeg 5.1 calls the socket timeout `timeout` for RTSP.
            let micros = network.stall_timeout.as_micros().to_string();
            options.set("timeout", &micros);
        }
        let input = ff::format::input_with_dictionary(&target, options)
            .map_err(|e| fail(format!("FFmpeg cannot open it: {e}")))?;
        let stream = input
            .streams()
            .best(ff::media::Type::Video)
            .ok_or_else(|| fail("it has no video stream".into()))?;
        let stream_index = stream.index();
        let rate = stream.avg_frame_rate();
        let fps = (rate.numerator() > 0 && rate.denominator() > 0)
            .then(|| rate.numerator() as f64 / rate.denominator() as f64);
        let frame_count = (stream.frames() > 0).then_some(stream.frames() as u64);
        let mut context = ff::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| fail(format!("no decoder for its video: {e}")))?;
        context.set_threading(ff::threading::Config::count(1));
        let decoder = context
            .decoder()
            .video()
            .map_err(|e| fail(format!("FFmpeg has no decoder for its video: {e}")))?;
        let codec = decoder
            .codec()
            .map(|c| c.description().to_string())
            .unwrap_or_else(|| format!("{:?}", decoder.id()));
        Ok(FfmpegInput {
            shown,
            input,
            stream_index,
            width: decoder.width(),
            height: decoder.height(),
            decoder,
            scaler: None,
            codec: format!("{codec} (FFmpeg)"),
            fps,
            frame_count,
            decoded: ff::frame::Video::empty(),
            rgb_frame: ff::frame::Video::empty(),
            eof_sent: false,
            ended: false,
            live,
            pool: RgbPool::default(),
            seq: 0,
            open: true,
        })
    }

    pub fn codec(&self) -> &str {
        &self.codec
    }

    /// Whether the input ends (a file, not a stream).
    pub fn ends(&self) -> bool {
        !self.live
    }

    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.rgb);
    }

    fn decode_error(&self, reason: String) -> SourceError {
        SourceError::StreamDecode {
            camera: self.shown.clone(),
            what: format!("the frame after frame {}", self.seq),
            reason,
        }
    }

    /// Decodes until a picture is in `self.decoded`; `false` at the end of the input.
    fn next_decoded(&mut self) -> Result<bool, SourceError> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => return Ok(true),
                Err(ff::Error::Eof) => return Ok(false),
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {}
                Err(e) => return Err(self.decode_error(e.to_string())),
            }
            if self.eof_sent {
                return Ok(false);
            }
            let mut packet = ff::Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) => {
                    if packet.stream() != self.stream_index {
                        continue;
                    }
                    if let Err(e) = self.decoder.send_packet(&packet) {
                        return Err(self.decode_error(e.to_string()));
                    }
                }
                Err(ff::Error::Eof) => {
                    self.eof_sent = true;
                    let _ = self.decoder.send_eof();
                }
                Err(e) if self.live => {
                    return Err(SourceError::Disconnected {
                        camera: self.shown.clone(),
                        reason: e.to_string(),
                    })
                }
                Err(e) => return Err(self.decode_error(format!("cannot read a packet: {e}"))),
            }
        }
    }

    fn convert_to_rgb(&mut self) -> Result<(u32, u32, Vec<u8>), SourceError> {
        let (w, h) = (self.decoded.width(), self.decoded.height());
        let stale = self.scaler.as_ref().is_none_or(|s| {
            let input = s.0.input();
            (input.width, input.height, input.format) != (w, h, self.decoded.format())
        });
        if stale {
            let scaler = ff::software::scaling::Context::get(
                self.decoded.format(),
                w,
                h,
                ff::format::Pixel::RGB24,
                w,
                h,
                ff::software::scaling::Flags::BICUBIC,
            )
            .map_err(|e| self.decode_error(format!("swscale: {e}")))?;
            self.scaler = Some(Scaler(scaler));
        }
        let Some(scaler) = self.scaler.as_mut() else {
            return Err(SourceError::Closed);
        };
        scaler
            .0
            .run(&self.decoded, &mut self.rgb_frame)
            .map_err(|e| SourceError::StreamDecode {
                camera: self.shown.clone(),
                what: format!("frame {}", self.seq),
                reason: format!("swscale: {e}"),
            })?;
        let (wu, hu) = (w as usize, h as usize);
        let stride = self.rgb_frame.stride(0);
        let data = self.rgb_frame.data(0);
        let mut rgb = self.pool.take(wu * hu * 3);
        for (y, row) in rgb.chunks_exact_mut(wu * 3).enumerate() {
            row.copy_from_slice(&data[y * stride..][..wu * 3]);
        }
        Ok((w, h, rgb))
    }
}

impl CameraDevice for FfmpegInput {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Closed);
        }
        if self.ended || !self.next_decoded()? {
            self.ended = true;
            if self.live {
                return Err(SourceError::Disconnected {
                    camera: self.shown.clone(),
                    reason: "the stream ended".into(),
                });
            }
            return Err(SourceError::EndOfStream {
                path: PathBuf::from(&self.shown),
                frames: self.seq,
            });
        }
        let (width, height, rgb) = self.convert_to_rgb()?;
        self.width = width;
        self.height = height;
        let picture = crate::video::h264::Picture { width, height, rgb };
        Ok(picture.into_frame(&mut self.seq))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match property {
            CameraProperty::FrameWidth => Some(self.width as f64),
            CameraProperty::FrameHeight => Some(self.height as f64),
            CameraProperty::Fps => self.fps,
            crate::video::property::FRAME_COUNT => self.frame_count.map(|n| n as f64),
            _ => None,
        }
    }

    fn set(&mut self, _property: CameraProperty, value: f64) -> Result<(), SourceError> {
        Err(SourceError::BadSetting {
            property: "property",
            value,
            expected: format!("nothing: {} has its own size and rate", self.shown),
        })
    }

    fn is_opened(&self) -> bool {
        self.open
    }

    fn release(&mut self) {
        self.open = false;
    }
}
