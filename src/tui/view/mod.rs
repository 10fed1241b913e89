//! Drawing: a pure function of the [`App`] state.
//!
//! [`draw`] lays the screen out (header, the panes, the status line, the
//! footer), hands each pane's rectangle to that pane's widget, and puts the
//! open popup, if any, on top. It never changes the state, so what a test
//! renders into a `TestBackend` is exactly what a user sees.
//!
//! # Layout
//!
//! On a short terminal (80x24 and up to a body of [`TALL_BODY`] rows), the
//! source pane takes the place of the clients and activity panes, which
//! borrow it back while they have the focus (Tab):
//!
//! ```text
//! header: iteration, loop state, clients, ops/s, drops   (or the PAST banner)
//!         the phase strip and the probe the loop is at
//! +- events --------------------+ +- fired -----------+
//! +- source: file:line fn() ----+ +- time events -----+
//! |  the code at the probe      | +- beforeSleep -----+
//! |  its anchor, Redis's name   | +- command flow ----+
//! status line: how to connect, errors, acknowledgements
//! footer: the keys of whatever has the keyboard
//! ```
//!
//! On a tall one, the seven loop panes sit above a full-width source pane:
//!
//! ```text
//! +- events --------------------+ +- fired -----------+
//! +- command flow --------------+ +- time events -----+
//! |                             | +- beforeSleep -----+
//! +- activity ------------------+ +- clients ---------+
//! +- source (Redis's function beside ours with --redis-src) -----+
//! ```
//!
//! `s` gives the whole body to the source pane, `z` to the focused pane,
//! and back. The projector preset (`V`) shows fewer, larger panes at every
//! size (see [`projector`]).
//!
//! Below [`MIN_WIDTH`] x [`MIN_HEIGHT`] a "terminal too small" panel replaces
//! everything: nothing is drawn half-way, and nothing panics at 1x1.

mod activity;
mod code;
mod guide;
mod link;
mod popup;
pub(crate) mod probe;
mod projector;
mod table;
mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub use popup::{breakpoint_text, help_lines};

use crate::trace::model::{GateState, StepUnit, StopPoint, StopReason};
use crate::tui::frame::Phase;
use crate::tui::keys::{self, Footer, Mode};
use crate::tui::panes::Pane;
use crate::tui::state::{App, Overlay, Status, probe_kind_name};
use activity::ActivityView;
use code::CodeView;
use guide::GuideView;
use table::PaneView;

/// The smallest terminal the full layout fits in.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 18;

/// From this body height on, all eight panes have a place of their own.
pub const TALL_BODY: u16 = 30;

/// From this width on, the guide goes beside every pane; below, beside the
/// panes its step names.
pub const GUIDE_BESIDE: u16 = 120;

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_too_small(f, app, area);
        return;
    }
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(f, app, header);
    draw_body(f, app, body);
    draw_status(f, app, status);
    draw_footer(f, app, footer);
    let buf = f.buffer_mut();
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => popup::render_help(area, buf, app, *scroll),
        Overlay::Details { pane, row } => popup::render_details(area, buf, app, *pane, *row),
        Overlay::Breakpoints { selected } => {
            popup::render_breakpoints(area, buf, app, *selected, None)
        }
        Overlay::Prompt { input } => popup::render_breakpoints(area, buf, app, 0, Some(input)),
        Overlay::LogFilter { input } => popup::render_log_filter(area, buf, app, input),
        Overlay::Chapters { selected } => popup::render_chapters(area, buf, app, *selected),
        Overlay::Links => popup::render_links(area, buf, app),
    }
}

fn draw_too_small(f: &mut Frame, app: &App, area: Rect) {
    let text = format!(
        "terminal too small: {}x{}, loopscope needs {MIN_WIDTH}x{MIN_HEIGHT}. Enlarge the window (q quits).",
        area.width, area.height
    );
    f.render_widget(
        Paragraph::new(text)
            .style(app.theme.alert())
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn draw_body(f: &mut Frame, app: &App, area: Rect) {
    for (pane, rect) in layout(app, area) {
        draw_pane(f, app, pane, rect);
    }
}

/// Where each pane goes in the body (see the module doc).
pub fn layout(app: &App, area: Rect) -> Vec<(Pane, Rect)> {
    if let Some(z) = app.zoom {
        return vec![(z.pane, area)];
    }
    if app.projector {
        return projector::layout(app, area);
    }
    let Some(g) = app.guide.as_ref().filter(|g| g.open) else {
        return loop_panes(app, area);
    };
    if area.width >= GUIDE_BESIDE {
        let [rest, guide] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length((area.width * 2 / 5).min(72)),
        ])
        .areas(area);
        let mut out = loop_panes(app, rest);
        out.push((Pane::Guide, guide));
        return out;
    }
    // Narrow: the guide, and beside it the panes the step names, and the
    // focused one (so Tab still reaches every pane).
    let [guide, side] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    let mut shown = g.look_panes();
    if shown.is_empty() {
        shown = vec![Pane::Events, Pane::Source];
    }
    let mut shown = with_focus(app, shown);
    // The code the step points at, when there is room for it.
    let room = shown.len() < 2 || (shown.len() < 3 && area.height >= 24);
    if room && !shown.contains(&Pane::Source) {
        shown.push(Pane::Source);
    }
    if shown.len() > 3 {
        shown.drain(2..shown.len() - 1);
    }
    let mut out = stack(shown, side);
    out.push((Pane::Guide, guide));
    out
}

/// `shown`, and after them the focused pane when it is not among them (nor
/// the guide, which has a place of its own): a layout that shows only some
/// panes still shows the one Tab moved to, so Tab reaches every pane.
fn with_focus(app: &App, mut shown: Vec<Pane>) -> Vec<Pane> {
    if app.focus != Pane::Guide && !shown.contains(&app.focus) {
        shown.push(app.focus);
    }
    shown
}

/// `panes` one above the other in `area`, the source pane twice as tall as
/// the others (code reads down a function; a table's newest rows suffice).
fn stack(panes: Vec<Pane>, area: Rect) -> Vec<(Pane, Rect)> {
    let rows = Layout::vertical(
        panes
            .iter()
            .map(|p| Constraint::Fill(if *p == Pane::Source { 2 } else { 1 })),
    )
    .split(area);
    panes.into_iter().zip(rows.iter().copied()).collect()
}

/// The loop panes and the source pane, without the guide.
fn loop_panes(app: &App, area: Rect) -> Vec<(Pane, Rect)> {
    if area.height >= TALL_BODY {
        let [top, source] =
            Layout::vertical([Constraint::Fill(5), Constraint::Fill(4)]).areas(area);
        let mut out = loop_layout(top);
        out.push((source_or_log(app), source));
        return out;
    }
    let [left, right] = Layout::horizontal([Constraint::Fill(4), Constraint::Fill(3)]).areas(area);
    let [events, slot] = Layout::vertical([Constraint::Fill(3), Constraint::Fill(4)]).areas(left);
    let [fired, timers, before_sleep, flow] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Fill(3),
    ])
    .areas(right);
    // The panes without a place of their own borrow the source pane's while
    // they have the focus, so Tab still reaches them.
    let borrower = match app.focus {
        p @ (Pane::Clients | Pane::Activity) => p,
        _ => source_or_log(app),
    };
    vec![
        (Pane::Events, events),
        (borrower, slot),
        (Pane::Fired, fired),
        (Pane::Timers, timers),
        (Pane::BeforeSleep, before_sleep),
        (Pane::Flow, flow),
    ]
}

/// The probe log, while it is open (or focused), takes the source pane's place.
fn source_or_log(app: &App) -> Pane {
    if app.log_open || app.focus == Pane::Log {
        Pane::Log
    } else {
        Pane::Source
    }
}

/// The seven loop panes in two columns (the tall layout's upper part).
fn loop_layout(area: Rect) -> Vec<(Pane, Rect)> {
    let [left, right] = Layout::horizontal([Constraint::Fill(4), Constraint::Fill(3)]).areas(area);
    // The events array gets the most: it grows by a row or two with each
    // client, and the chapters keep pointing at its rows.
    let [events, flow, activity] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(2 + 3.min(area.height / 6)),
    ])
    .areas(left);
    let [fired, timers, before_sleep, clients] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Fill(3),
    ])
    .areas(right);
    vec![
        (Pane::Events, events),
        (Pane::Flow, flow),
        (Pane::Activity, activity),
        (Pane::Fired, fired),
        (Pane::Timers, timers),
        (Pane::BeforeSleep, before_sleep),
        (Pane::Clients, clients),
    ]
}

/// Draws one pane with its widget.
fn draw_pane(f: &mut Frame, app: &App, pane: Pane, area: Rect) {
    let table = |title_extra: String, header: bool, empty: &'static str| PaneView {
        app,
        pane,
        title_extra,
        header,
        empty,
    };
    let frame = app.frame();
    match pane {
        Pane::Activity => f.render_widget(ActivityView { app }, area),
        Pane::Source => f.render_widget(CodeView { app }, area),
        Pane::Guide => f.render_widget(GuideView { app }, area),
        Pane::Events => {
            let extra = frame.map_or_else(String::new, |fr| {
                // maxfd first: the chapters ask to watch it, and a narrow
                // title is cut at its end.
                format!(
                    "maxfd {} {} setsize {}",
                    fr.snap.maxfd, app.theme.glyphs.sep, fr.snap.setsize
                )
            });
            f.render_widget(table(extra, true, "(no snapshot yet)"), area);
        }
        Pane::Flow => f.render_widget(
            table(
                String::new(),
                true,
                if app.recording {
                    "(no command in the recording up to here)"
                } else {
                    "(no command yet: try redis-cli SET foo bar)"
                },
            ),
            area,
        ),
        Pane::Fired => {
            let poll = frame.and_then(|fr| fr.poll.as_ref());
            let extra = match poll.and_then(|p| p.slept_us) {
                Some(us) => format!(
                    "{} {} slept {}",
                    fr_len(app),
                    app.theme.glyphs.sep,
                    app.theme.duration(us)
                ),
                None => fired_before_poll(app, poll),
            };
            f.render_widget(
                table(extra, true, "(nothing fired this iteration yet)"),
                area,
            );
        }
        Pane::Timers => f.render_widget(table(String::new(), true, "(no time events)"), area),
        Pane::BeforeSleep => f.render_widget(table(String::new(), false, "(not seen yet)"), area),
        Pane::Clients => {
            f.render_widget(table(String::new(), true, "(no clients connected)"), area)
        }
        Pane::Log => f.render_widget(
            table(
                log_title(app),
                true,
                if app.probes.filter().is_some() {
                    "(no probe matches the filter up to here: Esc clears it)"
                } else {
                    "(no probe yet: step with space)"
                },
            ),
            area,
        ),
    }
}

/// The probe log's title: how many probes it shows, with what filter, and
/// whether older ones are gone.
fn log_title(app: &App) -> String {
    let seq = app.visible_seq();
    let held = app.probes.held_upto(seq);
    let sep = app.theme.glyphs.sep;
    let mut title = match app.probes.filter() {
        Some(f) => format!(
            "{} {} of {held} match",
            f.describe(),
            app.probes.shown_upto(seq)
        ),
        None => crate::tui::panes::plural(held as u64, "probe"),
    };
    if app.probes.forgotten() > 0 {
        title.push_str(&format!(" {sep} older gone"));
    }
    title
}

fn fr_len(app: &App) -> String {
    let n = app.frame().map_or(0, |f| f.snap.fired.len());
    format!("{n} ready")
}

/// The fired pane's title before this iteration's poll returned.
fn fired_before_poll(app: &App, poll: Option<&crate::tui::frame::PollInfo>) -> String {
    let earlier = app.frame().and_then(|f| f.fired_shown().1);
    match (poll, earlier) {
        (Some(p), _) => format!("poll waiting, timeout {}", timeout_text(p.timeout_ms)),
        (None, Some(iter)) => format!("iter {iter}'s: poll has not run"),
        (None, None) => String::new(),
    }
}

fn timeout_text(ms: Option<u64>) -> String {
    ms.map_or("none (wait for I/O)".into(), |ms| format!("{ms} ms"))
}

/// The loop's state for the header: the gate's, until the stream ends.
fn loop_text(app: &App) -> String {
    match (&app.ended, app.recording) {
        (Some(_), true) => "recording ended".into(),
        (Some(_), false) => "stream ended".into(),
        (None, _) => gate_text(app),
    }
}

/// The loop state, as one short phrase; a stop at the guide's breakpoint
/// says which step made it.
fn gate_text(app: &App) -> String {
    let Some(g) = app.gate.as_ref() else {
        return "state unknown".into();
    };
    match g.state {
        GateState::Running => "running".into(),
        GateState::Paused => match &g.at {
            Some(at) => {
                let why = match &at.reason {
                    StopReason::StartPaused => "start".to_string(),
                    StopReason::Pause => "pause".into(),
                    StopReason::Step => "step".into(),
                    StopReason::Breakpoint { id } => {
                        if let Some(label) =
                            app.guide.as_ref().and_then(|g| g.breakpoint_label(*id))
                        {
                            return format!("PAUSED {label}");
                        }
                        format!("breakpoint #{id}")
                    }
                };
                format!("PAUSED ({why})")
            }
            None => "PAUSED".into(),
        },
        GateState::Stepping { unit } => format!(
            "stepping to next {}",
            match unit {
                StepUnit::Probe => "probe",
                StepUnit::FileEvent => "file event",
                StepUnit::Iteration => "iteration",
            }
        ),
        GateState::Playing { interval_ms } => format!("playing, {interval_ms} ms/iteration"),
    }
}

/// The width from which the header names the controller in full.
const WIDE_HEADER: u16 = 140;

fn draw_header(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let g = &t.glyphs;
    let [top, strip, at] = Layout::vertical([Constraint::Length(1); 3]).areas(area);
    let frame = app.frame();
    let iter = frame.map_or(0, |f| f.snap.iter);
    let sep = Span::styled(format!(" {} ", g.sep), t.border());
    let line = match app.behind() {
        Some(behind) => Line::from(vec![Span::styled(
            format!(
                " {} VIEWING THE PAST: iteration {iter}, {} back {} End: {} {} {} ",
                g.past,
                crate::tui::panes::plural(behind, "step"),
                g.sep,
                if app.recording { "newest" } else { "live" },
                g.sep,
                match app.ended {
                    Some(_) => loop_text(app),
                    None => format!("loop {}", loop_text(app)),
                },
            ),
            t.past(),
        )]),
        None => {
            let clients = frame.map_or(0, |f| f.snap.clients.len());
            let lost = app.drops.total.max(app.gaps);
            let part = |text: String, style: Style| vec![sep.clone(), Span::styled(text, style)];
            // (how readily it is left out on a narrow terminal, 0: never; spans)
            let mut parts = vec![
                (0, vec![Span::raw(" ")]),
                (3, vec![Span::styled("loopscope ", t.title())]),
                (2, vec![Span::raw(app.source.clone())]),
            ];
            if let Some(link) = &app.link {
                // Cut off: say so before anything else, since every other
                // figure on the line is now out of date.
                parts.push((0, part(link.clone(), t.alert())));
            }
            // Who controls the loop comes before the figures: it says what
            // this viewer's keys can do.
            let following = app.guide.as_ref().is_some_and(|g| g.class.following);
            let role = match following {
                true => Some(("following the class: F goes your own way", "following")),
                false => app.role().header(),
            };
            if let Some((wide, narrow)) = role {
                let words = if area.width >= WIDE_HEADER {
                    wide
                } else {
                    narrow
                };
                parts.push((0, part(words.to_string(), t.current())));
            }
            parts.extend([
                (0, part(format!("iter {iter}"), t.current())),
                (0, part(loop_text(app), t.key())),
            ]);
            // An iteration the loader ran (processEventsWhileBlocked), not main.
            if let Some((caller, round)) = frame.and_then(|f| f.while_blocked.as_ref()) {
                parts.push((1, part(format!("run from {caller} ({round}/4)"), t.alert())));
            }
            // The preset hides panes and columns: the header says why.
            if app.projector {
                parts.push((1, part("projector (V)".into(), t.key())));
            }
            parts.extend([
                (
                    1,
                    part(
                        format!("{clients} client{}", if clients == 1 { "" } else { "s" }),
                        Style::new(),
                    ),
                ),
                (
                    2,
                    part(
                        match app.ops_per_sec() {
                            (ops, false) => format!("{ops} ops/s"),
                            // Events were lost: the real rate is higher.
                            (ops, true) => format!("{}{ops} ops/s", g.at_least),
                        },
                        Style::new(),
                    ),
                ),
                (
                    0,
                    part(
                        format!("dropped {lost}"),
                        if lost > 0 { t.alert() } else { Style::new() },
                    ),
                ),
            ]);
            if frame.is_some_and(|f| f.stale) {
                parts.push((
                    1,
                    vec![Span::styled(" (stale until next snapshot)", t.alert())],
                ));
            }
            fit_parts(parts, usize::from(area.width), g.ellipsis, &sep.content)
        }
    };
    f.render_widget(Paragraph::new(line), top);
    f.render_widget(Paragraph::new(phase_line(app)), strip);
    f.render_widget(Paragraph::new(at_line(app)), at);
}

/// One line of `parts` no wider than `width`: the parts that are most
/// readily left out go first (the rightmost of equals first); if the ones
/// that must stay are still too wide, the longest span is cut. A part that
/// starts with the separator `sep` loses it when it comes first, so the line
/// never opens with one.
fn fit_parts(
    mut parts: Vec<(u8, Vec<Span<'static>>)>,
    width: usize,
    ellipsis: &str,
    sep: &str,
) -> Line<'static> {
    let no_leading_sep = |parts: &mut Vec<(u8, Vec<Span<'static>>)>| {
        let first = parts
            .iter_mut()
            .find(|(_, spans)| spans.iter().any(|s| !s.content.trim().is_empty()));
        if let Some((_, spans)) = first
            && spans.first().is_some_and(|s| s.content == sep)
        {
            spans.remove(0);
        }
    };
    let len = |parts: &[(u8, Vec<Span<'static>>)]| {
        parts
            .iter()
            .flat_map(|(_, spans)| spans)
            .map(Span::width)
            .sum::<usize>()
    };
    while len(&parts) > width {
        let Some(pos) = (0..parts.len())
            .filter(|&p| parts[p].0 > 0)
            .max_by_key(|&p| (parts[p].0, p))
        else {
            break;
        };
        parts.remove(pos);
        no_leading_sep(&mut parts);
    }
    let mut spans: Vec<Span<'static>> = parts.into_iter().flat_map(|(_, s)| s).collect();
    let over = spans
        .iter()
        .map(Span::width)
        .sum::<usize>()
        .saturating_sub(width);
    if over > 0
        && let Some(longest) = spans.iter_mut().max_by_key(|s| s.width())
    {
        let keep = longest.width().saturating_sub(over);
        longest.content = table::fit(&longest.content, keep, ellipsis).into();
    }
    Line::from(spans)
}

/// What the probe the frame stops at means, and where it is in our code.
fn at_line(app: &App) -> Line<'static> {
    let t = &app.theme;
    let Some(ev) = app.frame().and_then(|f| f.at.as_ref()) else {
        return match paused_before_we_came(app) {
            Some(at) => Line::from(vec![
                Span::styled(format!(" {} ", t.glyphs.current), t.current()),
                Span::styled(
                    format!(
                        "paused at probe {} (event #{}), reached before you attached",
                        probe_kind_name(at.kind),
                        at.seq
                    ),
                    t.current(),
                ),
            ]),
            None => Line::styled(
                " at a snapshot: the loop's whole state, between two probes",
                t.dim(),
            ),
        };
    };
    let site = &ev.site;
    let mirrors = if site.mirrors.is_empty() {
        String::new()
    } else {
        format!(" = Redis {}", site.mirrors)
    };
    Line::from(vec![
        Span::styled(format!(" {} ", t.glyphs.current), t.current()),
        Span::styled(probe::describe(&ev.data, t), t.current()),
        Span::styled(
            format!(
                "   {}(){mirrors}  {}:{}",
                site.function, site.file, site.line
            ),
            t.dim(),
        ),
    ])
}

/// Where the live loop is paused, when this viewer joined after it stopped
/// there: it has the snapshot of that moment, but not the probe's event.
fn paused_before_we_came(app: &App) -> Option<&StopPoint> {
    let g = app.gate.as_ref()?;
    let at = g.at.as_ref()?;
    let frame = app.frame()?;
    (g.state == GateState::Paused && app.behind().is_none() && frame.snap.seq >= at.seq)
        .then_some(at)
}

/// The phase strip, and the probe the frame stops at.
fn phase_line(app: &App) -> Line<'static> {
    let t = &app.theme;
    let phase = app.frame().map_or(Phase::Unknown, |f| f.phase);
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in Phase::STRIP.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(format!(" {} ", t.glyphs.arrow), t.border()));
        }
        if *p == phase {
            spans.push(Span::styled(
                format!("[{}]", p.short().to_uppercase()),
                t.current(),
            ));
        } else {
            spans.push(Span::styled(p.short().to_string(), t.dim()));
        }
    }
    if matches!(phase, Phase::Start | Phase::End) {
        spans.push(Span::styled(format!("  ({})", phase.name()), t.current()));
    }
    // The guide's step says to look at the header.
    if app
        .guide
        .as_ref()
        .is_some_and(|g| g.open && g.looks_at_header())
    {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(format!("{} look ", t.glyphs.past), t.past()));
    }
    Line::from(spans)
}

fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let line = match &app.status {
        Some(Status::Error(e)) => Line::styled(format!(" error: {e}"), t.alert()),
        Some(Status::Info(s)) => Line::styled(format!(" {s}"), t.current()),
        None => Line::raw(format!(" {}", app.hint)),
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The footer: the keys of the mode that has the keyboard. When they do
/// not all fit, only the essential ones show.
fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
    f.render_widget(
        Paragraph::new(footer_line(app, app.mode(), area.width)),
        area,
    );
}

/// The keys of `mode` as one line no wider than `width` (if it can be helped).
pub(super) fn footer_line(app: &App, mode: Mode, width: u16) -> Line<'static> {
    let t = &app.theme;
    let items = |wide: bool| -> Vec<(&'static str, &'static str)> {
        keys::bindings(mode)
            .filter(|b| app.key_works(b.action))
            .filter_map(|b| match b.footer {
                Footer::Always(w) => Some((b.short_label(), w)),
                Footer::Wide(w) if wide => Some((b.short_label(), w)),
                _ => None,
            })
            .collect()
    };
    let len = |v: &[(&str, &str)]| v.iter().map(|(k, w)| k.len() + w.len() + 3).sum::<usize>();
    let all = items(true);
    let shown = if len(&all) <= usize::from(width) {
        all
    } else {
        items(false)
    };
    let mut spans = Vec::new();
    for (k, w) in shown {
        spans.push(Span::styled(format!(" {k}"), t.key()));
        spans.push(Span::raw(format!(" {w} ")));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests;
