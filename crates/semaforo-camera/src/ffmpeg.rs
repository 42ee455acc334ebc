//! Decoding through the system's FFmpeg libraries (cargo feature `ffmpeg`): `ffmpeg:PATH` or
//! `ffmpeg:rtsp://...` opens anything FFmpeg opens (H.265, MPEG-4, Motion-JPEG in AVI/MOV,
//! RTSP with any codec), and a video file that the bundled OpenH264 cannot decode (an H.265
//! file, say) falls back to FFmpeg by itself.
//!
//! Frames are converted to RGB by swscale (bicubic, as the `ffmpeg` command line does), straight
//! into the buffer the frame is handed out in. One decoding thread per source below 1080p
//! (cameras each have their own thread already; more threads per decoder would fight them for
//! a Pi's four cores); at 1080p and up, where one thread may not keep a camera's rate, FFmpeg's
//! own frame threading ([`DecodeThreads`], the URI's `threads=` parameter). Files are read as
//! fast as they decode: pacing belongs to [`crate::VideoFile`], which plays files by default.
//!
//! ```text
//! ffmpeg:clips/junction.mkv               one thread below 1080p, 2 frame threads at 1080p and up
//! ffmpeg:clips/junction.mkv?threads=1     one thread whatever the size
//! ffmpeg:rtsp://cam/stream?threads=3      3 frame threads; other parameters stay the camera's
//! ```

use std::path::PathBuf;

use ffmpeg_next as ff;
use semaforo_resources::{CameraDevice, CameraProperty};

use crate::net::NetworkOptions;
use crate::redact;
use crate::video::h264::RgbPool;
use crate::{Frame, SourceError};

/// How many threads decode an `ffmpeg:` source: its URI's `threads=` parameter.
///
/// More than one is FFmpeg's frame threading: each thread decodes a picture of its own, so the
/// decoder hands out each picture `threads - 1` pictures later than one thread would (a frame
/// of latency at 2 threads: 33 ms at 30 fps), in exchange for decoding faster on spare cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecodeThreads {
    /// `threads=auto` (the default): one thread below 1080p, [`DecodeThreads::LARGE`] frame
    /// threads for pictures whose longer side is at least 1920 pixels.
    #[default]
    Auto,
    /// `threads=N`: exactly N (1 turns frame threading off).
    Exactly(usize),
}

impl DecodeThreads {
    /// Frame threads for a 1080p-and-up picture under `auto`. On street-a scaled to 1920x1056
    /// (BENCHMARKS.md) 2 threads decoded 1.35x as fast as one with a core free, and 0.94x with
    /// both cores busy, for about 10% more CPU time a frame; more would take cores a camera's
    /// own thread and the detector need.
    pub const LARGE: usize = 2;
    /// The most `threads=` accepts.
    pub const MAX: usize = 16;

    /// The threads to decode pictures of `width` x `height` with.
    pub fn for_size(self, width: u32, height: u32) -> usize {
        match self {
            DecodeThreads::Exactly(n) => n,
            DecodeThreads::Auto if width.max(height) >= 1920 => Self::LARGE,
            DecodeThreads::Auto => 1,
        }
    }
}

/// An `ffmpeg:` URI's options (after the `?`, joined by `&`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FfmpegOptions {
    pub threads: DecodeThreads,
}

/// Splits `ffmpeg:TARGET?threads=N` into what FFmpeg opens and the options.
///
/// For a file, every parameter must be one of ours (a path that exists as a file with its `?`
/// is taken whole, as for `file:` URIs). For a URL, our parameters are
/// taken out and the others stay in the URL: they are the camera's (`?channel=1`).
pub fn parse_ffmpeg_uri(uri: &str) -> Result<(String, FfmpegOptions), SourceError> {
    let uri = uri.trim();
    let target = uri
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("ffmpeg:"))
        .map_or(uri, |_| &uri[7..]);
    let live = target.contains("://");
    let mut options = FfmpegOptions::default();
    let whole_file = !live && std::path::Path::new(target).is_file();
    let Some((base, params)) = target.split_once('?').filter(|_| !whole_file) else {
        return Ok((target.to_string(), options));
    };
    let mut kept = Vec::new();
    for pair in params.split('&').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = |expected: String| SourceError::BadParameter {
            source_kind: "ffmpeg",
            parameter: format!("{pair} in {}", redact(uri)),
            expected,
        };
        let expected_threads = || {
            format!(
                "threads=auto or threads=N, N decoding threads from 1 to {}",
                DecodeThreads::MAX
            )
        };
        match key.trim() {
            "threads" => {
                options.threads = match value.trim().to_ascii_lowercase().as_str() {
                    "auto" => DecodeThreads::Auto,
                    n => match n.parse::<usize>() {
                        Ok(n @ 1..=DecodeThreads::MAX) => DecodeThreads::Exactly(n),
                        _ => return Err(bad(expected_threads())),
                    },
                };
            }
            _ if live => kept.push(pair),
            _ => return Err(bad(expected_threads())),
        }
    }
    let target = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((target, options))
}

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
    /// Opens `target`, a path or a URL FFmpeg reads (without the `ffmpeg:` prefix and our
    /// parameters: see [`parse_ffmpeg_uri`]).
    pub fn open(
        target: &str,
        options: FfmpegOptions,
        network: NetworkOptions,
    ) -> Result<Self, SourceError> {
        let target = target.trim();
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
        let mut format_options = ff::Dictionary::new();
        if target.starts_with("rtsp://") {
            format_options.set("rtsp_transport", "tcp");
            // Microseconds; FFmpeg 5.1 calls the socket timeout `timeout` for RTSP.
            let micros = network.stall_timeout.as_micros().to_string();
            format_options.set("timeout", &micros);
        }
        let input = ff::format::input_with_dictionary(&target, format_options)
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
        let open_decoder = |threads: usize| {
            let mut context = ff::codec::context::Context::from_parameters(stream.parameters())
                .map_err(|e| fail(format!("no decoder for its video: {e}")))?;
            context.set_threading(ff::threading::Config {
                kind: ff::threading::Type::Frame,
                count: threads,
                ..Default::default()
            });
            context
                .decoder()
                .video()
                .map_err(|e| fail(format!("FFmpeg has no decoder for its video: {e}")))
        };
        // The picture size is known once a decoder has the stream's parameters; the thread
        // count must be set before the decoder opens, so a large picture's decoder is opened
        // again (no packet has reached the first one).
        let mut decoder = open_decoder(1)?;
        let threads = options.threads.for_size(decoder.width(), decoder.height());
        if threads > 1 {
            decoder = open_decoder(threads)?;
            tracing::info!(
                "{shown}: {}x{} decoded by {threads} FFmpeg frame threads ({} frame(s) of \
                 latency; threads=1 in its URI turns them off)",
                decoder.width(),
                decoder.height(),
                threads - 1
            );
        }
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
        let (wu, hu) = (w as usize, h as usize);
        let row = wu * 3;
        let mut rgb = self.pool.take(row * hu);
        rgb.reserve_exact(ffmpeg_buffer_size(row, hu).saturating_sub(rgb.len()));
        let aligned = (rgb.as_ptr() as usize).is_multiple_of(SWSCALE_ALIGN);
        if let Some(stride) = ffmpeg_layout(row).filter(|_| aligned) {
            // SAFETY: the input is the decoder's picture, whose size and format the scaler was
            // made for (checked above); its planes live as long as `self.decoded`. The output
            // is one plane of `h` rows of `stride` bytes starting at `rgb`'s allocation, which
            // holds `ffmpeg_buffer_size` bytes (reserved just above; writing into a Vec's
            // spare capacity through its pointer is allowed, and nothing reads it): at least
            // what `av_frame_get_buffer` gives an RGB24 frame of this size, with the same line
            // size (`ffmpeg_layout`), and its start aligned to the 16 bytes swscale checks its
            // destinations for. So swscale writes here only where it would write into a frame
            // FFmpeg allocated itself (as ffmpeg-next's `Context::run` and the `ffmpeg` command
            // hand it), and `rgb`'s first `row * h` bytes are the rows it fills.
            let done = unsafe {
                let input = self.decoded.as_ptr();
                let dst = [
                    rgb.as_mut_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                ];
                let dst_stride = [stride, 0, 0, 0];
                ff::ffi::sws_scale(
                    scaler.0.as_mut_ptr(),
                    (*input).data.as_ptr() as *const *const u8,
                    (*input).linesize.as_ptr(),
                    0,
                    h as std::ffi::c_int,
                    dst.as_ptr(),
                    dst_stride.as_ptr(),
                )
            };
            if done != h as std::ffi::c_int {
                return Err(SourceError::StreamDecode {
                    camera: self.shown.clone(),
                    what: format!("frame {}", self.seq),
                    reason: format!("swscale wrote {done} of {h} rows"),
                });
            }
            return Ok((w, h, rgb));
        }
        scaler
            .0
            .run(&self.decoded, &mut self.rgb_frame)
            .map_err(|e| SourceError::StreamDecode {
                camera: self.shown.clone(),
                what: format!("frame {}", self.seq),
                reason: format!("swscale: {e}"),
            })?;
        let stride = self.rgb_frame.stride(0);
        let data = self.rgb_frame.data(0);
        for (y, out) in rgb.chunks_exact_mut(row).enumerate() {
            out.copy_from_slice(&data[y * stride..][..row]);
        }
        Ok((w, h, rgb))
    }
}

/// The alignment of line sizes and the row padding of the frames `av_frame_get_buffer`
/// allocates (ffmpeg-next asks it for 32), and the slack it leaves after the last row
/// (four planes' padding of 32 bytes each); FFmpeg 5.1's `libavutil/frame.c`.
const FFMPEG_ALIGN: usize = 32;
const FFMPEG_SLACK: usize = 4 * 32;
/// The alignment swscale checks its destination for (it warns that it "cannot do aligned
/// memory accesses" below it). The allocator gives large buffers at least this.
const SWSCALE_ALIGN: usize = 16;

/// The line size to give swscale for RGB rows of `row` bytes written straight into a frame's
/// buffer: `row` itself when that is the line size FFmpeg would choose for them (a multiple of
/// its alignment: widths of a multiple of 32 pixels, which cameras' are), so that the rows are
/// packed as a [`Frame`] keeps them. `None`: FFmpeg would pad the rows; convert into its own
/// frame and copy the rows out.
fn ffmpeg_layout(row: usize) -> Option<std::ffi::c_int> {
    row.is_multiple_of(FFMPEG_ALIGN)
        .then(|| std::ffi::c_int::try_from(row).ok())
        .flatten()
}

/// The bytes `av_frame_get_buffer` allocates for `rows` of `row` bytes: the rows rounded up
/// to a multiple of 32, and the slack after them.
fn ffmpeg_buffer_size(row: usize, rows: usize) -> usize {
    row * rows.next_multiple_of(FFMPEG_ALIGN) + FFMPEG_SLACK
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

#[cfg(test)]
mod tests {
    use super::*;

    fn threads_of(uri: &str) -> DecodeThreads {
        parse_ffmpeg_uri(uri).unwrap().1.threads
    }

    #[test]
    fn threads_are_automatic_unless_the_uri_says() {
        assert_eq!(threads_of("ffmpeg:clip.mkv"), DecodeThreads::Auto);
        assert_eq!(
            threads_of("ffmpeg:clip.mkv?threads=auto"),
            DecodeThreads::Auto
        );
        assert_eq!(
            threads_of("FFMPEG:clip.mkv?threads=1"),
            DecodeThreads::Exactly(1)
        );
        assert_eq!(
            parse_ffmpeg_uri("ffmpeg:clip.mkv?threads=16").unwrap(),
            (
                "clip.mkv".to_string(),
                FfmpegOptions {
                    threads: DecodeThreads::Exactly(16)
                }
            )
        );
    }

    #[test]
    fn auto_threads_frames_of_1080p_and_up_only() {
        assert_eq!(DecodeThreads::Auto.for_size(640, 352), 1);
        assert_eq!(DecodeThreads::Auto.for_size(1280, 720), 1);
        assert_eq!(
            DecodeThreads::Auto.for_size(1920, 1056),
            DecodeThreads::LARGE
        );
        assert_eq!(
            DecodeThreads::Auto.for_size(1080, 1920),
            DecodeThreads::LARGE
        );
        assert_eq!(
            DecodeThreads::Auto.for_size(3840, 2160),
            DecodeThreads::LARGE
        );
        // An unknown size (0) decodes on one thread.
        assert_eq!(DecodeThreads::Auto.for_size(0, 0), 1);
        assert_eq!(DecodeThreads::Exactly(1).for_size(3840, 2160), 1);
        assert_eq!(DecodeThreads::Exactly(3).for_size(640, 352), 3);
    }

    #[test]
    fn a_bad_threads_value_names_the_input_the_value_and_what_was_expected() {
        for bad in [
            "threads=0",
            "threads=17",
            "threads=two",
            "threads=",
            "threads=-1",
        ] {
            let uri = format!("ffmpeg:clips/junction.mkv?{bad}");
            let err = parse_ffmpeg_uri(&uri).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "ffmpeg parameter `{bad} in {uri}` is not valid: expected threads=auto or \
                     threads=N, N decoding threads from 1 to 16"
                )
            );
        }
        // A file takes no other parameter: a misspelt one is not read as part of the path.
        let err = parse_ffmpeg_uri("ffmpeg:clip.mkv?thread=2").unwrap_err();
        assert!(
            err.to_string()
                .contains("`thread=2 in ffmpeg:clip.mkv?thread=2`"),
            "{err}"
        );
    }

    #[test]
    fn a_urls_own_parameters_stay_in_it() {
        let (target, options) =
            parse_ffmpeg_uri("ffmpeg:rtsp://cam/live?channel=1&threads=2&subtype=0").unwrap();
        assert_eq!(target, "rtsp://cam/live?channel=1&subtype=0");
        assert_eq!(options.threads, DecodeThreads::Exactly(2));
        let (target, _) = parse_ffmpeg_uri("ffmpeg:rtsp://cam/live?threads=auto").unwrap();
        assert_eq!(target, "rtsp://cam/live");
        let err = parse_ffmpeg_uri("ffmpeg:rtsp://admin:secret@cam/live?threads=x").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn a_file_whose_name_holds_a_question_mark_is_taken_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("what?threads=0.mkv");
        std::fs::write(&path, b"").unwrap();
        let uri = format!("ffmpeg:{}", path.display());
        let (target, options) = parse_ffmpeg_uri(&uri).unwrap();
        assert_eq!(target, path.display().to_string());
        assert_eq!(options, FfmpegOptions::default());
    }

    #[test]
    fn rgb_rows_are_written_in_place_when_ffmpeg_would_not_pad_them() {
        // 640 and 1920 pixels: 1920 and 5760 bytes, multiples of 32.
        assert_eq!(ffmpeg_layout(640 * 3), Some(1920));
        assert_eq!(ffmpeg_layout(1920 * 3), Some(5760));
        // 330 pixels: 990 bytes, which FFmpeg pads to 992.
        assert_eq!(ffmpeg_layout(330 * 3), None);
        // FFmpeg's buffer for 640x352: 352 rows (a multiple of 32) and its slack; 1080 rows
        // are padded to 1088.
        assert_eq!(ffmpeg_buffer_size(1920, 352), 1920 * 352 + 128);
        assert_eq!(ffmpeg_buffer_size(5760, 1080), 5760 * 1088 + 128);
    }
}
