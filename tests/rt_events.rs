//! Runtime events: a strand's life as the hook sees it (spawned with its
//! site, started, parked with the reason, woken by whom, yielded, stolen,
//! finished with the outcome), workers idle and notified, watchdog
//! reports, the JSON-lines writer, and hooks that panic or spawn.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use strands::dump::WaitKind;
use strands::observe::{JsonLines, Outcome};
use strands::{Event, StrandId};

/// An event as the tests keep it (an `Event` borrows).
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Spawned {
        strand: StrandId,
        name: Option<String>,
        site: Option<(String, u32)>,
        by: Option<StrandId>,
    },
    Started(StrandId),
    Parked(StrandId, WaitKind),
    Woken(StrandId, Option<StrandId>),
    Yielded(StrandId),
    Stolen(StrandId),
    Finished(StrandId, Outcome),
    Stuck(StrandId, Option<String>),
    Idle,
    Notified,
}

fn seen(e: &Event<'_>) -> Seen {
    match *e {
        Event::Spawned {
            strand,
            name,
            site,
            by,
            ..
        } => Seen::Spawned {
            strand,
            name: name.map(String::from),
            site: site.map(|l| (l.file().to_string(), l.line())),
            by,
        },
        Event::Started { strand, .. } => Seen::Started(strand),
        Event::Parked { strand, reason, .. } => Seen::Parked(strand, reason),
        Event::Woken { strand, by, .. } => Seen::Woken(strand, by),
        Event::Yielded { strand, .. } => Seen::Yielded(strand),
        Event::Stolen { strand, .. } => Seen::Stolen(strand),
        Event::Finished {
            strand, outcome, ..
        } => Seen::Finished(strand, outcome),
        Event::Stuck(s) => Seen::Stuck(s.strand, s.name.clone()),
        Event::WorkerIdle { .. } => Seen::Idle,
        Event::WorkerNotified { .. } => Seen::Notified,
        _ => panic!("an event this test does not know: {e:?}"),
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A runtime whose events go to the returned log.
fn logged(
    workers: usize,
    configure: impl FnOnce(strands::runtime::Builder) -> strands::runtime::Builder,
) -> (strands::Runtime, Log) {
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    let rt = common::rt_with(workers, |b| {
        configure(b.on_event(move |e| l.lock().unwrap().push(seen(e))))
    });
    (rt, log)
}

/// The events about `strand`, in order.
fn of(log: &Log, strand: StrandId) -> Vec<Seen> {
    let of_it = |s: &Seen| match s {
        Seen::Spawned { strand: id, .. }
        | Seen::Started(id)
        | Seen::Parked(id, _)
        | Seen::Woken(id, _)
        | Seen::Yielded(id)
        | Seen::Stolen(id)
        | Seen::Finished(id, _)
        | Seen::Stuck(id, _) => *id == strand,
        Seen::Idle | Seen::Notified => false,
    };
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| of_it(s))
        .cloned()
        .collect()
}

#[test]
fn a_strand_life_from_spawn_to_finish() {
    let (rt, log) = logged(1, |b| b);
    let (parent, child, line) = rt.block_on(|| {
        let (tx, rx) = strands::channel::bounded::<u32>(1);
        let builder = strands::Builder::new().name("rx \"quoted\"".into());
        let body = move || {
            strands::yield_now();
            rx.recv().unwrap()
        };
        let line = line!() + 1; // the spawn's own line is its site
        let h = builder.spawn(body).unwrap();
        let child = h.strand().id();
        // wait until it is parked in its receive
        while !of(&log, child).contains(&Seen::Parked(child, WaitKind::Recv)) {
            strands::yield_now();
        }
        tx.send(7).unwrap();
        assert_eq!(h.join().unwrap(), 7);
        (strands::current().id(), child, line)
    });
    let events = of(&log, child);
    assert_eq!(
        events[0],
        Seen::Spawned {
            strand: child,
            name: Some("rx \"quoted\"".into()),
            site: Some((file!().to_string(), line)),
            by: Some(parent),
        }
    );
    assert_eq!(events[1], Seen::Started(child));
    assert!(events.contains(&Seen::Yielded(child)), "{events:?}");
    let parked = events
        .iter()
        .position(|e| *e == Seen::Parked(child, WaitKind::Recv));
    let woken = events
        .iter()
        .position(|e| *e == Seen::Woken(child, Some(parent)));
    assert!(
        parked.is_some() && woken.is_some() && parked < woken,
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&Seen::Finished(child, Outcome::Ok)));
    // the strand block_on ran, and the workers' rest
    assert_eq!(
        of(&log, parent).last(),
        Some(&Seen::Finished(parent, Outcome::Ok))
    );
}

#[test]
fn a_worker_goes_idle_and_is_notified() {
    let (rt, log) = logged(1, |b| b);
    rt.block_on(|| ());
    // with nothing left to run, the worker goes idle
    while !log.lock().unwrap().contains(&Seen::Idle) {
        std::thread::yield_now();
    }
    let idle_at = log
        .lock()
        .unwrap()
        .iter()
        .rposition(|s| *s == Seen::Idle)
        .unwrap();
    rt.block_on(|| ()); // work from outside: it is notified
    let after: Vec<Seen> = log.lock().unwrap()[idle_at..].to_vec();
    assert!(after.contains(&Seen::Notified), "{after:?}");
}

#[test]
fn finished_says_panicked_or_cancelled() {
    let (rt, log) = logged(1, |b| b);
    rt.block_on(|| {
        let p = strands::spawn(|| panic!("on purpose"));
        let pid = p.strand().id();
        assert!(p.join().unwrap_err().is_panic());
        assert_eq!(
            of(&log, pid).last(),
            Some(&Seen::Finished(pid, Outcome::Panicked))
        );

        let c = common::spawn_parked(|| strands::sleep(Duration::from_secs(3600)));
        let cid = c.strand().id();
        c.strand().cancel();
        assert!(c.join().unwrap_err().is_cancelled());
        let events = of(&log, cid);
        assert!(
            events.contains(&Seen::Parked(cid, WaitKind::Sleep)),
            "{events:?}"
        );
        assert_eq!(
            events.last(),
            Some(&Seen::Finished(cid, Outcome::Cancelled))
        );

        // cancelled before it ever ran: finished, never started
        let n = strands::spawn(|| ());
        let nid = n.strand().id();
        n.strand().cancel();
        assert!(n.join().unwrap_err().is_cancelled());
        let events = of(&log, nid);
        assert!(!events.contains(&Seen::Started(nid)), "{events:?}");
        assert_eq!(
            events.last(),
            Some(&Seen::Finished(nid, Outcome::Cancelled))
        );
    });
}

#[test]
fn a_strand_spawned_from_outside_is_stolen_by_a_worker() {
    let (rt, log) = logged(2, |b| b);
    let h = rt.spawn(|| ());
    let id = h.strand().id();
    h.join().unwrap();
    let events = of(&log, id);
    assert!(
        matches!(events[0], Seen::Spawned { by: None, .. }),
        "{events:?}"
    );
    assert!(events.contains(&Seen::Stolen(id)), "{events:?}");
}

#[test]
fn a_watchdog_report_is_an_event() {
    let (rt, log) = logged(1, |b| b.watchdog(Some(Duration::from_millis(20))));
    let stop = Arc::new(AtomicBool::new(false));
    let h = strands::Builder::new()
        .name("spinner".into())
        .spawn_on(rt.handle(), common::spinner(&stop))
        .unwrap();
    let id = h.strand().id();
    while !of(&log, id).contains(&Seen::Stuck(id, Some("spinner".into()))) {
        std::thread::yield_now();
    }
    stop.store(true, SeqCst);
    h.join().unwrap();
}

#[test]
fn a_hook_that_panics_is_disabled_and_the_runtime_goes_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let rt = common::rt_with(2, |b| {
        b.on_event(move |_| {
            c.fetch_add(1, SeqCst);
            panic!("a hook that panics");
        })
    });
    let batch = || {
        rt.block_on(|| {
            let hs: Vec<_> = (0..100).map(|i| strands::spawn(move || i)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<u32>()
        })
    };
    assert_eq!(batch(), 4950);
    // threads already inside the hook when the first panic landed may
    // panic too (each caught); after that it is never called again
    let after_first = calls.load(SeqCst);
    assert!(after_first >= 1);
    assert_eq!(batch(), 4950);
    assert_eq!(
        calls.load(SeqCst),
        after_first,
        "called again after it panicked"
    );
}

#[test]
fn a_hook_may_spawn_and_its_own_events_are_not_delivered() {
    // spawning from the hook: inside a strand (at a start) and on a worker
    // between strands (going idle); neither deadlocks, and the spawn's own
    // "spawned" event does not re-enter the hook
    let (tx, rx) = mpsc::channel::<&'static str>();
    let tx = Mutex::new(tx);
    let once_started = AtomicBool::new(false);
    let once_idle = AtomicBool::new(false);
    thread_local! {
        // per thread: the hook may run on the test thread (the `spawned`
        // event of `block_on`'s strand) and on the worker at the same time,
        // which is not a re-entry
        static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let rt = common::rt_with(1, |b| {
        b.on_event(move |e| {
            let depth = DEPTH.with(|d| d.replace(d.get() + 1));
            assert_eq!(depth, 0, "the hook was re-entered");
            let from = match e {
                Event::Started { .. } if !once_started.swap(true, SeqCst) => Some("started"),
                Event::WorkerIdle { .. } if !once_idle.swap(true, SeqCst) => Some("idle"),
                _ => None,
            };
            if let Some(from) = from {
                let tx = tx.lock().unwrap().clone();
                strands::spawn(move || tx.send(from).unwrap());
            }
            DEPTH.with(|d| d.set(d.get() - 1));
        })
    });
    rt.block_on(|| ());
    let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
    got.sort();
    assert_eq!(got, ["idle", "started"]);
}

#[test]
fn json_lines_are_one_object_a_line() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let rt = common::rt_with(1, |b| b.on_event(JsonLines::new(buf.clone())));
    rt.block_on(|| {
        let h = strands::Builder::new()
            .name("a \"b\"\n".into())
            .spawn(|| strands::sleep(Duration::from_millis(1)))
            .unwrap();
        h.join().unwrap();
    });
    drop(rt); // the hook goes, and with it the buffer is flushed
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines {
        assert!(l.starts_with("{\"t_us\":") && l.ends_with('}'), "{l}");
        assert_eq!(l.matches('{').count(), 1, "{l}");
    }
    let spawned = lines
        .iter()
        .find(|l| l.contains(r#""event":"spawned""#) && l.contains("name"))
        .expect("a spawned line with a name");
    assert!(spawned.contains(r#""name":"a \"b\"\n""#), "{spawned}");
    assert!(
        spawned.contains(r#""site":""#) && spawned.contains("rt_events.rs:"),
        "{spawned}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""reason":"sleep""#)),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""outcome":"ok""#)),
        "{text}"
    );
}

#[test]
fn the_dump_counts_switches_and_with_a_hook_times_running_and_parked() {
    for hooked in [false, true] {
        let rt = if hooked {
            common::rt_with(1, |b| b.on_event(|_| {}))
        } else {
            common::rt(1)
        };
        rt.block_on(move || {
            for _ in 0..10 {
                strands::yield_now();
            }
            strands::sleep(Duration::from_millis(2));
            let me = strands::current().id();
            let dump = strands::dump().unwrap();
            let info = dump.strands().iter().find(|s| s.id() == me).unwrap();
            assert!(info.switches() >= 12, "{info}"); // first run, 10 yields, the sleep
            assert!(info.to_string().contains(" switches"), "{info}");
            if hooked {
                let parked = info.time_parked().expect("measured with a hook");
                assert!(parked >= Duration::from_millis(2), "{info}");
                assert!(info.time_running().is_some());
            } else {
                assert_eq!((info.time_running(), info.time_parked()), (None, None));
            }
        });
    }
}
