//! Instrumentation: probes, the trace event model, the stepping gate, sinks.
//!
//! # Layout
//! - [`model`]: the serde types of the wire format (hello, snapshot, events,
//!   gate status, control messages) and the reducer that rebuilds loop state.

pub mod model;

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
