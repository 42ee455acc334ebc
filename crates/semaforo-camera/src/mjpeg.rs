//! MJPEG over HTTP (`http://HOST/PATH`): the stream cheap IP cameras and ESP32-CAM boards
//! serve, a `multipart/x-mixed-replace` response whose every part is one JPEG; and snapshot
//! URLs, which answer each request with a single JPEG (polled at the requested rate).
//!
//! The HTTP client is a small blocking one on `std::net::TcpStream` (the source runs on its own
//! thread, see [`crate::LiveSource`]): it asks in HTTP/1.0, so the server sends the body as it
//! is (and decodes a chunked body from servers that answer in HTTP/1.1 anyway), and uses Basic authentication when the URL carries credentials.
//! `https://` is not in this build: the cameras that serve MJPEG serve it in plain HTTP, and
//! TLS would bring a TLS stack and its certificate store for little use (put a TLS-terminating
//! proxy in front of such a camera).
//!
//! Camera quirks handled: a boundary given with its leading `--` in the header and used as is
//! in the body (several IP cameras); parts without `Content-Length` (the JPEG then ends at the
//! next boundary line); a preamble or blank lines before the first boundary.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use semaforo_resources::{CameraDevice, CameraProperty};

use crate::net::{basic_authorization, CameraUrl, NetworkOptions};
use crate::video::h264::RgbPool;
use crate::video::pacing::Pacer;
use crate::{still, Frame, Pacing, SourceError};
use semaforo_base::SystemClocks;

/// The largest JPEG accepted in one part (a 4K frame at high quality is about 2 MB).
const MAX_FRAME_BYTES: usize = 16 << 20;
/// The largest header line, and the most header lines per response or part.
const MAX_LINE: usize = 8 << 10;
const MAX_LINES: usize = 100;

/// Reads an HTTP response from a socket through one reused buffer.
struct HttpReader {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Set when the body comes in `Transfer-Encoding: chunked` (servers that answer an HTTP/1.0
    /// request with HTTP/1.1 anyway, FFmpeg's among them).
    chunked: Option<Chunked>,
}

/// The state of a chunked body: raw bytes not yet decoded, and where in a chunk we are.
#[derive(Default)]
struct Chunked {
    raw: Vec<u8>,
    at: usize,
    /// Bytes left in the current chunk; `None` between chunks (a size line comes next).
    left: Option<usize>,
    ended: bool,
}

impl Chunked {
    /// Decodes what it can into `out`; returns the bytes written.
    fn decode(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < out.len() && !self.ended {
            let raw = &self.raw[self.at..];
            match self.left {
                None => {
                    // A size line: hex digits, maybe `;extensions`, CRLF (a chunk's trailing
                    // CRLF comes before it and is skipped as an empty line).
                    let Some(nl) = raw.iter().position(|&b| b == b'\n') else {
                        if raw.len() > MAX_LINE {
                            return Err(bad_chunk("a chunk size line is too long"));
                        }
                        break;
                    };
                    let line = String::from_utf8_lossy(&raw[..nl]).trim().to_string();
                    self.at += nl + 1;
                    if line.is_empty() {
                        continue;
                    }
                    let hex = line.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(hex, 16).map_err(|_| {
                        bad_chunk(&format!("chunk size `{line}` is not hexadecimal"))
                    })?;
                    if size == 0 {
                        self.ended = true;
                    } else {
                        self.left = Some(size);
                    }
                }
                Some(left) => {
                    let n = left.min(raw.len()).min(out.len() - written);
                    if n == 0 {
                        break;
                    }
                    out[written..written + n].copy_from_slice(&raw[..n]);
                    written += n;
                    self.at += n;
                    self.left = (left > n).then_some(left - n);
                }
            }
        }
        if self.at > 0 && self.at == self.raw.len() {
            self.raw.clear();
            self.at = 0;
        }
        Ok(written)
    }
}

fn bad_chunk(reason: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("chunked body: {reason}"),
    )
}

impl HttpReader {
    fn new(stream: TcpStream) -> Self {
        HttpReader {
            stream,
            buf: vec![0; 64 << 10],
            start: 0,
            end: 0,
            chunked: None,
        }
    }

    /// From here on the body is chunked: the bytes already buffered are its start.
    fn start_chunked(&mut self) {
        let raw = self.buf[self.start..self.end].to_vec();
        self.start = 0;
        self.end = 0;
        self.chunked = Some(Chunked {
            raw,
            ..Chunked::default()
        });
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more bytes; `Ok(0)` at the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_FRAME_BYTES + MAX_LINE);
            if grown == self.buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a part larger than {MAX_FRAME_BYTES} bytes"),
                ));
            }
            self.buf.resize(grown, 0);
        }
        let Some(chunked) = &mut self.chunked else {
            let n = self.stream.read(&mut self.buf[self.end..])?;
            self.end += n;
            return Ok(n);
        };
        loop {
            let n = chunked.decode(&mut self.buf[self.end..])?;
            if n > 0 || chunked.ended {
                self.end += n;
                return Ok(n);
            }
            let mut more = [0u8; 16 << 10];
            let got = self.stream.read(&mut more)?;
            if got == 0 {
                return Ok(0);
            }
            chunked.raw.extend_from_slice(&more[..got]);
        }
    }

    /// One line without its `\r\n`; `None` at the end of the stream.
    fn line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(nl) = self.available().iter().position(|&b| b == b'\n') {
                let line = &self.buf[self.start..self.start + nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let text = String::from_utf8_lossy(line).into_owned();
                self.start += nl + 1;
                return Ok(Some(text));
            }
            if self.available().len() > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a header line longer than {MAX_LINE} bytes"),
                ));
            }
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    /// Exactly `n` bytes into `out`.
    fn exact(&mut self, n: usize, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        while out.len() < n {
            if self.available().is_empty() && self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let take = (n - out.len()).min(self.available().len());
            out.extend_from_slice(&self.buf[self.start..self.start + take]);
            self.start += take;
        }
        Ok(())
    }

    /// The bytes before the next boundary line (`--core`, any number of leading dashes, at the
    /// start of a line), without the line break before it; the boundary line stays unread.
    fn until_boundary(&mut self, core: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let mut searched = 0;
        loop {
            let data = self.available();
            if let Some(end) = find_boundary(data, core, searched) {
                let body = &data[..end];
                let body = body.strip_suffix(b"\n").unwrap_or(body);
                let body = body.strip_suffix(b"\r").unwrap_or(body);
                out.clear();
                out.extend_from_slice(body);
                self.start += end;
                return Ok(());
            }
            searched = data.len().saturating_sub(core.len() + MAX_LINE);
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Everything up to the end of the stream (a snapshot without `Content-Length`).
    fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        while self.fill()? > 0 {}
        out.clear();
        out.extend_from_slice(self.available());
        self.start = self.end;
        Ok(())
    }
}

/// Where the line holding the next boundary starts in `data`, searching from `from`.
fn find_boundary(data: &[u8], core: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + core.len() <= data.len() {
        let i = at + data[at..].windows(core.len()).position(|w| w == core)?;
        let mut j = i;
        while j > 0 && data[j - 1] == b'-' {
            j -= 1;
        }
        if i - j >= 2 && (j == 0 || data[j - 1] == b'\n') {
            return Some(j);
        }
        at = i + 1;
    }
    None
}

/// The boundary of a `multipart/x-mixed-replace; boundary=...` content type, without quotes
/// or leading dashes.
fn boundary_of(content_type: &str) -> Option<String> {
    let lower = content_type.to_ascii_lowercase();
    let at = lower.find("boundary=")?;
    let value = content_type[at + "boundary=".len()..]
        .split(';')
        .next()?
        .trim()
        .trim_matches('"')
        .trim_start_matches('-');
    (!value.is_empty()).then(|| value.to_string())
}

#[derive(Debug)]
enum Mode {
    /// A multipart stream; parts are read from the open response.
    Multipart { boundary: String },
    /// One JPEG per request, polled at `fps`.
    Snapshot { pacer: Pacer, polls: u64 },
}

/// An HTTP MJPEG stream or snapshot URL as a camera.
pub struct MjpegStream {
    url: CameraUrl,
    options: NetworkOptions,
    fps: f64,
    mode: Mode,
    reader: Option<HttpReader>,
    jpeg: Vec<u8>,
    /// The first frame, decoded at open to learn the size.
    pending: Option<crate::video::h264::Picture>,
    pool: RgbPool,
    seq: u64,
    width: u32,
    height: u32,
    open: bool,
}

impl std::fmt::Debug for MjpegStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MjpegStream")
            .field("url", &self.url)
            .field("mode", &self.mode)
            .field("seq", &self.seq)
            .finish()
    }
}

impl MjpegStream {
    /// Connects to `uri` and reads the first frame; `fps` paces snapshot URLs (a stream comes
    /// at the camera's own rate).
    pub fn open(uri: &str, fps: f64, options: NetworkOptions) -> Result<Self, SourceError> {
        let url = CameraUrl::parse(uri, "mjpeg-http")?;
        if url.url.scheme() != "http" {
            return Err(SourceError::BadParameter {
                source_kind: "mjpeg-http",
                parameter: url.shown.clone(),
                expected: "an http:// URL (https:// MJPEG is not in this build: MJPEG cameras \
                           serve plain HTTP; put a TLS-terminating proxy in front of one that \
                           does not)"
                    .into(),
            });
        }
        let mut stream = MjpegStream {
            url,
            options,
            fps: if fps > 0.0 { fps } else { 15.0 },
            mode: Mode::Multipart {
                boundary: String::new(),
            },
            reader: None,
            jpeg: Vec::new(),
            pending: None,
            pool: RgbPool::default(),
            seq: 0,
            width: 0,
            height: 0,
            open: true,
        };
        stream.request()?;
        let first = stream.next_picture()?;
        stream.width = first.width;
        stream.height = first.height;
        stream.pending = Some(first);
        Ok(stream)
    }

    /// `multipart` for a stream, `snapshot` for a single-JPEG URL.
    pub fn mode(&self) -> &'static str {
        match self.mode {
            Mode::Multipart { .. } => "multipart stream",
            Mode::Snapshot { .. } => "snapshot",
        }
    }

    /// Gives a frame's buffer back for reuse.
    pub fn recycle(&mut self, frame: Frame) {
        self.pool.give(frame.rgb);
    }

    fn shown(&self) -> String {
        self.url.shown.clone()
    }

    fn io_error(&self, e: io::Error, doing: &str) -> SourceError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => SourceError::Timeout {
                camera: self.shown(),
                waited: self.options.stall_timeout,
            },
            io::ErrorKind::InvalidData => SourceError::Protocol {
                camera: self.shown(),
                reason: format!("{doing}: {e}"),
            },
            io::ErrorKind::UnexpectedEof => SourceError::Disconnected {
                camera: self.shown(),
                reason: format!("the server closed the connection {doing}"),
            },
            _ => SourceError::Disconnected {
                camera: self.shown(),
                reason: format!("{doing}: {e}"),
            },
        }
    }

    /// Connects, sends the request and reads the response head; sets the mode from the
    /// content type.
    fn request(&mut self) -> Result<(), SourceError> {
        let address = self.url.address(80);
        let unreachable = |reason: String| SourceError::Unreachable {
            camera: self.shown(),
            address: address.clone(),
            reason,
        };
        let addrs: Vec<_> = address
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("cannot resolve the host: {e}")))?
            .collect();
        let mut last = None;
        let mut socket = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, self.options.connect_timeout) {
                Ok(s) => {
                    socket = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let mut socket = socket.ok_or_else(|| {
            unreachable(last.map_or("the host has no address".into(), |e| e.to_string()))
        })?;
        let timeouts = socket
            .set_read_timeout(Some(self.options.stall_timeout))
            .and_then(|()| socket.set_write_timeout(Some(self.options.connect_timeout)));
        timeouts.map_err(|e| unreachable(format!("cannot set socket timeouts: {e}")))?;
        let path = match self.url.url.query() {
            Some(q) => format!("{}?{q}", self.url.url.path()),
            None => self.url.url.path().to_string(),
        };
        let mut head = format!(
            "GET {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: semaforo\r\nAccept: \
             multipart/x-mixed-replace, image/jpeg\r\n",
            self.url.url.host_str().unwrap_or("")
        );
        if let Some((user, password)) = &self.url.credentials {
            let value = basic_authorization(user, password);
            head.push_str(&format!("Authorization: {value}\r\n"));
        }
        head.push_str("\r\n");
        socket
            .write_all(head.as_bytes())
            .map_err(|e| self.io_error(e, "sending the request"))?;
        let mut reader = HttpReader::new(socket);
        let status = reader
            .line()
            .map_err(|e| self.io_error(e, "reading the status line"))?
            .ok_or_else(|| SourceError::Disconnected {
                camera: self.shown(),
                reason: "the server closed the connection without an answer".into(),
            })?;
        let code = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok());
        let headers = read_headers(&mut reader).map_err(|e| self.io_error(e, "reading headers"))?;
        match code {
            Some(200) => {}
            Some(401 | 403) => {
                return Err(SourceError::Unauthorized {
                    camera: self.shown(),
                    detail: if self.url.credentials.is_some() {
                        format!("`{status}` for the user and password in the URL")
                    } else {
                        format!("`{status}`; put user:password@ in the URL")
                    },
                })
            }
            _ => {
                return Err(SourceError::Protocol {
                    camera: self.shown(),
                    reason: format!("`{status}` (expected HTTP 200)"),
                })
            }
        }
        let chunked = header(&headers, "transfer-encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        if chunked {
            reader.start_chunked();
        }
        let content_type = header(&headers, "content-type").unwrap_or_default();
        let lower = content_type.to_ascii_lowercase();
        if lower.starts_with("multipart/") {
            let boundary = boundary_of(&content_type).ok_or_else(|| SourceError::Protocol {
                camera: self.shown(),
                reason: format!("content type `{content_type}` has no boundary"),
            })?;
            self.mode = Mode::Multipart { boundary };
        } else if lower.starts_with("image/jpeg") || lower.starts_with("image/jpg") {
            if let Mode::Multipart { .. } = self.mode {
                self.mode = Mode::Snapshot {
                    pacer: Pacer::new(Pacing::RealTime, Box::new(SystemClocks::new())),
                    polls: 0,
                };
            }
            let length = header(&headers, "content-length").and_then(|v| v.trim().parse().ok());
            let result = match length {
                Some(n) if n <= MAX_FRAME_BYTES => reader.exact(n, &mut self.jpeg),
                Some(n) => {
                    return Err(SourceError::Protocol {
                        camera: self.shown(),
                        reason: format!("a {n}-byte image (at most {MAX_FRAME_BYTES} accepted)"),
                    })
                }
                None => reader.read_to_end(&mut self.jpeg),
            };
            result.map_err(|e| self.io_error(e, "reading the image"))?;
        } else {
            return Err(SourceError::Protocol {
                camera: self.shown(),
                reason: format!(
                    "content type `{content_type}` (expected multipart/x-mixed-replace or \
                     image/jpeg)"
                ),
            });
        }
        self.reader = Some(reader);
        Ok(())
    }

    /// Reads the next part of a multipart stream into `self.jpeg`.
    fn next_part(&mut self) -> Result<(), SourceError> {
        let Mode::Multipart { boundary } = &self.mode else {
            return Ok(());
        };
        let boundary = boundary.clone();
        let Some(reader) = self.reader.as_mut() else {
            return Err(SourceError::Closed);
        };
        let result = (|| -> io::Result<Option<()>> {
            // The boundary line, after any preamble or blank lines.
            let mut skipped = 0;
            loop {
                let Some(line) = reader.line()? else {
                    return Ok(None);
                };
                let core = line.trim().trim_start_matches('-');
                if core == boundary {
                    break;
                }
                if core.strip_suffix("--") == Some(&boundary) {
                    return Ok(None);
                }
                skipped += 1;
                if skipped > MAX_LINES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("no boundary `--{boundary}` in {MAX_LINES} lines"),
                    ));
                }
            }
            let headers = read_headers(reader)?;
            match header(&headers, "content-length").map(|v| v.trim().parse::<usize>()) {
                Some(Ok(n)) if n <= MAX_FRAME_BYTES => reader.exact(n, &mut self.jpeg)?,
                Some(Ok(n)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a {n}-byte part (at most {MAX_FRAME_BYTES} accepted)"),
                    ))
                }
                Some(Err(_)) | None => {
                    reader.until_boundary(boundary.as_bytes(), &mut self.jpeg)?
                }
            }
            Ok(Some(()))
        })();
        match result {
            Ok(Some(())) => Ok(()),
            Ok(None) => Err(SourceError::Disconnected {
                camera: self.shown(),
                reason: "the server ended the stream".into(),
            }),
            Err(e) => Err(self.io_error(e, "reading a frame")),
        }
    }

    fn next_picture(&mut self) -> Result<crate::video::h264::Picture, SourceError> {
        match &mut self.mode {
            Mode::Multipart { .. } => self.next_part()?,
            Mode::Snapshot { .. } if self.reader.is_none() => self.request()?,
            Mode::Snapshot { .. } => {}
        }
        if let Mode::Snapshot { .. } = self.mode {
            // A snapshot connection answers once.
            self.reader = None;
        }
        still::decode_jpeg(&self.jpeg, &mut self.pool).map_err(|e| SourceError::Image {
            camera: self.shown(),
            what: format!("frame {}", self.seq),
            reason: e.to_string(),
        })
    }
}

fn read_headers(reader: &mut HttpReader) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = reader.line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        if line.trim().is_empty() {
            return Ok(headers);
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        if headers.len() > MAX_LINES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than {MAX_LINES} header lines"),
            ));
        }
    }
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

impl CameraDevice for MjpegStream {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Closed);
        }
        let picture = match self.pending.take() {
            Some(p) => p,
            None => {
                if let Mode::Snapshot { pacer, polls } = &mut self.mode {
                    *polls += 1;
                    pacer.wait_for(Duration::from_secs_f64(*polls as f64 / self.fps));
                }
                self.next_picture()?
            }
        };
        self.width = picture.width;
        self.height = picture.height;
        Ok(picture.into_frame(&mut self.seq))
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        match property {
            CameraProperty::FrameWidth => Some(self.width as f64),
            CameraProperty::FrameHeight => Some(self.height as f64),
            CameraProperty::Fps => match self.mode {
                Mode::Snapshot { .. } => Some(self.fps),
                // A stream's rate is the camera's; HTTP does not say it.
                Mode::Multipart { .. } => None,
            },
            _ => None,
        }
    }

    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), SourceError> {
        match (property, &self.mode) {
            (CameraProperty::Fps, Mode::Snapshot { .. }) if (0.1..=60.0).contains(&value) => {
                self.fps = value;
                Ok(())
            }
            _ => Err(SourceError::BadSetting {
                property: "property",
                value,
                expected: format!(
                    "nothing settable on {} (an MJPEG {} sets its own size and rate; a \
                     snapshot URL takes fps from 0.1 to 60)",
                    self.url.shown,
                    self.mode()
                ),
            }),
        }
    }

    fn is_opened(&self) -> bool {
        self.open
    }

    fn release(&mut self) {
        self.open = false;
        if let Some(reader) = self.reader.take() {
            let _ = reader.stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_body_is_decoded_across_any_split_of_its_bytes() {
        let body = b"--ffmpeg\r\nContent-type: image/jpeg\r\n\r\nJPEGDATA\r\n";
        let mut encoded = Vec::new();
        for piece in body.chunks(7) {
            encoded.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
            encoded.extend_from_slice(piece);
            encoded.extend_from_slice(b"\r\n");
        }
        encoded.extend_from_slice(b"0\r\n\r\n");
        for split in [1, 3, 5, 64] {
            let mut chunked = Chunked::default();
            let mut decoded = Vec::new();
            for raw in encoded.chunks(split) {
                chunked.raw.extend_from_slice(raw);
                let mut out = [0u8; 4];
                loop {
                    let n = chunked.decode(&mut out).unwrap();
                    if n == 0 {
                        break;
                    }
                    decoded.extend_from_slice(&out[..n]);
                }
            }
            assert_eq!(decoded, body, "split every {split} bytes");
            assert!(chunked.ended);
        }
        let mut bad = Chunked {
            raw: b"zz\r\n".to_vec(),
            ..Chunked::default()
        };
        let err = bad.decode(&mut [0u8; 8]).unwrap_err().to_string();
        assert!(err.contains("chunk size `zz` is not hexadecimal"), "{err}");
    }

    #[test]
    fn boundaries_are_found_with_or_without_their_dashes() {
        assert_eq!(
            boundary_of("multipart/x-mixed-replace; boundary=frame").as_deref(),
            Some("frame")
        );
        assert_eq!(
            boundary_of("multipart/x-mixed-replace;boundary=\"--myboundary\"").as_deref(),
            Some("myboundary")
        );
        assert_eq!(boundary_of("multipart/x-mixed-replace"), None);
    }

    #[test]
    fn a_boundary_line_is_found_only_at_the_start_of_a_line() {
        let data = b"\xff\xd8 ab--frame cd\r\n--frame\r\n";
        assert_eq!(find_boundary(data, b"frame", 0), Some(17));
        assert_eq!(find_boundary(b"x\n----frame", b"frame", 0), Some(2));
        assert_eq!(find_boundary(b"x-frame", b"frame", 0), None);
    }
}
