//! A value stored in place when it fits, boxed when it does not:
//! [`InlineSlot`], the one type-erased buffer behind the crate's
//! "no allocation in the common case" stores.
//!
//! | owner | words | holds |
//! |---|---|---|
//! | a strand's payload (`strand/job.rs`) | 6 | its body, then its result |
//! | a queued `JoinSet` member (`join/member.rs`) | 3 | its closure |
//! | a plan part's `Body` (`join/plan.rs`) | 3 | its closure |
//!
//! # The rule
//!
//! A `T` of at most `WORDS` words and at most word alignment
//! ([`InlineSlot::fits`]) is written into the slot itself; any other `T` is
//! moved into a `Box<T>` and the slot holds the box (one word, so every
//! slot has room for it). The choice is a constant for each `T`: putting,
//! reading, taking and dropping a `T` all make the same one, so they agree
//! without a tag, and the branch folds away.
//!
//! # Who knows the type
//!
//! The slot does not: it is `WORDS` words of raw bytes. Its owner records
//! what it put there, usually as functions monomorphised for that `T` (a
//! table or a few `unsafe fn` pointers made where it stores it), and only
//! reads it back as that type: that is the contract of every `unsafe fn`
//! here. For the same reason the slot
//!
//! - never drops what it holds (a slot dropped or overwritten while it holds
//!   a value leaks it: the owner drops it with
//!   [`drop_in_place`](InlineSlot::drop_in_place) first), and
//! - is neither `Send` nor `Sync`: its owner, which knows what it stores,
//!   says whether it may cross threads (with an `unsafe impl` naming the
//!   bounds it put on the stored types).
//!
//! A slot may be moved while it holds a value, like any Rust value: an
//! inline value moves with it, a boxed one stays where it is.

use std::marker::PhantomData;
use std::mem::{align_of, size_of, MaybeUninit};
use std::ptr;

/// `WORDS` machine words, word-aligned, holding one value whose type only
/// its owner knows: in place if it [fits](Self::fits), else as a `Box` of
/// it (see the module docs).
///
/// Made holding a value ([`new`](Self::new));
/// [`take`](Self::take) and [`drop_in_place`](Self::drop_in_place) leave
/// it holding nothing, and [`put`](Self::put) fills it again.
pub(crate) struct InlineSlot<const WORDS: usize> {
    buf: MaybeUninit<[usize; WORDS]>,
    /// Neither `Send` nor `Sync`: the owner decides (module docs).
    _untyped: PhantomData<*mut ()>,
}

impl<const WORDS: usize> InlineSlot<WORDS> {
    /// Whether a `T` is stored in the slot itself (at most `WORDS` words,
    /// at most word alignment) rather than boxed.
    pub(crate) const fn fits<T>() -> bool {
        size_of::<T>() <= size_of::<[usize; WORDS]>() && align_of::<T>() <= align_of::<usize>()
    }

    /// A slot holding `x` (in place if it [fits](Self::fits), else boxed).
    #[inline]
    pub(crate) fn new<T>(x: T) -> Self {
        let mut buf = MaybeUninit::uninit();
        Self::write(&mut buf, x);
        InlineSlot {
            buf,
            _untyped: PhantomData,
        }
    }

    /// Stores `x`: in place if it [fits](Self::fits), else boxed. Whatever
    /// the slot held is overwritten, not dropped (leaked): put into a slot
    /// that holds nothing.
    #[inline]
    pub(crate) fn put<T>(&mut self, x: T) {
        Self::write(&mut self.buf, x);
    }

    /// [`put`](Self::put)'s work, on the bare buffer: [`new`](Self::new)
    /// fills a fresh buffer and then wraps it (building an empty slot and
    /// putting into it made the compiler zero the unused words, three
    /// instructions more per queued `JoinSet` member and per plan part).
    #[inline(always)]
    fn write<T>(buf: &mut MaybeUninit<[usize; WORDS]>, x: T) {
        const { assert!(Self::fits::<Box<T>>(), "a slot has room for at least a box") };
        let buf = buf.as_mut_ptr();
        if Self::fits::<T>() {
            // SAFETY: `buf` is `WORDS` words, word-aligned: room for a `T`
            // that fits, which is what was just checked.
            unsafe { buf.cast::<T>().write(x) }
        } else {
            // SAFETY: as above, for the box (asserted to fit).
            unsafe { buf.cast::<Box<T>>().write(Box::new(x)) }
        }
    }

    /// The stored `T`.
    ///
    /// # Safety
    ///
    /// The slot holds a `T` ([`new`](Self::new) or [`put`](Self::put) with
    /// this `T`, not taken or dropped since).
    #[inline]
    pub(crate) unsafe fn get<T>(&self) -> &T {
        let buf = self.buf.as_ptr();
        if Self::fits::<T>() {
            // SAFETY: by the contract, a `T` in place, borrowed as long as
            // the slot is.
            unsafe { &*buf.cast::<T>() }
        } else {
            // SAFETY: by the contract, a `Box<T>` in place.
            unsafe { &*buf.cast::<Box<T>>() }
        }
    }

    /// The stored `T`, mutably.
    ///
    /// # Safety
    ///
    /// As for [`get`](Self::get).
    #[inline]
    pub(crate) unsafe fn get_mut<T>(&mut self) -> &mut T {
        let buf = self.buf.as_mut_ptr();
        if Self::fits::<T>() {
            // SAFETY: by the contract, a `T` in place, borrowed as long as
            // the slot is (mutably: so only through this borrow).
            unsafe { &mut *buf.cast::<T>() }
        } else {
            // SAFETY: by the contract, a `Box<T>` in place.
            unsafe { &mut *buf.cast::<Box<T>>() }
        }
    }

    /// Moves the stored `T` out (freeing its box, if it had one); the slot
    /// holds nothing afterwards.
    ///
    /// # Safety
    ///
    /// As for [`get`](Self::get).
    #[inline]
    pub(crate) unsafe fn take<T>(&mut self) -> T {
        let buf = self.buf.as_mut_ptr();
        if Self::fits::<T>() {
            // SAFETY: by the contract, a `T` in place; the slot holds
            // nothing afterwards, so it is read out once.
            unsafe { buf.cast::<T>().read() }
        } else {
            // SAFETY: as above, for its box.
            *unsafe { buf.cast::<Box<T>>().read() }
        }
    }

    /// Drops the stored `T` where it is (and its box, if it had one); the
    /// slot holds nothing afterwards.
    ///
    /// # Safety
    ///
    /// As for [`get`](Self::get).
    #[inline]
    pub(crate) unsafe fn drop_in_place<T>(&mut self) {
        let buf = self.buf.as_mut_ptr();
        if Self::fits::<T>() {
            // SAFETY: by the contract, a `T` in place, dropped once (the
            // slot holds nothing afterwards).
            unsafe { ptr::drop_in_place(buf.cast::<T>()) }
        } else {
            // SAFETY: as above, for its box.
            unsafe { ptr::drop_in_place(buf.cast::<Box<T>>()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InlineSlot;
    use std::cell::Cell;
    use std::rc::Rc;

    type Slot3 = InlineSlot<3>;

    /// Whether the `T` in `slot` lives in the slot's own bytes.
    ///
    /// Safety: the slot holds a `T`.
    unsafe fn in_place<T, const W: usize>(slot: &InlineSlot<W>) -> bool {
        // SAFETY: by the contract.
        let p = unsafe { slot.get::<T>() } as *const T as usize;
        let start = slot as *const InlineSlot<W> as usize;
        (start..start + std::mem::size_of::<InlineSlot<W>>()).contains(&p)
    }

    #[test]
    fn sizes() {
        assert_eq!(
            std::mem::size_of::<Slot3>(),
            3 * std::mem::size_of::<usize>()
        );
        assert_eq!(std::mem::align_of::<Slot3>(), std::mem::align_of::<usize>());
        assert!(Slot3::fits::<[usize; 3]>());
        assert!(Slot3::fits::<()>());
        assert!(!Slot3::fits::<[usize; 4]>());
        assert!(!Slot3::fits::<u128>(), "over-aligned (16 on most targets)");
        assert_eq!(
            std::mem::size_of::<InlineSlot<6>>(),
            6 * std::mem::size_of::<usize>()
        );
        assert!(InlineSlot::<6>::fits::<[usize; 6]>());
        assert!(!InlineSlot::<6>::fits::<[usize; 7]>());
    }

    #[test]
    fn fitting_values_stay_in_place_and_others_are_boxed() {
        let mut s = Slot3::new([1usize, 2, 3]);
        // SAFETY: it holds a `[usize; 3]` until the `take`.
        unsafe {
            assert!(in_place::<[usize; 3], 3>(&s));
            s.get_mut::<[usize; 3]>()[1] = 20;
            assert_eq!(s.take::<[usize; 3]>(), [1, 20, 3]);
        }
        s.put([7usize; 4]);
        // SAFETY: it holds a `[usize; 4]` until the `take`.
        unsafe {
            assert!(!in_place::<[usize; 4], 3>(&s));
            assert_eq!(*s.get::<[usize; 4]>(), [7; 4]);
            assert_eq!(s.take::<[usize; 4]>(), [7; 4]);
        }
        #[repr(align(32))]
        #[derive(Debug, PartialEq)]
        struct Aligned(u8);
        let mut s = Slot3::new(Aligned(5));
        // SAFETY: it holds an `Aligned` until the `take`.
        unsafe {
            assert!(!in_place::<Aligned, 3>(&s));
            assert_eq!(s.get::<Aligned>() as *const Aligned as usize % 32, 0);
            assert_eq!(s.take::<Aligned>(), Aligned(5));
        }
    }

    #[test]
    fn moving_the_slot_moves_an_inline_value() {
        let s = Slot3::new(String::from("moved"));
        let mut moved = Box::new(s); // to the heap
                                     // SAFETY: it holds a `String` until the `take`.
        unsafe {
            assert!(in_place::<String, 3>(&moved));
            assert_eq!(moved.take::<String>(), "moved");
        }
    }

    #[test]
    fn take_and_drop_in_place_drop_exactly_once() {
        struct Counted<const N: usize>(Rc<Cell<u32>>, [usize; N]);
        impl<const N: usize> Drop for Counted<N> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let drops = Rc::new(Cell::new(0));
        let mut small = Slot3::new(Counted(Rc::clone(&drops), [0; 1]));
        let mut big = Slot3::new(Counted(Rc::clone(&drops), [0; 8]));
        // SAFETY: each holds the `Counted` it was made with, dropped or
        // taken once.
        unsafe {
            small.drop_in_place::<Counted<1>>();
            assert_eq!(drops.get(), 1);
            drop(big.take::<Counted<8>>());
            assert_eq!(drops.get(), 2);
            big.put(Counted(Rc::clone(&drops), [0; 8]));
            big.drop_in_place::<Counted<8>>();
        }
        assert_eq!(drops.get(), 3);
        assert_eq!(Rc::strong_count(&drops), 1, "no box or value leaked");
    }
}
