//! Instrumentation: probes, the trace event model, the stepping gate, and the
//! transports that carry the stream to viewers.
//!
//! The loop and the server call probes ([`probe!`](crate::probe)) on a
//! [`Tracer`] the event loop owns. Unobserved, a probe is one predictable
//! branch. Observed, it becomes an [`model::Event`], goes to every viewer's
//! bounded queue (dropped and counted if the viewer is slow), and is offered
//! to the [`gate::Gate`], which may stop the loop right there until a viewer
//! says step or continue.
//!
//! # Layout
//! - [`model`]: the serde types of the wire format (hello, snapshot, events,
//!   gate status, control messages) and the reducer that rebuilds loop state.
//! - [`tracer`]: the probe API, the snapshot protocol, the blocking gate, and
//!   the [`TraceHandle`] viewers subscribe with.
//! - [`gate`]: the pause/step/play/breakpoint rules, as a plain value.
//! - [`breakpoint`]: what each breakpoint matches; `KEYS`-style globs.
//! - [`queue`]: a viewer's bounded lossy queue with its drop counters.
//! - [`sink`]: the JSON-lines writer (`--trace FILE|-`).
//! - [`attach`]: the TCP attach port (`--trace-port`).
//! - [`admission`]: who may attach and control: token, read-only, flood budget.
//! - [`reader`]: reading trace files back, and replaying them to a state.
//!
//! The wire format is documented for humans in `docs/trace-format.md`.

pub mod admission;
pub mod attach;
pub mod breakpoint;
pub mod gate;
pub mod model;
pub mod queue;
pub mod reader;
pub mod sink;
pub mod tracer;

pub use tracer::{
    Facts, ProbeCx, Stopwatch, Subscription, TraceClock, TraceHandle, Tracer, tracer,
};

/// A `&'static` [`model::Site`] for the line where it is written.
///
/// ```ignore
/// let site = site!("process_events", "aeProcessEvents");
/// ```
///
/// The site lives in a `static`, so a probe refers to it by pointer: nothing is
/// allocated or copied to say where a probe is.
#[macro_export]
macro_rules! site {
    ($function:expr, $mirrors:expr) => {{
        static SITE: $crate::trace::model::Site = $crate::trace::model::Site {
            file: ::std::borrow::Cow::Borrowed(file!()),
            line: line!(),
            function: ::std::borrow::Cow::Borrowed($function),
            mirrors: ::std::borrow::Cow::Borrowed($mirrors),
        };
        &SITE
    }};
}
