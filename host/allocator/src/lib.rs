//! The process's allocator: mimalloc, with headroom on large blocks.
//!
//! Every tool call runs in a fresh guest memory (a byte vector inside
//! wasmi) that the guest grows while it runs: Rust's wasm allocator asks
//! for a new page on its first allocation. Grown from an exact-size block,
//! the memory is copied on every call (128 KiB for a small guest, a tenth
//! of the call's cost). A vector doubles its capacity when it grows, so
//! blocks of 64 KiB and more are allocated with twice the room, and a block
//! grows in place while it fits; the room is address space until written.

use libmimalloc_sys::{mi_free, mi_malloc_aligned, mi_realloc_aligned, mi_usable_size, mi_zalloc_aligned};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// mimalloc, growing large blocks in place where it can.
pub struct HostAllocator;

/// Blocks from this size on get room to grow.
const LARGE: usize = 64 << 10;

fn with_room(size: usize) -> usize {
    if size >= LARGE { size.saturating_mul(2) } else { size }
}

// SAFETY: every method forwards to mimalloc, which meets `GlobalAlloc`'s
// contract for any size and alignment; a larger block than asked for is
// allowed, and `mi_free` needs no size.
unsafe impl GlobalAlloc for HostAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { mi_malloc_aligned(with_room(layout.size()), layout.align()).cast() }
    }

    /// Exact: zeroing room nobody asked for would cost more than it saves.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { mi_zalloc_aligned(layout.size(), layout.align()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            // Growing within the block's room keeps it where it is (mimalloc's
            // own realloc copied even then); beyond it, the moved block gets
            // room of its own. Shrinking is mimalloc's to decide.
            if new_size > layout.size() && new_size <= mi_usable_size(ptr as *const c_void) {
                return ptr;
            }
            mi_realloc_aligned(ptr.cast(), with_room(new_size), layout.align()).cast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_block_grows_in_place_within_its_room_and_keeps_its_bytes() {
        let allocator = HostAllocator;
        let layout = Layout::from_size_align(128 << 10, 8).unwrap();
        unsafe {
            let block = allocator.alloc(layout);
            assert!(!block.is_null());
            block.write_bytes(7, layout.size());
            let grown = allocator.realloc(block, layout, 256 << 10);
            assert_eq!(grown, block, "the first doubling fits the room");
            let grown_layout = Layout::from_size_align(256 << 10, 8).unwrap();
            let moved = allocator.realloc(grown, grown_layout, 1 << 20);
            assert!(std::slice::from_raw_parts(moved, 128 << 10).iter().all(|&b| b == 7));
            allocator.dealloc(moved, Layout::from_size_align(1 << 20, 8).unwrap());
        }
    }
}
