//! The park/wake state machine of one strand.
//!
//! One atomic byte: a *phase* in the low two bits and a *notified* token in
//! bit 2.
//!
//! | phase     | meaning                                         | owner        |
//! |-----------|-------------------------------------------------|--------------|
//! | `ACTIVE`  | running, or runnable in a queue                 | its worker   |
//! | `PARKED`  | switched out completely, waiting for a wake     | the waker    |
//! | `DONE`    | finished; never changes again                   | nobody       |
//!
//! Running and runnable are one phase on purpose: a wake treats them alike
//! (it leaves the token), so a yield -- the hottest path -- touches no
//! atomic at all.
//!
//! The rules, after Go's `gopark` (park first, then let others wake):
//!
//! 1. A strand never marks itself `PARKED`. It asks its worker to park it
//!    and switches out; only the worker, *after* the switch has completed,
//!    moves `ACTIVE → PARKED`. So nobody can resume a strand whose registers
//!    are still being saved.
//! 2. A wake that finds `PARKED` moves it to `ACTIVE` with a compare-and-swap;
//!    the one waker that wins the swap schedules the strand. A strand is
//!    therefore pushed onto a run queue exactly once per park.
//! 3. A wake that finds `ACTIVE` sets the token instead. The
//!    worker's `ACTIVE → PARKED` swap then fails, and the strand is made
//!    runnable again at once (its park returns); a park that starts with the
//!    token set consumes it and does not switch at all. Like
//!    [`std::thread::park`], a park may thus return spuriously: callers wait
//!    in a loop on their condition.

use crate::loom::{AtomicU8, Ordering};

const PHASE: u8 = 0b011;
const ACTIVE: u8 = 0;
const PARKED: u8 = 2;
const DONE: u8 = 3;
const NOTIFIED: u8 = 0b100;

pub(crate) struct State(AtomicU8);

impl State {
    /// A fresh strand: active (queued), no token.
    pub(crate) fn new() -> State {
        State(AtomicU8::new(ACTIVE))
    }

    /// The worker is about to switch into the strand. Nothing to record:
    /// queued and running are one phase.
    #[inline]
    pub(crate) fn start_running(&self) {
        debug_assert_ne!(
            self.0.load(Ordering::Relaxed) & PHASE,
            PARKED,
            "a parked strand was run"
        );
    }

    /// The strand yielded: still active (the token, if any, stays).
    #[inline]
    pub(crate) fn yielded(&self) {}

    /// Called by the running strand before it asks to park: consumes the
    /// token if one is set, in which case the park returns at once.
    ///
    /// Without a token it is one load: a failed compare-and-swap costs a
    /// locked instruction too, and most parks find no token. A token that
    /// arrives after the load is not lost: the park's own transition
    /// (`ACTIVE → PARKED`) fails on it, and the worker requeues the strand.
    #[inline]
    pub(crate) fn take_token(&self) -> bool {
        if self.0.load(Ordering::Relaxed) != ACTIVE | NOTIFIED {
            return false;
        }
        self.0
            .compare_exchange(
                ACTIVE | NOTIFIED,
                ACTIVE,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Called by the worker once the strand has switched out to park:
    /// `ACTIVE → PARKED`. Returns `false` if a wake arrived meanwhile; the
    /// strand is then `ACTIVE` again (token consumed) and the worker must
    /// requeue it.
    #[inline]
    pub(crate) fn park(&self) -> bool {
        match self
            .0
            .compare_exchange(ACTIVE, PARKED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(now) => {
                // the cold path (a requeue): checked in every build
                assert_eq!(now, ACTIVE | NOTIFIED, "a strand parked twice");
                self.0.store(ACTIVE, Ordering::Release);
                false
            }
        }
    }

    /// A wake. Returns `true` if the caller won the right (and the duty) to
    /// schedule the strand.
    #[inline]
    pub(crate) fn wake(&self) -> bool {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (next, schedule) = match cur & PHASE {
                PARKED => (ACTIVE, true),
                DONE => return false,
                _ if cur & NOTIFIED != 0 => return false,
                _ => (cur | NOTIFIED, false),
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return schedule,
                Err(now) => cur = now,
            }
        }
    }

    /// Takes a parked strand out of its park for the caller to run, as a
    /// winning wake would (the caller then owns it), but leaves a strand
    /// that is not parked alone: no token. Returns whether it took it.
    #[inline]
    pub(crate) fn claim_parked(&self) -> bool {
        self.0
            .compare_exchange(PARKED, ACTIVE, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// The strand finished; final.
    #[inline]
    pub(crate) fn done(&self) {
        self.0.store(DONE, Ordering::Release);
    }

    /// The phase now, for reports (stale as soon as it is read).
    pub(crate) fn phase(&self) -> Phase {
        match self.0.load(Ordering::Relaxed) & PHASE {
            PARKED => Phase::Parked,
            DONE => Phase::Done,
            _ => Phase::Active,
        }
    }
}

/// A strand's phase as [`State::phase`] reads it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// Running or runnable.
    Active,
    Parked,
    Done,
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The park/wake protocol under every interleaving loom can find.
    use super::State;
    use crate::loom::Arc;

    /// What happened to a strand that tried to park.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Parking {
        /// A token was waiting: the park returned without switching.
        TokenTaken,
        /// Woken while switching out: the worker requeued it.
        Requeued,
        /// Parked for real: only a waker can bring it back.
        Parked,
    }

    /// The strand's side (run by its worker): run, then try to park.
    fn run_then_park(state: &State) -> Parking {
        state.start_running();
        if state.take_token() {
            Parking::TokenTaken
        } else if state.park() {
            Parking::Parked
        } else {
            Parking::Requeued
        }
    }

    #[test]
    fn loom_wake_races_park_and_is_never_lost_or_doubled() {
        loom::model(|| {
            let state = Arc::new(State::new());
            let s = Arc::clone(&state);
            let waker = loom::thread::spawn(move || s.wake());
            let parking = run_then_park(&state);
            let scheduled = waker.join().unwrap();
            match parking {
                // parked for real: the waker must be the one to push it
                Parking::Parked => assert!(scheduled, "lost wake-up"),
                // it never slept: nobody may push it a second time
                Parking::TokenTaken | Parking::Requeued => assert!(!scheduled, "double push"),
            }
        });
    }

    #[test]
    fn loom_two_wakers_push_a_parked_strand_exactly_once() {
        loom::model(|| {
            let state = Arc::new(State::new());
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let s = Arc::clone(&state);
                    loom::thread::spawn(move || s.wake())
                })
                .collect();
            let parking = run_then_park(&state);
            let pushes = wakers
                .into_iter()
                .map(|w| w.join().unwrap() as u32)
                .sum::<u32>();
            match parking {
                Parking::Parked => assert_eq!(pushes, 1),
                Parking::TokenTaken | Parking::Requeued => assert_eq!(pushes, 0),
            }
        });
    }

    #[test]
    fn loom_yield_keeps_a_token_for_the_next_park() {
        loom::model(|| {
            let state = Arc::new(State::new());
            let s = Arc::clone(&state);
            let waker = loom::thread::spawn(move || s.wake());
            // run, yield (requeued by the worker), run again, then park
            state.start_running();
            state.yielded();
            let parking = run_then_park(&state);
            let scheduled = waker.join().unwrap();
            assert_eq!(
                parking == Parking::Parked,
                scheduled,
                "{parking:?} vs scheduled={scheduled}"
            );
        });
    }

    #[test]
    fn loom_cancel_races_wake_and_park_and_the_strand_sees_it() {
        use crate::loom::{AtomicBool, Ordering};
        // `Header::cancel` is: set the flag, then wake. Race it with an
        // ordinary wake and with the strand parking; whoever schedules the
        // strand does it once, and the strand, once running again, sees the
        // flag (so it unwinds at its blocking point).
        loom::model(|| {
            let state = Arc::new(State::new());
            let cancelled = Arc::new(AtomicBool::new(false));
            let (s1, c1) = (Arc::clone(&state), Arc::clone(&cancelled));
            let canceller = loom::thread::spawn(move || {
                let first = !c1.swap(true, Ordering::AcqRel);
                first && s1.wake()
            });
            let s2 = Arc::clone(&state);
            let waker = loom::thread::spawn(move || s2.wake());
            // the strand: checks the flag before parking, as park_current does
            let before = cancelled.load(Ordering::Acquire);
            let parking = if before {
                Parking::TokenTaken
            } else {
                run_then_park(&state)
            };
            let pushes = canceller.join().unwrap() as u32 + waker.join().unwrap() as u32;
            match parking {
                Parking::Parked => {
                    assert_eq!(pushes, 1, "a parked strand is pushed exactly once");
                    assert!(
                        cancelled.load(Ordering::Acquire),
                        "and sees the cancellation when it runs"
                    );
                }
                Parking::TokenTaken | Parking::Requeued => assert_eq!(pushes, 0),
            }
        });
    }
}
