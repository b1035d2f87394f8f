//! Timers: the hierarchical wheel (`wheel.rs`) and the runtime's timers on
//! it (`timer.rs`), fired on the I/O driver's path.

pub(crate) mod timer;
pub(crate) mod wheel;

pub(crate) use timer::{Key, Timers};
