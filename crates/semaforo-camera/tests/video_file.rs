//! Video files end to end: the real footage decodes completely and like FFmpeg, looping and
//! pacing behave, other H.264 profiles and MOV decode, and bad inputs give errors that name
//! the file and what is wrong with it.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod fixtures;

use std::path::Path;
use std::time::Duration;

use semaforo_base::{Clocks, SimulatedClocks};
use semaforo_camera::video::property;
use semaforo_camera::{Frame, Pacing, Requested, Source, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::{CameraDevice, CameraProperty};

const FAST: VideoFileOptions = VideoFileOptions {
    looping: false,
    pacing: Pacing::AsFastAsPossible,
};

/// Mean absolute difference per channel allowed against FFmpeg's RGB (0-255 levels). The H.264
/// decode itself is bit-exact; what differs is the YUV to RGB step, both BT.601 limited range
/// with nearest-neighbour chroma but rounded differently: on street-a OpenH264's converter
/// comes out 0 to 3 levels above swscale's (means 0.8 / 1.35 / 1.0 for R / G / B).
const MAX_MEAN_ABS_DIFF: f64 = 1.5;
/// No single value may differ by more than this: a decoding error (a wrong reference, a
/// frame out of order) moves whole blocks by tens of levels. Street-a stays within 3. A
/// Main-profile clip with B-pyramids (below) has a few dozen pixels in a few B-frames where
/// OpenH264's prediction differs from FFmpeg's by up to 4 levels (measured against FFmpeg's
/// own YUV put through the same conversion), hence the margin.
const MAX_ABS_DIFF: u8 = 8;

fn read_all(clip: &mut VideoFile) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        match clip.read() {
            Ok(frame) => frames.push(frame),
            Err(SourceError::EndOfStream { .. }) => return frames,
            Err(e) => panic!("frame {} did not decode: {e}", frames.len()),
        }
    }
}

#[test]
fn every_frame_of_street_a_decodes_in_order() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let mut video = VideoFile::open(&clip, FAST).unwrap();
    assert_eq!(video.codec(), "H.264 High");
    assert_eq!(video.frame_count(), 1038);
    assert!((video.fps() - 59.94).abs() < 0.01, "fps {}", video.fps());
    assert_eq!(video.get(property::FRAME_COUNT), Some(1038.0));
    let mut count = 0u64;
    loop {
        match video.read() {
            Ok(frame) => {
                assert_eq!(frame.seq, count);
                assert_eq!((frame.width, frame.height), (640, 352));
                assert_eq!(frame.rgb.len(), 640 * 352 * 3);
                count += 1;
                video.recycle(frame);
            }
            Err(SourceError::EndOfStream { path, frames }) => {
                assert_eq!((path.as_path(), frames), (clip.as_path(), 1038));
                break;
            }
            Err(e) => panic!("frame {count} did not decode: {e}"),
        }
    }
    assert_eq!(count, 1038);
    let err = video.read().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("end of {} after 1038 frames", clip.display())
    );
}

#[test]
fn sampled_street_a_frames_match_ffmpeg() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    if !fixtures::ffmpeg() {
        return;
    }
    // The first frames (I, then B-frames decoded after the P they precede), a middle
    // stretch, and the last frames, which only come out of the decoder's final flush.
    let indices = [0, 1, 2, 3, 4, 5, 100, 101, 517, 518, 519, 1035, 1036, 1037];
    let dir = tempfile::tempdir().unwrap();
    let expected = fixtures::ffmpeg_rgb_frames(&clip, &indices, dir.path());
    let frames = read_all(&mut VideoFile::open(&clip, FAST).unwrap());
    assert_eq!(frames.len(), 1038);
    for (i, want) in indices.iter().zip(&expected) {
        let mad = fixtures::mean_abs_diff(&frames[*i as usize].rgb, want);
        let max = fixtures::max_abs_diff(&frames[*i as usize].rgb, want);
        eprintln!("frame {i}: mean |ours - ffmpeg| per channel = {mad:.3?}, max {max}");
        assert!(max <= MAX_ABS_DIFF, "frame {i}: a value differs by {max}");
        assert!(
            mad.iter().all(|&d| d <= MAX_MEAN_ABS_DIFF),
            "frame {i} differs from FFmpeg's by {mad:?} (allowed {MAX_MEAN_ABS_DIFF})"
        );
    }
}

#[test]
fn looping_wraps_to_frame_zero_with_seq_continuing() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let mut video = Source::open(
        &format!("file:{}?loop=true&pace=fast", clip.display()),
        Requested {
            width: 320,
            height: 240,
            fps: 10.0,
        },
    )
    .unwrap();
    assert!(!video.ends());
    let first = video.read().unwrap();
    for _ in 1..1038 {
        let frame = video.read().unwrap();
        video.recycle(frame);
    }
    assert_eq!(video.get(property::POS_FRAMES), Some(1038.0));
    let wrapped = video.read().unwrap();
    assert_eq!(wrapped.seq, 1038);
    assert!(
        wrapped.rgb == first.rgb,
        "after the wrap comes frame 0 again"
    );
    assert_eq!(video.get(property::POS_FRAMES), Some(1.0));
    assert_eq!(video.read().unwrap().seq, 1039);
}

#[test]
fn real_time_pacing_hands_each_frame_out_at_its_presentation_time() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let clock = SimulatedClocks::new();
    clock.advance(Duration::from_secs(3600)); // the clock's origin is not the file's
    let options = VideoFileOptions {
        looping: true,
        pacing: Pacing::RealTime,
    };
    let mut video = VideoFile::open_with_clock(&clip, options, Box::new(clock.clone())).unwrap();
    let opened = clock.monotonic();
    // 60000/1001 fps: frame k is due k * 1001/60000 s after open.
    let due = |k: u64| Duration::from_nanos(k * 1_001_000_000_000 / 60_000);
    let close = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_micros(50);
    for k in 0..10 {
        let frame = video.read().unwrap();
        assert_eq!(frame.seq, k);
        assert!(
            close(clock.monotonic() - opened, due(k)),
            "frame {k} came out at {:?}, due at {:?}",
            clock.monotonic() - opened,
            due(k)
        );
        video.recycle(frame);
    }
    // A consumer that falls a second behind gets the next frames at once, none skipped.
    clock.advance(Duration::from_secs(1));
    let before = clock.monotonic();
    let frame = video.read().unwrap();
    assert_eq!(
        (frame.seq, clock.monotonic()),
        (10, before),
        "read without sleeping"
    );
    video.recycle(frame);
    // Across a loop the timeline goes on: the first frame of the second pass is due one file
    // duration after open.
    for _ in 11..1038 {
        let frame = video.read().unwrap();
        video.recycle(frame);
    }
    video.read().unwrap();
    assert!(
        close(clock.monotonic() - opened, video.duration()),
        "{:?} vs {:?}",
        clock.monotonic() - opened,
        video.duration()
    );
    assert!(close(video.duration(), due(1038)));
}

/// Makes a short clip with FFmpeg's test source: `extra` are the encoder arguments.
fn make_clip(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "40",
    ];
    args.extend_from_slice(extra);
    args.push(out.to_str().expect("a UTF-8 path"));
    fixtures::run_ffmpeg(&args);
    out
}

fn assert_matches_ffmpeg(clip: &Path, frames: usize, dir: &Path) {
    let mut video = VideoFile::open(clip, FAST).unwrap();
    let ours = read_all(&mut video);
    assert_eq!(ours.len(), frames, "{}", clip.display());
    let indices: Vec<u64> = (0..frames as u64).collect();
    let theirs = fixtures::ffmpeg_rgb_frames(clip, &indices, dir);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let mad = fixtures::mean_abs_diff(&a.rgb, b);
        let max = fixtures::max_abs_diff(&a.rgb, b);
        assert!(
            max <= MAX_ABS_DIFF,
            "{} frame {i}: a value differs by {max}",
            clip.display()
        );
        assert!(
            mad.iter().all(|&d| d <= MAX_MEAN_ABS_DIFF),
            "{} frame {i} differs from FFmpeg's by {mad:?}",
            clip.display()
        );
    }
}

#[test]
fn baseline_and_main_profile_clips_in_mp4_and_mov_match_ffmpeg() {
    if !fixtures::ffmpeg() || !fixtures::ffmpeg_encoder("libx264") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let baseline = make_clip(
        dir.path(),
        "baseline.mp4",
        &[
            "-c:v",
            "libx264",
            "-profile:v",
            "baseline",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    assert_eq!(
        VideoFile::open(&baseline, FAST).unwrap().codec(),
        "H.264 Constrained Baseline"
    );
    assert_matches_ffmpeg(&baseline, 40, dir.path());
    // Main profile with B-frame pyramids, as many cameras record, in a QuickTime container.
    let main = make_clip(
        dir.path(),
        "main-bframes.mov",
        &[
            "-c:v",
            "libx264",
            "-profile:v",
            "main",
            "-pix_fmt",
            "yuv420p",
            "-bf",
            "3",
            "-x264-params",
            "b-pyramid=normal:keyint=12",
        ],
    );
    assert_eq!(VideoFile::open(&main, FAST).unwrap().codec(), "H.264 Main");
    assert_matches_ffmpeg(&main, 40, dir.path());
}

fn open_err(path: &Path) -> String {
    VideoFile::open(path, FAST).unwrap_err().to_string()
}

#[test]
fn a_missing_file_a_text_file_and_a_damaged_file_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.mp4");
    let err = open_err(&missing);
    assert!(
        err.starts_with(&format!("cannot read video file {}: ", missing.display())),
        "{err}"
    );

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video, just some notes\n").unwrap();
    assert_eq!(
        open_err(&text),
        format!(
            "{} is not an MP4/MOV video file: it does not start with an MP4/MOV box (its \
             first bytes are \"this is \")",
            text.display()
        )
    );

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert!(open_err(&empty).contains("only 0 bytes long"));

    // The first 300 kB of a real file whose index comes first: the index is whole, the frames
    // are cut off after the first few. Those are read; the first that is not all there ends
    // the file, saying where.
    if let Some(clip) = semaforo_testkit::street_a() {
        let bytes = std::fs::read(&clip).unwrap();
        let cut = dir.path().join("cut.mp4");
        std::fs::write(&cut, &bytes[..300_000]).unwrap();
        let mut video = VideoFile::open(&cut, FAST).unwrap();
        let mut frames = 0;
        let err = loop {
            match video.read() {
                Ok(_) => frames += 1,
                Err(e) => break e,
            }
        };
        assert!(frames > 0, "the frames before the cut are read");
        assert!(
            matches!(
                err,
                SourceError::Truncated {
                    size: 300_000,
                    samples: 1038,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{} is cut short at byte 300000", cut.display())),
            "{err}"
        );
        // Cut inside its first box, a file is no video at all.
        std::fs::write(&cut, &bytes[..20]).unwrap();
        let err = open_err(&cut);
        assert!(
            err.starts_with(&format!("{} is not an MP4/MOV video file", cut.display())),
            "{err}"
        );
    }
}

#[test]
fn a_fragmented_mp4_is_refused_saying_how_to_make_it_plain() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    if !fixtures::ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fragmented = dir.path().join("fragmented.mp4");
    fixtures::run_ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-t",
        "1",
        "-c",
        "copy",
        "-movflags",
        "frag_keyframe+empty_moov",
        fragmented.to_str().unwrap(),
    ]);
    let message = open_err(&fragmented);
    assert!(
        message.contains("it is a fragmented MP4") && message.contains("ffmpeg -i IN -c copy"),
        "{message}"
    );
}

#[test]
fn a_file_without_video_and_unsupported_codecs_say_what_they_hold() {
    if !fixtures::ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("voice.m4a");
    fixtures::run_ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=0.5",
        "-c:a",
        "aac",
        audio.to_str().unwrap(),
    ]);
    assert_eq!(
        open_err(&audio),
        format!(
            "{} has no video track (it holds: audio AAC/MPEG-4 audio (mp4a))",
            audio.display()
        )
    );

    if fixtures::ffmpeg_encoder("libx264") {
        let full_chroma = make_clip(
            dir.path(),
            "444.mp4",
            &["-c:v", "libx264", "-pix_fmt", "yuv444p"],
        );
        assert_eq!(
            open_err(&full_chroma),
            format!(
                "{}: H.264 High 4:4:4 Predictive (profile 244) video is not supported: this \
                 build decodes H.264 (avc1) in the Constrained Baseline, Baseline, Main and \
                 High profiles",
                full_chroma.display()
            )
        );
    }

    if fixtures::ffmpeg_encoder("libx265") {
        // FFmpeg tags H.265 in MP4 as hev1 by default; Apple, and most cameras, as hvc1.
        for tag in ["hev1", "hvc1"] {
            let hevc = make_clip(
                dir.path(),
                &format!("{tag}.mp4"),
                &[
                    "-c:v",
                    "libx265",
                    "-x265-params",
                    "log-level=error",
                    "-tag:v",
                    tag,
                ],
            );
            let err = open_err(&hevc);
            assert!(
                err.starts_with(&format!(
                    "{}: H.265/HEVC ({tag}) video is not supported",
                    hevc.display()
                )),
                "{err}"
            );
        }
    }
}

#[test]
fn properties_report_the_file_and_only_a_rewind_can_be_set() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let mut video = VideoFile::open(&clip, FAST).unwrap();
    assert_eq!(video.get(CameraProperty::FrameWidth), Some(640.0));
    assert_eq!(video.get(CameraProperty::FrameHeight), Some(352.0));
    assert_eq!(video.get(property::POS_FRAMES), Some(0.0));
    let first = video.read().unwrap();
    video.read().unwrap();
    assert_eq!(video.get(property::POS_FRAMES), Some(2.0));
    let msec = video.get(property::POS_MSEC).unwrap();
    assert!((msec - 2.0 * 1001.0 / 60.0).abs() < 0.01, "{msec}");
    video.set(property::POS_FRAMES, 0.0).unwrap();
    let again = video.read().unwrap();
    assert_eq!(again.seq, 2, "seq goes on after a rewind");
    assert!(again.rgb == first.rgb);
    let err = video.set(CameraProperty::Fps, 30.0).unwrap_err();
    assert!(
        err.to_string().contains("sets its own size and frame rate"),
        "{err}"
    );
    assert!(video.set(property::POS_FRAMES, 10.0).is_err());
    video.release();
    assert!(matches!(video.read(), Err(SourceError::Closed)));
}
