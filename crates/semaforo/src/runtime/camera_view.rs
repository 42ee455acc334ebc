//! A camera's latest annotated picture (zones, boxes with track ids, counts), for
//! `/api/cameras/<name>/snapshot.jpg` and the dashboard.
//!
//! Drawing and encoding a JPEG costs milliseconds, so a camera's worker does it only when
//! someone asked since the last picture, and at most every [`MIN_INTERVAL`]: a dashboard
//! left open costs about two JPEGs a second per camera, and nobody watching costs nothing.
//! The HTTP handler asks ([`CameraView::fresh_picture`]) and waits for the worker's next
//! frame, a bounded time; the picture itself is swapped in behind an `Arc`, so neither side
//! holds the lock for longer than a pointer copy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The shortest time between two pictures of one camera.
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// One annotated frame, encoded.
#[derive(Debug)]
pub struct Picture {
    pub jpeg: Vec<u8>,
    /// When it was encoded (real time).
    pub taken: Instant,
    /// The camera's frame number.
    pub frame: u64,
}

/// The meeting point of a camera's worker and the HTTP handlers.
#[derive(Debug)]
pub struct CameraView {
    pub camera: String,
    wanted: AtomicBool,
    latest: Mutex<Option<Arc<Picture>>>,
    fresh: Notify,
}

impl CameraView {
    pub fn new(camera: &str) -> Arc<Self> {
        Arc::new(CameraView {
            camera: camera.to_string(),
            wanted: AtomicBool::new(false),
            latest: Mutex::new(None),
            fresh: Notify::new(),
        })
    }

    /// The latest picture, however old.
    pub fn latest(&self) -> Option<Arc<Picture>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// For the worker: whether someone asked for a picture (and the request is now taken).
    pub fn take_wanted(&self) -> bool {
        self.wanted.swap(false, Ordering::AcqRel)
    }

    /// For the worker: whether it is time for another picture, should someone want one.
    pub fn due(&self) -> bool {
        self.latest()
            .is_none_or(|p| p.taken.elapsed() >= MIN_INTERVAL)
    }

    /// For the worker: the new picture; wakes the handlers waiting for it.
    pub fn store(&self, picture: Picture) {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(picture));
        self.fresh.notify_waiters();
    }

    /// A picture no older than `max_age` if there is one; else asks the worker for one and
    /// waits for it at most `wait`, then returns the latest there is (`None`: the camera
    /// never gave a frame).
    pub async fn fresh_picture(&self, max_age: Duration, wait: Duration) -> Option<Arc<Picture>> {
        if let Some(p) = self.latest().filter(|p| p.taken.elapsed() <= max_age) {
            return Some(p);
        }
        let notified = self.fresh.notified();
        tokio::pin!(notified);
        // Registered before asking, so the worker's answer cannot slip between the two.
        notified.as_mut().enable();
        self.wanted.store(true, Ordering::Release);
        let _ = tokio::time::timeout(wait, notified).await;
        self.latest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_answered_by_the_next_picture() {
        let view = CameraView::new("a");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let worker_view = view.clone();
        let worker = std::thread::spawn(move || {
            while !worker_view.take_wanted() {
                std::thread::yield_now();
            }
            worker_view.store(Picture {
                jpeg: vec![1, 2, 3],
                taken: Instant::now(),
                frame: 7,
            });
        });
        let picture = rt
            .block_on(view.fresh_picture(Duration::from_secs(1), Duration::from_secs(30)))
            .unwrap();
        assert_eq!((picture.frame, picture.jpeg.len()), (7, 3));
        worker.join().unwrap();
        assert!(!view.due(), "a picture was just taken");
    }
}
