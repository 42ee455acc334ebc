//! The H.264 path of RTSP cameras: an `avcC` record (`parse_avcc`, from the SDP or the first
//! packets) gives the NAL length size and the parameter sets, and each sample is rewritten
//! from length-prefixed NAL units to an Annex B stream (`AnnexBWriter`), what OpenH264 reads.
//! MP4 files take the same rewriting (the `mp4` target decodes it too).
//!
//! Input: a 2-byte big-endian word whose top bit is the sample's sync flag and whose other 15
//! bits are the record's length; the record; then the sample.

#![no_main]

use libfuzzer_sys::fuzz_target;
use semaforo_camera::rtsp::parse_avcc;
use semaforo_camera::video::AnnexBWriter;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let word = u16::from_be_bytes(*head);
    let sync = word & 0x8000 != 0;
    let (record, sample) = rest.split_at(usize::from(word & 0x7fff).min(rest.len()));
    let config = match parse_avcc(record) {
        Ok(config) => config,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!((1..=4).contains(&config.length_size));
    let sps: Vec<&[u8]> = config.sps.iter().map(Vec::as_slice).collect();
    let pps: Vec<&[u8]> = config.pps.iter().map(Vec::as_slice).collect();
    let parameter_sets: usize = sps.iter().chain(&pps).map(|unit| 4 + unit.len()).sum();
    let mut writer = AnnexBWriter::new(config.length_size, &sps, &pps);
    let stream = match writer.convert(sample, sync) {
        Ok(stream) => stream,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    // Each unit's length prefix becomes a start code, and the parameter sets lead a sync
    // sample: the stream is never longer than that.
    let prefixes = sample.len() / config.length_size;
    assert!(stream.len() <= usize::from(sync) * parameter_sets + sample.len() + 4 * prefixes);
    assert!(stream.is_empty() || stream.starts_with(&START_CODE));
});
