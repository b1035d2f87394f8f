//! The `select!` macro in a loop, with `break` and `panic!` arms: the
//! example from its docs, built as a binary so that `cargo clippy
//! --all-targets -- -D warnings` (CI) fails if the macro makes user code warn.

use std::time::Duration;
use strands::channel;

fn main() {
    strands::run(|| {
        let (tx, rx) = channel::bounded::<u32>(0);
        let (done_tx, done_rx) = channel::bounded::<()>(0);
        strands::spawn(move || {
            (1..=3).for_each(|i| tx.send(i).unwrap());
            done_tx.send(()).unwrap();
        });
        let mut sum = 0;
        loop {
            strands::select! {
                recv(rx) -> v => sum += v.unwrap(),
                recv(done_rx) -> _ => break,
                default(Duration::from_secs(10)) => panic!("stuck"),
            }
        }
        assert_eq!(sum, 6);
    });
    sends_until_full();
}

/// The other arm shapes: a `send` arm that `continue`s and a `default`
/// arm that `break`s out of the loop (both diverge).
fn sends_until_full() {
    strands::run(|| {
        let (tx, rx) = channel::bounded::<u32>(4);
        let mut sent = 0;
        loop {
            strands::select! {
                send(tx, sent) -> r => {
                    r.unwrap();
                    sent += 1;
                    continue;
                },
                default => break,
            }
        }
        assert_eq!(sent, 4);
        assert_eq!(rx.try_iter().count(), 4);
    });
}
