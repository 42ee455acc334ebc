//! SUMO's TraCI replies: `Batch::parse_reply` reads the answer to a batch of commands (status
//! blocks, the version, values of every type, a step's subscription count).
//!
//! Input: one byte choosing the batch (two bits per command, four commands: the version
//! handshake, a step, a detector read, a traffic-light state), then the reply.

#![no_main]

use libfuzzer_sys::fuzz_target;
use semaforo_sim::traci::{id, Batch};

fuzz_target!(|data: &[u8]| {
    let Some((&shape, reply)) = data.split_first() else {
        return;
    };
    let mut batch = Batch::new();
    for command in 0..4 {
        match (shape >> (2 * command)) & 3 {
            0 => batch.get_version(),
            1 => batch.step(),
            2 => batch.get(id::GET_LANEAREA, id::LAST_STEP_HALTING_NUMBER, "A_0"),
            _ => batch.set_tls_state("J1", "GGrr"),
        };
    }
    let values = match batch.parse_reply(reply) {
        Ok(values) => values,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for value in values {
        let _ = value.as_count();
        let _ = value.clone().into_list();
        let _ = value.into_string();
    }
});
