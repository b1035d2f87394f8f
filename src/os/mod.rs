//! OS-specific parts, like [`std::os`].

pub mod unix;

pub(crate) mod sys;
