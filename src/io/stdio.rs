//! [`stdin`]: line reading that parks the strand, not the worker.

use super::wait::{Interest, Readiness};
use crate::loom::{Mutex, MutexGuard, OnceLock};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd};

struct State {
    readiness: Readiness,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
}

/// A handle to the process's standard input whose reads park the calling
/// strand until input is there. Get one with [`stdin`].
///
/// Unlike [`Registered`](super::Registered), it does **not** put fd 0 in
/// non-blocking mode: that mode belongs to the open file, which the shell
/// and other processes share, and would outlive this process. Instead it
/// waits for the driver (or a zero-timeout `poll(2)`) to say the fd is
/// readable and only then calls `read(2)`, which then returns at once.
/// When stdin is a regular file (`< file`), which the driver cannot
/// watch, reads block the worker thread for the disk, like a thread's.
///
/// Reads are buffered; one strand at a time reads (others wait, yielding).
///
/// ```no_run
/// use std::io::Read;
///
/// strands::run(|| {
///     let mut all = Vec::new();
///     strands::io::stdin().read_to_end(&mut all).unwrap(); // parks, not the worker
///     println!("{} bytes", all.len());
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Stdin {
    _private: (),
}

/// The standard input of the process, read through the I/O driver.
///
/// ```no_run
/// strands::run(|| {
///     let mut line = String::new();
///     while strands::io::stdin().read_line(&mut line).unwrap() > 0 {
///         print!("echo: {line}");
///         line.clear();
///     }
/// });
/// ```
pub fn stdin() -> Stdin {
    Stdin { _private: () }
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    let m = STATE.get_or_init(|| {
        Mutex::new(State {
            readiness: Readiness::new(),
            buf: vec![0; 8192],
            pos: 0,
            filled: 0,
        })
    });
    loop {
        match m.try_lock() {
            Ok(g) => return g,
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => crate::yield_now(),
        }
    }
}

impl State {
    fn fill(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.filled {
            return Ok(&self.buf[self.pos..self.filled]);
        }
        let fd = io::stdin().as_raw_fd();
        // SAFETY: fd 0 stays open for the life of the process (nothing in
        // this crate closes it).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        loop {
            match self.readiness.ready(fd, Interest::Read, None) {
                Ok(()) => {}
                // a regular file (epoll refuses it: EPERM) is always ready
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                Err(e) => return Err(e),
            }
            // SAFETY: reads into our own buffer, within its length.
            let n =
                unsafe { libc::read(fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len()) };
            if n >= 0 {
                self.pos = 0;
                self.filled = n as usize;
                return Ok(&self.buf[..self.filled]);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => continue,
                _ => return Err(e),
            }
        }
    }
}

impl Stdin {
    /// Reads a line (up to and including `\n`) into `buf`; returns the
    /// number of bytes read, 0 at end of input.
    ///
    /// ```no_run
    /// strands::run(|| {
    ///     let mut name = String::new();
    ///     if strands::io::stdin().read_line(&mut name).unwrap() == 0 {
    ///         return; // end of input
    ///     }
    ///     println!("hello, {}", name.trim_end());
    /// });
    /// ```
    pub fn read_line(&self, buf: &mut String) -> io::Result<usize> {
        let mut bytes = Vec::new();
        let n = self.read_until(b'\n', &mut bytes)?;
        match String::from_utf8(bytes) {
            Ok(s) => {
                buf.push_str(&s);
                Ok(n)
            }
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )),
        }
    }

    /// Reads bytes into `out` until `byte` (included) or end of input.
    ///
    /// ```no_run
    /// strands::run(|| {
    ///     let mut record = Vec::new();
    ///     strands::io::stdin().read_until(0, &mut record).unwrap(); // a NUL-terminated record
    ///     println!("{} bytes", record.len());
    /// });
    /// ```
    pub fn read_until(&self, byte: u8, out: &mut Vec<u8>) -> io::Result<usize> {
        let mut st = state();
        let mut n = 0;
        loop {
            let avail = st.fill()?;
            if avail.is_empty() {
                return Ok(n);
            }
            match avail.iter().position(|&b| b == byte) {
                Some(i) => {
                    out.extend_from_slice(&avail[..=i]);
                    st.pos += i + 1;
                    return Ok(n + i + 1);
                }
                None => {
                    let len = avail.len();
                    out.extend_from_slice(avail);
                    st.pos += len;
                    n += len;
                }
            }
        }
    }
}

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = state();
        let avail = st.fill()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        st.pos += n;
        Ok(n)
    }
}
