//! Signals reach the strand that waits for them.

mod common;

use strands::signal::{Signals, SIGUSR1, SIGUSR2};

#[test]
fn signals_arrive_at_the_waiting_strand() {
    let rt = common::rt(2);
    let mut signals = Signals::new([SIGUSR1, SIGUSR2]).unwrap();
    let waiter = rt.spawn(move || {
        let a = signals.wait().unwrap();
        let b = signals.wait().unwrap();
        (a, b)
    });
    // one to the whole process, one raised on this thread
    // SAFETY: kill/raise with signals whose handlers are installed above.
    unsafe {
        assert_eq!(libc::kill(libc::getpid(), SIGUSR1), 0);
        assert_eq!(libc::raise(SIGUSR2), 0);
    }
    let (a, b) = waiter.join().unwrap();
    let (a, b) = (a.min(b), a.max(b)); // either order
    assert_eq!(a, SIGUSR1);
    assert_eq!(b, SIGUSR2);
}

#[test]
fn pending_and_bad_signals() {
    let mut s = Signals::new([libc::SIGWINCH]).unwrap();
    assert_eq!(s.pending().count(), 0);
    // SAFETY: raise a signal whose handler is installed above.
    unsafe { libc::raise(libc::SIGWINCH) };
    // the handler ran on this thread before raise returned
    assert_eq!(s.pending().collect::<Vec<_>>(), vec![libc::SIGWINCH]);
    assert_eq!(
        Signals::new([libc::SIGKILL]).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert!(Signals::new([libc::SIGSEGV]).is_err());
    assert!(Signals::new([1000]).is_err());
}
