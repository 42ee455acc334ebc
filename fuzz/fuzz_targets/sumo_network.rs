//! SUMO network files (`.net.xml`): every traffic light read as signal groups and phases
//! (`network::load_selected` with `all`, what `semaforo sim --tls all` does), then the
//! detectors and programs written for it and its state strings read back.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use semaforo_signal::HeadState;
use semaforo_sim::network::{self, ProgramKind};

fuzz_target!(|data: &[u8]| {
    let path = semaforo_fuzz::scratch_file("fuzz.net.xml", data);
    let lights = match network::load_selected(&path, Some("all")) {
        Ok(lights) => lights,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let second = Duration::from_secs(1);
    let mut heads = Vec::new();
    let mut state = String::new();
    for light in &lights {
        let _ = light.detectors_xml(30.0);
        let _ = light.program_xml(ProgramKind::Actuated, 5 * second, 40 * second, 2 * second);
        for phase in &light.program {
            let green = light.phase_of_state(&phase.state);
            light.heads_of(&phase.state, &mut heads);
            assert_eq!(heads.len(), light.intersection.groups().len());
            light.state_string(&heads, green, &mut state);
            let all_red = vec![HeadState::Red; heads.len()];
            light.state_string(&all_red, None, &mut state);
        }
    }
});
