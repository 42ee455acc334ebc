//! Zones: where in a camera's picture vehicles are counted.
//!
//! A camera has one or more zones, each tagged with the approach it belongs to and a role:
//! a `queue` polygon (the stop-line area: how many vehicles are present), a count `line`
//! (vehicles crossing it are arrivals) or a `mask` polygon (ignored: trees, a timestamp, the
//! opposite direction). Zones are written in a TOML file:
//!
//! ```toml
//! [[zone]]
//! name = "a-queue"
//! approach = "A"
//! role = "queue"
//! points = [[0.40, 0.20], [0.60, 0.20], [0.60, 0.78], [0.40, 0.78]]
//!
//! [[zone]]
//! name = "a-arrivals"
//! approach = "A"
//! role = "line"
//! points = [[0.35, 0.15], [0.65, 0.15]]
//! ```
//!
//! Points are pixels, or fractions of the width and height when `units = "fraction"` (the
//! default when every coordinate lies in 0..=1). A vehicle is in a zone when its anchor point
//! is: the middle of its box's bottom edge (`anchor = "bottom"`, where it touches the road: the
//! right point for a camera looking along the road) or its centre (`anchor = "center"`, for a
//! camera looking straight down).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use semaforo_camera::synthetic::Layout;

use crate::detect::{BBox, Region};

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneRole {
    /// Vehicles present now (the stop-line area).
    Queue,
    /// Vehicles crossing a line (arrivals).
    Line,
    /// An area to ignore.
    Mask,
}

impl ZoneRole {
    pub fn name(self) -> &'static str {
        match self {
            ZoneRole::Queue => "queue",
            ZoneRole::Line => "line",
            ZoneRole::Mask => "mask",
        }
    }
}

/// Which point of a vehicle's box decides whether it is in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    /// Middle of the bottom edge.
    #[default]
    Bottom,
    /// Centre of the box.
    Center,
}

impl Anchor {
    /// The anchor point of `bbox`.
    pub fn of(self, bbox: &BBox) -> (f32, f32) {
        match self {
            Anchor::Bottom => bbox.ground_point(),
            Anchor::Center => bbox.center(),
        }
    }
}

/// A validated zone in pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    /// The approach it counts for; `None` for masks.
    pub approach: Option<String>,
    pub role: ZoneRole,
    pub anchor: Anchor,
    /// Polygon corners (queue, mask) or the line's two ends, in pixels.
    pub points: Vec<(f32, f32)>,
}

/// A camera's zones, validated against its picture size.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSet {
    pub width: u32,
    pub height: u32,
    pub zones: Vec<Zone>,
}

/// A zone that cannot be used, naming the zone, the value and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name}: zone `{zone}`: {problem}")]
pub struct ZoneError {
    /// The zones file (or `built-in` for generated zones).
    pub source_name: String,
    pub zone: String,
    pub problem: String,
}

/// All the problems found in a zones file, reported together.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneErrors(pub Vec<ZoneError>);

impl fmt::Display for ZoneErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ZoneErrors {}

/// A zone as written, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSpec {
    pub name: String,
    pub approach: Option<String>,
    pub role: ZoneRole,
    pub anchor: Anchor,
    /// `Some(true)` for fractions of the picture, `Some(false)` for pixels, `None` to infer.
    pub fractional: Option<bool>,
    pub points: Vec<(f64, f64)>,
}

impl ZoneSet {
    /// The zones for a frame of `width` x `height`, validated: every problem in one error.
    /// `approaches` lists the approach names zones may use.
    pub fn build(
        source_name: &str,
        specs: &[ZoneSpec],
        width: u32,
        height: u32,
        approaches: &[&str],
    ) -> Result<ZoneSet, ZoneErrors> {
        let mut errors = Vec::new();
        let mut zones = Vec::new();
        let mut names = BTreeSet::new();
        for spec in specs {
            let mut problem = |text: String| {
                errors.push(ZoneError {
                    source_name: source_name.to_string(),
                    zone: spec.name.clone(),
                    problem: text,
                })
            };
            if !names.insert(spec.name.clone()) {
                problem("the name is used by another zone; names must be unique".into());
                continue;
            }
            match (&spec.approach, spec.role) {
                (None, ZoneRole::Queue | ZoneRole::Line) => problem(format!(
                    "a {} zone needs `approach`, one of {}",
                    spec.role.name(),
                    approaches.join(", ")
                )),
                (Some(a), _) if !approaches.contains(&a.as_str()) => problem(format!(
                    "approach = \"{a}\" is not an approach of this intersection: expected one of {}",
                    approaches.join(", ")
                )),
                _ => {}
            }
            let fractional = spec.fractional.unwrap_or_else(|| {
                spec.points
                    .iter()
                    .all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y))
            });
            let (sx, sy) = if fractional {
                (f64::from(width), f64::from(height))
            } else {
                (1.0, 1.0)
            };
            let points: Vec<(f32, f32)> = spec
                .points
                .iter()
                .map(|&(x, y)| ((x * sx) as f32, (y * sy) as f32))
                .collect();
            let mut bad_point = false;
            for (i, (&(x, y), &(px, py))) in spec.points.iter().zip(&points).enumerate() {
                let inside = px.is_finite()
                    && py.is_finite()
                    && (0.0..=width as f32).contains(&px)
                    && (0.0..=height as f32).contains(&py);
                if !inside {
                    bad_point = true;
                    problem(format!(
                        "point {} = [{x}, {y}] is outside the {width}x{height} picture: expected {}",
                        i + 1,
                        if fractional {
                            "fractions in 0..=1".to_string()
                        } else {
                            format!("pixels with 0 <= x <= {width} and 0 <= y <= {height}")
                        }
                    ));
                }
            }
            if bad_point {
                continue;
            }
            match spec.role {
                ZoneRole::Line => {
                    if points.len() != 2 {
                        problem(format!(
                            "a line has exactly 2 points, this one has {}",
                            points.len()
                        ));
                        continue;
                    }
                    let (a, b) = (points[0], points[1]);
                    if (a.0 - b.0).hypot(a.1 - b.1) < 2.0 {
                        problem("the line's two ends are the same point: it has no length".into());
                        continue;
                    }
                }
                ZoneRole::Queue | ZoneRole::Mask => {
                    if points.len() < 3 {
                        problem(format!(
                            "a polygon needs at least 3 points, this one has {}",
                            points.len()
                        ));
                        continue;
                    }
                    if let Some((i, j)) = self_intersection(&points) {
                        problem(format!(
                            "the polygon crosses itself: edge {} (points {}-{}) crosses edge {} (points {}-{}); \
                             list the points in order around the area",
                            i + 1,
                            i + 1,
                            (i + 1) % points.len() + 1,
                            j + 1,
                            j + 1,
                            (j + 1) % points.len() + 1
                        ));
                        continue;
                    }
                    if polygon_area(&points).abs() < 4.0 {
                        problem("the polygon has no area (its points are on one line)".into());
                        continue;
                    }
                }
            }
            zones.push(Zone {
                name: spec.name.clone(),
                approach: spec.approach.clone(),
                role: spec.role,
                anchor: spec.anchor,
                points,
            });
        }
        if zones.iter().all(|z| z.role == ZoneRole::Mask) && errors.is_empty() {
            errors.push(ZoneError {
                source_name: source_name.to_string(),
                zone: "(all)".into(),
                problem: "no queue or line zone: expected at least one zone that counts".into(),
            });
        }
        if errors.is_empty() {
            Ok(ZoneSet {
                width,
                height,
                zones,
            })
        } else {
            Err(ZoneErrors(errors))
        }
    }

    /// One queue zone covering the whole picture, named `all` (what `semaforo count` uses
    /// without `--zones`).
    pub fn whole_frame(width: u32, height: u32, approach: &str) -> ZoneSet {
        let (w, h) = (width as f32, height as f32);
        ZoneSet {
            width,
            height,
            zones: vec![Zone {
                name: "all".into(),
                approach: Some(approach.to_string()),
                role: ZoneRole::Queue,
                anchor: Anchor::Center,
                points: vec![(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)],
            }],
        }
    }

    /// The zones of the `synthetic:` scene laid out as `layout` (the scene's own
    /// [`semaforo_camera::synthetic::LAYOUT`]) in a `width` x `height` picture, counting for
    /// `approach`: the queue zone (a vehicle is in it when its centre is, as the ground truth
    /// counts) and the count line (crossed by a vehicle's front, as the ground truth counts
    /// arrivals).
    pub fn of_synthetic_scene(layout: &Layout, width: u32, height: u32, approach: &str) -> ZoneSet {
        let (w, h) = (width as f32, height as f32);
        let road = (0.26 * w, 0.74 * w);
        let (top, bottom) = (
            layout.queue_zone.0 as f32 * h,
            layout.queue_zone.1 as f32 * h,
        );
        let line = layout.count_line as f32 * h;
        ZoneSet {
            width,
            height,
            zones: vec![
                Zone {
                    name: format!("{}-queue", approach.to_ascii_lowercase()),
                    approach: Some(approach.to_string()),
                    role: ZoneRole::Queue,
                    anchor: Anchor::Center,
                    points: vec![
                        (road.0, top),
                        (road.1, top),
                        (road.1, bottom),
                        (road.0, bottom),
                    ],
                },
                Zone {
                    name: format!("{}-arrivals", approach.to_ascii_lowercase()),
                    approach: Some(approach.to_string()),
                    role: ZoneRole::Line,
                    anchor: Anchor::Bottom,
                    points: vec![(road.0, line), (road.1, line)],
                },
            ],
        }
    }

    /// Reads a zones file (see the module documentation) for a `width` x `height` picture.
    pub fn load(
        path: &Path,
        width: u32,
        height: u32,
        approaches: &[&str],
    ) -> Result<ZoneSet, ZoneFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ZoneFileError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let name = path.display().to_string();
        let specs = parse_zone_specs(&name, &text)?;
        ZoneSet::build(&name, &specs, width, height, approaches).map_err(ZoneFileError::Invalid)
    }

    /// The zones with `role`.
    pub fn with_role(&self, role: ZoneRole) -> impl Iterator<Item = &Zone> {
        self.zones.iter().filter(move |z| z.role == role)
    }

    /// Whether a point is inside any mask.
    pub fn masked(&self, point: (f32, f32)) -> bool {
        self.with_role(ZoneRole::Mask).any(|z| z.contains(point))
    }

    /// The point of `bbox` that decides whether it is in `zone` (the zone's anchor), kept
    /// inside the picture: a vehicle cut off by the picture's bottom edge has its box end
    /// exactly on that edge, where a zone drawn to the bottom of the picture ends too, and a
    /// point on a polygon's edge counts as outside. Without this the vehicle nearest the
    /// camera, often the first in the queue, was not counted.
    pub fn anchor_point(&self, zone: &Zone, bbox: &BBox) -> (f32, f32) {
        let (x, y) = zone.anchor.of(bbox);
        let inner = |v: f32, size: u32| v.clamp(0.5, (size as f32 - 0.5).max(0.5));
        (inner(x, self.width), inner(y, self.height))
    }

    /// The part of the picture a detector needs to see: the bounding box of the queue zones
    /// and count lines, widened by `margin` (a fraction of the picture's width and height) on
    /// every side so that a vehicle standing at a zone's edge is seen whole, cut to the picture.
    /// The whole picture when there are no such zones.
    pub fn region_of_interest(&self, margin: f32) -> Region {
        let points = self
            .zones
            .iter()
            .filter(|z| z.role != ZoneRole::Mask)
            .flat_map(|z| z.points.iter().copied());
        let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (x, y) in points {
            (x1, y1, x2, y2) = (x1.min(x), y1.min(y), x2.max(x), y2.max(y));
        }
        if x1 > x2 || y1 > y2 {
            return Region::whole(self.width, self.height);
        }
        let (w, h) = (self.width as f32, self.height as f32);
        let (mx, my) = (margin.max(0.0) * w, margin.max(0.0) * h);
        let left = (x1 - mx).clamp(0.0, w).floor();
        let top = (y1 - my).clamp(0.0, h).floor();
        let right = (x2 + mx).clamp(0.0, w).ceil();
        let bottom = (y2 + my).clamp(0.0, h).ceil();
        Region {
            x: left as u32,
            y: top as u32,
            width: (right - left) as u32,
            height: (bottom - top) as u32,
        }
        .clamped_to(self.width, self.height)
    }

    /// Scales the zones to another picture size (a camera that grants a different size).
    pub fn scaled_to(&self, width: u32, height: u32) -> ZoneSet {
        let sx = width as f32 / self.width.max(1) as f32;
        let sy = height as f32 / self.height.max(1) as f32;
        ZoneSet {
            width,
            height,
            zones: self
                .zones
                .iter()
                .map(|z| Zone {
                    points: z.points.iter().map(|&(x, y)| (x * sx, y * sy)).collect(),
                    ..z.clone()
                })
                .collect(),
        }
    }
}

impl Zone {
    /// Whether `point` is inside the polygon (even-odd rule; a line contains nothing).
    pub fn contains(&self, point: (f32, f32)) -> bool {
        self.role != ZoneRole::Line && point_in_polygon(&self.points, point)
    }

    /// Whether moving from `from` to `to` crosses this line (touching an end counts once).
    pub fn crossed(&self, from: (f32, f32), to: (f32, f32)) -> bool {
        self.role == ZoneRole::Line
            && self.points.len() == 2
            && segments_intersect(self.points[0], self.points[1], from, to)
    }

    /// The zone's pixels at `step` spacing, as a row-major mask of `ceil(w/step)` x
    /// `ceil(h/step)` (a pixel is in when its centre is inside).
    pub fn rasterize(&self, width: u32, height: u32, step: u32) -> Vec<bool> {
        let step = step.max(1);
        let (cols, rows) = (width.div_ceil(step), height.div_ceil(step));
        let mut mask = vec![false; cols as usize * rows as usize];
        for r in 0..rows {
            for c in 0..cols {
                let p = (
                    (c * step) as f32 + step as f32 * 0.5,
                    (r * step) as f32 + step as f32 * 0.5,
                );
                mask[(r * cols + c) as usize] = self.contains(p);
            }
        }
        mask
    }
}

/// A zones file that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum ZoneFileError {
    #[error("cannot read zones file {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("zones file {source_name} is not valid TOML: {reason}")]
    Syntax { source_name: String, reason: String },
    #[error("{0}")]
    Invalid(ZoneErrors),
}

/// Parses the `[[zone]]` tables of a zones file into specs (validation is [`ZoneSet::build`]'s).
pub fn parse_zone_specs(source_name: &str, text: &str) -> Result<Vec<ZoneSpec>, ZoneFileError> {
    let syntax = |reason: String| ZoneFileError::Syntax {
        source_name: source_name.to_string(),
        reason,
    };
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| syntax(e.to_string()))?;
    let mut errors = Vec::new();
    for key in doc.keys().filter(|k| k.as_str() != "zone") {
        errors.push(ZoneError {
            source_name: source_name.to_string(),
            zone: "(file)".into(),
            problem: format!("unknown table `{key}`: expected only [[zone]] entries"),
        });
    }
    let entries = match doc.get("zone") {
        Some(toml::Value::Array(items)) => items.as_slice(),
        Some(_) => {
            return Err(syntax(
                "`zone` must be an array of tables: write [[zone]]".into(),
            ))
        }
        None => &[],
    };
    let mut specs = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let fallback = format!("#{}", i + 1);
        let Some(table) = entry.as_table() else {
            return Err(syntax(format!("zone {fallback} is not a table")));
        };
        let name = table
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or(fallback);
        let mut problem = |text: String| {
            errors.push(ZoneError {
                source_name: source_name.to_string(),
                zone: name.clone(),
                problem: text,
            })
        };
        for key in table.keys() {
            if !["name", "approach", "role", "points", "units", "anchor"].contains(&key.as_str()) {
                problem(format!(
                    "unknown key `{key}`: expected name, approach, role, points, units, anchor"
                ));
            }
        }
        let role = match table.get("role").and_then(|v| v.as_str()) {
            Some("queue") => ZoneRole::Queue,
            Some("line") => ZoneRole::Line,
            Some("mask") => ZoneRole::Mask,
            other => {
                problem(format!(
                    "role = {}: expected \"queue\", \"line\" or \"mask\"",
                    other.map_or("(missing)".to_string(), |o| format!("\"{o}\""))
                ));
                continue;
            }
        };
        let fractional = match table.get("units").and_then(|v| v.as_str()) {
            None => None,
            Some("fraction") => Some(true),
            Some("pixels") => Some(false),
            Some(other) => {
                problem(format!(
                    "units = \"{other}\": expected \"pixels\" or \"fraction\""
                ));
                None
            }
        };
        let anchor = match table.get("anchor").and_then(|v| v.as_str()) {
            None | Some("bottom") => Anchor::Bottom,
            Some("center") | Some("centre") => Anchor::Center,
            Some(other) => {
                problem(format!(
                    "anchor = \"{other}\": expected \"bottom\" or \"center\""
                ));
                Anchor::Bottom
            }
        };
        let mut points = Vec::new();
        match table.get("points").and_then(|v| v.as_array()) {
            None => problem("`points` is missing: expected [[x, y], ...]".into()),
            Some(list) => {
                for (j, p) in list.iter().enumerate() {
                    let pair = p.as_array().filter(|a| a.len() == 2).and_then(|a| {
                        let num = |v: &toml::Value| {
                            v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
                        };
                        Some((num(&a[0])?, num(&a[1])?))
                    });
                    match pair {
                        Some(xy) => points.push(xy),
                        None => problem(format!(
                            "point {} = {p}: expected [x, y] with two numbers",
                            j + 1
                        )),
                    }
                }
            }
        }
        specs.push(ZoneSpec {
            name: name.clone(),
            approach: table
                .get("approach")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            role,
            anchor,
            fractional,
            points,
        });
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(ZoneFileError::Invalid(ZoneErrors(errors)))
    }
}

/// Signed area (shoelace); positive for counter-clockwise in a y-up frame.
fn polygon_area(points: &[(f32, f32)]) -> f32 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f32>()
        * 0.5
}

fn point_in_polygon(points: &[(f32, f32)], (x, y): (f32, f32)) -> bool {
    let mut inside = false;
    let n = points.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (xi, yi) = points[i];
        let (xj, yj) = points[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn cross(o: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// Whether segments p1-p2 and q1-q2 share a point.
fn segments_intersect(p1: (f32, f32), p2: (f32, f32), q1: (f32, f32), q2: (f32, f32)) -> bool {
    let d1 = cross(q1, q2, p1);
    let d2 = cross(q1, q2, p2);
    let d3 = cross(p1, p2, q1);
    let d4 = cross(p1, p2, q2);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    let on = |a: (f32, f32), b: (f32, f32), p: (f32, f32), d: f32| {
        d == 0.0
            && p.0 >= a.0.min(b.0)
            && p.0 <= a.0.max(b.0)
            && p.1 >= a.1.min(b.1)
            && p.1 <= a.1.max(b.1)
    };
    on(q1, q2, p1, d1) || on(q1, q2, p2, d2) || on(p1, p2, q1, d3) || on(p1, p2, q2, d4)
}

/// The first pair of non-adjacent edges that cross, if any.
fn self_intersection(points: &[(f32, f32)]) -> Option<(usize, usize)> {
    let n = points.len();
    for i in 0..n {
        for j in i + 1..n {
            let adjacent = j == i + 1 || (i == 0 && j == n - 1);
            if adjacent {
                continue;
            }
            let (a1, a2) = (points[i], points[(i + 1) % n]);
            let (b1, b2) = (points[j], points[(j + 1) % n]);
            if segments_intersect(a1, a2, b1, b2) {
                return Some((i, j));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, role: ZoneRole, points: &[(f64, f64)]) -> ZoneSpec {
        ZoneSpec {
            name: name.into(),
            approach: (role != ZoneRole::Mask).then(|| "A".to_string()),
            role,
            anchor: Anchor::Bottom,
            fractional: None,
            points: points.to_vec(),
        }
    }

    fn build(specs: &[ZoneSpec]) -> Result<ZoneSet, ZoneErrors> {
        ZoneSet::build("zones.toml", specs, 640, 360, &["A", "B"])
    }

    #[test]
    fn the_region_of_interest_covers_queues_and_lines_with_a_margin_and_ignores_masks() {
        let specs = vec![
            spec(
                "queue",
                ZoneRole::Queue,
                &[(100.0, 50.0), (300.0, 50.0), (300.0, 200.0)],
            ),
            spec("line", ZoneRole::Line, &[(80.0, 120.0), (250.0, 120.0)]),
            spec(
                "mask",
                ZoneRole::Mask,
                &[(0.0, 0.0), (640.0, 0.0), (640.0, 20.0)],
            ),
        ];
        let zones = ZoneSet::build("test", &specs, 640, 352, &["A"]).unwrap();
        // Margin 5%: 32 px across, 17.6 px down.
        let r = zones.region_of_interest(0.05);
        assert_eq!((r.x, r.y, r.width, r.height), (48, 32, 284, 186));
        // A margin reaching past the picture is cut to it.
        let r = zones.region_of_interest(0.5);
        assert_eq!((r.x, r.y, r.width, r.height), (0, 0, 620, 352));
        let whole = ZoneSet::whole_frame(640, 352, "A").region_of_interest(0.05);
        assert_eq!(whole, Region::whole(640, 352));
    }

    #[test]
    fn fractions_scale_to_pixels_and_points_inside_are_found() {
        let set = build(&[spec(
            "q",
            ZoneRole::Queue,
            &[(0.25, 0.0), (0.75, 0.0), (0.75, 1.0), (0.25, 1.0)],
        )])
        .unwrap();
        let zone = &set.zones[0];
        assert_eq!(zone.points[1], (480.0, 0.0));
        assert!(zone.contains((320.0, 180.0)));
        assert!(!zone.contains((100.0, 180.0)));
    }

    #[test]
    fn every_bad_zone_is_named_with_its_problem() {
        let errors = build(&[
            spec(
                "bow-tie",
                ZoneRole::Queue,
                &[(0.0, 0.0), (100.0, 100.0), (100.0, 0.0), (0.0, 100.0)],
            ),
            spec(
                "flat",
                ZoneRole::Queue,
                &[(0.0, 0.0), (50.0, 50.0), (100.0, 100.0)],
            ),
            spec(
                "outside",
                ZoneRole::Queue,
                &[(0.0, 0.0), (700.0, 0.0), (700.0, 100.0)],
            ),
            spec("dot", ZoneRole::Line, &[(10.0, 10.0), (10.0, 10.0)]),
            ZoneSpec {
                approach: Some("C".into()),
                ..spec(
                    "stranger",
                    ZoneRole::Queue,
                    &[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0)],
                )
            },
        ])
        .unwrap_err();
        let text = errors.to_string();
        assert_eq!(errors.0.len(), 6, "{text}");
        assert!(
            text.contains("zone `bow-tie`: the polygon crosses itself: edge 1"),
            "{text}"
        );
        assert!(
            text.contains("zone `flat`: the polygon has no area"),
            "{text}"
        );
        assert!(
            text.contains("zone `outside`: point 2 = [700, 0] is outside the 640x360 picture"),
            "{text}"
        );
        assert!(
            text.contains("zone `dot`: the line's two ends are the same point"),
            "{text}"
        );
        assert!(
            text.contains(
                "approach = \"C\" is not an approach of this intersection: expected one of A, B"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_line_is_crossed_once_by_a_path_through_it_and_not_by_one_beside_it() {
        let set = build(&[spec("l", ZoneRole::Line, &[(100.0, 50.0), (300.0, 50.0)])]).unwrap();
        let line = &set.zones[0];
        assert!(line.crossed((200.0, 40.0), (200.0, 60.0)));
        assert!(line.crossed((200.0, 60.0), (200.0, 40.0)));
        assert!(!line.crossed((350.0, 40.0), (350.0, 60.0)));
        assert!(!line.crossed((200.0, 60.0), (200.0, 70.0)));
    }

    #[test]
    fn the_zones_file_is_parsed_and_its_mistakes_reported_together() {
        let text = r#"
[[zone]]
name = "a-queue"
approach = "A"
role = "queue"
points = [[0.4, 0.2], [0.6, 0.2], [0.6, 0.78], [0.4, 0.78]]
anchor = "center"

[[zone]]
name = "sign"
role = "mask"
units = "pixels"
points = [[500, 0], [640, 0], [640, 160]]

[[zone]]
name = "typo"
role = "queu"
colour = "red"
points = [[1, 2]]
"#;
        let err = parse_zone_specs("street.toml", text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("street.toml: zone `typo`: unknown key `colour`"),
            "{err}"
        );
        assert!(
            err.contains("zone `typo`: role = \"queu\": expected \"queue\""),
            "{err}"
        );
        let good: String = text
            .split("[[zone]]\nname = \"typo\"")
            .next()
            .unwrap()
            .into();
        let specs = parse_zone_specs("street.toml", &good).unwrap();
        let set = ZoneSet::build("street.toml", &specs, 640, 360, &["A"]).unwrap();
        assert_eq!(set.zones.len(), 2);
        assert_eq!(set.zones[0].anchor, Anchor::Center);
        assert!(set.masked((630.0, 20.0)));
        assert!(!set.masked((10.0, 300.0)));
    }

    #[test]
    fn rasterized_zone_covers_its_area() {
        let set = build(&[spec(
            "q",
            ZoneRole::Queue,
            &[(0.0, 0.0), (320.0, 0.0), (320.0, 360.0), (0.0, 360.0)],
        )])
        .unwrap();
        let mask = set.zones[0].rasterize(640, 360, 2);
        let inside = mask.iter().filter(|&&m| m).count();
        assert_eq!(inside, 160 * 180);
    }
}
