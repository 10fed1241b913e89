//! Memory accounting: the mirror of Redis's `zmalloc.c`, where `INFO memory`'s
//! `used_memory` comes from.
//!
//! Redis never calls `malloc` directly: every allocation goes through
//! `zmalloc`, which adds the block's size to a global counter (and `zfree`
//! subtracts it). `used_memory` is that counter: the bytes the program asked
//! for and still holds, as opposed to `used_memory_rss`, the pages the kernel
//! has actually given the process. The two differ by fragmentation, allocator
//! overhead and code; Redis shows both so you can see the gap.
//!
//! Rust lets a program put its own allocator under every `Box`, `Vec` and
//! `String` with `#[global_allocator]`. [`CountingAllocator`] is that: it
//! passes each request to the system allocator and keeps the running total in
//! a relaxed atomic counter, like zmalloc's `used_memory` (relaxed because the
//! total only needs to be right, not ordered against other memory accesses).
//! Because it sits under the whole process, it also counts what other threads
//! allocate (the TUI, for instance), just as Redis's counter includes its
//! background threads.
//!
//! One difference: Redis adds the allocator's real block size
//! (`malloc_usable_size`), we add the size that was asked for, which is what
//! Rust's allocator interface reports on every platform.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated through [`CountingAllocator`].
static USED_MEMORY: AtomicUsize = AtomicUsize::new(0);
/// The highest value `USED_MEMORY` has reached (`used_memory_peak`).
static PEAK_MEMORY: AtomicUsize = AtomicUsize::new(0);

/// The process-wide allocator that keeps `used_memory` up to date; installed
/// with `#[global_allocator]` in the crate root.
pub struct CountingAllocator;

fn count_alloc(size: usize) {
    let now = USED_MEMORY
        .fetch_add(size, Ordering::Relaxed)
        .wrapping_add(size);
    // A plain load first: the peak moves rarely, so most allocations skip the
    // read-modify-write.
    if now > PEAK_MEMORY.load(Ordering::Relaxed) {
        PEAK_MEMORY.fetch_max(now, Ordering::Relaxed);
    }
}

fn count_free(size: usize) {
    USED_MEMORY.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged and only updates counters besides, so the system
// allocator's guarantees carry over.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) };
        count_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        // On failure the old block is untouched and still counted.
        if !new_ptr.is_null() {
            count_free(layout.size());
            count_alloc(new_size);
        }
        new_ptr
    }
}

/// The size jemalloc really hands out for a request of `size` bytes: its
/// size class, what `zmalloc_usable_size` reports to Redis.
///
/// Redis sizes its buffers by these classes: a reply block asks for 16 KiB
/// plus its 16-byte header and gets 20 KiB, so its payload is 20,464 bytes;
/// a fresh query buffer asks for 16 KiB plus the sds header and gets 20 KiB
/// too, so its free space is 20,474. loopscope runs on the system allocator,
/// so it computes the class instead of asking for it, to size its buffers
/// (and report them in `CLIENT LIST`) the way redis-server does.
///
/// The rule is jemalloc 5's default on 64-bit Linux (16-byte quantum, four
/// classes per doubling): 8, then multiples of 16 up to 128, then in each
/// doubling from 2^k to 2^(k+1) steps of 2^(k-2): 160, 192, 224, 256, 320, …
/// 16384, 20480, 24576, 28672, 32768, 40960, ….
pub fn usable_size(size: usize) -> usize {
    if size <= 8 {
        return 8;
    }
    if size <= 128 {
        return size.next_multiple_of(16);
    }
    // 2^lg < size <= 2^(lg+1), and the class step in that doubling is 2^(lg-2).
    // (Past the largest class no allocator would serve it: the size itself.)
    let lg = usize::BITS - 1 - (size - 1).leading_zeros();
    size.checked_next_multiple_of(1 << (lg - 2)).unwrap_or(size)
}

/// Bytes allocated and not yet freed (mirror of `zmalloc_used_memory`).
///
/// Zero when the binary did not install [`CountingAllocator`].
pub fn used_memory() -> usize {
    USED_MEMORY.load(Ordering::Relaxed)
}

/// The largest [`used_memory`] seen since start (`used_memory_peak`).
pub fn peak_memory() -> usize {
    PEAK_MEMORY.load(Ordering::Relaxed)
}

/// The process's resident set size in bytes, from the second field of
/// `/proc/self/statm` (counted in pages), or `None` where there is no such
/// file (mirror of `zmalloc_get_rss`).
pub fn resident_set_size() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages.saturating_mul(page_size()))
}

/// Physical memory of the machine in bytes (mirror of `zmalloc_get_memory_size`).
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf only reads a system value.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    u64::try_from(pages)
        .unwrap_or(0)
        .saturating_mul(page_size())
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_live_allocations() {
        // The test binary links the crate, whose root installs the allocator.
        // Other tests allocate concurrently, so compare against a block much
        // larger than their noise and check the peak, which only grows.
        let block: Vec<u8> = Vec::with_capacity(64 << 20);
        assert!(
            used_memory() >= 64 << 20,
            "used_memory {} too small",
            used_memory()
        );
        assert!(peak_memory() >= 64 << 20);
        drop(block);
        assert!(peak_memory() >= 64 << 20);
    }

    #[test]
    fn usable_size_follows_jemallocs_classes() {
        let classes = [
            (1, 8),
            (9, 16),
            (17, 32),
            (100, 112),
            (129, 160),
            (257, 320),
            (16384, 16384),
            // A reply block: 16 KiB plus its header.
            (16384 + 16, 20480),
            // A fresh query buffer: 16 KiB, the sds16 header and the NUL.
            (16384 + 6, 20480),
            (20481, 24576),
            (32769, 40960),
            (1 << 20, 1 << 20),
            ((1 << 20) + 1, (1 << 20) + (1 << 18)),
        ];
        for (asked, class) in classes {
            assert_eq!(usable_size(asked), class, "{asked} bytes");
        }
    }

    #[test]
    fn rss_and_system_memory_are_plausible() {
        if let Some(rss) = resident_set_size() {
            assert!(rss > 0);
            assert!(rss < total_system_memory());
        }
        assert!(total_system_memory() > 0);
    }
}
