//! MP4 samples to the byte stream a decoder reads.
//!
//! MP4 and MOV store H.264 as AVCC: each NAL unit is prefixed by its length (1, 2 or 4 bytes,
//! as the `avcC` box says), and the sequence and picture parameter sets (SPS/PPS) live once in
//! `avcC` instead of in the stream. OpenH264, like every Annex B decoder, wants start codes
//! (`00 00 00 01`) and the parameter sets in band. So each sample is rewritten with start codes,
//! and the parameter sets from `avcC` are put before every sync (IDR) sample: the decoder then
//! has them whichever IDR it starts from (the first, or the first after a loop).

/// The Annex B start code.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Why a sample could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvccError {
    #[error(
        "a NAL unit length of {length} bytes at byte {at} runs past the sample's {size} bytes"
    )]
    Truncated {
        at: usize,
        length: usize,
        size: usize,
    },
}

/// Rewrites AVCC samples into Annex B, reusing one output buffer.
#[derive(Debug, Clone)]
pub struct AnnexBWriter {
    length_size: usize,
    /// SPS and PPS units, each with its start code, ready to copy before an IDR.
    parameter_sets: Vec<u8>,
    out: Vec<u8>,
}

impl AnnexBWriter {
    /// `length_size` is `avcC`'s `lengthSizeMinusOne + 1` (1, 2 or 4); `sps` and `pps` are the
    /// parameter sets from `avcC`, without length prefixes.
    pub fn new(length_size: usize, sps: &[&[u8]], pps: &[&[u8]]) -> Self {
        let mut parameter_sets = Vec::new();
        for unit in sps.iter().chain(pps) {
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(unit);
        }
        AnnexBWriter {
            length_size,
            parameter_sets,
            out: Vec::new(),
        }
    }

    /// The Annex B form of `sample`, with the parameter sets first when `sync` (an IDR sample).
    /// The slice is valid until the next call.
    pub fn convert(&mut self, sample: &[u8], sync: bool) -> Result<&[u8], AvccError> {
        self.out.clear();
        if sync {
            self.out.extend_from_slice(&self.parameter_sets);
        }
        let mut at = 0;
        while at < sample.len() {
            let header_end = at + self.length_size;
            if header_end > sample.len() {
                return Err(AvccError::Truncated {
                    at,
                    length: self.length_size,
                    size: sample.len(),
                });
            }
            let length = sample[at..header_end]
                .iter()
                .fold(0usize, |n, &b| (n << 8) | b as usize);
            let end = header_end.saturating_add(length);
            if end > sample.len() {
                return Err(AvccError::Truncated {
                    at,
                    length,
                    size: sample.len(),
                });
            }
            // Some encoders pad samples with zero-length units; they carry nothing.
            if length > 0 {
                self.out.extend_from_slice(&START_CODE);
                self.out.extend_from_slice(&sample[header_end..end]);
            }
            at = end;
        }
        Ok(&self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_become_start_codes_and_idrs_get_the_parameter_sets() {
        let mut w = AnnexBWriter::new(4, &[&[0x67, 1, 2]], &[&[0x68, 3]]);
        let sample = [0, 0, 0, 2, 0x65, 9, 0, 0, 0, 1, 0x06];
        assert_eq!(
            w.convert(&sample, true).unwrap(),
            &[0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9, 0, 0, 0, 1, 0x06]
        );
        assert_eq!(
            w.convert(&[0, 0, 0, 1, 0x41], false).unwrap(),
            &[0, 0, 0, 1, 0x41]
        );
    }

    #[test]
    fn two_byte_lengths_and_empty_units_are_handled() {
        let mut w = AnnexBWriter::new(2, &[], &[]);
        assert_eq!(
            w.convert(&[0, 0, 0, 1, 0x41], false).unwrap(),
            &[0, 0, 0, 1, 0x41]
        );
    }

    #[test]
    fn a_length_past_the_end_is_an_error_not_a_panic() {
        let mut w = AnnexBWriter::new(4, &[], &[]);
        assert_eq!(
            w.convert(&[0, 0, 0, 9, 0x41], false).unwrap_err(),
            AvccError::Truncated {
                at: 0,
                length: 9,
                size: 5
            }
        );
        assert!(w.convert(&[0, 0], false).is_err());
    }
}
