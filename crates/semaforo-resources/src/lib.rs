//! The Resource Management Guide in Rust.
