//! Drawing on frames for people to check the counting: zone outlines, detection boxes with
//! track ids, and short text (a built-in 3x5 pixel font, upper case, digits and `:-#./=_`).

use crate::counting::{Track, ZoneCount};
use crate::zones::{ZoneRole, ZoneSet};
use semaforo_camera::Frame;

/// Colours used by [`annotate`].
pub const QUEUE_COLOUR: [u8; 3] = [255, 200, 0];
pub const LINE_COLOUR: [u8; 3] = [0, 220, 255];
pub const MASK_COLOUR: [u8; 3] = [120, 120, 120];
pub const TRACK_COLOUR: [u8; 3] = [40, 255, 40];
pub const TENTATIVE_COLOUR: [u8; 3] = [255, 60, 60];

/// Draws the zones, the tracks (confirmed in green with their id and class, tentative in red)
/// and the counts per zone in the top-left corner.
pub fn annotate(
    frame: &mut Frame,
    zones: &ZoneSet,
    tracks: &[Track],
    min_hits: u32,
    counts: &[ZoneCount],
) {
    for zone in &zones.zones {
        let colour = match zone.role {
            ZoneRole::Queue => QUEUE_COLOUR,
            ZoneRole::Line => LINE_COLOUR,
            ZoneRole::Mask => MASK_COLOUR,
        };
        let n = zone.points.len();
        let edges = if zone.role == ZoneRole::Line { 1 } else { n };
        for i in 0..edges {
            let (a, b) = (zone.points[i], zone.points[(i + 1) % n]);
            draw_line(frame, a, b, colour);
        }
    }
    for track in tracks.iter().filter(|t| t.misses == 0) {
        let confirmed = track.hits >= min_hits;
        let colour = if confirmed {
            TRACK_COLOUR
        } else {
            TENTATIVE_COLOUR
        };
        let b = track.bbox;
        draw_rect(frame, (b.x1, b.y1, b.x2, b.y2), colour);
        if confirmed {
            let label = format!("#{} {}", track.id, track.class().name());
            draw_text(frame, b.x1 as i32 + 1, b.y1 as i32 - 12, &label, colour, 2);
        }
    }
    let mut y = 4;
    for c in counts {
        let text = match c.role {
            ZoneRole::Line => format!("{}: {} ARRIVED", c.zone, c.arrivals),
            _ => format!("{}: {} PRESENT", c.zone, c.present),
        };
        fill_rect(
            frame,
            (2, y - 2, 8 + 8 * text.len() as i32, y + 12),
            [0, 0, 0],
        );
        draw_text(frame, 6, y, &text, [255, 255, 255], 2);
        y += 16;
    }
}

fn put(frame: &mut Frame, x: i32, y: i32, colour: [u8; 3]) {
    if x < 0 || y < 0 || x >= frame.width as i32 || y >= frame.height as i32 {
        return;
    }
    let i = (y as usize * frame.width as usize + x as usize) * 3;
    frame.rgb[i..i + 3].copy_from_slice(&colour);
}

fn fill_rect(frame: &mut Frame, (x1, y1, x2, y2): (i32, i32, i32, i32), colour: [u8; 3]) {
    for y in y1..y2 {
        for x in x1..x2 {
            put(frame, x, y, colour);
        }
    }
}

/// A two-pixel-wide line (Bresenham, doubled).
pub fn draw_line(frame: &mut Frame, a: (f32, f32), b: (f32, f32), colour: [u8; 3]) {
    let (mut x0, mut y0) = (a.0.round() as i32, a.1.round() as i32);
    let (x1, y1) = (b.0.round() as i32, b.1.round() as i32);
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    for _ in 0..=(dx - dy) {
        put(frame, x0, y0, colour);
        put(frame, x0 + 1, y0, colour);
        put(frame, x0, y0 + 1, colour);
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

/// A rectangle outline.
pub fn draw_rect(frame: &mut Frame, (x1, y1, x2, y2): (f32, f32, f32, f32), colour: [u8; 3]) {
    draw_line(frame, (x1, y1), (x2, y1), colour);
    draw_line(frame, (x2, y1), (x2, y2), colour);
    draw_line(frame, (x2, y2), (x1, y2), colour);
    draw_line(frame, (x1, y2), (x1, y1), colour);
}

/// Text at `(x, y)` (top-left), each font pixel `scale` x `scale`; unknown characters are blank.
pub fn draw_text(frame: &mut Frame, x: i32, y: i32, text: &str, colour: [u8; 3], scale: i32) {
    for (i, ch) in text.chars().enumerate() {
        let bits = glyph(ch);
        let left = x + i as i32 * 4 * scale;
        for row in 0..5 {
            for col in 0..3 {
                if bits & (1 << (14 - (row * 3 + col))) != 0 {
                    fill_rect(
                        frame,
                        (
                            left + col * scale,
                            y + row * scale,
                            left + (col + 1) * scale,
                            y + (row + 1) * scale,
                        ),
                        colour,
                    );
                }
            }
        }
    }
}

/// The 3x5 glyph of `ch`: 15 bits, rows top to bottom, each row's left pixel first.
fn glyph(ch: char) -> u16 {
    const fn g(rows: [u16; 5]) -> u16 {
        (rows[0] << 12) | (rows[1] << 9) | (rows[2] << 6) | (rows[3] << 3) | rows[4]
    }
    match ch.to_ascii_uppercase() {
        '0' => g([0b111, 0b101, 0b101, 0b101, 0b111]),
        '1' => g([0b010, 0b110, 0b010, 0b010, 0b111]),
        '2' => g([0b111, 0b001, 0b111, 0b100, 0b111]),
        '3' => g([0b111, 0b001, 0b111, 0b001, 0b111]),
        '4' => g([0b101, 0b101, 0b111, 0b001, 0b001]),
        '5' => g([0b111, 0b100, 0b111, 0b001, 0b111]),
        '6' => g([0b111, 0b100, 0b111, 0b101, 0b111]),
        '7' => g([0b111, 0b001, 0b001, 0b001, 0b001]),
        '8' => g([0b111, 0b101, 0b111, 0b101, 0b111]),
        '9' => g([0b111, 0b101, 0b111, 0b001, 0b111]),
        'A' => g([0b010, 0b101, 0b111, 0b101, 0b101]),
        'B' => g([0b110, 0b101, 0b110, 0b101, 0b110]),
        'C' => g([0b011, 0b100, 0b100, 0b100, 0b011]),
        'D' => g([0b110, 0b101, 0b101, 0b101, 0b110]),
        'E' => g([0b111, 0b100, 0b110, 0b100, 0b111]),
        'F' => g([0b111, 0b100, 0b110, 0b100, 0b100]),
        'G' => g([0b011, 0b100, 0b101, 0b101, 0b011]),
        'H' => g([0b101, 0b101, 0b111, 0b101, 0b101]),
        'I' => g([0b111, 0b010, 0b010, 0b010, 0b111]),
        'J' => g([0b001, 0b001, 0b001, 0b101, 0b010]),
        'K' => g([0b101, 0b101, 0b110, 0b101, 0b101]),
        'L' => g([0b100, 0b100, 0b100, 0b100, 0b111]),
        'M' => g([0b101, 0b111, 0b111, 0b101, 0b101]),
        'N' => g([0b110, 0b101, 0b101, 0b101, 0b101]),
        'O' => g([0b010, 0b101, 0b101, 0b101, 0b010]),
        'P' => g([0b110, 0b101, 0b110, 0b100, 0b100]),
        'Q' => g([0b010, 0b101, 0b101, 0b110, 0b011]),
        'R' => g([0b110, 0b101, 0b110, 0b101, 0b101]),
        'S' => g([0b011, 0b100, 0b010, 0b001, 0b110]),
        'T' => g([0b111, 0b010, 0b010, 0b010, 0b010]),
        'U' => g([0b101, 0b101, 0b101, 0b101, 0b111]),
        'V' => g([0b101, 0b101, 0b101, 0b101, 0b010]),
        'W' => g([0b101, 0b101, 0b111, 0b111, 0b101]),
        'X' => g([0b101, 0b101, 0b010, 0b101, 0b101]),
        'Y' => g([0b101, 0b101, 0b010, 0b010, 0b010]),
        'Z' => g([0b111, 0b001, 0b010, 0b100, 0b111]),
        ':' => g([0b000, 0b010, 0b000, 0b010, 0b000]),
        '-' => g([0b000, 0b000, 0b111, 0b000, 0b000]),
        '#' => g([0b101, 0b111, 0b101, 0b111, 0b101]),
        '.' => g([0b000, 0b000, 0b000, 0b000, 0b010]),
        '/' => g([0b001, 0b001, 0b010, 0b100, 0b100]),
        '=' => g([0b000, 0b111, 0b000, 0b111, 0b000]),
        '_' => g([0b000, 0b000, 0b000, 0b000, 0b111]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_boxes_land_where_asked_and_never_outside_the_frame() {
        let mut frame = Frame::black(40, 20);
        draw_text(&mut frame, 0, 0, "1", [255, 255, 255], 1);
        // '1' row 0 is 010: only the middle pixel lit.
        assert_eq!(&frame.rgb[0..9], &[0, 0, 0, 255, 255, 255, 0, 0, 0]);
        draw_rect(&mut frame, (-10.0, -10.0, 100.0, 100.0), [1, 2, 3]);
        draw_text(&mut frame, 35, 15, "WIDE TEXT", [9, 9, 9], 3);
        assert_eq!(frame.rgb.len(), 40 * 20 * 3);
    }
}
