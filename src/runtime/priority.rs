//! Priorities on the agenda, and [`PerPriority`]: one value per level.

use std::ops::{Index, IndexMut};

/// A strand's priority on the agenda.
///
/// ```
/// use strands::{Builder, Priority};
/// strands::run(|| {
///     let h = Builder::new().priority(Priority::High).spawn(|| 1).unwrap();
///     assert_eq!(h.join().unwrap(), 1);
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Served first: 12 of every 16 picks when all levels have work.
    High,
    /// The default: at least 3 of every 16 picks when it has work.
    #[default]
    Normal,
    /// At least 1 of every 16 picks when it has work.
    Low,
}

impl Priority {
    /// Every level, highest first.
    pub(crate) const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];
}

/// The order in which pick number `tick` looks at the levels (see the
/// agenda's bound in `agenda/mod.rs`).
#[inline]
pub(crate) fn order(tick: u64) -> [Priority; 3] {
    use Priority::{High, Low, Normal};
    if tick % 16 == 15 {
        [Low, High, Normal]
    } else if tick % 4 == 3 {
        [Normal, High, Low]
    } else {
        [High, Normal, Low]
    }
}

/// One `T` per priority level, indexed by [`Priority`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PerPriority<T>([T; 3]);

impl<T> PerPriority<T> {
    /// Each level's value from `f`.
    pub(crate) fn from_fn(mut f: impl FnMut(Priority) -> T) -> PerPriority<T> {
        PerPriority(Priority::ALL.map(&mut f))
    }

    /// The values, highest level first.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// The values as an array, highest level first (for public metrics).
    pub(crate) fn into_array(self) -> [T; 3] {
        self.0
    }
}

impl<T> Index<Priority> for PerPriority<T> {
    type Output = T;
    #[inline]
    fn index(&self, p: Priority) -> &T {
        &self.0[p as usize]
    }
}

impl<T> IndexMut<Priority> for PerPriority<T> {
    #[inline]
    fn index_mut(&mut self, p: Priority) -> &mut T {
        &mut self.0[p as usize]
    }
}

impl<'a, T> IntoIterator for &'a PerPriority<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
