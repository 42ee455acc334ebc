//! The soak's short version (issue 20; the long one is `cargo bench --bench soak`): the binary
//! for 100 s on the real clock under churn (the real street footage, through the background
//! model rather than YOLOX, as a file camera and as an RTSP camera whose server is restarted
//! every 30 s; a TCP and a WebSocket orchestrator and Mosquitto going away and coming back;
//! frames saved at a high rate to a small store), and for twenty simulated minutes under
//! `run --fast`. Resident memory, descriptors, threads, temporary files, the frame store and
//! the outbox stay within their bounds (`semaforo_testkit::soak`; the real-time run's memory
//! bound is looser than the long soak's, see below); what is asserted is bounds, never timings.
//!
//! Needs Mosquitto, FFmpeg, GStreamer's RTSP server for Python and the shared footage; without
//! them the tests say so loudly, and fail under `CI=true`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_testkit::soak::{self, Bounds, Plan};

fn out() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak")
}

fn passes(plan: Plan) {
    let Some(report) = soak::run(&plan) else {
        return;
    };
    assert!(report.broken.is_empty(), "{}", report.summary());
    // The churn happened, and the store was full and rotating.
    let (restarts, peers, broker) = report.disruptions;
    if !plan.fast {
        assert!(
            restarts >= 2 && peers >= 1 && broker >= 1,
            "{}",
            report.summary()
        );
    }
    assert!(
        report.figures.frame_files >= plan.bounds.frame_files / 2,
        "{}",
        report.summary()
    );
}

#[test]
fn a_hundred_seconds_under_churn_stay_within_every_bound() {
    let binary = Path::new(env!("CARGO_BIN_EXE_semaforo"));
    let plan = Plan::real_time(binary, Duration::from_secs(100), &out());
    // The background model on the footage: YOLOX's working memory takes minutes to settle,
    // longer than this run's warm-up (the long soak runs it). And 16 MB of growth, not the
    // long soak's 2: in this unoptimised build a link's reconnection can add about 3 MB of
    // resident memory the first few times (seen at 1 to 3 of this run's reconnections; the
    // release build's hour with 87 of them grew under 1 MB), so 100 s cannot tell that from
    // growth that stops; a leak per frame or per message still passes 16 MB within seconds.
    passes(Plan {
        detector: "bgsub".into(),
        bounds: Bounds {
            rss_growth_kb: 16 * 1024,
            ..plan.bounds.clone()
        },
        ..plan
    });
}

#[test]
fn twenty_simulated_minutes_stay_within_every_bound() {
    let binary = Path::new(env!("CARGO_BIN_EXE_semaforo"));
    passes(Plan::fast(binary, Duration::from_secs(20 * 60), &out()));
}
