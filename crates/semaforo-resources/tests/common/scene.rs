//! A deterministic synthetic road scene (sky, grass, asphalt, lane marks, cars, sensor
//! noise): realistic enough that JPEG has real work to do, identical bytes on every run.
//! Shared by the tests and the benchmark.

/// `width * height * 3` RGB bytes of the scene.
pub fn road_scene(width: usize, height: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 31) as i32 - 15
    };
    let horizon = height / 3;
    let mut img = vec![0u8; width * height * 3];
    for y in 0..height {
        for x in 0..width {
            let dx = (x as i32 - width as i32 / 2).unsigned_abs() as usize * 2;
            let (mut r, mut g, mut b) = if y < horizon {
                (120 + (y * 80 / horizon) as i32, 160, 220)
            } else if dx < (y - horizon) * 3 + 200 {
                (90, 90, 95)
            } else {
                (60, 120, 50)
            };
            if y > horizon && dx < 8 && (y / 20) % 2 == 0 {
                (r, g, b) = (230, 230, 230);
            }
            let n = noise();
            let i = (y * width + x) * 3;
            img[i] = (r + n).clamp(0, 255) as u8;
            img[i + 1] = (g + n).clamp(0, 255) as u8;
            img[i + 2] = (b + n).clamp(0, 255) as u8;
        }
    }
    let colours = [(200, 30, 30), (30, 30, 200), (230, 230, 230), (20, 20, 20)];
    for k in 0..8 {
        let cx = (80 + k * 67) % width.saturating_sub(80).max(1);
        let cy = horizon + 30 + (k * 41) % (height.saturating_sub(horizon + 80)).max(1);
        let c = colours[k % 4];
        for y in cy..(cy + 45).min(height) {
            for x in cx..(cx + 70).min(width) {
                let shade = (y - cy) as i32 - 20;
                let i = (y * width + x) * 3;
                img[i] = (c.0 - shade).clamp(0, 255) as u8;
                img[i + 1] = (c.1 - shade).clamp(0, 255) as u8;
                img[i + 2] = (c.2 - shade).clamp(0, 255) as u8;
            }
        }
    }
    img
}
