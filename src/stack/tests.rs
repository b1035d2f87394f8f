//! Unit tests of the stack pool: lazy commit, release, reuse, guards.

use super::pool::RESIDENT_PREFIX;
use super::{page_size, StackGuard, StackPool};

/// How many pages of `[lo, lo + len)` are resident.
fn resident_pages(lo: usize, len: usize) -> usize {
    let page = page_size();
    let mut vec = vec![0u8; len / page];
    // SAFETY: the range lies inside a live stack mapping of the test's pool.
    let rc = unsafe { libc::mincore(lo as *mut _, len, vec.as_mut_ptr().cast()) };
    assert_eq!(rc, 0);
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

/// Writes to every page of `[lo, lo + len)`.
fn touch(lo: usize, len: usize) {
    for p in (lo..lo + len).step_by(page_size()) {
        // SAFETY: inside a stack we hold and nothing runs on.
        unsafe { (p as *mut u8).write_volatile(1) };
    }
}

#[test]
fn a_fresh_stack_commits_nothing() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let s = pool.get(256 * 1024).unwrap();
    assert_eq!(resident_pages(s.base() as usize, s.size()), 0);
}

#[test]
fn a_stack_marked_deep_releases_all_but_the_prefix_on_return() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let mut s = pool.get(256 * 1024).unwrap();
    let (base, size) = (s.base() as usize, s.size());
    touch(base, size);
    assert_eq!(resident_pages(base, size), size / page_size());
    s.note_sp(base + 100); // seen deep at a switch
    drop(s);
    assert_eq!(resident_pages(base, size - RESIDENT_PREFIX), 0);
    assert_eq!(
        resident_pages(base + size - RESIDENT_PREFIX, RESIDENT_PREFIX),
        RESIDENT_PREFIX / page_size()
    );
    // LIFO: the same stack comes back
    assert_eq!(pool.get(256 * 1024).unwrap().base() as usize, base);
}

#[test]
fn a_shallow_stack_keeps_its_pages_and_costs_no_syscall() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let mut s = pool.get(64 * 1024).unwrap();
    let (base, size) = (s.base() as usize, s.size());
    touch(base + size - 4096, 4096);
    s.note_sp(base + size - 512);
    drop(s);
    assert_eq!(resident_pages(base + size - 4096, 4096), 1);
}

#[test]
fn the_scrub_finds_deep_pages_no_switch_saw() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let s = pool.get(64 * 1024).unwrap();
    let (base, size) = (s.base() as usize, s.size());
    touch(base, size); // deep, but never noted
    drop(s);
    assert!(
        resident_pages(base, size - RESIDENT_PREFIX) > 0,
        "not yet released"
    );
    // enough returns trigger a scrub
    for _ in 0..300 {
        drop(pool.get(64 * 1024).unwrap());
    }
    assert_eq!(
        resident_pages(base, size - RESIDENT_PREFIX),
        0,
        "the scrub released it"
    );
}

#[test]
fn sizes_round_up_to_pages_and_reject_bad_input() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let s = pool.get(super::MIN_STACK_SIZE + 1).unwrap();
    assert_eq!(s.size(), super::MIN_STACK_SIZE + page_size());
    assert_eq!(s.top() as usize % 16, 0);
    for bad in [0, 100, super::MAX_STACK_SIZE + 1] {
        assert_eq!(
            pool.get(bad).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}

#[test]
fn slabs_hold_many_stacks_and_grow_geometrically() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let stacks: Vec<_> = (0..1000).map(|_| pool.get(16 * 1024).unwrap()).collect();
    let st = pool.stats();
    assert_eq!(st.live, 1000);
    assert!(
        st.slabs <= 7,
        "16+32+...+1024 covers 1000 stacks in 7 slabs: {st:?}"
    );
    drop(stacks);
    let st = pool.stats();
    assert_eq!((st.live, st.cached), (0, 1000));
}

#[test]
fn canary_mode_writes_and_checks_the_canary() {
    let pool = StackPool::new(StackGuard::Canary).unwrap();
    let s = pool.get(16 * 1024).unwrap();
    assert!(s.canary_intact());
    // SAFETY: the base word of a stack we hold.
    unsafe { (s.base() as *mut u64).write(0) };
    assert!(!s.canary_intact());
}

#[test]
fn guard_pages_fault_for_the_kernel_too() {
    for kind in [StackGuard::Auto, StackGuard::Mprotect] {
        let pool = StackPool::new(kind).unwrap();
        let s = pool.get(16 * 1024).unwrap();
        let (glo, ghi) = s.guard_range();
        assert_eq!(ghi, s.base() as usize);
        let mut fds = [0; 2];
        // SAFETY: fds has room for two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the kernel reads the guard on our behalf and must refuse.
        let n = unsafe { libc::write(fds[1], glo as *const _, 1) };
        let err = std::io::Error::last_os_error().raw_os_error();
        // SAFETY: closing what we opened.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        assert_eq!(
            (n, err),
            (-1, Some(libc::EFAULT)),
            "{kind:?}: {:?}",
            pool.guard()
        );
    }
}

#[test]
fn a_trim_gives_back_what_sat_unused_since_the_previous_one() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let size = 64 * 1024;
    let mut stacks: Vec<_> = (0..200).map(|_| pool.get(size).unwrap()).collect();
    for s in &stacks {
        touch(s.top() as usize - RESIDENT_PREFIX, RESIDENT_PREFIX);
    }
    let keep = stacks.pop().unwrap(); // stays live: its slab must stay
    drop(stacks);
    let before = pool.stats();
    assert_eq!((before.live, before.cached, before.warm), (1, 199, 199));
    assert!(pool.trim_pending());
    // the free list was empty during this period: nothing sat unused
    let t = pool.trim();
    assert_eq!((t.released, t.unmapped), (0, 0));
    assert!(
        pool.trim_pending(),
        "warm stacks are left for the next trim"
    );
    // a quiet period: everything free goes back
    let t = pool.trim();
    let after = pool.stats();
    assert!(
        t.unmapped > 0 && after.slabs < before.slabs,
        "{t:?} {after:?}"
    );
    assert_eq!(
        after.slabs, 1,
        "only the live stack's slab stays: {after:?}"
    );
    assert_eq!(after.warm, 0, "{after:?}");
    assert_eq!(t.released, after.cached, "its slab-mates are released");
    assert!(!pool.trim_pending());
    // released and re-carved stacks work, and the pool still counts right
    let again: Vec<_> = (0..100).map(|_| pool.get(size).unwrap()).collect();
    for s in &again {
        touch(s.top() as usize - RESIDENT_PREFIX, RESIDENT_PREFIX);
        assert!(s.canary_intact());
    }
    drop(again);
    drop(keep);
    assert_eq!(pool.stats().live, 0);
}

#[test]
fn a_trim_keeps_the_recent_working_set() {
    let pool = StackPool::new(StackGuard::Auto).unwrap();
    let size = 64 * 1024;
    let stacks: Vec<_> = (0..100).map(|_| pool.get(size).unwrap()).collect();
    drop(stacks);
    pool.trim(); // starts a period with 100 free
                 // this period uses 10 of them, touching their top pages
    let used: Vec<_> = (0..10).map(|_| pool.get(size).unwrap()).collect();
    let tops: Vec<usize> = used.iter().map(|s| s.top() as usize).collect();
    for &t in &tops {
        touch(t - RESIDENT_PREFIX, RESIDENT_PREFIX);
    }
    drop(used);
    let t = pool.trim();
    let st = pool.stats();
    // the 90 unused ones go: released, or unmapped with their slab
    assert_eq!(st.cached, 10 + t.released, "{t:?} {st:?}");
    assert!(
        t.unmapped > 0,
        "the slabs all of whose stacks sat unused: {t:?}"
    );
    for &top in &tops {
        assert!(
            resident_pages(top - RESIDENT_PREFIX, RESIDENT_PREFIX) > 0,
            "the working set keeps its pages"
        );
    }
    assert_eq!(pool.stats().warm, 10);
}
