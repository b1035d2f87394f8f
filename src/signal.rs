//! Unix signals delivered to strands: [`Signals`].
//!
//! Built on `signal-hook`: each signal gets a handler that writes the
//! signal's number, one byte, into a non-blocking socket pair (`write(2)`
//! is async-signal-safe; if the pair is full the byte is dropped, which is
//! how signals coalesce anyway). The other end is registered with the I/O
//! driver, so a strand that waits for a signal parks like one that waits
//! for a socket, and costs no worker.

use crate::io::Registered;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

pub use libc::{SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};

/// A set of signals to wait for.
///
/// While a `Signals` exists, its signals no longer have their default
/// action (terminating the process, for `SIGINT` and `SIGTERM`); they are
/// queued for [`wait`](Signals::wait) instead. Dropping it unregisters the
/// handlers (other handlers, and the default action once none is left,
/// apply again: signal-hook restores it).
///
/// Several `Signals` may watch the same signal: each gets it.
///
/// ```no_run
/// use strands::signal::{Signals, SIGINT, SIGTERM};
/// strands::run(|| {
///     let mut signals = Signals::new([SIGINT, SIGTERM]).unwrap();
///     let sig = signals.wait().unwrap(); // parks this strand only
///     println!("got signal {sig}, shutting down");
/// });
/// ```
pub struct Signals {
    ids: Vec<signal_hook::SigId>,
    rx: Registered<UnixStream>,
    // kept open while a handler may write to it; closed after `ids` are
    // unregistered (see `Drop`)
    tx: UnixStream,
}

impl Signals {
    /// Starts catching `signals`.
    ///
    /// Fails with `InvalidInput` for a signal signal-hook refuses to
    /// handle (`SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE`, `SIGSEGV`), and with
    /// the OS error for a number that is not a signal.
    ///
    /// ```
    /// use strands::signal::{Signals, SIGUSR1};
    ///
    /// let mut signals = Signals::new([SIGUSR1])?;
    /// // SAFETY: raise(3) only sends a signal to this thread, and `signals`
    /// // catches SIGUSR1 (its handler runs before raise returns).
    /// unsafe { libc::raise(SIGUSR1) };
    /// assert_eq!(signals.wait()?, SIGUSR1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(signals: impl IntoIterator<Item = i32>) -> io::Result<Signals> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        let mut me = Signals {
            ids: Vec::new(),
            rx: Registered::new(rx)?,
            tx,
        };
        for sig in signals {
            me.add(sig)?;
        }
        Ok(me)
    }

    /// Starts catching one more signal.
    ///
    /// ```
    /// use strands::signal::{Signals, SIGUSR1, SIGUSR2};
    ///
    /// let mut signals = Signals::new([SIGUSR1])?;
    /// signals.add(SIGUSR2)?;
    /// assert!(signals.add(libc::SIGKILL).is_err()); // cannot be caught
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add(&mut self, sig: i32) -> io::Result<()> {
        if signal_hook::consts::FORBIDDEN.contains(&sig) || !(1..=255).contains(&sig) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {sig} cannot be waited for"),
            ));
        }
        let fd = self.tx.as_raw_fd();
        let byte = sig as u8;
        // SAFETY: the action only calls write(2), which is async-signal-safe,
        // on `fd`, which stays open until the action is unregistered (the
        // `Drop` below unregisters before `tx` closes; signal-hook's
        // unregister waits until no handler still runs the old action).
        let id = unsafe {
            signal_hook::low_level::register(sig, move || {
                libc::write(fd, (&byte as *const u8).cast(), 1);
            })
        }?;
        self.ids.push(id);
        Ok(())
    }

    /// Parks until one of the signals arrives; returns its number.
    ///
    /// ```
    /// use strands::signal::{Signals, SIGUSR1};
    ///
    /// strands::run(|| {
    ///     let mut signals = Signals::new([SIGUSR1]).unwrap();
    ///     let waiter = strands::spawn(move || signals.wait().unwrap()); // parks, no worker held
    ///     // SAFETY: raise(3) only sends a signal to this thread, and `signals`
    ///     // catches SIGUSR1 (its handler runs before raise returns).
    ///     unsafe { libc::raise(SIGUSR1) };
    ///     assert_eq!(waiter.join().unwrap(), SIGUSR1);
    /// });
    /// ```
    pub fn wait(&mut self) -> io::Result<i32> {
        let mut b = [0u8; 1];
        // recorded as a signal wait, not as the read of the pipe below
        let _recorded = crate::runtime::context::waiting(crate::strand::WaitKind::Signal, 0);
        loop {
            match self.rx.read(&mut b) {
                Ok(1) => return Ok(b[0] as i32),
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "signal pipe closed",
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The signals that arrived and were not taken yet, without waiting.
    ///
    /// ```
    /// use strands::signal::{Signals, SIGUSR1};
    ///
    /// let mut signals = Signals::new([SIGUSR1])?;
    /// assert_eq!(signals.pending().count(), 0);
    /// // SAFETY: raise(3) only sends a signal to this thread, and `signals`
    /// // catches SIGUSR1 (its handler runs before raise returns).
    /// unsafe { libc::raise(SIGUSR1) };
    /// assert_eq!(signals.pending().collect::<Vec<_>>(), [SIGUSR1]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pending(&mut self) -> impl Iterator<Item = i32> + '_ {
        std::iter::from_fn(move || {
            let mut b = [0u8; 1];
            match self.rx.get_ref().read(&mut b) {
                Ok(1) => Some(b[0] as i32),
                _ => None, // WouldBlock: none left
            }
        })
    }

    /// An endless iterator of arriving signals (each [`wait`](Signals::wait);
    /// ends on an error).
    ///
    /// ```
    /// use strands::signal::{Signals, SIGUSR1};
    ///
    /// let mut signals = Signals::new([SIGUSR1])?;
    /// // SAFETY: raise(3) only sends a signal to this thread, and `signals`
    /// // catches SIGUSR1 (its handler runs before raise returns).
    /// unsafe { libc::raise(SIGUSR1) };
    /// for sig in signals.forever().take(1) {
    ///     assert_eq!(sig, SIGUSR1);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn forever(&mut self) -> impl Iterator<Item = i32> + '_ {
        std::iter::from_fn(move || self.wait().ok())
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        // `tx` and `rx` close after this, with no handler left to write
    }
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field("registered", &self.ids.len())
            .finish()
    }
}
