//! A camera's saved background model (`state/background-<camera>.bin`, read at start): the
//! input is laid over a real saved model of a small picture (a fresh 64x48 model's state), its
//! checksum made right so that the header, the pixels and what the network taught (the end of
//! the file) are what is explored, then restored against a frame. A restore either works or
//! says why; the model stays usable.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use semaforo_camera::Frame;
use semaforo_vision::{BackgroundSubtractor, BgSubOptions, Detector, ZoneSet};

const W: u32 = 64;
const H: u32 = 48;

fn model() -> BackgroundSubtractor {
    let zones = ZoneSet::whole_frame(W, H, "A");
    BackgroundSubtractor::new(W, H, &zones, BgSubOptions::default()).expect("a 64x48 model")
}

fn saved() -> &'static [u8] {
    static SAVED: OnceLock<Vec<u8>> = OnceLock::new();
    SAVED.get_or_init(|| {
        let mut model = model();
        let frame = Frame::black(W, H);
        let mut out = Vec::new();
        for _ in 0..3 {
            model.detect(&frame, &mut out).expect("a black frame");
        }
        model.save_state()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut state = saved().to_vec();
    let body = state.len() - 4;
    // The first input byte says where the rest goes; the rest overwrites from there.
    let (at, rest) = match data.split_first() {
        Some((&first, rest)) => ((usize::from(first) * 61) % body, rest),
        None => (0, data),
    };
    let end = (at + rest.len()).min(body);
    state[at..end].copy_from_slice(&rest[..end - at]);
    // A short input also stands for a torn file.
    if data.len() % 7 == 3 {
        state.truncate(at.max(1));
    } else {
        let crc = crc32fast::hash(&state[..body]);
        state[body..].copy_from_slice(&crc.to_le_bytes());
    }
    let mut model = model();
    let frame = Frame::black(W, H);
    if let Err(e) = model.restore_state(&state, &frame) {
        let _ = e.to_string();
    }
    let mut out = Vec::new();
    model
        .detect(&frame, &mut out)
        .expect("the model still runs");
});
