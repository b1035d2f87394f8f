//! OS-specific parts, like [`std::os`].

#[cfg(not(loom))]
pub mod unix;

pub(crate) mod sys;
