//! The blocking pool (filled in by the next commits).
#![allow(dead_code)]
pub(crate) mod pool;
