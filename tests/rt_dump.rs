//! Strand dumps: every live strand listed with its state, what it waits
//! for and where it was spawned; taken from inside and outside a runtime.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use strands::dump::{StrandInfo, StrandState, WaitKind};
use strands::JoinHandle;

/// Yields until the dump shows the strand named `name` parked in a wait of
/// `kind`; returns its entry.
fn parked_in(name: &str, kind: WaitKind) -> StrandInfo {
    loop {
        let dump = strands::dump().expect("inside a runtime");
        if let Some(s) = dump.strands().iter().find(|s| s.name() == Some(name)) {
            if s.waits_for() == Some(kind) {
                return s.clone();
            }
        }
        strands::yield_now();
    }
}

#[track_caller]
fn named<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    strands::Builder::new().name(name.into()).spawn(f).unwrap()
}

#[test]
fn dump_names_what_each_strand_waits_for() {
    let rt = common::rt(1);
    rt.block_on(|| {
        let mut handles: Vec<JoinHandle<()>> = Vec::new();
        let mutex = Arc::new(strands::sync::Mutex::new(()));
        let guard = mutex.lock().unwrap();
        let m = Arc::clone(&mutex);
        handles.push(named("mutex", move || {
            drop(m.lock());
            strands::park(); // a second wait, recorded afresh
        }));
        let rw = Arc::new(strands::sync::RwLock::new(()));
        let read = rw.read().unwrap();
        let r = Arc::clone(&rw);
        handles.push(named("rwlock", move || drop(r.write())));
        let sem = Arc::new(strands::sync::Semaphore::new(0));
        let s = Arc::clone(&sem);
        handles.push(named("semaphore", move || drop(s.acquire())));
        let notify = Arc::new(strands::sync::Notify::new());
        let n = Arc::clone(&notify);
        handles.push(named("notify", move || n.wait()));
        let wg = Arc::new(strands::sync::WaitGroup::new());
        wg.add(1);
        let w = Arc::clone(&wg);
        handles.push(named("waitgroup", move || w.wait()));
        let barrier = Arc::new(strands::sync::Barrier::new(2));
        let b = Arc::clone(&barrier);
        handles.push(named("barrier", move || {
            b.wait();
        }));
        let (tx, rx) = strands::channel::bounded::<u32>(0);
        handles.push(named("recv", move || {
            let _ = rx.recv();
        }));
        let (tx2, rx2) = strands::channel::bounded::<u32>(0); // kept until the end
        handles.push(named("send", move || {
            let _ = tx2.send(1);
        }));
        handles.push(named("sleep", || strands::sleep(Duration::from_secs(3600))));
        handles.push(named("park", strands::park));
        let cv = Arc::new((strands::sync::Mutex::new(()), strands::sync::Condvar::new()));
        let c = Arc::clone(&cv);
        handles.push(named("condvar", move || {
            let g = c.0.lock().unwrap();
            let _g = c.1.wait(g);
        }));
        let (_stx, srx) = strands::channel::bounded::<u32>(0);
        let (_stx2, srx2) = strands::channel::bounded::<u32>(0);
        handles.push(named("select", move || {
            strands::channel::Select::new()
                .recv(&srx, |_| ())
                .recv(&srx2, |_| ())
                .wait()
        }));
        let (mut sock, _peer) = strands::os::unix::net::UnixStream::pair().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&sock) as u64;
        handles.push(named("read", move || {
            let _ = std::io::Read::read(&mut sock, &mut [0u8; 1]);
        }));
        let joined = named("joined", strands::park);
        let joined_id = joined.strand().id();
        handles.push(named("join", move || drop(joined.join())));

        for (name, kind) in [
            ("mutex", WaitKind::Mutex),
            ("rwlock", WaitKind::RwLockWrite),
            ("semaphore", WaitKind::Semaphore),
            ("notify", WaitKind::Notify),
            ("waitgroup", WaitKind::WaitGroup),
            ("barrier", WaitKind::Barrier),
            ("recv", WaitKind::Recv),
            ("send", WaitKind::Send),
            ("park", WaitKind::Park),
            ("condvar", WaitKind::Condvar),
            ("select", WaitKind::Select),
            ("read", WaitKind::Read),
        ] {
            let s = parked_in(name, kind);
            assert_eq!(s.state(), StrandState::Parked, "{s}");
            assert!(s.waited().is_some(), "{s}");
            let at = s.spawned_at().expect("spawn site");
            assert!(at.file().ends_with("rt_dump.rs"), "{s}");
        }
        let s = parked_in("sleep", WaitKind::Sleep);
        assert_eq!(s.state(), StrandState::Sleeping);
        let s = parked_in("join", WaitKind::Join);
        assert_eq!(s.joins(), Some(joined_id));

        let dump = strands::dump().unwrap();
        // the runner of `block_on` runs: the dump is taken by it
        let me = strands::current().id();
        let mine = dump.strands().iter().find(|s| s.id() == me).unwrap();
        assert_eq!(mine.state(), StrandState::Running(0));
        let text = dump.to_string();
        println!("{text}");
        assert!(text.contains("parked in mutex"), "{text}");
        assert!(
            text.contains(&format!("in join of strand {joined_id}")),
            "{text}"
        );
        assert!(text.contains("sleeping for"), "{text}");
        assert!(text.contains(&format!("in fd read (fd {fd})")), "{text}");

        // a wait's record goes once it ends: the next one shows
        drop(guard);
        let s = parked_in("mutex", WaitKind::Park);
        assert_eq!(s.state(), StrandState::Parked);
        drop((read, tx, rx2, _peer, _stx, _stx2));
        for h in &handles {
            h.cancel();
        }
        for h in handles {
            let _ = h.join();
        }
    });
}

#[test]
fn a_dump_from_outside_sees_a_running_strand() {
    let rt = common::rt(1);
    let stop = Arc::new(AtomicBool::new(false));
    let spin = rt.spawn(common::spinner(&stop));
    let id = spin.strand().id();
    // synchronise on the dump itself: the spinner holds the only worker
    loop {
        let dump = rt.dump();
        let s = dump.strands().iter().find(|s| s.id() == id).cloned();
        if s.is_some_and(|s| s.state() == StrandState::Running(0)) {
            print!("{dump}");
            break;
        }
        std::thread::yield_now();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    spin.join().unwrap();
    // a finished strand is gone from the dump
    assert!(rt.handle().dump().strands().iter().all(|s| s.id() != id));
}

#[test]
fn no_dump_outside_a_runtime() {
    assert!(strands::dump().is_none());
}

const SIGQUIT_CHILD: &str = "STRANDS_TEST_SIGQUIT_CHILD";

/// The child: a runtime that dumps on SIGQUIT, with a strand named
/// `sleeper`; it says `ready` once the watcher waits for the signal, and
/// ends (printing `still running`) when the parent closes its stdin.
#[test]
fn sigquit_child() {
    if std::env::var(SIGQUIT_CHILD).is_err() {
        return;
    }
    let rt = common::rt_with(1, |b| b.dump_on_sigquit(true));
    let sleeper = strands::Builder::new()
        .name("sleeper".into())
        .spawn_on(rt.handle(), || strands::sleep(Duration::from_secs(3600)))
        .unwrap();
    // the handler is installed once `build` returned; wait for both strands
    // to park anyway, so the dump shows them waiting
    while rt
        .dump()
        .strands()
        .iter()
        .filter(|s| s.waits_for().is_some())
        .count()
        < 2
    {
        std::thread::yield_now();
    }
    println!("ready");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    sleeper.cancel();
    println!("still running: {}", rt.block_on(|| 42));
}

/// Starts [`sigquit_child`] in a child process and waits until it says it
/// is ready; its stdout, read past that line.
fn sigquit_child_ready() -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = common::this_binary()
        .args([
            "--exact",
            "sigquit_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SIGQUIT_CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
    }
    (child, out)
}

#[test]
fn sigquit_prints_the_dump_and_the_process_runs_on() {
    use std::io::{BufRead, BufReader, Read};
    let (mut child, mut out) = sigquit_child_ready();
    let mut line = String::new();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut report = String::new();
    for round in 0..2 {
        // SAFETY: kill(2) with a live child's pid and a valid signal.
        let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGQUIT) };
        assert_eq!(r, 0);
        line.clear();
        while !line.contains("strand 'sleeper'") {
            line.clear();
            assert!(
                err.read_line(&mut line).unwrap() > 0,
                "child ended (round {round}): {report}"
            );
            report.push_str(&line);
        }
        assert!(line.contains("sleeping for"), "{line}");
    }
    assert!(report.contains("strands dump: 2 live strands"), "{report}");
    assert!(report.contains("strand 'strands-sigquit'"), "{report}");
    drop(child.stdin.take()); // the child ends
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("still running: 42"), "{rest}");
    assert!(child.wait().unwrap().success());
}

/// A storm of `SIGQUIT`s: the process prints dumps (signals that arrive
/// while one is printed coalesce) and runs on, then ends normally.
#[test]
fn a_sigquit_storm_leaves_the_process_running() {
    use std::io::{BufRead, BufReader, Read};
    let (mut child, mut out) = sigquit_child_ready();
    // read stderr as it comes, so the dumps never fill the pipe; a line
    // naming the sleeper says a dump was printed
    let err = BufReader::new(child.stderr.take().unwrap());
    let (dumped_tx, dumped_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in err.lines() {
            let line = line.unwrap();
            if line.contains("strand 'sleeper'") {
                let _ = dumped_tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    for _ in 0..200 {
        // SAFETY: kill(2) with a live child's pid and a valid signal.
        let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGQUIT) };
        assert_eq!(r, 0);
    }
    dumped_rx.recv().expect("the storm printed a dump");
    drop(child.stdin.take()); // the child ends after the storm
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("still running: 42"), "{rest}");
    assert!(child.wait().unwrap().success());
    let report = reader.join().unwrap();
    assert!(report.contains("strands dump:"), "{report}");
}

/// A dump taken while the runtime shuts down: from a strand's `Drop` as the
/// shutdown cancels it, and from another thread meanwhile. Each answers;
/// the shutdown completes.
#[test]
fn a_dump_during_shutdown_answers() {
    common::hang_guard();
    struct DumpsInDrop(std::sync::mpsc::Sender<usize>);
    impl Drop for DumpsInDrop {
        fn drop(&mut self) {
            let d = strands::dump().expect("a strand is inside its runtime");
            let _ = self.0.send(d.strands().len());
        }
    }
    let rt = common::rt(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let (parked_tx, parked_rx) = std::sync::mpsc::channel();
    for _ in 0..20 {
        let (tx, parked) = (tx.clone(), parked_tx.clone());
        rt.spawn(move || {
            let _d = DumpsInDrop(tx);
            parked.send(()).unwrap();
            strands::sleep(Duration::from_secs(3600));
        });
    }
    for _ in 0..20 {
        parked_rx.recv().unwrap();
    }
    let handle = rt.handle().clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = std::sync::Arc::clone(&stop);
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let outside = std::thread::spawn(move || {
        let mut dumps = 0;
        while !s.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = handle.dump().strands().len();
            dumps += 1;
            let _ = first_tx.send(());
        }
        dumps
    });
    first_rx.recv().unwrap(); // it dumps in a loop from now on
    assert!(rt.shutdown_timeout(Duration::from_secs(60)));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(outside.join().unwrap() > 0);
    drop(tx);
    let seen: Vec<usize> = rx.iter().collect();
    assert_eq!(seen.len(), 20, "every Drop took its dump");
    assert!(
        seen.iter().all(|&n| n >= 1),
        "each dump lists the strand taking it: {seen:?}"
    );
}
