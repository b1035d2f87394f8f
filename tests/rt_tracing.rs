//! The `tracing` feature: runtime events as `tracing` events, and each
//! strand in a span that is entered exactly while the strand runs (what it
//! logs after a yield or a park, interleaved with other strands on the
//! same worker, is attributed to it). Run with `--features tracing`.
#![cfg(feature = "tracing")]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};

/// A subscriber that keeps each thread's stack of entered spans and
/// records every event with the strand whose span was current.
#[derive(Default)]
struct Recorder {
    next: AtomicU64,
    /// span id -> the strand id its `strand.id` field holds
    strands: Mutex<HashMap<u64, u64>>,
    /// (the strand of the innermost entered span, the event's fields)
    events: Mutex<Vec<(Option<u64>, String)>>,
    /// exits of a span that was not the innermost entered one
    bad_exits: AtomicUsize,
}

thread_local! {
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut String, Option<&'a mut u64>);
impl Visit for Fields<'_> {
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "strand.id" {
            if let Some(id) = self.1.as_deref_mut() {
                *id = v;
            }
        }
        self.0.push_str(&format!("{}={v} ", f.name()));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.push_str(&format!("{}={v} ", f.name()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={v:?} ", f.name()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, a: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, SeqCst) + 1;
        let mut strand = 0;
        let mut s = String::new();
        a.record(&mut Fields(&mut s, Some(&mut strand)));
        self.strands.lock().unwrap().insert(id, strand);
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut s = String::new();
        e.record(&mut Fields(&mut s, None));
        let current = STACK.with(|st| st.borrow().last().copied());
        let strand = current.and_then(|id| self.strands.lock().unwrap().get(&id).copied());
        self.events.lock().unwrap().push((strand, s));
    }
    fn enter(&self, id: &Id) {
        STACK.with(|st| st.borrow_mut().push(id.into_u64()));
    }
    fn exit(&self, id: &Id) {
        STACK.with(|st| {
            let mut st = st.borrow_mut();
            if st.last() == Some(&id.into_u64()) {
                st.pop();
            } else {
                self.bad_exits.fetch_add(1, SeqCst);
            }
        });
    }
}

fn recorder() -> &'static Recorder {
    static R: OnceLock<&'static Recorder> = OnceLock::new();
    R.get_or_init(|| {
        let r: &'static Recorder = Box::leak(Box::default());
        struct Fwd(&'static Recorder);
        impl Subscriber for Fwd {
            fn enabled(&self, m: &Metadata<'_>) -> bool {
                self.0.enabled(m)
            }
            fn new_span(&self, a: &Attributes<'_>) -> Id {
                self.0.new_span(a)
            }
            fn record(&self, i: &Id, r: &Record<'_>) {
                self.0.record(i, r)
            }
            fn record_follows_from(&self, a: &Id, b: &Id) {
                self.0.record_follows_from(a, b)
            }
            fn event(&self, e: &tracing::Event<'_>) {
                self.0.event(e)
            }
            fn enter(&self, i: &Id) {
                self.0.enter(i)
            }
            fn exit(&self, i: &Id) {
                self.0.exit(i)
            }
        }
        tracing::subscriber::set_global_default(Fwd(r)).unwrap();
        r
    })
}

#[test]
fn each_strand_logs_in_its_own_span_across_yields_and_parks() {
    let rec = recorder();
    let rt = common::rt_with(1, |b| b.on_event(strands::observe::tracing_hook()));
    let ids: Vec<u64> = rt.block_on(|| {
        let (tx, rx) = strands::channel::unbounded::<()>();
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let rx = rx.clone();
                strands::spawn(move || {
                    let me = strands::current().id().as_u64();
                    for round in 0..3 {
                        tracing::info!(me, round, i, "step");
                        strands::yield_now();
                    }
                    rx.recv().unwrap(); // parks
                    tracing::info!(me, "after the park");
                    me
                })
            })
            .collect();
        // until all three are parked in their receive
        while strands::dump()
            .unwrap()
            .strands()
            .iter()
            .filter(|s| s.waits_for() == Some(strands::dump::WaitKind::Recv))
            .count()
            < 3
        {
            strands::yield_now();
        }
        for _ in 0..3 {
            tx.send(()).unwrap();
        }
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    drop(rt);
    let events = rec.events.lock().unwrap().clone();
    for id in &ids {
        let mine: Vec<_> = events
            .iter()
            .filter(|(_, s)| s.contains(&format!("me={id} ")))
            .collect();
        assert_eq!(mine.len(), 4, "{mine:?}");
        for (strand, s) in mine {
            assert_eq!(*strand, Some(*id), "logged outside its span: {s}");
        }
        for kind in [
            "spawned", "started", "yielded", "parked", "woken", "finished",
        ] {
            let pat = format!("event={kind} ");
            assert!(
                events
                    .iter()
                    .any(|(_, s)| s.contains(&pat) && s.contains(&format!("strand={id} "))),
                "no {kind} event for strand {id}"
            );
        }
    }
    assert_eq!(rec.bad_exits.load(SeqCst), 0, "a span exited out of order");
}
