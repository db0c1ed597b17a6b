//! Decoding allocates nothing that the design can avoid.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use super::*;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Counts the allocations of the current thread.
struct Counting;

// Counting needs a global allocator, which is `unsafe` to implement; it
// only forwards to the system allocator.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (ALLOCATIONS.with(Cell::get) - before, r)
}

#[test]
fn decoding_an_event_allocates_nothing() {
    let text = Str::from(r#"2/chat,7["echo",1,"two",{"a":[3]}]"#.to_owned());
    // `bytes` makes a buffer from a `String` shareable on its first clone.
    let _ = text.clone();
    let limits = DecodeLimits::default();
    let (n, packet) = allocations(|| Packet::decode(text.clone(), &limits));
    assert_eq!(n, 0);
    let Ok(Decoded::Packet(Packet {
        data: PacketData::Event(e),
        ..
    })) = packet
    else {
        panic!()
    };
    #[derive(serde::Deserialize)]
    struct Obj {
        #[allow(dead_code)]
        a: (u8,),
    }
    let (n, args) = allocations(|| deserialize_args::<(u8, &str, Obj)>(&e.args, &[]));
    assert_eq!(n, 0);
    assert_eq!(args.unwrap().1, "two");
}

#[test]
fn huge_attachment_count_allocates_nothing() {
    let text = Str::from(r#"5999999999999-["x"]"#);
    let (n, result) = allocations(|| Packet::decode(text, &DecodeLimits::default()));
    assert_eq!(n, 0);
    assert!(result.is_err());
}
