//! The background model kept across a restart. A background model learns whatever stands
//! still: started while a queue waits at red, it takes the queue for road and counts nobody.
//! So the model is saved (at shutdown and from time to time) and, at the next start, restored
//! when the camera still shows the same view: most of the picture outside the queue zones
//! matches the saved background. A moved camera, another picture size or a damaged file
//! starts a fresh model instead, and says why.
//!
//! The file is little-endian: a magic, a version, the sizes it was built for, the frames
//! seen and the camera's shift, then per processed pixel its components in use, how long it
//! has been held, its last foreground flag and its three components; then (from version 2)
//! what the network taught the model's queue figures (the vehicle scale and each zone's ratio
//! and comparison, [`crate::cover`]); a CRC-32 of all that ends it. Version 1 files are still
//! restored: their model learns the scale afresh.

use super::mixture::{Mode, MODES};
use super::{BackgroundSubtractor, BACKGROUND, FOREGROUND};
use crate::cover::Learned;
use semaforo_camera::Frame;
use std::io::{self, Write};

/// A writer that keeps the CRC-32 and the length of what went through it.
struct Checksummed<'a, W: Write> {
    out: &'a mut W,
    crc: crc32fast::Hasher,
    written: u64,
}

impl<W: Write> Write for Checksummed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

const MAGIC: &[u8; 8] = b"SEMBGSUB";
/// One pixel in the file: components in use, held frames, foreground flag, its components.
const PIXEL_BYTES: usize = 1 + 4 + 1 + MODES * 20;
const VERSION: u32 = 2;
/// Share of the comparable pixels that must match the saved background for the view to be
/// the same (vehicles, people and a change of light make up the rest).
pub const SAME_VIEW: f32 = 0.6;
/// A pixel matches the saved background within this many of its component's variances
/// (squared distance): looser than detection's, for light that changed while stopped.
const MATCH_VARIANCES: f32 = 36.0;

/// Why a saved model was not restored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    #[error("not a saved background model ({0})")]
    Damaged(String),
    #[error("saved for {saved} and this camera's model is {now}")]
    OtherSize { saved: String, now: String },
    #[error(
        "the view changed: {:.0}% of the picture matches the saved background, {:.0}% needed",
        100.0 * share,
        100.0 * SAME_VIEW
    )]
    OtherView { share: f32 },
}

/// A restored model: the share of the picture that matched, and what came back of what the
/// network had taught it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Restored {
    pub matching: f32,
    /// Cars its vehicle scale was learned from (0: none, or a file from before version 2).
    pub cars: f64,
    /// Queue zones whose ratio and comparison with the network came back (a zone renamed or
    /// redrawn since learns afresh).
    pub zones: usize,
}

impl BackgroundSubtractor {
    /// The model as bytes, to be written to a file (see [`write_state`](Self::write_state)).
    pub fn save_state(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.w * self.h * PIXEL_BYTES + 256);
        // Writing to a Vec cannot fail.
        let _ = self.write_state(&mut out);
        out
    }

    /// Writes the model to `out` as it goes, pixel by pixel: no copy of the whole model is
    /// made (3.7 MB for a 640x352 camera, which a save held on top of the model). Returns the
    /// bytes written.
    pub fn write_state(&self, out: &mut impl Write) -> io::Result<u64> {
        let mut out = Checksummed {
            out,
            crc: crc32fast::Hasher::new(),
            written: 0,
        };
        out.write_all(MAGIC)?;
        for v in [
            VERSION,
            self.frame_size.0,
            self.frame_size.1,
            self.w as u32,
            self.h as u32,
            self.options.scale,
        ] {
            out.write_all(&v.to_le_bytes())?;
        }
        out.write_all(&self.frames.to_le_bytes())?;
        out.write_all(&self.shift.0.to_le_bytes())?;
        out.write_all(&self.shift.1.to_le_bytes())?;
        let mut pixel = [0u8; PIXEL_BYTES];
        for i in 0..self.w * self.h {
            pixel[0] = self.used[i];
            pixel[1..5].copy_from_slice(&self.held_for[i].to_le_bytes());
            pixel[5] = self.fg[i];
            let values = self.modes[i]
                .iter()
                .flat_map(|m| [m.weight, m.var, m.mean[0], m.mean[1], m.mean[2]]);
            for (slot, v) in pixel[6..].chunks_exact_mut(4).zip(values) {
                slot.copy_from_slice(&v.to_le_bytes());
            }
            out.write_all(&pixel)?;
        }
        self.cover.learned().write(&mut out)?;
        let crc = out.crc.finalize();
        out.out.write_all(&crc.to_le_bytes())?;
        Ok(out.written + 4)
    }

    /// Restores a model saved by [`save_state`](Self::save_state) if `frame` shows the same
    /// view; otherwise the model is left as it was (fresh) and the error says why.
    pub fn restore_state(&mut self, data: &[u8], frame: &Frame) -> Result<Restored, StateError> {
        let saved = Saved::parse(data)?;
        let now = format!(
            "{}x{} frames at 1/{}",
            self.frame_size.0, self.frame_size.1, self.options.scale
        );
        let then = format!(
            "{}x{} frames at 1/{}",
            saved.frame.0, saved.frame.1, saved.scale
        );
        if saved.frame != self.frame_size || saved.scale != self.options.scale {
            return Err(StateError::OtherSize { saved: then, now });
        }
        // The frame, sampled as the model sees it, against the saved background.
        self.shift = saved.shift;
        self.downscale(frame);
        let (mut comparable, mut matching) = (0u32, 0u32);
        for (i, pixel) in saved.pixels().enumerate() {
            // Queue zones may hold the queue the model is restored for; masks are ignored.
            if self.region[i] != 0 || !self.inside[i] || pixel.used == 0 {
                continue;
            }
            comparable += 1;
            let m = &pixel.modes[0];
            let d: f32 = (0..3).map(|c| (m.mean[c] - self.small[i][c]).powi(2)).sum();
            matching += u32::from(d < MATCH_VARIANCES * m.var);
        }
        let share = matching as f32 / comparable.max(1) as f32;
        if share < SAME_VIEW {
            self.shift = (0, 0);
            return Err(StateError::OtherView { share });
        }
        for (i, pixel) in saved.pixels().enumerate() {
            self.used[i] = pixel.used;
            self.held_for[i] = pixel.held_for;
            self.fg[i] = pixel.fg;
            self.modes[i] = pixel.modes;
        }
        self.frames = saved.frames;
        let (cars, zones) = match &saved.learned {
            Some(learned) => (learned.cars(), self.cover.restore(learned)),
            None => (0.0, 0),
        };
        Ok(Restored {
            matching: share,
            cars,
            zones,
        })
    }
}

/// A saved model, checked.
struct Saved<'a> {
    frame: (u32, u32),
    scale: u32,
    frames: u64,
    shift: (i32, i32),
    body: &'a [u8],
    /// What the network taught (version 2 on).
    learned: Option<Learned>,
}

/// One pixel of a saved model.
struct Pixel {
    used: u8,
    held_for: u32,
    fg: u8,
    modes: [Mode; MODES],
}

const HEADER: usize = 8 + 6 * 4 + 8 + 2 * 4;
const PIXEL: usize = 1 + 4 + 1 + MODES * 5 * 4;

impl<'a> Saved<'a> {
    fn parse(data: &'a [u8]) -> Result<Saved<'a>, StateError> {
        let damaged = |why: &str| StateError::Damaged(why.to_string());
        if data.len() < HEADER + 4 || &data[..8] != MAGIC {
            return Err(damaged("no semaforo background-model header"));
        }
        let (content, crc) = data.split_at(data.len() - 4);
        if crc32fast::hash(content).to_le_bytes() != crc {
            return Err(damaged(
                "its checksum does not match: a partial or damaged file",
            ));
        }
        let u32_at =
            |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let version = u32_at(8);
        if !(1..=VERSION).contains(&version) {
            return Err(damaged(&format!(
                "version {version}, expected 1 to {VERSION}"
            )));
        }
        let (w, h) = (u32_at(20) as usize, u32_at(24) as usize);
        let pixels = w
            .checked_mul(h)
            .and_then(|n| n.checked_mul(PIXEL))
            .ok_or_else(|| damaged("its picture size is out of range"))?;
        let rest = &content[HEADER..];
        if rest.len() < pixels || (version == 1 && rest.len() != pixels) {
            return Err(damaged("its size does not match its picture size"));
        }
        let (body, taught) = rest.split_at(pixels);
        let learned = match version {
            1 => None,
            _ => Some(Learned::parse(taught).map_err(|e| damaged(&e))?),
        };
        let mut frames = [0u8; 8];
        frames.copy_from_slice(&data[32..40]);
        let saved = Saved {
            frame: (u32_at(12), u32_at(16)),
            scale: u32_at(28),
            frames: u64::from_le_bytes(frames),
            shift: (u32_at(40) as i32, u32_at(44) as i32),
            body,
            learned,
        };
        // A frame count no camera reaches (30 000 years at 1 000 frames a second), or a shift
        // larger than the picture, is not a model this program wrote.
        let (fw, fh) = (i64::from(saved.frame.0), i64::from(saved.frame.1));
        if saved.frames > 1 << 50
            || i64::from(saved.shift.0).abs() > fw
            || i64::from(saved.shift.1).abs() > fh
        {
            return Err(damaged("a frame count or camera shift out of range"));
        }
        let sane = |m: &Mode| {
            m.weight.is_finite()
                && m.var.is_finite()
                && m.var > 0.0
                && m.mean.iter().all(|v| v.is_finite())
        };
        if !saved
            .pixels()
            .all(|p| p.modes[..usize::from(p.used)].iter().all(sane))
        {
            return Err(damaged("a component that is not a number"));
        }
        Ok(saved)
    }

    fn pixels(&self) -> impl Iterator<Item = Pixel> + '_ {
        self.body.chunks_exact(PIXEL).map(|p| {
            let f32_at = |at: usize| f32::from_le_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]);
            let mut modes = [Mode::default(); MODES];
            for (k, m) in modes.iter_mut().enumerate() {
                let at = 6 + k * 20;
                *m = Mode {
                    weight: f32_at(at),
                    var: f32_at(at + 4),
                    mean: [f32_at(at + 8), f32_at(at + 12), f32_at(at + 16)],
                };
            }
            Pixel {
                used: p[0].min(MODES as u8),
                held_for: u32::from_le_bytes([p[1], p[2], p[3], p[4]]),
                fg: if p[5] == BACKGROUND {
                    BACKGROUND
                } else {
                    FOREGROUND
                },
                modes,
            }
        })
    }
}
