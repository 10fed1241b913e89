//! The event loop: a mirror of Redis's `ae.c`.

/// A file descriptor, as ae uses them: the index into `events`.
pub type Fd = i32;
