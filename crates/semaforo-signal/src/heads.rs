//! `HeadState`: what a signal group's heads show, the controller's output.

use std::fmt;

/// The indication shown by one signal group's heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HeadState {
    /// Steady green: go.
    Green,
    /// Steady yellow: the yellow change interval, green is ending.
    Yellow,
    /// Steady red: stop.
    #[default]
    Red,
    /// Flashing red on every head: the conflict monitor has latched a fault.
    FlashingRed,
    /// No indication. The controller never outputs it; the conflict monitor treats it as a fault
    /// (a dark head, like a failed red lamp, gives no instruction).
    Dark,
}

impl HeadState {
    /// Whether the indication lets vehicles enter (green) or is the change interval that ends
    /// such a permission (yellow): two conflicting groups must never both be "permissive".
    pub fn is_permissive(self) -> bool {
        matches!(self, HeadState::Green | HeadState::Yellow)
    }

    /// One letter, as SUMO's signal state strings use them: `G`, `y`, `r`, `o` (flashing, "off
    /// blinking"), `O` (dark, "off").
    pub fn sumo_char(self) -> char {
        match self {
            HeadState::Green => 'G',
            HeadState::Yellow => 'y',
            HeadState::Red => 'r',
            HeadState::FlashingRed => 'o',
            HeadState::Dark => 'O',
        }
    }
}

impl fmt::Display for HeadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeadState::Green => "green",
            HeadState::Yellow => "yellow",
            HeadState::Red => "red",
            HeadState::FlashingRed => "flashing red",
            HeadState::Dark => "dark",
        })
    }
}
