//! Why a strand could not be spawned: [`SpawnError`], a leaf of the
//! runtime (the spawn path and the blocking pool both answer with it).

use std::fmt;
use std::io;

/// Why a strand could not be spawned.
///
/// ```
/// use strands::{Runtime, SpawnError};
///
/// let rt = Runtime::new()?;
/// let handle = rt.handle().clone();
/// drop(rt); // shuts down
/// match strands::Builder::new().spawn_on(&handle, || ()) {
///     Err(SpawnError::ShutDown) => {}
///     other => panic!("expected ShutDown, got {other:?}"),
/// }
/// assert!(matches!(strands::Builder::new().spawn(|| ()), Err(SpawnError::NoRuntime)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnError {
    /// The runtime holds as many live strands as its
    /// [`max_strands`](crate::runtime::Builder::max_strands) bound allows:
    /// back off and retry later.
    Saturated,
    /// The runtime has shut down.
    ShutDown,
    /// Not called from a strand, and no runtime was named.
    NoRuntime,
    /// No stack could be had: a stack size out of range (`InvalidInput`),
    /// the memory-mapping budget spent or `mmap` failing (`OutOfMemory` or
    /// the OS error).
    Io(io::Error),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Saturated => f.write_str("the runtime is saturated (max_strands reached)"),
            SpawnError::ShutDown => f.write_str("the runtime has shut down"),
            SpawnError::NoRuntime => f.write_str("not inside a strands runtime"),
            SpawnError::Io(e) => write!(f, "could not get a stack: {e}"),
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SpawnError> for io::Error {
    fn from(e: SpawnError) -> io::Error {
        match e {
            SpawnError::Io(e) => e,
            other => io::Error::other(other),
        }
    }
}
