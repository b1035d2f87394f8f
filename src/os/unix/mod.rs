//! Unix-specific parts, like [`std::os::unix`].

pub mod net;
