//! `semaforo count` end to end: a real H.264 clip, the shipped zones, every output, and the
//! errors for bad inputs.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::process::Output;

mod common;
use common::{semaforo, text};
use semaforo_testkit::{repository, street_a};

fn run(cmd: &mut std::process::Command) -> Output {
    cmd.output().expect("the semaforo binary runs")
}

#[test]
fn count_writes_per_frame_json_csv_and_annotated_frames_for_the_clip() {
    let Some(clip) = street_a() else { return };
    let dir = tempfile::tempdir().unwrap();
    let zones = repository().join("zones/street-a.toml");
    let out = run(semaforo(dir.path()).args([
        "count",
        &clip.display().to_string(),
        "--zones",
        &zones.display().to_string(),
        "--detector",
        "bgsub",
        "--json",
        "counts.json",
        "--csv",
        "counts.csv",
        "--annotate",
        "frames",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1038 frames in"), "{stdout}");
    assert!(
        stdout.contains("a-queue (queue, approach A): mean"),
        "{stdout}"
    );
    assert!(
        stdout.contains("a-arrivals (line, approach A):"),
        "{stdout}"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("counts.json")).unwrap()).unwrap();
    assert_eq!(json["detector"], "bgsub");
    let frames = json["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 1038);
    assert_eq!(frames[0]["index"], 0);
    let queue = &frames[500]["zones"]["a-queue"];
    assert!(
        queue["present"].is_u64() && queue["by_class"].is_object(),
        "{queue}"
    );
    let detection = &frames[500]["detections"][0];
    assert_eq!(detection["class"], "vehicle");
    assert_eq!(detection["box"].as_array().unwrap().len(), 4);
    // The clip shows vehicles on the approach all along: the queue zone is seldom empty.
    let occupied = frames
        .iter()
        .skip(300)
        .filter(|f| f["zones"]["a-queue"]["present"].as_u64().unwrap() > 0)
        .count();
    assert!(occupied * 10 >= (frames.len() - 300) * 9, "{occupied}");
    assert_eq!(json["summary"]["frames"], 1038);

    let csv = std::fs::read_to_string(dir.path().join("counts.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("frame,time_s,zone,approach,role,present,new_arrivals,arrivals,occupancy")
    );
    assert_eq!(
        lines.count(),
        2 * 1038,
        "one row per frame and counting zone"
    );
    let annotated = std::fs::read_dir(dir.path().join("frames"))
        .unwrap()
        .count();
    assert_eq!(annotated, 1038);
}

#[test]
fn count_names_the_bad_input_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args(["count", "missing.mp4"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("missing.mp4"),
        "{}",
        text(&out.stderr)
    );

    let Some(clip) = street_a() else { return };
    let clip = clip.display().to_string();
    let out = run(semaforo(dir.path()).args(["count", &clip, "--detector", "magic"]));
    assert!(
        text(&out.stderr).contains("--detector magic: expected bgsub, yolox or auto"),
        "{}",
        text(&out.stderr)
    );
    let out = run(semaforo(dir.path()).args(["count", &clip, "--runtime", "cuda"]));
    assert!(
        text(&out.stderr).contains("--runtime cuda: expected tract or onnxruntime"),
        "{}",
        text(&out.stderr)
    );
    if !cfg!(feature = "onnxruntime") {
        let out = run(semaforo(dir.path()).args(["count", &clip, "--runtime", "onnxruntime"]));
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("--features onnxruntime"),
            "{}",
            text(&out.stderr)
        );
    }
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[zone]]\nname = \"q\"\napproach = \"C\"\nrole = \"queue\"\nunits = \"pixels\"\npoints = [[0, 0], [700, 0], [100, 100]]\n",
    )
    .unwrap();
    let out = run(semaforo(dir.path()).args(["count", &clip, "--zones", "bad.toml"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.toml: zone `q`: approach = \"C\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("point 2 = [700, 0] is outside the 640x352 picture"),
        "{stderr}"
    );
}
