//! MP4/MOV files as a video camera: the container reader (our box walk, then the `mp4`
//! crate), the `avcC` parameter sets, the timing tables, and the first few samples rewritten
//! to Annex B and decoded by OpenH264, as `VideoFile` does for `file:` cameras.

#![no_main]

use libfuzzer_sys::fuzz_target;
use semaforo_camera::{Pacing, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;

/// Frames read from a file that opens: enough to go past the first IDR and, in a short file,
/// to loop.
const FRAMES: usize = 6;

fuzz_target!(|data: &[u8]| {
    let path = semaforo_fuzz::scratch_file("clip.mp4", data);
    let options = VideoFileOptions {
        looping: true,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = match VideoFile::open(&path, options) {
        Ok(video) => video,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (
        video.codec(),
        video.frame_count(),
        video.fps(),
        video.duration(),
    );
    for _ in 0..FRAMES {
        match video.read() {
            Ok(frame) => video.recycle(frame),
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
});
