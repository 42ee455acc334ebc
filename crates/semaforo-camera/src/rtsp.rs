//! RTSP cameras (`rtsp://[user:password@]HOST[:PORT]/PATH`): H.264 over RTP, received with
//! `retina` (pure Rust) and decoded by the same OpenH264 path as video files.
//!
//! RTP comes over the RTSP connection (TCP interleaved, the default: it crosses NAT and
//! firewalls and loses nothing) or over UDP with `#udp` after the URL (a fragment is never
//! sent to the camera, so it cannot clash with the camera's own path or query). Credentials
//! come from the URL; they are given to retina apart from the URL and never appear in a
//! message (see [`crate::redact`]).
//!
//! retina is asynchronous (tokio). Each camera owns a current-thread runtime and drives it
//! only inside its own `read()`, so the camera stays a plain blocking [`CameraDevice`] meant
//! for its own thread ([`crate::LiveSource`]); no runtime is shared between cameras.
//!
//! Camera quirks handled: parameter sets that arrive only in band (the decoder is made when
//! retina reports them, and again when they change); frames before the first IDR are
//! skipped, since nothing can decode them; a stream that stays silent for the stall timeout
//! is reported as [`SourceError::Timeout`], not waited on forever.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use retina::client::{
    Credentials, Demuxed, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions,
    Transport,
};
use retina::codec::{CodecItem, ParametersRef};
use semaforo_resources::{CameraDevice, CameraProperty};

use crate::net::{CameraUrl, NetworkOptions};
use crate::video::container::h264_profile;
use crate::video::h264::{H264Decoder, Picture, RgbPool};
use crate::{Frame, SourceError};

/// How RTP packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtspTransport {
    /// Interleaved on the RTSP TCP connection.
    #[default]
    Tcp,
    /// Separate UDP ports (`#udp`): lower latency on a LAN, lost packets are lost frames.
    Udp,
}

/// Splits `#udp` / `#tcp` off an RTSP URI.
pub fn split_transport(uri: &str) -> Result<(&str, RtspTransport), SourceError> {
    match uri.split_once('#') {
        None => Ok((uri, RtspTransport::Tcp)),
        Some((url, fragment)) => match fragment.to_ascii_lowercase().as_str() {
            "tcp" | "transport=tcp" => Ok((url, RtspTransport::Tcp)),
            "udp" | "transport=udp" => Ok((url, RtspTransport::Udp)),
            _ => Err(SourceError::BadParameter {
                source_kind: "rtsp",
                parameter: format!("#{fragment}"),
                expected: "#tcp or #udp after the URL (the RTP transport)".into(),
            }),
        },
    }
}

/// What an `AVCDecoderConfigurationRecord` (`avcC`) holds for a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// Bytes of each NAL unit's length prefix (1, 2 or 4).
    pub length_size: usize,
    pub sps: Vec<Vec<u8>>,
    pub pps: Vec<Vec<u8>>,
}

/// Why an `avcC` record could not be read; each names the record by its length.
#[derive(Debug, thiserror::Error)]
pub enum AvcRecordError {
    #[error("the avcC record ({len} bytes) is cut short: it needs at least {needed}")]
    CutShort { len: usize, needed: usize },
    #[error("not an avcC record (version {version}, {len} bytes)")]
    Version { version: u8, len: usize },
    #[error("the avcC record ({len} bytes) has a bad {set}: {reason}")]
    ParameterSet {
        len: usize,
        /// `sequence parameter set` or `picture parameter set`.
        set: &'static str,
        reason: String,
    },
}

/// The parameter sets and NAL length size of an `avcC` record (ISO/IEC 14496-15), read with
/// `h264-reader`, the parser retina itself uses.
pub fn parse_avcc(avcc: &[u8]) -> Result<AvcConfig, AvcRecordError> {
    use h264_reader::avcc::{AvcDecoderConfigurationRecord, AvccError};
    let len = avcc.len();
    // A NAL unit's last byte holds its RBSP stop bit, so a record never ends in two zero
    // bytes, unless its last picture parameter set is empty: h264-reader 0.8 then reads that
    // set's NAL header past the end of the record and panics.
    if avcc.ends_with(&[0, 0]) {
        return Err(AvcRecordError::ParameterSet {
            len,
            set: "picture parameter set",
            reason: "the last one is empty or cut short (the record ends in two zero bytes)".into(),
        });
    }
    let record = AvcDecoderConfigurationRecord::try_from(avcc).map_err(|e| match e {
        AvccError::NotEnoughData { expected, .. } => AvcRecordError::CutShort {
            len,
            needed: expected,
        },
        AvccError::UnsupportedConfigurationVersion(version) => {
            AvcRecordError::Version { version, len }
        }
        // `try_from` only checks lengths and the version.
        other => AvcRecordError::ParameterSet {
            len,
            set: "parameter set",
            reason: format!("{other:?}"),
        },
    })?;
    Ok(AvcConfig {
        length_size: usize::from(record.length_size_minus_one()) + 1,
        sps: parameter_sets(
            len,
            "sequence parameter set",
            record.sequence_parameter_sets(),
        )?,
        pps: parameter_sets(
            len,
            "picture parameter set",
            record.picture_parameter_sets(),
        )?,
    })
}

/// One kind of parameter set of an `avcC` record of `len` bytes, each copied out.
fn parameter_sets<'a>(
    len: usize,
    set: &'static str,
    sets: impl Iterator<Item = Result<&'a [u8], h264_reader::avcc::ParamSetError>>,
) -> Result<Vec<Vec<u8>>, AvcRecordError> {
    use h264_reader::avcc::ParamSetError;
    sets.map(|unit| {
        unit.map(<[u8]>::to_vec)
            .map_err(|e| AvcRecordError::ParameterSet {
                len,
                set,
                reason: match e {
                    ParamSetError::NalHeader(e) => format!("its NAL header is not valid ({e:?})"),
                    ParamSetError::IncorrectNalType { actual, .. } => {
                        format!("it is a NAL unit of type {actual:?}")
                    }
                    ParamSetError::IncompatibleSps(_) => "it disagrees with the record".into(),
                },
            })
    })
    .collect()
}

/// An RTSP camera.
pub struct RtspCamera {
    url: CameraUrl,
    transport: RtspTransport,
    options: NetworkOptions,
    // Field order matters for drop: the session must go (inside the runtime) before the
    // runtime; `release` does that explicitly.
    session: Option<Pin<Box<Demuxed>>>,
    group: Arc<SessionGroup>,
    runtime: tokio::runtime::Runtime,
    stream_index: usize,
    decoder: Option<H264Decoder>,
    codec: String,
    seen_idr: bool,
    ready: VecDeque<Picture>,
    pool: RgbPool,
    seq: u64,
    width: u32,
    height: u32,
    fps: Option<f64>,
    /// Received frames that could not be decoded (before the first IDR, or broken).
    skipped: u64,
}

impl std::fmt::Debug for RtspCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspCamera")
            .field("url", &self.url)
            .field("transport", &self.transport)
            .field("codec", &self.codec)
            .field("seq", &self.seq)
            .finish()
    }
}

impl RtspCamera {
    /// Connects (DESCRIBE, SETUP of the first H.264 video stream, PLAY) within the connect
    /// timeout.
    pub fn open(uri: &str, options: NetworkOptions) -> Result<Self, SourceError> {
        let (without_fragment, transport) = split_transport(uri.trim())?;
        let url = CameraUrl::parse(without_fragment, "rtsp")?;
        let shown = url.shown.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SourceError::Unreachable {
                camera: shown.clone(),
                address: url.address(554),
                reason: format!("cannot start the network runtime: {e}"),
            })?;
        let group = Arc::new(SessionGroup::default());
        let session_options = SessionOptions::default()
            .creds(
                url.credentials
                    .clone()
                    .map(|(username, password)| Credentials { username, password }),
            )
            .user_agent("semaforo".into())
            .session_group(group.clone());
        let setup = async {
            let mut session = Session::describe(url.url.clone(), session_options)
                .await
                .map_err(|e| describe_error(&url, &e))?;
            let streams = session.streams();
            let Some(index) = streams
                .iter()
                .position(|s| s.media() == "video" && s.encoding_name() == "h264")
            else {
                let found: Vec<String> = streams
                    .iter()
                    .map(|s| format!("{} {}", s.media(), s.encoding_name()))
                    .collect();
                return Err(SourceError::UnsupportedStream {
                    camera: shown.clone(),
                    codec: if found.is_empty() {
                        "no stream".into()
                    } else {
                        found.join(", ")
                    },
                    supported: "this build decodes H.264 video (the ffmpeg feature brings H.265)",
                });
            };
            let rtp = match transport {
                RtspTransport::Tcp => Transport::Tcp(Default::default()),
                RtspTransport::Udp => Transport::Udp(Default::default()),
            };
            session
                .setup(index, SetupOptions::default().transport(rtp))
                .await
                .map_err(|e| describe_error(&url, &e))?;
            let playing = session
                .play(PlayOptions::default())
                .await
                .map_err(|e| describe_error(&url, &e))?;
            let demuxed = playing.demuxed().map_err(|e| describe_error(&url, &e))?;
            Ok((Box::pin(demuxed), index))
        };
        let connect =
            runtime.block_on(async { tokio::time::timeout(options.connect_timeout, setup).await });
        let (session, stream_index) = match connect {
            Ok(result) => result?,
            Err(_) => {
                return Err(SourceError::Unreachable {
                    camera: shown,
                    address: url.address(554),
                    reason: format!(
                        "no answer within {:.1} s (the connect timeout)",
                        options.connect_timeout.as_secs_f64()
                    ),
                })
            }
        };
        let mut camera = RtspCamera {
            url,
            transport,
            options,
            session: Some(session),
            group,
            runtime,
            stream_index,
            decoder: None,
            codec: "H.264".into(),
            seen_idr: false,
            ready: VecDeque::new(),
            pool: RgbPool::default(),
            seq: 0,
            width: 0,
            height: 0,
            fps: None,
            skipped: 0,
        };
        camera.take_parameters()?;
        Ok(camera)
    }

    /// `H.264 Main (profile 77)`, once the parameters are known.
    pub fn codec(&self) -> &str {
        &self.codec
    }

    pub fn transport(&self) -> RtspTransport {
        self.transport
    }

    /// Frames received but not decodable (before the first IDR, or broken by loss).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Gives a frame's buffer back for reuse.
    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.rgb);
    }

    fn shown(&self) -> String {
        self.url.shown.clone()
    }

    /// Makes a decoder from the stream's current parameters, if retina has them.
    fn take_parameters(&mut self) -> Result<(), SourceError> {
        let Some(session) = self.session.as_ref() else {
            return Err(SourceError::Closed);
        };
        let Some(stream) = session.streams().get(self.stream_index) else {
            return Ok(());
        };
        let Some(ParametersRef::Video(video)) = stream.parameters() else {
            return Ok(());
        };
        let (width, height) = video.pixel_dimensions();
        self.width = width;
        self.height = height;
        self.fps = video
            .frame_rate()
            .filter(|&(num, _)| num > 0)
            .map(|(num, den)| den as f64 / num as f64);
        let AvcConfig {
            length_size,
            sps,
            pps,
        } = parse_avcc(video.extra_data()).map_err(|e| SourceError::StreamDecode {
            camera: self.shown(),
            what: "the stream parameters".into(),
            reason: e.to_string(),
        })?;
        if let Some(sps) = sps.first().filter(|s| s.len() >= 3) {
            let (name, supported) = h264_profile(sps[1], sps[2]);
            self.codec = format!("H.264 {name}");
            if !supported {
                return Err(SourceError::UnsupportedStream {
                    camera: self.shown(),
                    codec: self.codec.clone(),
                    supported: "this build decodes H.264 Constrained Baseline, Baseline, Main and \
                                High (the ffmpeg feature brings the others)",
                });
            }
        }
        let decoder =
            H264Decoder::new(length_size, &sps, &pps).map_err(|e| SourceError::StreamDecode {
                camera: self.shown(),
                what: "the stream".into(),
                reason: e.to_string(),
            })?;
        self.decoder = Some(decoder);
        self.seen_idr = false;
        Ok(())
    }

    /// Receives until one picture is decoded or the stall timeout passes.
    fn next_picture(&mut self) -> Result<Picture, SourceError> {
        let deadline = tokio::time::Instant::now() + self.options.stall_timeout;
        loop {
            if let Some(picture) = self.ready.pop_front() {
                return Ok(picture);
            }
            let Some(session) = self.session.as_mut() else {
                return Err(SourceError::Closed);
            };
            let item = self.runtime.block_on(async {
                tokio::time::timeout_at(deadline, session.as_mut().next()).await
            });
            let frame = match item {
                Err(_) => {
                    return Err(SourceError::Timeout {
                        camera: self.shown(),
                        waited: self.options.stall_timeout,
                    })
                }
                Ok(None) => {
                    return Err(SourceError::Disconnected {
                        camera: self.shown(),
                        reason: "the server ended the session".into(),
                    })
                }
                Ok(Some(Err(e))) => {
                    return Err(SourceError::Disconnected {
                        camera: self.shown(),
                        reason: first_line(&e),
                    })
                }
                Ok(Some(Ok(CodecItem::VideoFrame(frame))))
                    if frame.stream_id() == self.stream_index =>
                {
                    frame
                }
                Ok(Some(Ok(_))) => continue,
            };
            if frame.has_new_parameters() || self.decoder.is_none() {
                self.take_parameters()?;
            }
            let sync = frame.is_random_access_point();
            self.seen_idr |= sync;
            let Some(decoder) = self.decoder.as_mut().filter(|_| self.seen_idr) else {
                self.skipped += 1;
                continue;
            };
            if let Err(e) = decoder.decode(frame.data(), sync, &mut self.pool, &mut self.ready) {
                self.skipped += 1;
                // Wait for the next IDR: frames referring to a broken one decode to garbage.
                self.seen_idr = false;
                return Err(SourceError::StreamDecode {
                    camera: self.shown(),
                    what: format!("the frame after frame {}", self.seq),
                    reason: e.to_string(),
                });
            }
        }
    }
}

/// The first line of a retina error (the rest is connection context, useful in a debug log,
/// noise in a status line); the URL it holds has no credentials.
fn first_line(e: &retina::Error) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or("").trim().to_string()
}

fn describe_error(url: &CameraUrl, e: &retina::Error) -> SourceError {
    let camera = url.shown.clone();
    match e.status_code() {
        Some(401) => SourceError::Unauthorized {
            camera,
            detail: if url.credentials.is_some() {
                "401 Unauthorized for the user and password in the URL".into()
            } else {
                "401 Unauthorized; put user:password@ in the URL".into()
            },
        },
        Some(code) => SourceError::Protocol {
            camera,
            reason: format!("RTSP status {code}: {}", first_line(e)),
        },
        None => {
            let text = first_line(e);
            if text.contains("connect") || text.contains("refused") {
                SourceError::Unreachable {
                    camera,
                    address: url.address(554),
                    reason: text,
                }
            } else {
                SourceError::Protocol {
                    camera,
                    reason: text,
                }
            }
        }
    }
}

impl CameraDevice for RtspCamera {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        let picture = self.next_picture()?;
        self.width = picture.width;
        self.height = picture.height;
        Ok(picture.into_frame(&mut self.seq))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match property {
            CameraProperty::FrameWidth => Some(self.width as f64),
            CameraProperty::FrameHeight => Some(self.height as f64),
            CameraProperty::Fps => self.fps,
            _ => None,
        }
    }

    fn set(&mut self, _property: CameraProperty, value: f64) -> Result<(), SourceError> {
        Err(SourceError::BadSetting {
            property: "property",
            value,
            expected: format!(
                "nothing: {} sets its size and rate in the camera's own configuration",
                self.url.shown
            ),
        })
    }

    fn is_opened(&self) -> bool {
        self.session.is_some()
    }

    /// Ends the session: a TEARDOWN is sent (bounded by the connect timeout) so that the
    /// camera frees its slot at once; many cameras serve only a few sessions.
    fn release(&mut self) {
        if let Some(session) = self.session.take() {
            let _inside = self.runtime.enter();
            drop(session);
            let group = self.group.clone();
            let limit = self.options.connect_timeout.min(Duration::from_secs(2));
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(limit, group.await_teardown()).await });
        }
        self.ready.clear();
    }
}

impl Drop for RtspCamera {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transport_comes_from_the_fragment() {
        assert_eq!(
            split_transport("rtsp://h/x").unwrap(),
            ("rtsp://h/x", RtspTransport::Tcp)
        );
        assert_eq!(
            split_transport("rtsp://h/x?a=1#udp").unwrap(),
            ("rtsp://h/x?a=1", RtspTransport::Udp)
        );
        let err = split_transport("rtsp://h/x#multicast").unwrap_err();
        assert!(err.to_string().contains("#multicast"), "{err}");
    }

    #[test]
    fn avcc_records_give_their_parameter_sets() {
        let avcc = [
            1, 77, 0, 30, 0xff, 0xe1, 0, 3, 0x67, 77, 0, 1, 0, 2, 0x68, 0xee,
        ];
        let config = parse_avcc(&avcc).unwrap();
        assert_eq!(config.length_size, 4);
        assert_eq!(config.sps, vec![vec![0x67, 77, 0]]);
        assert_eq!(config.pps, vec![vec![0x68, 0xee]]);
        let err = parse_avcc(&avcc[..10]).unwrap_err().to_string();
        assert!(err.contains("cut short"), "{err}");
        assert!(parse_avcc(&[0; 3]).is_err());
    }

    #[test]
    fn avcc_records_with_a_bad_version_or_parameter_set_are_refused_not_a_panic() {
        let mut avcc = vec![
            1, 77, 0, 30, 0xff, 0xe1, 0, 3, 0x67, 77, 0, 1, 0, 2, 0x68, 0xee,
        ];
        avcc[0] = 2;
        let err = parse_avcc(&avcc).unwrap_err().to_string();
        assert!(err.contains("version 2, 16 bytes"), "{err}");
        avcc[0] = 1;
        // A picture parameter set where the sequence parameter set should be.
        avcc[8] = 0x68;
        let err = parse_avcc(&avcc).unwrap_err().to_string();
        assert!(err.contains("sequence parameter set"), "{err}");
        // An empty picture parameter set at the end of the record.
        let empty_pps = [1, 77, 0, 30, 0xff, 0xe1, 0, 3, 0x67, 77, 0, 1, 0, 0];
        let err = parse_avcc(&empty_pps).unwrap_err().to_string();
        assert!(err.contains("picture parameter set"), "{err}");
    }
}
