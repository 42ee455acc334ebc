//! What the integration tests share.

use semaforo_camera::GroundTruth;
use semaforo_vision::{BBox, Detection, ObjectClass};

/// The synthetic scene's vehicles as a perfect network would see them: every true box, a car
/// at score 0.9.
pub fn seen_by_a_perfect_network(truth: &GroundTruth) -> impl Iterator<Item = Detection> + '_ {
    truth.vehicles.iter().map(|v| Detection {
        class: ObjectClass::Car,
        score: 0.9,
        bbox: BBox::new(
            v.bbox[0] as f32,
            v.bbox[1] as f32,
            v.bbox[2] as f32,
            v.bbox[3] as f32,
        ),
    })
}
