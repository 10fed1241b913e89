//! The source pane's content: the line of our code the loop is at, the code
//! around it, and where Redis does the same thing.
//!
//! Every probe event carries its site: the file and line of the probe, our
//! function, and the Redis function that code mirrors. This module turns the
//! frame on screen into what the source pane shows, without drawing it:
//!
//! - a [`Listing`] of our embedded source around the site ([`ours`], cut by
//!   [`crate::source::excerpt`] so the enclosing function shows), or of the
//!   Redis function read from the user's own checkout ([`RedisCheckout`],
//!   `--redis-src DIR`);
//! - the [`Note`]s under the code: the nearest anchor in the same function,
//!   with its note and its Redis counterpart and permalink, or, where our
//!   function has no anchor, the Redis function the probe says it mirrors.
//!
//! The code always comes from *this* build, which is what runs in a tour. A
//! trace replayed or attached from another version of loopscope may point at
//! lines that have moved since; the notes say so, and the anchors (with their
//! notes) come from the stream's hello, which describes the sender's code.
//!
//! [`CodeState`] is the pane's part of the UI state: full screen or not, the
//! Redis view flipped or not, and how far the user scrolled away from the
//! line the loop is at (until the loop moves on).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::state::App;
use crate::source::highlight::{LexState, tokenize};
use crate::source::redis::{RedisFunction, c_name, find_function};
use crate::source::{self, FunctionSpan, RedisRef};
use crate::trace::model::AnchorEntry;

/// A place in our code the pane points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: u32,
    /// Our function, as the probe (or the anchor) names it.
    pub function: String,
    /// The Redis function this code mirrors, empty if none.
    pub mirrors: String,
    /// Where the place comes from.
    pub why: Why,
}

/// Why the pane shows a place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The probe the frame stops at: the line that just ran.
    Probe,
    /// No probe yet (a fresh tour stands before its first iteration): the
    /// top of the loop's iteration, where it will start.
    Start,
    /// The guide's step points at this anchor.
    Guide(String),
}

/// Where every iteration starts: shown before the first probe arrives.
pub const START_ANCHOR: &str = "ae.process_events";

/// The place the pane shows: the guide's anchor while the pane is pinned to
/// it, else the probe the frame on screen stops at, or, before any probe,
/// the top of an iteration.
pub fn place(app: &App) -> Option<Place> {
    if let Some(name) = &app.code.pin
        && let Some(p) = anchor_place(&app.code.anchors, name, Why::Guide(name.clone()))
    {
        return Some(p);
    }
    match app.frame().and_then(|f| f.at.as_ref()) {
        Some(ev) => Some(Place {
            file: ev.site.file.to_string(),
            line: ev.site.line,
            function: ev.site.function.to_string(),
            mirrors: ev.site.mirrors.to_string(),
            why: Why::Probe,
        }),
        None => anchor_place(&app.code.anchors, START_ANCHOR, Why::Start),
    }
}

/// The place of the anchor `name` in the stream's code.
fn anchor_place(anchors: &[AnchorEntry], name: &str, why: Why) -> Option<Place> {
    let a = anchors.iter().find(|a| a.name == name)?;
    Some(Place {
        file: a.file.to_string(),
        line: a.line,
        function: a.function.to_string(),
        mirrors: c_name(&a.redis_function).to_string(),
        why,
    })
}

/// The source pane's state. See the module doc.
#[derive(Debug)]
pub struct CodeState {
    /// `r`: a wide pane hides its Redis half; a narrow one shows Redis's
    /// function instead of ours.
    pub flip: bool,
    /// Lines scrolled away from the automatic window, and the place that
    /// applies to: when the loop moves on, the window follows it again.
    scroll: Option<(String, u32, i64)>,
    /// The scroll offsets that still move the window, as last drawn. The
    /// view writes it (it alone knows the pane's height) so that scrolling
    /// stops at the ends of the code instead of running on unseen.
    range: Cell<Option<(i64, i64)>>,
    /// `--redis-src DIR`.
    pub redis: Option<RedisCheckout>,
    /// The anchor the guide's step shows, until the learner moves the loop
    /// (or the view of it) again.
    pub pin: Option<String>,
    /// The anchors of the code the stream comes from: the hello's, or this
    /// build's own when the hello has none.
    pub anchors: Vec<AnchorEntry>,
}

impl CodeState {
    pub fn new(redis_src: Option<PathBuf>) -> CodeState {
        CodeState {
            flip: false,
            scroll: None,
            range: Cell::new(None),
            redis: redis_src.map(RedisCheckout::new),
            pin: None,
            anchors: crate::trace::tracer::anchor_entries(),
        }
    }

    /// How far the window is scrolled from its automatic position at `place`.
    pub fn offset(&self, place: &Place) -> i64 {
        match &self.scroll {
            Some((file, line, off)) if *file == place.file && *line == place.line => *off,
            _ => 0,
        }
    }

    /// Scrolls the window at `place` by `delta` lines (negative: up).
    pub fn scroll_by(&mut self, place: &Place, delta: i64) {
        let (lo, hi) = self.range.get().unwrap_or((i64::MIN / 2, i64::MAX / 2));
        let off = self
            .offset(place)
            .saturating_add(delta)
            .clamp(lo, hi.max(lo));
        self.scroll = Some((place.file.clone(), place.line, off));
    }

    /// Called by the view with the offsets it could show.
    pub fn set_range(&self, lo: i64, hi: i64) {
        self.range.set(Some((lo, hi)));
    }
}

// ---------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------

/// A window onto some lines of code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing<'a> {
    /// The number of `lines[0]` (1-based).
    pub first: u32,
    pub lines: Vec<&'a str>,
    /// The line the loop is at, highlighted when it is in the window.
    pub current: Option<u32>,
    /// The lines of the enclosing function; lines outside it are drawn dim.
    pub span: Option<(u32, u32)>,
    /// The lexer's state before `lines[0]` (a comment or string left open above).
    pub lex: LexState,
    /// The indentation of the function's first line: the view never strips
    /// more, so the code does not jump sideways while it scrolls.
    pub indent: usize,
    /// The scroll offsets that move this window: beyond them it stops.
    pub range: (i64, i64),
}

/// `height` lines of `all` (whose first line is number `base`), starting
/// `offset` lines after `start`, kept inside `all`.
fn window<'a>(all: &[&'a str], base: u32, start: u32, offset: i64, height: usize) -> Listing<'a> {
    let len = all.len() as i64;
    let top_max = (len - height as i64).max(0);
    let start_idx = i64::from(start) - i64::from(base);
    let idx = start_idx.saturating_add(offset).clamp(0, top_max);
    let from = usize::try_from(idx).unwrap_or(0);
    let mut lex = LexState::default();
    for line in all.iter().take(from) {
        tokenize(line, &mut lex);
    }
    Listing {
        first: base.saturating_add(u32::try_from(from).unwrap_or(u32::MAX)),
        lines: all.iter().skip(from).take(height).copied().collect(),
        current: None,
        span: None,
        lex,
        indent: usize::MAX,
        range: (-start_idx, top_max - start_idx),
    }
}

/// The function of our code around `place`, if the file is in this build.
/// Remembered like [`ours`], for the same reason.
pub fn function_at(place: &Place) -> Option<FunctionSpan> {
    thread_local! {
        static MEMO: RefCell<Recent<(String, u32), Option<FunctionSpan>>> =
            RefCell::new(Recent::default());
    }
    MEMO.with_borrow_mut(|m| {
        m.get_or((place.file.clone(), place.line), || {
            source::enclosing_function(source::file(&place.file)?, place.line)
        })
    })
}

/// `height` lines of our code around `place`, scrolled by `offset`: the
/// enclosing function whole when it fits, else the line a third of the way
/// down (see [`source::excerpt`]).
///
/// The pane is drawn up to 30 times a second while the loop runs, mostly at
/// the same few places; finding a function's span and the lexer state at the
/// window's top means tokenizing the file, so recent answers are kept.
pub fn ours(place: &Place, height: usize, offset: i64) -> Result<Listing<'static>, String> {
    /// A place, the pane's height and its scroll offset.
    type Key = (String, u32, usize, i64);
    thread_local! {
        static MEMO: RefCell<Recent<Key, Result<Listing<'static>, String>>> =
            RefCell::new(Recent::default());
    }
    let key = (place.file.clone(), place.line, height, offset);
    MEMO.with_borrow_mut(|m| m.get_or(key, || ours_uncached(place, height, offset)))
}

/// The last few answers of a costly function of what is drawn, most recent last.
struct Recent<K, V>(Vec<(K, V)>);

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent(Vec::new())
    }
}

impl<K: PartialEq, V: Clone> Recent<K, V> {
    /// Answers kept: a handful of places is what one screen moves between.
    const KEPT: usize = 8;

    fn get_or(&mut self, key: K, compute: impl FnOnce() -> V) -> V {
        if let Some(i) = self.0.iter().position(|(k, _)| *k == key) {
            let hit = self.0.remove(i);
            let answer = hit.1.clone();
            self.0.push(hit);
            return answer;
        }
        let answer = compute();
        if self.0.len() >= Self::KEPT {
            self.0.remove(0);
        }
        self.0.push((key, answer.clone()));
        answer
    }
}

fn ours_uncached(place: &Place, height: usize, offset: i64) -> Result<Listing<'static>, String> {
    let text = source::file(&place.file).ok_or_else(|| {
        format!(
            "{} is not part of this build of loopscope ({}), so its code cannot be shown",
            place.file,
            env!("CARGO_PKG_VERSION")
        )
    })?;
    let ex = source::excerpt(&place.file, place.line, height.max(1)).ok_or_else(|| {
        format!(
            "{} has no line {} in this build of loopscope",
            place.file, place.line
        )
    })?;
    let all: Vec<&'static str> = text.lines().collect();
    let mut start = ex.lines.first().map_or(1, |(n, _)| *n);
    // A function taller than the pane: show as much of it as the line
    // allows, rather than the code after its end.
    if let Some(f) = &ex.function {
        let h = u32::try_from(height).unwrap_or(u32::MAX);
        if f.last_line - f.first_line >= h {
            start = start
                .min((f.last_line + 1).saturating_sub(h))
                .max(f.first_line);
        }
    }
    let mut listing = window(&all, 1, start, offset, height);
    listing.current = Some(place.line);
    if let Some(f) = ex.function {
        let first = all.get(f.first_line as usize - 1).copied().unwrap_or("");
        listing.indent = first.len() - first.trim_start_matches(' ').len();
        listing.span = Some((f.first_line, f.last_line));
    }
    Ok(listing)
}

/// The Redis function's lines, scrolled by `offset` (only down: the window
/// starts at the function's first line).
pub fn redis_listing(f: &RedisFunction, height: usize, offset: i64) -> Listing<'_> {
    let all: Vec<&str> = f.lines.iter().map(String::as_str).collect();
    let mut listing = window(&all, f.first_line, f.first_line, offset.max(0), height);
    // Scrolling up from the top moves only our side, so it stays allowed.
    listing.range.0 = i64::MIN / 2;
    listing.indent = 0;
    listing.span = Some((
        f.first_line,
        f.first_line + u32::try_from(f.lines.len()).unwrap_or(0),
    ));
    listing
}

// ---------------------------------------------------------------------------
// Anchors and the Redis counterpart
// ---------------------------------------------------------------------------

/// How close an anchor must be to mark the very spot of a probe.
const SAME_SPOT: u32 = 3;

/// The anchor that best explains `place`, among those inside its function
/// (`span`, or, when this build cannot find the function, the anchors that
/// name the same one): one that marks the very spot, else one that mirrors
/// the same Redis function as the probe, else the nearest.
pub fn anchor_near<'a>(
    anchors: &'a [AnchorEntry],
    place: &Place,
    span: Option<&FunctionSpan>,
) -> Option<&'a AnchorEntry> {
    anchors
        .iter()
        .filter(|a| {
            a.file == place.file
                && match span {
                    Some(f) => (f.first_line..=f.last_line).contains(&a.line),
                    None => a.function == place.function,
                }
        })
        .min_by_key(|a| {
            let distance = a.line.abs_diff(place.line);
            let tier = if distance <= SAME_SPOT {
                0
            } else if c_name(&a.redis_function) == place.mirrors {
                1
            } else {
                2
            };
            (tier, distance, a.line > place.line)
        })
}

/// The Redis function to show for `place`: its anchor's, else the one the
/// probe mirrors, whose file some anchor of the table names.
pub fn redis_ref(anchor: Option<&AnchorEntry>, place: &Place) -> Result<RedisRef, String> {
    if let Some(a) = anchor {
        return source::anchor_info(&a.name)
            .map(|i| i.redis)
            .ok_or_else(|| format!("this build of loopscope has no anchor named {}", a.name));
    }
    if place.mirrors.is_empty() {
        return Err(format!("{}() mirrors no Redis function", place.function));
    }
    source::ANCHORS
        .iter()
        .map(|a| a.redis)
        .find(|r| c_name(r.function) == place.mirrors)
        .ok_or_else(|| {
            format!(
                "no anchor says which Redis file holds {} (`loopscope source --list` lists the known ones)",
                place.mirrors
            )
        })
}

/// A function read from a checkout, or why it could not be.
type Lookup = Result<Arc<RedisFunction>, String>;

/// A Redis checkout (`--redis-src DIR`), and the functions read from it so far.
#[derive(Debug)]
pub struct RedisCheckout {
    pub dir: PathBuf,
    /// Each function is read once: the pane is drawn many times a second.
    found: RefCell<HashMap<(&'static str, &'static str), Lookup>>,
}

impl RedisCheckout {
    pub fn new(dir: PathBuf) -> RedisCheckout {
        RedisCheckout {
            dir,
            found: RefCell::new(HashMap::new()),
        }
    }

    /// The function `r` names, from the checkout; an error says what is missing.
    pub fn function(&self, r: &RedisRef) -> Lookup {
        let key = (r.function, r.file);
        if let Some(hit) = self.found.borrow().get(&key) {
            return hit.clone();
        }
        let got = find_function(&self.dir, r)
            .map(|f| Arc::new(printable(f)))
            .map_err(|e| format!("--redis-src: {e}"));
        self.found.borrow_mut().insert(key, got.clone());
        got
    }
}

/// A file from someone's disk may hold tabs and control characters; a cell
/// of the terminal must not.
fn printable(mut f: RedisFunction) -> RedisFunction {
    for line in &mut f.lines {
        if line.chars().any(char::is_control) {
            *line = line
                .replace('\t', "    ")
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
        }
    }
    f
}

// ---------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------

/// One line (or paragraph) under the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Something to be careful with: the code shown may not be the code traced.
    Warn(String),
    /// Why the pane shows this place, when it is not the line that just ran.
    Info(String),
    /// The nearest anchor in the function.
    Anchor { name: String, note: String },
    /// The anchor's Redis counterpart.
    Redis { function: String, file: String },
    /// Its permalink at a pinned Redis commit.
    Link(String),
    /// The Redis function this probe mirrors, when no anchor says it (or it
    /// differs from the anchor's).
    Mirrors { ours: String, redis: String },
}

/// What a trace from another version of loopscope means for the code shown.
pub fn version_warning(app: &App) -> Option<String> {
    let theirs = &app.hello.as_ref()?.loopscope;
    let ours = env!("CARGO_PKG_VERSION");
    (theirs != ours).then(|| {
        format!("the trace comes from loopscope {theirs}; this code is from {ours} and may differ")
    })
}

/// The notes under the code at `place`, most important first.
pub fn notes(app: &App, place: &Place, span: Option<&FunctionSpan>) -> Vec<Note> {
    let mut out: Vec<Note> = version_warning(app).into_iter().map(Note::Warn).collect();
    match &place.why {
        Why::Probe => {}
        Why::Start => out.push(Note::Info(
            "no probe yet: each iteration of the loop starts here (n steps to the first probe)"
                .into(),
        )),
        Why::Guide(name) => {
            let said = app.guide.as_ref().and_then(|g| g.anchor_note(name));
            out.push(Note::Info(match said {
                Some(n) => format!("guide: {n}"),
                None => format!("the guide shows {name}"),
            }));
        }
    }
    let anchor = anchor_near(&app.code.anchors, place, span);
    if let Some(a) = anchor {
        out.push(Note::Anchor {
            name: a.name.to_string(),
            note: a.note.to_string(),
        });
        out.push(Note::Redis {
            function: a.redis_function.to_string(),
            file: a.redis_file.to_string(),
        });
        out.push(Note::Link(a.permalink.clone()));
    }
    let differs = anchor.is_none_or(|a| c_name(&a.redis_function) != place.mirrors);
    if !place.mirrors.is_empty() && differs {
        out.push(Note::Mirrors {
            ours: place.function.clone(),
            redis: place.mirrors.clone(),
        });
    }
    out
}

/// Everything about the place on screen, for the details popup (Enter).
pub fn details(app: &App) -> Vec<(String, String)> {
    let Some(place) = place(app) else {
        return Vec::new();
    };
    let kv = |k: &str, v: String| (k.to_string(), v);
    let span = function_at(&place);
    let mut out = vec![
        kv("file", place.file.clone()),
        kv("line", place.line.to_string()),
        kv(
            "function",
            match &span {
                Some(f) => format!("{} (lines {}-{})", f.name, f.first_line, f.last_line),
                None => place.function.clone(),
            },
        ),
    ];
    for note in notes(app, &place, span.as_ref()) {
        out.push(match note {
            Note::Warn(w) => kv("careful", w),
            Note::Info(i) => kv("shown", i),
            Note::Anchor { name, note } => kv("anchor", format!("{name}: {note}")),
            Note::Redis { function, file } => kv("Redis", format!("{function} in {file}")),
            Note::Link(url) => kv("permalink", url),
            Note::Mirrors { ours, redis } => kv("mirrors", format!("{ours}() mirrors {redis}")),
        });
    }
    let anchor = anchor_near(&app.code.anchors, &place, span.as_ref());
    out.push(kv(
        "--redis-src",
        match &app.code.redis {
            None => "not given: start loopscope with --redis-src DIR (a Redis checkout) to read Redis's own code here".into(),
            Some(r) => match redis_ref(anchor, &place).and_then(|rr| r.function(&rr)) {
                Ok(f) => format!("{}:{}", f.path, f.first_line),
                Err(e) => e,
            },
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_answers_are_reused_and_the_least_recent_is_forgotten() {
        let mut recent: Recent<u32, u32> = Recent::default();
        let mut computed = Vec::new();
        let mut ask = |recent: &mut Recent<u32, u32>, k: u32| {
            recent.get_or(k, || {
                computed.push(k);
                k * 10
            })
        };
        let kept = Recent::<u32, u32>::KEPT as u32;
        for k in 0..kept {
            assert_eq!(ask(&mut recent, k), k * 10);
        }
        assert_eq!(ask(&mut recent, 0), 0, "kept");
        // 0 was just used, so 1 is now the least recent and makes room.
        assert_eq!(ask(&mut recent, kept), kept * 10);
        assert_eq!(ask(&mut recent, 0), 0);
        assert_eq!(ask(&mut recent, 1), 10);
        let want: Vec<u32> = (0..=kept).chain([1]).collect();
        assert_eq!(computed, want);
    }

    fn at_anchor(name: &str) -> Place {
        let site = source::find_anchor(name).expect("anchor");
        let info = source::anchor_info(name).expect("info");
        Place {
            file: site.file.into(),
            line: site.line,
            function: info.function.into(),
            mirrors: c_name(info.redis.function).into(),
            why: Why::Probe,
        }
    }

    #[test]
    fn every_anchor_is_the_nearest_one_at_its_own_line() {
        let anchors = crate::trace::tracer::anchor_entries();
        for info in source::ANCHORS {
            let place = at_anchor(info.name);
            let span = function_at(&place);
            let got = anchor_near(&anchors, &place, span.as_ref()).map(|a| a.name.as_ref());
            assert_eq!(got, Some(info.name));
        }
    }

    #[test]
    fn a_probe_gets_the_anchor_of_its_spot_else_of_its_redis_function() {
        let anchors = crate::trace::tracer::anchor_entries();
        let start = at_anchor("ae.process_events");
        let poll = at_anchor("ae.poll");
        let near = |line: u32, mirrors: &str| {
            let p = Place {
                line,
                mirrors: mirrors.into(),
                ..poll.clone()
            };
            anchor_near(&anchors, &p, function_at(&p).as_ref()).map(|a| a.name.to_string())
        };
        // Right at the poll: its anchor, whatever the probe mirrors.
        assert_eq!(
            near(poll.line + 1, "aeProcessEvents").as_deref(),
            Some("ae.poll")
        );
        // Far below it, a probe that mirrors aeProcessEvents: the loop's own anchor.
        let below = poll.line + 2 * SAME_SPOT;
        assert!(below > start.line);
        assert_eq!(
            near(below, "aeProcessEvents").as_deref(),
            Some("ae.process_events")
        );
        assert_eq!(near(below, "aeApiPoll").as_deref(), Some("ae.poll"));
    }

    #[test]
    fn no_anchor_outside_the_function() {
        let anchors = crate::trace::tracer::anchor_entries();
        let place = Place {
            file: "src/tui/code.rs".into(),
            line: 1,
            function: "nothing".into(),
            mirrors: String::new(),
            why: Why::Probe,
        };
        assert_eq!(anchor_near(&anchors, &place, None), None);
        assert!(redis_ref(None, &place).is_err());
    }

    #[test]
    fn the_window_stays_in_the_file_and_says_how_far_it_can_scroll() {
        let all = ["a", "b", "c", "d", "e", "f"];
        let w = window(&all, 1, 3, 0, 3);
        assert_eq!((w.first, w.lines.clone()), (3, vec!["c", "d", "e"]));
        assert_eq!(w.range, (-2, 1));
        assert_eq!(window(&all, 1, 3, 100, 3).first, 4);
        assert_eq!(window(&all, 1, 3, -100, 3).first, 1);
        // Taller than the file: everything, no scrolling.
        let w = window(&all, 10, 10, 5, 50);
        assert_eq!((w.first, w.lines.len(), w.range), (10, 6, (0, 0)));
    }

    #[test]
    fn scrolling_is_kept_per_place_and_clamped_to_what_was_drawn() {
        let mut st = CodeState::new(None);
        let p = at_anchor("ae.poll");
        st.set_range(-5, 7);
        for _ in 0..20 {
            st.scroll_by(&p, 1);
        }
        assert_eq!(st.offset(&p), 7);
        st.scroll_by(&p, -100);
        assert_eq!(st.offset(&p), -5);
        let elsewhere = Place {
            line: p.line + 1,
            ..p
        };
        assert_eq!(st.offset(&elsewhere), 0, "the loop moved on");
    }

    #[test]
    fn a_listing_of_our_code_holds_the_line() {
        let p = at_anchor("ae.process_events");
        let l = ours(&p, 12, 0).expect("listing");
        assert_eq!(l.lines.len(), 12);
        let i = (p.line - l.first) as usize;
        let text = source::file(&p.file).and_then(|t| t.lines().nth(p.line as usize - 1));
        assert_eq!(Some(l.lines[i]), text);
        assert!(l.span.is_some_and(|(a, b)| a <= p.line && p.line <= b));
        // process_events is taller than 12 lines: all 12 are its own.
        let (a, b) = l.span.expect("span");
        assert!(a <= l.first && l.first + 11 <= b, "{a}-{b} {}", l.first);
        let missing = Place {
            file: "src/gone.rs".into(),
            ..p.clone()
        };
        assert!(
            ours(&missing, 12, 0)
                .unwrap_err()
                .contains("not part of this build")
        );
        let past_end = Place {
            line: 1_000_000,
            ..p
        };
        assert!(ours(&past_end, 12, 0).unwrap_err().contains("no line"));
    }

    #[test]
    fn tabs_and_control_characters_never_reach_the_screen() {
        let f = printable(RedisFunction {
            path: "x.c".into(),
            first_line: 1,
            lines: vec!["\tint x;\u{1b}[2J".into(), "plain".into()],
        });
        assert_eq!(f.lines, ["    int x;?[2J", "plain"]);
    }
}
