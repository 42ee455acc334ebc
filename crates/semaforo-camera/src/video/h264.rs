//! H.264 decoding with OpenH264, into RGB buffers that are recycled.
//!
//! Two traps, both met on real camera files:
//!
//! - The `openh264` crate's decoder flushes after every `decode()` by default. With B-frames
//!   (High and Main profile streams from most IP cameras and phones) that pushes pictures out
//!   before the frames that precede them in display order have arrived: wrong order, broken
//!   references. So the decoder runs with [`Flush::NoFlush`] and the pictures still held at
//!   the end of the stream come out through `flush_remaining()`.
//! - MP4 stores length-prefixed NAL units without parameter sets; see [`super::annexb`].

use std::collections::VecDeque;

use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::annexb::{AnnexBWriter, AvccError};

/// Why OpenH264 could not start or decode. The caller names the file or camera and the frame.
#[derive(Debug, thiserror::Error)]
pub enum H264Error {
    #[error("OpenH264 did not start: {reason}")]
    Start { reason: String },
    /// A sample's NAL unit lengths do not fit it (the error gives the byte and the sample's
    /// size).
    #[error(transparent)]
    Sample(#[from] AvccError),
    /// OpenH264 refused a sample of `size` bytes (or, with `size` 0, the end-of-stream flush).
    #[error("{reason}")]
    Decode { size: usize, reason: String },
}

/// A decoded picture in RGB.
#[derive(Debug)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Picture {
    /// The picture as a source's next frame: numbered `*seq` (which then moves on), stamped
    /// with the time it is handed out.
    pub(crate) fn into_frame(self, seq: &mut u64) -> crate::Frame {
        let frame = crate::Frame {
            seq: *seq,
            captured: std::time::SystemTime::now(),
            width: self.width,
            height: self.height,
            rgb: self.rgb,
        };
        *seq += 1;
        frame
    }
}

/// RGB buffers handed back by consumers, reused for the next pictures.
#[derive(Debug, Default)]
pub struct RgbPool {
    free: Vec<Vec<u8>>,
}

impl RgbPool {
    /// Keeps at most this many spare buffers: enough for the pictures a B-frame stream
    /// releases at once at the end of the file, plus a consumer's few frames in flight.
    pub const CAPACITY: usize = 8;

    pub fn give(&mut self, buffer: Vec<u8>) {
        if self.free.len() < Self::CAPACITY && buffer.capacity() > 0 {
            self.free.push(buffer);
        }
    }

    pub fn take(&mut self, len: usize) -> Vec<u8> {
        let mut buffer = self.free.pop().unwrap_or_default();
        // A reused buffer of the same size is not touched; only a new or resized one is filled.
        buffer.resize(len, 0);
        buffer
    }

    #[cfg(test)]
    pub fn spare(&self) -> usize {
        self.free.len()
    }
}

/// The YUV 4:2:0 picture OpenH264 returns, converted to RGB (BT.601, limited range, as
/// cameras encode; the same conversion FFmpeg applies to untagged streams).
pub fn to_rgb(yuv: &DecodedYUV<'_>, pool: &mut RgbPool) -> Picture {
    let (width, height) = yuv.dimensions();
    let mut rgb = pool.take(width * height * 3);
    yuv.write_rgb8(&mut rgb);
    Picture {
        width: width as u32,
        height: height as u32,
        rgb,
    }
}

/// An OpenH264 decoder fed with MP4 samples.
pub struct H264Decoder {
    decoder: Decoder,
    annexb: AnnexBWriter,
}

impl H264Decoder {
    pub fn new(length_size: usize, sps: &[Vec<u8>], pps: &[Vec<u8>]) -> Result<Self, H264Error> {
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder =
            Decoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| {
                H264Error::Start {
                    reason: e.to_string(),
                }
            })?;
        let sps: Vec<&[u8]> = sps.iter().map(Vec::as_slice).collect();
        let pps: Vec<&[u8]> = pps.iter().map(Vec::as_slice).collect();
        Ok(H264Decoder {
            decoder,
            annexb: AnnexBWriter::new(length_size, &sps, &pps),
        })
    }

    /// Decodes one MP4 sample (`sync` when it is an IDR); a picture that becomes ready is
    /// converted to RGB (in a buffer from `pool`) and queued on `ready`, in display order.
    pub fn decode(
        &mut self,
        sample: &[u8],
        sync: bool,
        pool: &mut RgbPool,
        ready: &mut VecDeque<Picture>,
    ) -> Result<(), H264Error> {
        let stream = self.annexb.convert(sample, sync)?;
        match self.decoder.decode(stream) {
            Ok(Some(picture)) => ready.push_back(to_rgb(&picture, pool)),
            Ok(None) => {}
            Err(e) => {
                return Err(H264Error::Decode {
                    size: sample.len(),
                    reason: e.to_string(),
                })
            }
        }
        Ok(())
    }

    /// Hands out the pictures the decoder still holds (the B-frame reorder delay) at the end
    /// of the stream.
    pub fn flush(
        &mut self,
        pool: &mut RgbPool,
        ready: &mut VecDeque<Picture>,
    ) -> Result<(), H264Error> {
        let pictures = self
            .decoder
            .flush_remaining()
            .map_err(|e| H264Error::Decode {
                size: 0,
                reason: e.to_string(),
            })?;
        for picture in &pictures {
            ready.push_back(to_rgb(picture, pool));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_keeps_a_bounded_number_of_buffers() {
        let mut pool = RgbPool::default();
        for _ in 0..20 {
            pool.give(vec![0; 12]);
        }
        assert_eq!(pool.spare(), RgbPool::CAPACITY);
        let reused = pool.take(12);
        assert_eq!(reused.len(), 12);
        assert_eq!(pool.spare(), RgbPool::CAPACITY - 1);
        pool.give(Vec::new());
        assert_eq!(
            pool.spare(),
            RgbPool::CAPACITY - 1,
            "empty buffers are not kept"
        );
    }
}
