use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
struct C;
static N: AtomicUsize = AtomicUsize::new(0);
static B: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for C {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        N.fetch_add(1, Ordering::Relaxed);
        B.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        N.fetch_add(1, Ordering::Relaxed);
        B.fetch_add(n, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static G: C = C;
use strands::join::{JoinMode, Need, Part};
fn main() {
    let rt = strands::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(|| {
        let bare = || {
            let hs: Vec<_> = (0..10).map(|i| strands::spawn(move || i)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
        };
        let plan = || {
            let mut need = Need::new(JoinMode::All);
            for i in 0..10 {
                need = need.part(Part::required("p", move || Ok::<_, ()>(i)));
            }
            need.run().parts().len()
        };
        for _ in 0..100 {
            bare();
            plan();
        }
        let (n0, b0) = (N.load(Ordering::Relaxed), B.load(Ordering::Relaxed));
        for _ in 0..1000 {
            bare();
        }
        let (n1, b1) = (N.load(Ordering::Relaxed), B.load(Ordering::Relaxed));
        for _ in 0..1000 {
            plan();
        }
        let (n2, b2) = (N.load(Ordering::Relaxed), B.load(Ordering::Relaxed));
        println!(
            "bare: {} allocs {} bytes per round; plan: {} allocs {} bytes",
            (n1 - n0) / 1000,
            (b1 - b0) / 1000,
            (n2 - n1) / 1000,
            (b2 - b1) / 1000
        );
    });
}
