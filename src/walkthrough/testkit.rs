//! Test helpers shared by the walkthrough's unit tests.

use std::borrow::Cow;

use crate::trace::model::{Event, ProbeData, Site};

static SITE: Site = Site {
    file: Cow::Borrowed("src/server/networking.rs"),
    line: 1,
    function: Cow::Borrowed("f"),
    mirrors: Cow::Borrowed("f"),
};

/// A trace event carrying `data`, numbered 1, in iteration 1.
pub fn event(data: ProbeData) -> Event {
    Event {
        seq: 1,
        iter: 1,
        t_us: 0,
        site: Cow::Borrowed(&SITE),
        data,
    }
}

/// A small deterministic random number generator (xorshift64*), so fuzz
/// tests mutate their inputs the same way on every run and machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
