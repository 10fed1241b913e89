//! loopscope: watch a Redis-style event loop think.
//!
//! # Layout
//! - [`ae`]: the event loop, a mirror of Redis's `ae.c`, on `mio`.
//! - [`server`]: the Redis subset on top of it (`server.c`, `networking.c`).
//! - [`trace`]: probes, the trace model, the stepping gate and its transports.
//! - [`tui`]: the terminal UI, fed only by the trace model.
//! - [`walkthrough`]: the guided chapters, their wait-conditions and progress.
//! - [`state_dir`]: where progress and logs are kept between runs.

pub mod ae;
#[doc(hidden)]
pub mod fuzzing;
pub mod server;
pub mod source;
pub mod state_dir;
pub mod trace;
pub mod tui;
pub mod walkthrough;

#[global_allocator]
static ALLOCATOR: server::zmalloc::CountingAllocator = server::zmalloc::CountingAllocator;
