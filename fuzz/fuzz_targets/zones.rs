//! Zones files (`[[zone]]` tables): parsed by `parse_zone_specs`, validated for a 640x480
//! picture by `ZoneSet::build` (what `ZoneSet::load` does with a camera's file), and the
//! validated zones used as the counter uses them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use semaforo_vision::zones::parse_zone_specs;
use semaforo_vision::{BBox, ZoneSet};

const NAME: &str = "fuzz-zones.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let specs = match parse_zone_specs(NAME, text) {
        Ok(specs) => specs,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let zones = match ZoneSet::build(NAME, &specs, 640, 480, &["A", "B"]) {
        Ok(zones) => zones,
        Err(e) => {
            assert!(!e.0.is_empty(), "refused zones say why");
            let _ = e.to_string();
            return;
        }
    };
    let _ = zones.region_of_interest(0.1);
    let halved = zones.scaled_to(320, 240);
    let bbox = BBox::new(100.0, 100.0, 160.0, 140.0);
    for zone in zones.zones.iter().chain(&halved.zones) {
        let anchor = zones.anchor_point(zone, &bbox);
        let _ = zone.contains(anchor);
        let _ = zone.crossed((0.0, 0.0), (639.0, 479.0));
        let _ = zones.masked(anchor);
        let mask = zone.rasterize(640, 480, 16);
        assert_eq!(mask.len(), 40 * 30);
    }
});
