//! The package tool's reactor, in two phases:
//!
//! - **Phase A** fetches `--items` items (default 40) in parallel, at most
//!   `--limit` at once (default 10). Here a fetch copies a file out of a
//!   temporary tree the example creates (and removes at the end), after a
//!   short sleep standing in for the network. Items listed by `--fail`
//!   (default `7,19`) have no source file, so their copy fails; the item
//!   `--panic` names (default 23; `none` for no panic) panics in the middle
//!   of its fetch.
//! - **A strict barrier**: phase B starts only once every fetch has
//!   settled (all of phase A is joined).
//! - **Phase B** applies the fetched items' mutations from parallel
//!   strands: each item appends a line to its target file (several items
//!   share one) and to a shared index. A mutation reads the file, yields,
//!   and writes it back, so unserialised writers would lose updates;
//!   a `KeyedMutex` on the target path serialises the writers of each path
//!   while different paths are written in parallel.
//!
//! At the end it prints every item's fate (fetched / failed with its error
//! / panicked with its message) and checks that no update was lost. A
//! panicking item is that item's error, never a crash (its panic message
//! still goes to stderr through the panic hook).
//!
//! ```text
//! cargo run --release --example two_phase -- --items 40 --limit 10 --fail 7,19 --panic 23
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strands::join::{JoinSet, KeyedMutex, MemberId};
use strands::JoinError;

/// Targets the mutations are spread over (besides the shared index).
const TARGETS: usize = 8;

struct Args {
    items: usize,
    limit: usize,
    fail: Vec<usize>,
    panic: Option<usize>,
}

fn parse_args() -> Args {
    let mut a = Args {
        items: 40,
        limit: 10,
        fail: vec![7, 19],
        panic: Some(23),
    };
    let usage = "usage: two_phase [--items N] [--limit N] [--fail I,J,..|none] [--panic I|none]";
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{usage}"));
        match flag.as_str() {
            "--items" => a.items = v.parse().expect("--items N"),
            "--limit" => a.limit = v.parse().expect("--limit N"),
            "--fail" if v == "none" => a.fail.clear(),
            "--fail" => {
                a.fail = v
                    .split(',')
                    .map(|s| s.trim().parse().expect("--fail I,J,.."))
                    .collect()
            }
            "--panic" if v == "none" => a.panic = None,
            "--panic" => a.panic = Some(v.parse().expect("--panic I")),
            _ => panic!("{usage}"),
        }
    }
    assert!(a.limit > 0, "--limit must be at least 1");
    a
}

/// At most `limit` strands of a batch run at once, the rest queued in
/// spawn order: a `JoinSet` with a limit, whose members are named
/// `<name>-<item>` (a panic report names the item) and mapped back to
/// their item when they are joined.
struct Limited<T> {
    name: &'static str,
    set: JoinSet<T>,
    items: HashMap<MemberId, usize>,
}

impl<T: Send + 'static> Limited<T> {
    fn new(name: &'static str, limit: usize) -> Limited<T> {
        Limited {
            name,
            set: JoinSet::with_limit(limit),
            items: HashMap::new(),
        }
    }

    /// Spawns `f` for item `id`: it starts once fewer than `limit` run.
    fn spawn(&mut self, id: usize, f: impl FnOnce() -> T + Send + 'static) {
        let b = strands::Builder::new().name(format!("{}-{id:02}", self.name));
        let member = self.set.spawn_with(b, f);
        self.items.insert(member, id);
    }

    /// Joins every member: the barrier. Results by item.
    fn join_all(mut self) -> Vec<(usize, Result<T, JoinError>)> {
        let mut out: Vec<_> = std::iter::from_fn(|| self.set.join_next_with_id())
            .map(|(m, r)| (self.items[&m], r))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

/// What happened to one item.
enum Fate {
    Fetched { bytes: u64 },
    Failed(io::Error),
    Panicked(String),
}

/// The temporary tree; removed when dropped, whatever happens.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn create(items: usize, missing: &[usize]) -> io::Result<Tree> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root =
            std::env::temp_dir().join(format!("strands-two-phase-{}-{nanos}", std::process::id()));
        let tree = Tree { root };
        for dir in ["source", "fetched", "out"] {
            fs::create_dir_all(tree.root.join(dir))?;
        }
        for i in (0..items).filter(|i| !missing.contains(i)) {
            fs::write(tree.source(i), format!("payload of item {i:02}\n"))?;
        }
        Ok(tree)
    }

    fn source(&self, i: usize) -> PathBuf {
        self.root.join("source").join(format!("item-{i:02}.txt"))
    }

    fn fetched(&self, i: usize) -> PathBuf {
        self.root.join("fetched").join(format!("item-{i:02}.txt"))
    }

    fn out(&self, name: &str) -> PathBuf {
        self.root.join("out").join(name)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Counts fetches in flight, and the most seen at once.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(now: &'a AtomicUsize, peak: &AtomicUsize) -> InFlight<'a> {
        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(n, Ordering::SeqCst);
        InFlight(now)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Appends `line` to `path`: read, yield (other strands run), write back.
/// Without the per-path lock two writers would interleave and lose lines.
fn append_line(locks: &KeyedMutex<PathBuf>, path: &Path, line: &str) -> io::Result<()> {
    let _g = locks.lock(path.to_path_buf());
    let mut text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    strands::yield_now();
    text.push_str(line);
    text.push('\n');
    fs::write(path, text)
}

fn main() {
    let args = parse_args();
    let tree = Arc::new(Tree::create(args.items, &args.fail).expect("create the temporary tree"));
    let root = tree.root.clone();
    println!(
        "two_phase: {} items, limit {}, failing {:?}, panicking {:?}, tree {}",
        args.items,
        args.limit,
        args.fail,
        args.panic,
        root.display()
    );
    strands::run(move || run(&args, tree));
    // every strand has ended, and the tree with the last of them
    assert!(!root.exists(), "the temporary tree was left behind");
}

fn run(args: &Args, tree: Arc<Tree>) {
    // ---- phase A: fetch in parallel, at most `limit` at once
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut fetches = Limited::new("fetch", args.limit);
    for i in 0..args.items {
        let (tree, now, peak) = (Arc::clone(&tree), Arc::clone(&now), Arc::clone(&peak));
        let panics = args.panic == Some(i);
        fetches.spawn(i, move || -> io::Result<u64> {
            let _in_flight = InFlight::enter(&now, &peak);
            strands::sleep(Duration::from_millis(5)); // the network
            if panics {
                panic!("corrupt archive in item {i:02}");
            }
            fs::copy(tree.source(i), tree.fetched(i))
        });
    }
    // ---- the barrier: every fetch has settled before any mutation starts
    let fates: BTreeMap<usize, Fate> = fetches
        .join_all()
        .into_iter()
        .map(|(i, r)| {
            let fate = match r {
                Ok(Ok(bytes)) => Fate::Fetched { bytes },
                Ok(Err(e)) => Fate::Failed(e),
                Err(e) => Fate::Panicked(panic_text(e)),
            };
            (i, fate)
        })
        .collect();
    assert_eq!(
        now.load(Ordering::SeqCst),
        0,
        "a fetch outlived the barrier"
    );
    let fetched: Vec<usize> = fates
        .iter()
        .filter(|(_, f)| matches!(f, Fate::Fetched { .. }))
        .map(|(&i, _)| i)
        .collect();
    let failed = fates
        .values()
        .filter(|f| matches!(f, Fate::Failed(_)))
        .count();
    println!(
        "phase A: {} fetched, {failed} failed, {} panicked; peak in flight {} (limit {})",
        fetched.len(),
        fates.len() - fetched.len() - failed,
        peak.load(Ordering::SeqCst),
        args.limit
    );

    // ---- phase B: mutations from parallel strands, serialised per path
    let locks = Arc::new(KeyedMutex::new());
    let mut mutations = Limited::new("apply", args.limit);
    for &i in &fetched {
        let (tree, locks) = (Arc::clone(&tree), Arc::clone(&locks));
        mutations.spawn(i, move || -> io::Result<()> {
            let payload = fs::read_to_string(tree.fetched(i))?;
            let line = payload.trim_end();
            append_line(
                &locks,
                &tree.out(&format!("target-{}.txt", i % TARGETS)),
                line,
            )?;
            append_line(&locks, &tree.out("index.txt"), line)
        });
    }
    let mut applied = 0;
    for (i, r) in mutations.join_all() {
        match r {
            Ok(Ok(())) => applied += 1,
            Ok(Err(e)) => println!("item {i:02}: mutation failed: {e}"),
            Err(e) => println!("item {i:02}: mutation panicked: {}", panic_text(e)),
        }
    }
    // no lost update: every path has one line per item that targets it
    let mut lost = 0;
    let mut paths = 0;
    for t in 0..TARGETS {
        let want = fetched.iter().filter(|&&i| i % TARGETS == t).count();
        lost += want - lines(&tree.out(&format!("target-{t}.txt"))).min(want);
        paths += usize::from(want > 0);
    }
    let index = lines(&tree.out("index.txt"));
    lost += fetched.len() - index.min(fetched.len());
    println!(
        "phase B: {applied} items applied to {} paths, index has {index} lines, {lost} lost updates, {} keyed entries left",
        paths + 1,
        locks.len()
    );

    // ---- the report: every item's fate
    for (i, fate) in &fates {
        match fate {
            Fate::Fetched { bytes } => println!("item {i:02}: fetched ({bytes} bytes)"),
            Fate::Failed(e) => println!("item {i:02}: failed: {e}"),
            Fate::Panicked(m) => println!("item {i:02}: panicked: {m}"),
        }
    }
    let not_applied = args.items - applied;
    println!(
        "DONE: {applied} of {} items applied, {not_applied} not applied",
        args.items
    );
}

fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// The message of a strand's panic (or that it was cancelled).
fn panic_text(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(not a string)".to_string()),
        Err(e) => e.to_string(),
    }
}
