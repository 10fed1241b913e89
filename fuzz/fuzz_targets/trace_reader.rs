//! Trace files as `replay` reads them: `trace::reader` (lines to messages,
//! errors naming the line), the reducer that rebuilds the loop's state from a
//! snapshot plus events (`Snapshot::apply`, inside `reader::replay`), and the
//! viewer's own reducer (`tui::state::App::on_message`, which keeps the
//! frames and the history the learner travels back in).
//!
//! Two kinds of input:
//! - a file, as is (anything not starting with `R`);
//! - `R` and a recipe that rearranges the messages of a recorded session
//!   (`data/session.jsonl`) and changes their numbers:
//!   each pair of bytes picks a message and one of its numbers, and sets it
//!   to a value the bytes choose (0, -1, small, huge, a neighbour). Raw bytes
//!   seldom make a well-formed event; this mode makes arbitrary *sequences*
//!   of well-formed events, with fds, ids and seqs out of the usual order.
//!
//! Beyond "no panic": an error names a line of the file; on success, the
//! rebuilt state keeps its tables sorted by key without duplicates whenever
//! the snapshots in the file did.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use loopscope::trace::model::{Message, Snapshot};
use loopscope::trace::reader::{TraceReader, replay};
use loopscope::tui::state::App;
use loopscope::tui::theme::Theme;
use serde_json::Value;

/// Replaces the `index`-th number in `v` (depth first) by `f` of it;
/// false if `v` has fewer numbers.
fn set_nth_number(v: &mut Value, index: &mut usize, f: &dyn Fn(&Value) -> Value) -> bool {
    match v {
        Value::Number(_) if *index == 0 => {
            *v = f(v);
            true
        }
        Value::Number(_) => {
            *index -= 1;
            false
        }
        Value::Array(items) => items.iter_mut().any(|i| set_nth_number(i, index, f)),
        Value::Object(map) => map.values_mut().any(|i| set_nth_number(i, index, f)),
        _ => false,
    }
}

/// The number a recipe byte stands for, given the one it replaces.
fn new_number(choice: u8, old: &Value) -> Value {
    let old = old.as_i64().unwrap_or(0);
    match choice % 8 {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(u64::MAX),
        3 => Value::from(i64::MIN),
        4 => Value::from(old.saturating_add(1)),
        5 => Value::from(old.saturating_sub(1)),
        6 => Value::from(u64::from(choice >> 3)),
        _ => Value::from(i64::from(i32::MAX)),
    }
}

/// Builds a trace file from a recipe over the recorded session.
fn recipe_file(recipe: &[u8]) -> Vec<u8> {
    let session = common::messages();
    let mut file = Vec::new();
    for step in recipe.chunks(3) {
        let [pick, which, choice] = [0, 1, 2].map(|i| step.get(i).copied().unwrap_or(0));
        let mut value = serde_json::to_value(&session[pick as usize % session.len()])
            .expect("messages serialize");
        // `which` 255 keeps the message as recorded.
        if which != 255 {
            set_nth_number(&mut value, &mut (which as usize), &|old| {
                new_number(choice, old)
            });
        }
        file.extend_from_slice(value.to_string().as_bytes());
        file.push(b'\n');
    }
    file
}

/// Sorted by key with no key twice.
fn strictly_sorted<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> bool {
    items.windows(2).all(|w| key(&w[0]) < key(&w[1]))
}

fn well_kept(s: &Snapshot) -> bool {
    strictly_sorted(&s.file_events, |f| f.fd)
        && strictly_sorted(&s.time_events, |t| t.id)
        && strictly_sorted(&s.clients, |c| c.id)
}

fuzz_target!(|data: &[u8]| {
    let owned;
    let file: &[u8] = match data.strip_prefix(b"R") {
        Some(recipe) => {
            owned = recipe_file(recipe);
            &owned
        }
        None => data,
    };
    let lines = 1 + file.iter().filter(|&&b| b == b'\n').count() as u64;

    let mut snapshots_kept = true;
    let mut app = App::new(Theme::new(false, true), "fuzz", "");
    for item in TraceReader::new(file) {
        match item {
            Ok(msg) => {
                if let Message::Snapshot(s) = &msg {
                    snapshots_kept &= well_kept(s);
                }
                app.on_message(msg);
            }
            Err(e) => assert!(e.line >= 1 && e.line <= lines, "{e}"),
        }
    }
    match replay(file) {
        Ok(r) => {
            if snapshots_kept {
                assert!(
                    well_kept(&r.state),
                    "the reducer broke the order: {:?}",
                    r.state
                );
            }
        }
        Err(e) => assert!(e.line >= 1 && e.line <= lines, "{e}"),
    }
});
