//! A worker thread's membership in stop-the-world requests ([`Member`]).

use crate::loom::Arc;
use crate::runtime::shared::Shared;

/// A worker thread counted among the members while this lives (created
/// first thing in `run_worker`, dropped as it returns).
pub(crate) struct Member(Arc<Shared>);

impl Member {
    pub(crate) fn join(shared: &Arc<Shared>) -> Member {
        shared.stw.join();
        Member(Arc::clone(shared))
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.0.stw.leave();
    }
}
