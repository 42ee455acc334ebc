//! Vehicle detection: the types every detector shares and the [`Detector`] trait.
//!
//! Two detectors implement it: the background model ([`bgsub`]: moving and queued blobs, no
//! model file, cheap enough for a Pi) and YOLOX-Nano ([`yolox`]: classified road users); a
//! third, [`auto`], puts a motion gate in front of YOLOX. [`kinds`] builds the one a camera's
//! settings name. A detector turns one frame into boxes in the frame's own pixel coordinates;
//! zones, the tracker and the counter work on those boxes whatever produced them.

pub mod auto;
pub mod bgsub;
pub mod kinds;
pub mod yolox;

use std::fmt;
use std::path::PathBuf;

use semaforo_camera::Frame;

/// A rectangle of the picture, in whole pixels: the part a detector looks at.
///
/// YOLOX sees a 416x416 input; shrinking a whole 640x352 frame into it loses detail that small
/// vehicles (motorcycles, bicycles) need. When the zones cover only part of the picture, the
/// detector looks at their surroundings only, at a larger scale ([`crate::ZoneSet::region_of_interest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Region {
    /// The whole of a `width` x `height` picture.
    pub fn whole(width: u32, height: u32) -> Region {
        Region {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    /// This region cut to a `width` x `height` picture (at least one pixel).
    pub fn clamped_to(self, width: u32, height: u32) -> Region {
        let x = self.x.min(width.saturating_sub(1));
        let y = self.y.min(height.saturating_sub(1));
        Region {
            x,
            y,
            width: self.width.clamp(1, (width - x).max(1)),
            height: self.height.clamp(1, (height - y).max(1)),
        }
    }
}

/// What a detection is. COCO's road-user classes, plus `Vehicle` for a detector that finds
/// objects without classifying them (a background-model blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectClass {
    Car,
    Bus,
    Truck,
    Motorcycle,
    Bicycle,
    Person,
    /// A vehicle-sized object of unknown class.
    Vehicle,
}

impl ObjectClass {
    /// Every class, in a stable order (for reports and per-class tables).
    pub const ALL: [ObjectClass; 7] = [
        ObjectClass::Car,
        ObjectClass::Bus,
        ObjectClass::Truck,
        ObjectClass::Motorcycle,
        ObjectClass::Bicycle,
        ObjectClass::Person,
        ObjectClass::Vehicle,
    ];

    /// The name used in configuration, logs and JSON (COCO's names).
    pub fn name(self) -> &'static str {
        match self {
            ObjectClass::Car => "car",
            ObjectClass::Bus => "bus",
            ObjectClass::Truck => "truck",
            ObjectClass::Motorcycle => "motorcycle",
            ObjectClass::Bicycle => "bicycle",
            ObjectClass::Person => "person",
            ObjectClass::Vehicle => "vehicle",
        }
    }

    /// The class named `name` (as [`ObjectClass::name`] writes it).
    pub fn from_name(name: &str) -> Option<ObjectClass> {
        ObjectClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The class of a COCO class index, for the road users; `None` for everything else.
    pub fn from_coco(index: usize) -> Option<ObjectClass> {
        match index {
            0 => Some(ObjectClass::Person),
            1 => Some(ObjectClass::Bicycle),
            2 => Some(ObjectClass::Car),
            3 => Some(ObjectClass::Motorcycle),
            5 => Some(ObjectClass::Bus),
            7 => Some(ObjectClass::Truck),
            _ => None,
        }
    }

    /// Whether this is a vehicle (everything but a person).
    pub fn is_vehicle(self) -> bool {
        self != ObjectClass::Person
    }
}

impl fmt::Display for ObjectClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An axis-aligned box in pixels: `x1 <= x2`, `y1 <= y2`, top-left origin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        BBox { x1, y1, x2, y2 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Centre point.
    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) * 0.5, (self.y1 + self.y2) * 0.5)
    }

    /// Middle of the bottom edge: where a vehicle touches the road, the point zones test.
    pub fn ground_point(&self) -> (f32, f32) {
        ((self.x1 + self.x2) * 0.5, self.y2)
    }

    /// Intersection over union; 0 for boxes that do not overlap or have no area.
    pub fn iou(&self, other: &BBox) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// `x1,y1,x2,y2` in whole pixels: how traces and the replay tool print a box.
impl fmt::Display for BBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0},{:.0},{:.0},{:.0}",
            self.x1, self.y1, self.x2, self.y2
        )
    }
}

/// One object a detector found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub class: ObjectClass,
    /// Confidence in 0..=1 (a background-model blob scores by how solid it is).
    pub score: f32,
    pub bbox: BBox,
}

/// Why a detector could not be built or could not process a frame.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The model file is missing, unreadable or not the model expected.
    #[error("detector model {}: {reason}; expected {expected}", path.display())]
    Model {
        path: PathBuf,
        reason: String,
        expected: String,
    },
    /// A frame the detector cannot take (empty, or its buffer does not match its size).
    #[error("frame {width}x{height} cannot be processed: {reason}")]
    Frame {
        width: u32,
        height: u32,
        reason: String,
    },
    /// The inference engine failed on a frame.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The inference runtime's library cannot be had: missing or incompatible. `remedy` says
    /// how to get one.
    #[error("{runtime} cannot run the detector: {reason}. {remedy}")]
    Runtime {
        runtime: &'static str,
        reason: String,
        remedy: String,
    },
    /// A detector setting is out of range.
    #[error("detector setting {setting} = {value} is not valid: expected {expected}")]
    Setting {
        setting: &'static str,
        value: String,
        expected: String,
    },
}

/// Finds objects in frames. One detector per camera, used from that camera's detection thread.
pub trait Detector: Send {
    /// Short name for logs and reports (`bgsub`, `yolox`, `auto`).
    fn name(&self) -> &'static str;

    /// Replaces `out`'s contents with the objects found in `frame`, in its pixel coordinates.
    fn detect(&mut self, frame: &Frame, out: &mut Vec<Detection>) -> Result<(), DetectError>;

    /// For a gated detector: frames seen and frames its expensive detector ran on.
    fn usage(&self) -> Option<(u64, u64)> {
        None
    }

    /// A background model, whose learned state is worth keeping across a restart
    /// ([`bgsub::BackgroundSubtractor::save_state`]).
    fn background(&mut self) -> Option<&mut bgsub::BackgroundSubtractor> {
        None
    }

    /// Takes a frame the expensive detector is not run on (between two network runs): a
    /// detector with a background model beside the network (`auto`) keeps the model learning.
    fn between(&mut self, _frame: &Frame) -> Result<(), DetectError> {
        Ok(())
    }

    /// How much of each queue zone a background model saw covered in the last frame, and the
    /// vehicles it estimates from that ([`crate::cover`]); `None` without a background model.
    fn cover(&self) -> Option<&[crate::cover::ZoneCover]> {
        None
    }

    /// The background model, warm, to count alone when this detector is replaced.
    fn into_background(self: Box<Self>) -> Option<bgsub::BackgroundSubtractor> {
        None
    }
}

/// Checks that a frame's buffer matches its size (a detector's first step).
pub fn check_frame(frame: &Frame) -> Result<(), DetectError> {
    let expected = frame.width as usize * frame.height as usize * 3;
    if frame.width == 0 || frame.height == 0 {
        return Err(DetectError::Frame {
            width: frame.width,
            height: frame.height,
            reason: "the frame is empty".into(),
        });
    }
    if frame.rgb.len() != expected {
        return Err(DetectError::Frame {
            width: frame.width,
            height: frame.height,
            reason: format!("{} bytes of RGB, expected {expected}", frame.rgb.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox::new(20.0, 20.0, 30.0, 30.0)), 0.0);
        let b = BBox::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(BBox::default().iou(&BBox::default()), 0.0);
    }

    #[test]
    fn coco_road_users_map_to_classes_and_names_round_trip() {
        assert_eq!(ObjectClass::from_coco(2), Some(ObjectClass::Car));
        assert_eq!(ObjectClass::from_coco(7), Some(ObjectClass::Truck));
        assert_eq!(
            ObjectClass::from_coco(4),
            None,
            "airplane is not a road user"
        );
        for class in ObjectClass::ALL {
            assert_eq!(ObjectClass::from_name(class.name()), Some(class));
        }
    }

    #[test]
    fn a_frame_whose_buffer_does_not_match_its_size_is_refused() {
        let mut frame = Frame::black(4, 2);
        assert!(check_frame(&frame).is_ok());
        frame.rgb.pop();
        let message = check_frame(&frame).unwrap_err().to_string();
        assert!(
            message.contains("23 bytes") && message.contains("expected 24"),
            "{message}"
        );
    }
}
