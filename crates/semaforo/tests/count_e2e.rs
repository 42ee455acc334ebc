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
    // What the background model measures: the share of the zone covered. With no network to
    // size a vehicle there is no estimate, and the blobs count the queue.
    let covered = queue["covered"].as_f64().unwrap();
    assert!(covered > 0.0 && covered < 1.0, "{queue}");
    assert!(queue["estimate"].is_null(), "{queue}");
    assert_eq!(queue["counted_by"], "blobs");
    assert!(frames[500]["zones"]["a-arrivals"]["covered"].is_null());
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
        Some("frame,time_s,zone,approach,role,present,new_arrivals,arrivals,occupancy,covered,estimate")
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
fn count_at_a_network_rate_runs_yolox_on_that_many_frames_a_second_and_carries_the_rest() {
    let Some(clip) = street_a() else { return };
    let dir = tempfile::tempdir().unwrap();
    let zones = repository().join("zones/street-a.toml");
    let clip = clip.display().to_string();
    let zones = zones.display().to_string();
    let out = run(semaforo(dir.path()).args([
        "count",
        &clip,
        "--zones",
        &zones,
        "--detector",
        "yolox",
        "--rate",
        "4",
        "--json",
        "counts.json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("counts.json")).unwrap()).unwrap();
    let frames = json["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 1038);
    // 17.3 s of video at 59.94 frames a second: the network on 4 frames a second, 15 apart.
    let analysed: Vec<u64> = frames
        .iter()
        .filter(|f| f["analysed"] == true)
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(json["summary"]["analysed"], analysed.len());
    assert!((69..=71).contains(&analysed.len()), "{}", analysed.len());
    assert!(analysed
        .windows(2)
        .all(|w| (14..=16).contains(&(w[1] - w[0]))));
    // A carried frame has no detections of its own, but its queue count is the tracker's.
    let carried = &frames[analysed[10] as usize + 5];
    assert_eq!(carried["analysed"], false);
    assert_eq!(carried["detections"].as_array().unwrap().len(), 0);
    assert!(carried["zones"]["a-queue"]["present"].as_u64().unwrap() > 0);
    assert!(
        text(&out.stdout).contains("the detector ran 4 times a second of video"),
        "{}",
        text(&out.stdout)
    );

    let out =
        run(semaforo(dir.path()).args(["count", &clip, "--detector", "bgsub", "--rate", "4"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("--rate 4: the background model (bgsub) learns from every frame"),
        "{}",
        text(&out.stderr)
    );
    let out = run(semaforo(dir.path()).args(["count", &clip, "--rate", "0"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--rate 0: expected 0.5 to 60 network runs a second"),
        "{}",
        text(&out.stderr)
    );
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

#[test]
fn the_model_setting_is_honoured_every_way_it_is_given_and_a_missing_one_is_an_error() {
    let Some(clip) = street_a() else { return };
    let clip = clip.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    // Missing: the configuration's key (environment or --set) is a configuration error...
    let out = run(semaforo(dir.path())
        .env("DETECTION_MODEL", "missing.onnx")
        .args(["count", &clip, "--detector", "yolox"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("detection.model = \"missing.onnx\"") && stderr.contains("no such file"),
        "{stderr}"
    );
    let out =
        run(semaforo(dir.path()).args(["--set", "detection.model=missing.onnx", "count", &clip]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // ...and the flag's a count error.
    let out = run(semaforo(dir.path()).args(["count", &clip, "--model", "missing.onnx"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--model missing.onnx: no such file"),
        "{}",
        text(&out.stderr)
    );
    // There but not a model: the error names that file, so it is the one read.
    std::fs::write(dir.path().join("not-a-model.onnx"), b"plain text").unwrap();
    for how in ["env", "set", "flag"] {
        let mut cmd = semaforo(dir.path());
        match how {
            "env" => cmd
                .env("DETECTION_MODEL", "not-a-model.onnx")
                .args(["count", &clip]),
            "set" => cmd.args(["--set", "detection.model=not-a-model.onnx", "count", &clip]),
            _ => cmd.args(["count", &clip, "--model", "not-a-model.onnx"]),
        };
        let out = run(cmd.args(["--detector", "yolox"]));
        assert_eq!(out.status.code(), Some(1), "{how}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("not-a-model.onnx"),
            "{how}: {}",
            text(&out.stderr)
        );
    }
}

/// Peak resident memory of `count` on the clip, MB, from /usr/bin/time.
fn count_peak_rss_mb(dir: &std::path::Path, clip: &str, extra: &[&str]) -> f64 {
    let report = dir.join("time.txt");
    let mut inner = semaforo(dir);
    inner
        .args(["count", clip, "--detector", "bgsub"])
        .args(extra);
    let mut cmd = std::process::Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg("-o").arg(&report);
    cmd.arg(inner.get_program()).args(inner.get_args());
    cmd.current_dir(dir);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kb: f64 = std::fs::read_to_string(&report)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kb / 1024.0
}

#[test]
fn count_writes_its_json_and_csv_as_it_goes_so_memory_does_not_grow_with_the_video() {
    let Some(clip) = street_a() else { return };
    if !semaforo_testkit::tool("time", "apt-get install time (GNU time, for peak memory)") {
        return;
    }
    let clip = clip.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let plain = count_peak_rss_mb(dir.path(), &clip, &[]);
    let with_outputs = count_peak_rss_mb(
        dir.path(),
        &clip,
        &["--json", "counts.json", "--csv", "counts.csv"],
    );
    // Kept whole until the end, the 1,038 frames' JSON took about 200 kB each (+220 MB).
    assert!(
        with_outputs < plain + 15.0,
        "peak RSS {with_outputs:.1} MB with --json and --csv against {plain:.1} MB without"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("counts.json")).unwrap()).unwrap();
    assert_eq!(json["frames"].as_array().unwrap().len(), 1038);
    assert_eq!(json["summary"]["frames"], 1038);
    assert_eq!(json["detector"], "bgsub");
}

#[test]
fn a_clip_cut_short_is_counted_up_to_where_it_breaks_as_ffmpeg_decodes_it() {
    let Some(clip) = street_a() else { return };
    if !semaforo_testkit::tool("ffmpeg", "apt-get install ffmpeg")
        || !semaforo_testkit::tool("ffprobe", "apt-get install ffmpeg")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The index first ("fast start", as cameras and streaming tools write it), then the file
    // cut at 1.5 MB of its 3.9 MB, inside a frame: a recording that stopped, a copy that failed.
    let whole = dir.path().join("faststart.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(&whole)
        .status()
        .unwrap();
    assert!(made.success());
    let cut = dir.path().join("cut.mp4");
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(&cut, &bytes[..1_500_000]).unwrap();
    let probe = run(std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&cut));
    let ffmpeg_frames: u64 = text(&probe.stdout).trim().parse().unwrap();

    let out = run(semaforo(dir.path()).args([
        "count",
        "cut.mp4",
        "--detector",
        "bgsub",
        "--json",
        "counts.json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cut.mp4 is cut short at byte 1500000")
            && stderr.contains(&format!("the {ffmpeg_frames} frames before it were read")),
        "FFmpeg decodes {ffmpeg_frames} frames: {stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("counts.json")).unwrap()).unwrap();
    assert_eq!(
        json["frames"].as_array().unwrap().len() as u64,
        ffmpeg_frames
    );
    assert!(json["summary"]["truncated"]
        .as_str()
        .unwrap()
        .contains("cut short"));
}
