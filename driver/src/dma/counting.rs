//! [`CountingAlloc`]: a global allocator that counts the allocations of the threads
//! that ask for it, for the conformance check that taking card results allocates
//! nothing per packet (`sim/tests/alloc.rs`). Test support only (feature
//! `conformance`).
#![allow(unsafe_code)]

/// A global allocator that counts the allocations (and reallocations) of the
/// threads that ask for it, for tests that check that a path allocates nothing per
/// packet: declare it `#[global_allocator]` in the test binary and measure with
/// [`allocations`]. Everything goes to the system allocator.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

static COUNTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(|c| c.get()).unwrap_or(false)
}

// SAFETY: every call goes to the system allocator with the caller's own arguments;
// the bookkeeping is an atomic add and a const-initialized thread-local read, neither
// of which allocates.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if counting() {
            COUNTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation
        // above goes there).
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        if counting() {
            COUNTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller's
        // contract for `realloc` is `System.realloc`'s.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

/// The heap allocations `f` makes on the calling thread (counted only where
/// [`CountingAlloc`] is the global allocator; 0 elsewhere).
pub fn allocations(f: impl FnOnce()) -> u64 {
    use std::sync::atomic::Ordering;
    let before = COUNTED.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNTED.load(Ordering::Relaxed) - before
}

/// Runs `f` with the calling thread's counting suspended: for the device's own work
/// in a test (a simulated card stepping its model inside a register access, which
/// on a board is one MMIO load or store), so that only the driver's allocations
/// are counted.
pub fn uncounted<X>(f: impl FnOnce() -> X) -> X {
    let was = COUNTING.with(|c| c.replace(false));
    let x = f();
    COUNTING.with(|c| c.set(was));
    x
}
