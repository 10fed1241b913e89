//! Instrumentation: probes, the trace event model, the stepping gate, sinks.
