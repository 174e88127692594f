//! One spare decompression buffer per thread, passed from one value to the next.
//!
//! Walking a compressed blob needs a buffer that lives as long as the walk, and
//! values are walked one after another: handing the last walk's buffer to the next
//! saves an allocation (and its page faults) per value.

use std::cell::Cell;

thread_local! {
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Buffers larger than this are freed rather than kept, so one huge value does not
/// pin its memory for the life of the thread.
const KEEP_AT_MOST: usize = 1 << 20;

/// The thread's spare buffer (empty, possibly with capacity), or a new one.
pub(crate) fn take() -> Vec<u8> {
    SPARE.with(Cell::take)
}

/// Offers `buf` as the thread's spare; the larger of it and the current spare is kept.
pub(crate) fn give(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_AT_MOST {
        return;
    }
    buf.clear();
    // `try_with`: a walk dropped while the thread exits has nowhere to give it back.
    let _ = SPARE.try_with(|spare| {
        let current = spare.take();
        spare.set(if current.capacity() >= buf.capacity() {
            current
        } else {
            buf
        });
    });
}
