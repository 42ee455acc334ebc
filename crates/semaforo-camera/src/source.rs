//! Choosing a frame source from a URI, as configuration writes it (`CAMERA_A_SOURCE`).
//!
//! `synthetic:`, `testsrc:`, video files (`file:PATH` or a bare path, with `?loop=true&pace=fast`
//! options: see [`parse_file_uri`]), `rtsp://`, `http://` MJPEG, `dir:` image folders, and
//! `v4l2:` / `/dev/videoN` / camera indices (with the `v4l2` feature; without it, an error that
//! names the feature).

use semaforo_resources::{CameraDevice, CameraProperty};

use std::path::PathBuf;

use crate::synthetic::{AspectFeed, SceneConfig, SyntheticCamera};
use crate::{
    Frame, ImageFolder, ImageFolderOptions, MjpegStream, NetworkOptions, RtspCamera, SourceError,
    TestPatternCamera, VideoFile, VideoFileOptions,
};

/// What a camera is asked for at open; sources that cannot honour it say what they granted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Requested {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// Any source this build can open.
#[derive(Debug)]
pub enum Source {
    Synthetic(SyntheticCamera),
    TestPattern(TestPatternCamera),
    /// Boxed: the container index and decoder state are large next to the other sources.
    VideoFile(Box<VideoFile>),
    /// JPEG/PNG files of a folder (`dir:`).
    ImageFolder(ImageFolder),
    /// An HTTP MJPEG stream or snapshot URL.
    Mjpeg(Box<MjpegStream>),
    /// An RTSP camera (H.264).
    Rtsp(Box<RtspCamera>),
    /// A USB camera (cargo feature `v4l2`).
    #[cfg(feature = "v4l2")]
    V4l2(Box<crate::v4l2::V4l2Camera>),
    /// A file or stream decoded by FFmpeg (cargo feature `ffmpeg`).
    #[cfg(feature = "ffmpeg")]
    Ffmpeg(Box<crate::ffmpeg::FfmpegInput>),
}

/// Splits a video-file URI into the path and its options.
///
/// `file:PATH` or a bare `PATH`; `file:///abs/path` is accepted too (the `//` of an empty host
/// is dropped). Options follow the first `?` as `key=value` pairs joined by `&` (see
/// [`VideoFileOptions::from_params`]). A bare path that exists as a file with its `?` is taken
/// whole, so a file name that happens to hold a `?` still opens. No percent-decoding.
pub fn parse_file_uri(uri: &str) -> Result<(PathBuf, VideoFileOptions), SourceError> {
    let trimmed = uri.trim();
    let (bare, rest) = match trimmed.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("file:") => (false, &trimmed[5..]),
        _ => (true, trimmed),
    };
    let rest = match rest.strip_prefix("//") {
        Some(r) if !bare && r.starts_with('/') => r,
        _ => rest,
    };
    if bare && std::path::Path::new(rest).is_file() {
        return Ok((PathBuf::from(rest), VideoFileOptions::default()));
    }
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(SourceError::BadParameter {
            source_kind: "video-file",
            parameter: uri.to_string(),
            expected: "a path, e.g. file:clips/street.mp4?loop=true".into(),
        });
    }
    Ok((PathBuf::from(path), VideoFileOptions::from_params(params)?))
}

/// The kind of source a URI names.
pub fn kind_of(uri: &str) -> &'static str {
    let lower = uri.trim().to_ascii_lowercase();
    let digits = !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit());
    match () {
        _ if lower.starts_with("synthetic:") => "synthetic",
        _ if lower.starts_with("ffmpeg:") => "ffmpeg",
        _ if lower.starts_with("testsrc:") => "testsrc",
        _ if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") => "rtsp",
        _ if lower.starts_with("http://") || lower.starts_with("https://") => "mjpeg-http",
        _ if lower.starts_with("v4l2:") || lower.starts_with("/dev/video") || digits => "v4l2",
        _ if lower.starts_with("dir:") => "image-folder",
        _ => "video-file",
    }
}

impl Source {
    /// Opens the source `uri` names. The error names the source (credentials hidden by the
    /// caller) and what went wrong. A video file has its own size and rate: `requested` is
    /// not applied to it (read them back with `get`).
    pub fn open(uri: &str, requested: Requested) -> Result<Source, SourceError> {
        Self::open_with(uri, requested, NetworkOptions::default())
    }

    /// As [`Source::open`], with the timeouts of network sources given.
    pub fn open_with(
        uri: &str,
        requested: Requested,
        network: NetworkOptions,
    ) -> Result<Source, SourceError> {
        let trimmed = uri.trim();
        match kind_of(trimmed) {
            "synthetic" => {
                let params = &trimmed["synthetic:".len()..];
                let config = SceneConfig {
                    width: requested.width,
                    height: requested.height,
                    fps: requested.fps,
                    ..SceneConfig::default()
                }
                .with_params(params)?;
                Ok(Source::Synthetic(SyntheticCamera::open(config)?))
            }
            "testsrc" => Ok(Source::TestPattern(TestPatternCamera::open(
                requested.width,
                requested.height,
                requested.fps,
            )?)),
            "video-file" => {
                let (path, options) = parse_file_uri(trimmed)?;
                match VideoFile::open(&path, options) {
                    Ok(video) => Ok(Source::VideoFile(Box::new(video))),
                    // What OpenH264 cannot decode, FFmpeg may.
                    #[cfg(feature = "ffmpeg")]
                    Err(SourceError::UnsupportedCodec { .. }) => {
                        Ok(Source::Ffmpeg(Box::new(crate::ffmpeg::FfmpegInput::open(
                            &path.to_string_lossy(),
                            crate::ffmpeg::FfmpegOptions::default(),
                            network,
                        )?)))
                    }
                    Err(e) => Err(e),
                }
            }
            #[cfg(feature = "ffmpeg")]
            "ffmpeg" => {
                let (target, options) = crate::ffmpeg::parse_ffmpeg_uri(trimmed)?;
                Ok(Source::Ffmpeg(Box::new(crate::ffmpeg::FfmpegInput::open(
                    &target, options, network,
                )?)))
            }
            #[cfg(not(feature = "ffmpeg"))]
            "ffmpeg" => Err(SourceError::FeatureNotBuilt {
                kind: "ffmpeg",
                feature: "ffmpeg",
                why: "it links the system's FFmpeg libraries",
            }),
            "image-folder" => {
                let rest = &trimmed["dir:".len()..];
                let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
                let options = ImageFolderOptions::from_params(params, requested.fps)?;
                Ok(Source::ImageFolder(ImageFolder::open(
                    path.as_ref(),
                    options,
                )?))
            }
            "mjpeg-http" => Ok(Source::Mjpeg(Box::new(MjpegStream::open(
                trimmed,
                requested.fps,
                network,
            )?))),
            "rtsp" => Ok(Source::Rtsp(Box::new(RtspCamera::open(trimmed, network)?))),
            #[cfg(feature = "v4l2")]
            "v4l2" => Ok(Source::V4l2(Box::new(crate::v4l2::V4l2Camera::open(
                trimmed, requested,
            )?))),
            #[cfg(not(feature = "v4l2"))]
            "v4l2" => Err(SourceError::FeatureNotBuilt {
                kind: "v4l2",
                feature: "v4l2",
                why: "it needs libclang and the kernel headers at build time",
            }),
            kind => Err(SourceError::NotInThisBuild { kind }),
        }
    }

    /// The feed through which the controller tells a synthetic scene its signal aspect.
    pub fn aspect_feed(&self) -> Option<AspectFeed> {
        match self {
            Source::Synthetic(camera) => Some(camera.aspect_feed()),
            _ => None,
        }
    }

    /// The codec, for sources that decode one (`H.264 High`).
    pub fn codec(&self) -> Option<&str> {
        match self {
            Source::VideoFile(v) => Some(v.codec()),
            Source::Mjpeg(_) => Some("Motion JPEG"),
            Source::Rtsp(r) => Some(r.codec()),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => Some(c.codec()),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => Some(c.codec()),
            Source::ImageFolder(_) => Some("JPEG/PNG stills"),
            Source::Synthetic(_) | Source::TestPattern(_) => None,
        }
    }

    /// Whether the source ends (a video file that does not loop); `probe --all` reads to it.
    pub fn ends(&self) -> bool {
        match self {
            Source::VideoFile(v) => !v.options().looping,
            Source::ImageFolder(f) => !f.options().looping,
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(f) => f.ends(),
            _ => false,
        }
    }

    /// Gives a frame's pixel buffer back to the source for reuse, where the source pools them.
    pub fn recycle(&mut self, frame: Frame) {
        match self {
            Source::VideoFile(v) => v.recycle(frame),
            Source::ImageFolder(f) => f.recycle(frame),
            Source::Mjpeg(m) => m.recycle(frame),
            Source::Rtsp(r) => r.recycle(frame),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => c.recycle(frame),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => c.recycle(frame),
            Source::Synthetic(_) | Source::TestPattern(_) => {}
        }
    }
}

impl CameraDevice for Source {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        match self {
            Source::Synthetic(c) => c.read(),
            Source::TestPattern(c) => c.read(),
            Source::VideoFile(c) => c.read(),
            Source::ImageFolder(c) => c.read(),
            Source::Mjpeg(c) => c.read(),
            Source::Rtsp(c) => c.read(),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => c.read(),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => c.read(),
        }
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match self {
            Source::Synthetic(c) => c.get(property),
            Source::TestPattern(c) => c.get(property),
            Source::VideoFile(c) => c.get(property),
            Source::ImageFolder(c) => c.get(property),
            Source::Mjpeg(c) => c.get(property),
            Source::Rtsp(c) => c.get(property),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => c.get(property),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => c.get(property),
        }
    }

    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), SourceError> {
        match self {
            Source::Synthetic(c) => c.set(property, value),
            Source::TestPattern(c) => c.set(property, value),
            Source::VideoFile(c) => c.set(property, value),
            Source::ImageFolder(c) => c.set(property, value),
            Source::Mjpeg(c) => c.set(property, value),
            Source::Rtsp(c) => c.set(property, value),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => c.set(property, value),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => c.set(property, value),
        }
    }

    fn is_opened(&self) -> bool {
        match self {
            Source::Synthetic(c) => c.is_opened(),
            Source::TestPattern(c) => c.is_opened(),
            Source::VideoFile(c) => c.is_opened(),
            Source::ImageFolder(c) => c.is_opened(),
            Source::Mjpeg(c) => c.is_opened(),
            Source::Rtsp(c) => c.is_opened(),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => c.is_opened(),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => c.is_opened(),
        }
    }

    fn release(&mut self) {
        match self {
            Source::Synthetic(c) => c.release(),
            Source::TestPattern(c) => c.release(),
            Source::VideoFile(c) => c.release(),
            Source::ImageFolder(c) => c.release(),
            Source::Mjpeg(c) => c.release(),
            Source::Rtsp(c) => c.release(),
            #[cfg(feature = "v4l2")]
            Source::V4l2(c) => c.release(),
            #[cfg(feature = "ffmpeg")]
            Source::Ffmpeg(c) => c.release(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: Requested = Requested {
        width: 320,
        height: 240,
        fps: 10.0,
    };

    #[test]
    fn uris_name_their_kind() {
        assert_eq!(kind_of("synthetic:seed=3"), "synthetic");
        assert_eq!(kind_of("rtsp://cam/1"), "rtsp");
        assert_eq!(kind_of("/dev/video0"), "v4l2");
        assert_eq!(kind_of("0"), "v4l2");
        assert_eq!(kind_of("dir:frames"), "image-folder");
        assert_eq!(kind_of("clips/street.mp4"), "video-file");
        assert_eq!(kind_of("file:clips/street.mp4?loop=true"), "video-file");
    }

    #[test]
    fn synthetic_and_testsrc_open_with_the_requested_size() {
        let mut s = Source::open("synthetic:seed=5", REQ).unwrap();
        assert_eq!(s.read().unwrap().width, 320);
        assert!(s.aspect_feed().is_some());
        let mut t = Source::open("testsrc:", REQ).unwrap();
        assert_eq!(t.read().unwrap().height, 240);
    }

    #[test]
    fn file_uris_split_into_path_and_options() {
        let (path, o) = parse_file_uri("file:clips/a.mp4?loop=true&pace=fast").unwrap();
        assert_eq!(path, PathBuf::from("clips/a.mp4"));
        assert!(o.looping);
        assert_eq!(o.pacing, crate::Pacing::AsFastAsPossible);
        let (path, o) = parse_file_uri("FILE:///srv/a.mov").unwrap();
        assert_eq!(path, PathBuf::from("/srv/a.mov"));
        assert_eq!(o, VideoFileOptions::default());
        let (path, o) = parse_file_uri("/no/such/b.mp4?loop=1").unwrap();
        assert_eq!(path, PathBuf::from("/no/such/b.mp4"));
        assert!(o.looping);
        assert!(parse_file_uri("file:?loop=true").is_err());
        assert!(parse_file_uri("file:a.mp4?loop=sometimes").is_err());
    }

    #[test]
    fn a_missing_video_file_is_named_in_the_error() {
        let err = Source::open("file:/no/such/clip.mp4?pace=fast", REQ).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read video file /no/such/clip.mp4: "),
            "{err}"
        );
    }

    #[test]
    #[cfg(not(feature = "v4l2"))]
    fn usb_cameras_without_the_feature_say_which_feature_to_build_with() {
        for uri in ["/dev/video0", "v4l2:/dev/video1", "0"] {
            let err = Source::open(uri, REQ).unwrap_err();
            assert!(
                err.to_string().starts_with(
                    "v4l2 sources need the `v4l2` cargo feature, which this build was made \
                     without: build with `cargo build --release --features semaforo-camera/v4l2`"
                ),
                "{err}"
            );
        }
    }

    #[test]
    #[cfg(not(feature = "ffmpeg"))]
    fn ffmpeg_uris_without_the_feature_say_which_feature_to_build_with() {
        assert_eq!(kind_of("ffmpeg:clip.mkv"), "ffmpeg");
        let err = Source::open("ffmpeg:clip.mkv", REQ).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ffmpeg sources need the `ffmpeg` cargo feature"),
            "{err}"
        );
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let err = Source::open("synthetic:rate=-1", REQ).unwrap_err();
        assert!(err.to_string().contains("rate=-1"), "{err}");
    }
}
