//! The `ffmpeg` feature: files decoded through the system's FFmpeg libraries, compared with
//! the `ffmpeg` command line (on one thread and with frame threads; with rows converted in
//! place and with rows FFmpeg pads), and an H.265 file (which OpenH264 cannot decode) opened by
//! its bare path, falling back to FFmpeg.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line
#![cfg(feature = "ffmpeg")]

mod fixtures;

use std::path::Path;

use semaforo_camera::{Frame, Requested, Source, SourceError};
use semaforo_resources::{CameraDevice, CameraProperty};

const REQ: Requested = Requested {
    width: 640,
    height: 352,
    fps: 15.0,
};

fn read_all(source: &mut Source) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        match source.read() {
            Ok(frame) => frames.push(frame),
            Err(SourceError::EndOfStream { frames: n, .. }) => {
                assert_eq!(n as usize, frames.len());
                return frames;
            }
            Err(e) => panic!("frame {} did not decode: {e}", frames.len()),
        }
    }
}

#[test]
fn street_a_decodes_through_ffmpeg_like_the_ffmpeg_command() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    if !fixtures::ffmpeg() {
        return;
    }
    let mut source = Source::open(&format!("ffmpeg:{}", clip.display()), REQ).unwrap();
    assert_eq!(
        source.codec(),
        Some("H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (FFmpeg)")
    );
    assert!(source.ends());
    assert_eq!(source.get(CameraProperty::FrameWidth), Some(640.0));
    // The same decoder and the same bicubic swscale conversion: identical.
    street_a_in_order_and_as_the_ffmpeg_command_decodes_it(&mut source, &clip, &[0, 500, 1037]);
}

#[test]
fn frame_threads_give_the_same_frames_in_the_same_order() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    if !fixtures::ffmpeg() {
        return;
    }
    let uri = format!("ffmpeg:{}?threads=2", clip.display());
    let mut source = Source::open(&uri, REQ).unwrap();
    let indices = [0, 1, 2, 500, 1036, 1037];
    street_a_in_order_and_as_the_ffmpeg_command_decodes_it(&mut source, &clip, &indices);
}

/// Reads `source`, street-a, to its end: all 1038 frames, numbered in order, and those at
/// `indices` bit-identical to the `ffmpeg` command's RGB of `clip`.
fn street_a_in_order_and_as_the_ffmpeg_command_decodes_it(
    source: &mut Source,
    clip: &Path,
    indices: &[u64],
) {
    let mut count = 0u64;
    let mut sampled = Vec::new();
    loop {
        match source.read() {
            Ok(frame) => {
                assert_eq!(frame.seq, count);
                if indices.contains(&count) {
                    sampled.push(frame.rgb.clone());
                }
                count += 1;
                source.recycle(frame);
            }
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("frame {count}: {e}"),
        }
    }
    assert_eq!(count, 1038);
    let dir = tempfile::tempdir().unwrap();
    let reference = fixtures::ffmpeg_rgb_frames(clip, indices, dir.path());
    for ((ours, theirs), index) in sampled.iter().zip(&reference).zip(indices) {
        assert_eq!(fixtures::max_abs_diff(ours, theirs), 0, "frame {index}");
    }
}

#[test]
fn rows_that_ffmpeg_pads_are_packed_like_the_ffmpeg_commands() {
    if !fixtures::ffmpeg() || !fixtures::ffmpeg_encoder("libx264") {
        return;
    }
    // 330 pixels are 990 bytes of RGB, which FFmpeg pads to 992 in its own frames: converted
    // there and copied out row by row.
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("odd-width.mp4");
    one_second_of_testsrc(&clip, "330x186", &["-c:v", "libx264"]);
    let mut source = Source::open(&format!("ffmpeg:{}", clip.display()), REQ).unwrap();
    let frames = read_all(&mut source);
    assert_eq!((frames[0].width, frames[0].height), (330, 186));
    first_and_last_are_the_ffmpeg_commands(&frames, &clip, dir.path());
}

#[test]
fn a_bad_threads_value_is_refused_at_open_naming_it() {
    let err = Source::open("ffmpeg:clip.mkv?threads=lots", REQ).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ffmpeg parameter `threads=lots in ffmpeg:clip.mkv?threads=lots` is not valid: \
         expected threads=auto or threads=N, N decoding threads from 1 to 16"
    );
}

#[test]
fn an_h265_file_falls_back_to_ffmpeg() {
    if !fixtures::ffmpeg() || !fixtures::ffmpeg_encoder("libx265") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("hevc.mp4");
    let hevc = [
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=error",
        "-tag:v",
        "hvc1",
    ];
    one_second_of_testsrc(&clip, "320x240", &hevc);
    let mut source = Source::open(clip.to_str().unwrap(), REQ).unwrap();
    assert!(
        source
            .codec()
            .is_some_and(|c| c.contains("HEVC") && c.ends_with("(FFmpeg)")),
        "{:?}",
        source.codec()
    );
    let frames = read_all(&mut source);
    first_and_last_are_the_ffmpeg_commands(&frames, &clip, dir.path());
}

/// Writes one second of FFmpeg's test pattern at `size` (25 frames, 4:2:0) to `clip`, encoded
/// with `codec` (`-c:v` and its options).
fn one_second_of_testsrc(clip: &Path, size: &str, codec: &[&str]) {
    let pattern = format!("testsrc=size={size}:rate=25");
    let mut args = vec!["-f", "lavfi", "-i", &pattern, "-t", "1"];
    args.extend_from_slice(codec);
    args.extend(["-pix_fmt", "yuv420p", clip.to_str().unwrap()]);
    fixtures::run_ffmpeg(&args);
}

/// `frames` are one second of the test pattern, the first and the last bit-identical to the
/// `ffmpeg` command's RGB of `clip`.
fn first_and_last_are_the_ffmpeg_commands(frames: &[Frame], clip: &Path, dir: &Path) {
    assert_eq!(frames.len(), 25);
    let reference = fixtures::ffmpeg_rgb_frames(clip, &[0, 24], dir);
    assert_eq!(fixtures::max_abs_diff(&frames[0].rgb, &reference[0]), 0);
    assert_eq!(fixtures::max_abs_diff(&frames[24].rgb, &reference[1]), 0);
}

#[test]
fn a_missing_file_is_named() {
    let err = Source::open("ffmpeg:/no/such/clip.mkv", REQ).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read video file /no/such/clip.mkv"),
        "{err}"
    );
}
