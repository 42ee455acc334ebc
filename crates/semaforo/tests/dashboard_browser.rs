//! The dashboard in a real browser: `semaforo run` on the four-arm example, Debian's headless
//! Chromium opening `/`, waiting for a signal head to change colour, checking that the counts,
//! the camera pictures, the events and the timeline appear, that the page fits a phone's
//! width, and that the console has no error. The screenshots are kept as test artefacts
//! (`target/tmp/dashboard.png`, `target/tmp/dashboard-phone.png`).
//!
//! Needs chromium (`apt-get install chromium`; `.ci/run` installs it): without it the test
//! says so loudly and passes, except under CI=true.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::time::Duration;

mod common;
use common::browser::Browser;
use common::daemon::Daemon;
use semaforo_testkit::repository;

const GROUPS: usize = 8;

#[test]
fn the_dashboard_shows_the_intersection_live_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let Some(mut browser) = Browser::start(profile.path()) else {
        return;
    };
    let config = repository().join("examples/four-arm.toml");
    let mut daemon = Daemon::start(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &[
            ("CAMERA_WIDTH", "320"),
            ("CAMERA_HEIGHT", "240"),
            ("CAMERA_FPS", "5"),
            ("SAVE_FRAMES", "false"),
            // Short greens, so a head changes colour within seconds.
            ("MIN_GREEN_TIME", "5"),
            ("YELLOW_TIME", "3"),
            ("RED_TIME", "1"),
        ],
    );
    browser.viewport(1280, 900, false);
    let url = format!("http://{}/", daemon.addr);
    browser.call("Page.navigate", serde_json::json!({ "url": url }));

    let heads = browser.wait_until(
        "every group with a head",
        &format!(
            "(() => {{ const g = [...document.querySelectorAll('.group')];
               return g.length === {GROUPS} && g.every(x => x.dataset.head)
                 ? JSON.stringify(Object.fromEntries(g.map(x => [x.dataset.group, x.dataset.head])))
                 : null; }})()"
        ),
        Duration::from_secs(30),
    );
    browser.wait_until(
        "a head changing colour",
        &format!(
            "(() => {{ const was = {heads};
               return [...document.querySelectorAll('.group')]
                 .some(x => x.dataset.head !== was[x.dataset.group]); }})()"
        ),
        Duration::from_secs(60),
    );
    browser.wait_until(
        "a count for every group",
        "[...document.querySelectorAll('.group .count')].every(c => /^[0-9]+$/.test(c.textContent))",
        Duration::from_secs(30),
    );
    browser.wait_until(
        "every camera's picture",
        &format!(
            "(() => {{ const i = [...document.querySelectorAll('.camera img')];
               return i.length === {GROUPS} && i.every(x => x.complete && x.naturalWidth > 0); }})()"
        ),
        Duration::from_secs(30),
    );
    browser.wait_until(
        "recent events",
        "document.querySelectorAll('#events li').length > 0",
        Duration::from_secs(30),
    );
    browser.wait_until(
        "greens on the timeline",
        "document.querySelectorAll('#timeline rect.green').length > 0",
        Duration::from_secs(30),
    );
    // Health settles to ok once every camera's detector counts (on a loaded machine a camera
    // can take a few seconds to start, and its groups read "on recall" until then).
    browser.wait_until(
        "health ok",
        "document.getElementById('health').textContent === 'health: ok'",
        Duration::from_secs(60),
    );
    let shot = browser.screenshot();
    assert!(shot.starts_with(b"\x89PNG"), "a PNG");
    let artefacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(artefacts.join("dashboard.png"), &shot).unwrap();

    // A phone: one column, nothing wider than the screen.
    browser.viewport(390, 844, true);
    browser.wait_until(
        "the page within a phone's width",
        "document.documentElement.scrollWidth <= 390",
        Duration::from_secs(10),
    );
    std::fs::write(artefacts.join("dashboard-phone.png"), browser.screenshot()).unwrap();

    let errors = browser.console_errors();
    assert!(errors.is_empty(), "the console has errors: {errors:#?}");
    drop(browser);
    let (status, _) = daemon.terminate(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr());
}

#[test]
fn with_a_token_the_dashboard_asks_for_it_once_and_then_shows_the_intersection() {
    let dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let Some(mut browser) = Browser::start(profile.path()) else {
        return;
    };
    let token = "a-token-of-at-least-sixteen-characters";
    let mut daemon = Daemon::start(
        dir.path(),
        &["--http", "127.0.0.1:0"],
        &[
            ("HTTP_TOKEN", token),
            ("CAMERA_WIDTH", "320"),
            ("CAMERA_HEIGHT", "240"),
            ("CAMERA_FPS", "5"),
            ("SAVE_FRAMES", "false"),
        ],
    );
    let url = format!("http://{}/", daemon.addr);
    browser.call("Page.navigate", serde_json::json!({ "url": url }));
    browser.wait_until(
        "the token form",
        // (null until the page has loaded)
        "document.getElementById('login')?.hidden === false",
        Duration::from_secs(30),
    );
    assert_eq!(
        browser.evaluate("document.querySelectorAll('.group').length"),
        0,
        "nothing is shown without the token"
    );
    browser.evaluate(&format!(
        "document.getElementById('token').value = '{token}';
         document.getElementById('login').requestSubmit(); true"
    ));
    browser.wait_until(
        "both groups with a count",
        "(() => { const c = [...document.querySelectorAll('.group .count')];
           return c.length === 2 && c.every(x => /^[0-9]+$/.test(x.textContent)); })()",
        Duration::from_secs(30),
    );
    browser.wait_until(
        "events from the stream",
        "document.querySelectorAll('#events li').length > 0",
        Duration::from_secs(30),
    );
    // The only errors: the requests refused before the token was given.
    let errors: Vec<String> = browser
        .console_errors()
        .into_iter()
        .filter(|e| !e.contains("401"))
        .collect();
    assert!(errors.is_empty(), "the console has errors: {errors:#?}");
    drop(browser);
    let (status, _) = daemon.terminate(Duration::from_secs(6));
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr());
}
