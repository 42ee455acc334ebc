//! The managed camera guard: the lifecycle part of the Guide's CameraContextManager and
//! ManagedCamera. A [`ManagedCamera`] opens a device through an opener closure, registers it
//! with a [`ResourceTracker`], and releases it when dropped, on every path. The tracker's
//! `release_all()` can also release it at shutdown; reads after that return
//! [`CameraError::Released`] instead of touching a closed device.
//!
//! Real sources (V4L2, RTSP, files) implement [`CameraDevice`] in `semaforo-camera`; tests
//! use fakes.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::tracker::{HandleGuard, HandleKind, ResourceTracker};

/// A camera property, as OpenCV's `CAP_PROP_*` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CameraProperty {
    FrameWidth,
    FrameHeight,
    Fps,
    BufferSize,
    Brightness,
    Exposure,
    /// A device-specific property by number.
    Other(u32),
}

/// A frame source the guard manages.
pub trait CameraDevice: Send {
    /// What a read returns.
    type Frame;
    /// The device's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Reads the next frame.
    fn read(&mut self) -> Result<Self::Frame, Self::Error>;
    /// A property's value, `None` if the device does not know it.
    fn get(&self, property: CameraProperty) -> Option<f64>;
    /// Sets a property.
    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), Self::Error>;
    /// Whether the device is open and usable.
    fn is_opened(&self) -> bool;
    /// Releases the device (closes it). Called exactly once by the guard.
    fn release(&mut self);
}

/// Errors of a [`ManagedCamera`]; each names the camera's label.
#[derive(Debug, thiserror::Error)]
pub enum CameraError<E: std::error::Error + 'static> {
    /// The opener failed.
    #[error("cannot open camera {label}: {source}")]
    Open { label: String, source: E },
    /// The opener returned a device that reports it is not open; it was released again.
    #[error("camera {label} did not open (the device reports it is not open)")]
    NotOpened { label: String },
    /// The camera was released (by `release_all` at shutdown) and cannot be used.
    #[error("camera {label} was released and can no longer be read or configured")]
    Released { label: String },
    /// The device reported an error.
    #[error("camera {label}: {source}")]
    Device { label: String, source: E },
}

type Slot<D> = Arc<Mutex<Option<D>>>;

fn lock<D>(slot: &Mutex<Option<D>>) -> MutexGuard<'_, Option<D>> {
    // A device call that panicked leaves the device as it was; releasing it later is still
    // the right thing to do, so poisoning is ignored.
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

fn release_slot<D: CameraDevice>(slot: &Mutex<Option<D>>) -> bool {
    let device = lock(slot).take();
    match device {
        Some(mut d) => {
            d.release();
            true
        }
        None => false,
    }
}

/// A camera released when dropped and counted by a tracker while open.
///
/// ```
/// use semaforo_resources::{CameraDevice, CameraProperty, ManagedCamera, ResourceTracker};
///
/// struct Fake { open: bool }
/// impl CameraDevice for Fake {
///     type Frame = u32;
///     type Error = std::io::Error;
///     fn read(&mut self) -> Result<u32, std::io::Error> { Ok(7) }
///     fn get(&self, _: CameraProperty) -> Option<f64> { Some(640.0) }
///     fn set(&mut self, _: CameraProperty, _: f64) -> Result<(), std::io::Error> { Ok(()) }
///     fn is_opened(&self) -> bool { self.open }
///     fn release(&mut self) { self.open = false; }
/// }
///
/// let tracker = ResourceTracker::new();
/// {
///     let mut cam = ManagedCamera::open(&tracker, "A", || Ok::<_, std::io::Error>(Fake { open: true })).unwrap();
///     assert_eq!(cam.read().unwrap(), 7);
///     assert_eq!(tracker.statistics().kind("camera").alive, 1);
/// }
/// assert_eq!(tracker.statistics().kind("camera").tracked, 0);
/// ```
pub struct ManagedCamera<D: CameraDevice + 'static> {
    label: String,
    slot: Slot<D>,
    guard: Option<HandleGuard>,
}

impl<D: CameraDevice + 'static> fmt::Debug for ManagedCamera<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedCamera")
            .field("label", &self.label)
            .finish()
    }
}

impl<D: CameraDevice + 'static> ManagedCamera<D> {
    /// Opens a device with `opener` and registers it as a `camera` handle with `tracker`.
    /// A device that opens but reports `is_opened() == false` is released at once and
    /// an error returned (the original leaked such cameras).
    pub fn open<F>(
        tracker: &ResourceTracker,
        label: impl Into<String>,
        opener: F,
    ) -> Result<Self, CameraError<D::Error>>
    where
        F: FnOnce() -> Result<D, D::Error>,
    {
        let label = label.into();
        let mut device = opener().map_err(|source| CameraError::Open {
            label: label.clone(),
            source,
        })?;
        if !device.is_opened() {
            device.release();
            return Err(CameraError::NotOpened { label });
        }
        let slot: Slot<D> = Arc::new(Mutex::new(Some(device)));
        let weak = Arc::downgrade(&slot);
        let guard = tracker.register_releasable(HandleKind::Camera, label.clone(), move || {
            if let Some(slot) = weak.upgrade() {
                release_slot(&slot);
            }
        });
        tracing::debug!("camera {label} opened");
        Ok(ManagedCamera {
            label,
            slot,
            guard: Some(guard),
        })
    }

    /// The label given at open.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn with_device<T>(
        &self,
        f: impl FnOnce(&mut D) -> Result<T, D::Error>,
    ) -> Result<T, CameraError<D::Error>> {
        let mut slot = lock(&self.slot);
        let device = slot.as_mut().ok_or_else(|| CameraError::Released {
            label: self.label.clone(),
        })?;
        f(device).map_err(|source| CameraError::Device {
            label: self.label.clone(),
            source,
        })
    }

    /// Reads a frame.
    pub fn read(&mut self) -> Result<D::Frame, CameraError<D::Error>> {
        self.with_device(|d| d.read())
    }

    /// A property's value; `None` if unknown or the camera was released.
    pub fn get(&self, property: CameraProperty) -> Option<f64> {
        lock(&self.slot).as_ref().and_then(|d| d.get(property))
    }

    /// Sets a property.
    pub fn set(
        &mut self,
        property: CameraProperty,
        value: f64,
    ) -> Result<(), CameraError<D::Error>> {
        self.with_device(|d| d.set(property, value))
    }

    /// Whether the camera is open (false once released).
    pub fn is_opened(&self) -> bool {
        lock(&self.slot).as_ref().is_some_and(|d| d.is_opened())
    }

    /// Runs `f` on the open device (for what the trait does not cover, such as giving a
    /// frame's buffer back to a source that pools them); `None` once released.
    pub fn with_open<T>(&mut self, f: impl FnOnce(&mut D) -> T) -> Option<T> {
        lock(&self.slot).as_mut().map(f)
    }

    /// Releases the camera now (same as dropping it).
    pub fn close(self) {}
}

impl<D: CameraDevice + 'static> Drop for ManagedCamera<D> {
    fn drop(&mut self) {
        // Release the device before unregistering, and without holding the device lock while
        // the tracker's lock is taken (release_all takes them in the other order).
        if release_slot(&self.slot) {
            tracing::debug!("camera {} released", self.label);
        }
        drop(self.guard.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, thiserror::Error)]
    #[error("fake device error: {0}")]
    struct FakeError(&'static str);

    struct FakeCamera {
        open: bool,
        frames: u32,
        width: f64,
        releases: Arc<AtomicUsize>,
    }

    impl CameraDevice for FakeCamera {
        type Frame = u32;
        type Error = FakeError;
        fn read(&mut self) -> Result<u32, FakeError> {
            if self.frames == 2 {
                return Err(FakeError("no frame"));
            }
            self.frames += 1;
            Ok(self.frames)
        }
        fn get(&self, p: CameraProperty) -> Option<f64> {
            (p == CameraProperty::FrameWidth).then_some(self.width)
        }
        fn set(&mut self, p: CameraProperty, v: f64) -> Result<(), FakeError> {
            match p {
                CameraProperty::FrameWidth => {
                    self.width = v;
                    Ok(())
                }
                _ => Err(FakeError("unsupported property")),
            }
        }
        fn is_opened(&self) -> bool {
            self.open
        }
        fn release(&mut self) {
            self.open = false;
            self.releases.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn fake(open: bool, releases: &Arc<AtomicUsize>) -> FakeCamera {
        FakeCamera {
            open,
            frames: 0,
            width: 320.0,
            releases: releases.clone(),
        }
    }

    #[test]
    fn camera_is_tracked_while_open_and_released_once_on_drop() {
        let t = ResourceTracker::new();
        let releases = Arc::new(AtomicUsize::new(0));
        let mut cam = ManagedCamera::open(&t, "A", || Ok(fake(true, &releases))).unwrap();
        assert_eq!(cam.read().unwrap(), 1);
        cam.set(CameraProperty::FrameWidth, 640.0).unwrap();
        assert_eq!(cam.get(CameraProperty::FrameWidth), Some(640.0));
        assert_eq!(cam.get(CameraProperty::Fps), None);
        assert!(cam.is_opened());
        let s = t.statistics();
        assert_eq!((s.kind("camera").tracked, s.kind("camera").alive), (1, 1));
        drop(cam);
        assert_eq!(releases.load(Ordering::SeqCst), 1);
        let s = t.statistics();
        assert_eq!(s.kind("camera").tracked, 0);
        assert!(s.potential_leaks.is_empty());
        assert_eq!(t.release_all(), 0);
    }

    #[test]
    fn device_errors_name_the_camera() {
        let t = ResourceTracker::new();
        let releases = Arc::new(AtomicUsize::new(0));
        let mut cam = ManagedCamera::open(&t, "north", || Ok(fake(true, &releases))).unwrap();
        cam.read().unwrap();
        cam.read().unwrap();
        let err = cam.read().unwrap_err().to_string();
        assert_eq!(err, "camera north: fake device error: no frame");
        let err = cam
            .set(CameraProperty::Exposure, 1.0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("north") && err.contains("unsupported"),
            "{err}"
        );
    }

    #[test]
    fn camera_that_does_not_open_is_released_and_not_tracked() {
        let t = ResourceTracker::new();
        let releases = Arc::new(AtomicUsize::new(0));
        let err = ManagedCamera::open(&t, "B", || Ok(fake(false, &releases))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "camera B did not open (the device reports it is not open)"
        );
        assert_eq!(releases.load(Ordering::SeqCst), 1);
        assert_eq!(t.statistics().kind("camera").registered_total, 0);
        let err = ManagedCamera::<FakeCamera>::open(&t, "C", || Err(FakeError("no such device")))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot open camera C: fake device error: no such device"
        );
    }

    #[test]
    fn release_all_closes_the_camera_and_later_reads_say_released() {
        let t = ResourceTracker::new();
        let releases = Arc::new(AtomicUsize::new(0));
        let mut cam = ManagedCamera::open(&t, "A", || Ok(fake(true, &releases))).unwrap();
        assert_eq!(t.release_all(), 1);
        assert_eq!(releases.load(Ordering::SeqCst), 1);
        assert!(!cam.is_opened());
        let err = cam.read().unwrap_err();
        assert!(matches!(err, CameraError::Released { .. }));
        assert_eq!(
            err.to_string(),
            "camera A was released and can no longer be read or configured"
        );
        drop(cam);
        assert_eq!(releases.load(Ordering::SeqCst), 1, "released exactly once");
        assert_eq!(t.statistics().kind("camera").tracked, 0);
    }

    #[test]
    fn release_all_racing_with_drops_releases_each_camera_once() {
        let t = ResourceTracker::new();
        let releases = Arc::new(AtomicUsize::new(0));
        let cams: Vec<_> = (0..64)
            .map(|i| {
                ManagedCamera::open(&t, format!("cam{i}"), || Ok(fake(true, &releases))).unwrap()
            })
            .collect();
        std::thread::scope(|s| {
            s.spawn(|| drop(cams));
            s.spawn(|| t.release_all());
        });
        assert_eq!(releases.load(Ordering::SeqCst), 64);
        assert_eq!(t.statistics().kind("camera").tracked, 0);
    }

    #[test]
    fn camera_is_released_when_a_panic_unwinds() {
        let t = ResourceTracker::new();
        let releases = Arc::new(AtomicUsize::new(0));
        let r = releases.clone();
        let t2 = t.clone();
        let res = std::panic::catch_unwind(move || {
            let _cam = ManagedCamera::open(&t2, "A", || Ok(fake(true, &r))).unwrap();
            panic!("detector failed");
        });
        assert!(res.is_err());
        assert_eq!(releases.load(Ordering::SeqCst), 1);
        assert_eq!(t.statistics().kind("camera").tracked, 0);
    }
}
