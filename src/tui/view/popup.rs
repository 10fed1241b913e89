//! Popups over the panes: the `?` help, the details of a row, the
//! breakpoints list and its prompt. Each clears a centred rectangle and
//! draws into it; the keys they list come from the key table.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::trace::model::{BreakOn, Breakpoint};
use crate::tui::keys::{self, Mode};
use crate::tui::panes::{self, Pane};
use crate::tui::probelog::{FILTER_FORMS, ProbeFilter};
use crate::tui::state::{App, BREAKPOINT_KINDS, probe_kind_name};
use crate::tui::theme::Theme;

/// A centred rectangle of at most `w` x `h` inside `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(r);
    r
}

fn popup_block<'a>(t: &Theme, title: &str, hint: &str) -> Block<'a> {
    Block::bordered()
        .border_set(t.glyphs.border)
        .border_style(t.focused_border())
        .title(Span::styled(format!(" {title} "), t.title()))
        .title_bottom(
            Line::from(if hint.is_empty() {
                String::new()
            } else {
                format!(" {hint} ")
            })
            .right_aligned(),
        )
}

/// A popup's frame: its title, the hint on its bottom border, its size
/// (clamped to the screen) and how far its text is scrolled.
struct Popup<'a> {
    title: &'a str,
    hint: &'a str,
    w: u16,
    h: u16,
    scroll: usize,
}

impl Popup<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer, t: &Theme, lines: Vec<Line<'_>>) {
        let r = centered(area, self.w, self.h);
        Clear.render(r, buf);
        Paragraph::new(lines)
            .block(popup_block(t, self.title, self.hint))
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(self.scroll).unwrap_or(u16::MAX), 0))
            .render(r, buf);
    }
}

/// The keys that close a popup, from the key table.
fn close_hint(mode: Mode) -> String {
    keys::bindings(mode)
        .find(|b| b.action == keys::Action::Close)
        .map_or_else(String::new, |b| format!("{}: close", b.label))
}

/// Every line of the help: keys, then panes and columns, then the header.
pub fn help_lines(t: &Theme) -> Vec<Line<'static>> {
    let g = &t.glyphs;
    let mut out = Vec::new();
    let section = |out: &mut Vec<Line<'static>>, s: &str| {
        out.push(Line::raw(""));
        out.push(Line::styled(s.to_string(), t.header_row()));
    };
    out.push(Line::raw(
        "loopscope runs a Redis-style event loop (a mirror of Redis's ae.c) and shows its state. \
         The loop is paused: step it and watch each phase of an iteration. Connect a client in \
         another terminal and send it commands to see them travel through the loop.",
    ));
    for mode in [
        Mode::Normal,
        Mode::Chapters,
        Mode::Breakpoints,
        Mode::Prompt,
        Mode::LogFilter,
        Mode::Details,
        Mode::Links,
        Mode::Help,
    ] {
        section(&mut out, &format!("KEYS ({})", keys::mode_name(mode)));
        for b in keys::bindings(mode) {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<9}", b.label), t.key()),
                Span::raw(b.help),
            ]));
        }
    }
    out.push(Line::raw(
        "  The mouse wheel scrolls (it arrives as up/down keys); the mouse is not captured, \
         so selecting text to copy works as usual.",
    ));
    section(&mut out, "HEADER");
    for (k, v) in [
        (
            "iter",
            "the loop iteration (one call of aeProcessEvents) the screen shows",
        ),
        (
            "state",
            "running: the loop runs freely; PAUSED at a probe (and why: step, pause, breakpoint); stepping to the next probe, file event or iteration; playing one iteration every N ms",
        ),
        ("clients", "connected clients"),
        (
            "ops/s",
            "commands run in the last second of trace time (with >= in front: events were lost, so at least that many)",
        ),
        (
            "dropped",
            "trace events this viewer lost because it fell behind (the loop never waits for a viewer); the state is refreshed by the next snapshot",
        ),
        (
            "phases",
            "the five phases of an iteration, in order; the current one is highlighted: beforeSleep, poll (the loop sleeps until an fd is ready or the nearest timer is due), afterSleep, file events (the fired array is dispatched), time events",
        ),
        (
            "at",
            "the probe the loop is stopped at: its kind and our function, and the Redis function it mirrors",
        ),
        (
            "PAST",
            "shown instead when you travel back in history with [ { or Home: the panes show recorded state exactly as it was; nothing runs again. End returns to the live loop",
        ),
    ] {
        out.push(Line::from(vec![
            Span::styled(format!("  {k:<9}"), t.key()),
            Span::raw(v),
        ]));
    }
    section(&mut out, "MARKS");
    for (k, v) in [
        (
            g.current,
            "the entry being dispatched, the fd whose handler runs, the command at this probe",
        ),
        (g.done, "a fired entry already dispatched this iteration"),
        (
            g.refired,
            "a fired entry put back by the level-trigger emulation, not reported by the kernel",
        ),
        (g.bounds, "the time event that bounds the poll timeout"),
    ] {
        out.push(Line::from(vec![
            Span::styled(format!("  {k:<9}"), t.key()),
            Span::raw(v),
        ]));
    }
    for pane in Pane::ALL {
        section(&mut out, &format!("PANE: {}", pane.title()));
        out.push(Line::raw(format!("  {}", pane.about())));
        for c in pane.columns() {
            let name = if c.name.is_empty() { "(mark)" } else { c.name };
            out.push(Line::from(vec![
                Span::styled(format!("  {name:<14}"), t.key()),
                Span::raw(c.help),
            ]));
        }
    }
    out
}

pub fn render_help(area: Rect, buf: &mut Buffer, app: &App, scroll: usize) {
    let t = &app.theme;
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2);
    let hint = format!(
        "up/down/PgUp/PgDn scroll {} {}",
        t.glyphs.sep,
        close_hint(Mode::Help)
    );
    let popup = Popup {
        title: "help",
        hint: &hint,
        w,
        h,
        scroll,
    };
    let mut lines = help_lines(t);
    if let Some(path) = &app.log_path {
        // Second, under the introduction: the status line may cut it off.
        lines.insert(
            1,
            Line::from(vec![
                Span::raw("Diagnostics go to the log file "),
                Span::styled(path.display().to_string(), t.key()),
                Span::raw("."),
            ]),
        );
    }
    popup.draw(area, buf, t, lines);
}

pub fn render_details(area: Rect, buf: &mut Buffer, app: &App, pane: Pane, row: usize) {
    let t = &app.theme;
    let rows = panes::details(pane, app, row);
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<key_w$}  "), t.key()),
                Span::raw(v),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            "(this row is gone: the state moved on)",
            t.dim(),
        ));
    }
    let h = u16::try_from(lines.len() + 4).unwrap_or(u16::MAX);
    let w = area.width.saturating_sub(4).min(90);
    let title = format!("{}: details", pane.title());
    let hint = close_hint(Mode::Details);
    let popup = Popup {
        title: &title,
        hint: &hint,
        w,
        h,
        scroll: 0,
    };
    popup.draw(area, buf, t, lines);
}

/// A breakpoint as the user would type it.
pub fn breakpoint_text(on: &BreakOn) -> String {
    match on {
        BreakOn::Kind { kind } => format!("kind {}", probe_kind_name(*kind)),
        BreakOn::Fd { fd } => format!("fd {fd}"),
        BreakOn::Handler { name } => format!("handler {name}"),
        BreakOn::Command { name } => format!("command {name}"),
        BreakOn::Key { pattern } => format!("key {pattern}"),
        BreakOn::When { when } => format!("when {when}"),
    }
}

pub fn render_breakpoints(
    area: Rect,
    buf: &mut Buffer,
    app: &App,
    selected: usize,
    prompt: Option<&str>,
) {
    let t = &app.theme;
    let bps: &[Breakpoint] = app.gate.as_ref().map_or(&[], |g| &g.breakpoints);
    let mut lines = Vec::new();
    if bps.is_empty() {
        lines.push(Line::styled("(no breakpoints: a adds one)", t.dim()));
    }
    for (i, bp) in bps.iter().enumerate() {
        let mark = if bp.enabled { "[x]" } else { "[ ]" };
        let stopped = app
            .gate
            .as_ref()
            .and_then(|g| g.at.as_ref())
            .is_some_and(|at| {
                at.reason == crate::trace::model::StopReason::Breakpoint { id: bp.id }
            });
        // The guide keeps one breakpoint of its own: say whose it is.
        let whose = app
            .guide
            .as_ref()
            .and_then(|g| g.breakpoint_label(bp.id))
            .map_or(String::new(), |label| format!("   ({label})"));
        let text = format!(
            "{mark} #{:<3} {}{whose}{}",
            bp.id,
            breakpoint_text(&bp.on),
            if stopped {
                "   <- the loop stopped here"
            } else {
                ""
            }
        );
        let style = if i == selected && prompt.is_none() {
            t.selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    lines.push(Line::raw(""));
    let hint = match prompt {
        Some(input) => {
            lines.push(Line::from(vec![
                Span::styled("break on: ", t.key()),
                Span::raw(input.to_string()),
                Span::styled("_", t.current()),
            ]));
            // Checked as it is typed, with the very parser Enter uses.
            let (style, check) = match crate::tui::state::parse_breakpoint(input) {
                _ if input.trim().is_empty() => (t.dim(), BREAKPOINT_KINDS.to_string()),
                Ok(on) => (
                    t.current(),
                    format!("{} breaks on {}", t.glyphs.done, breakpoint_text(&on)),
                ),
                Err(e) => (t.alert(), format!("! {e}")),
            };
            let width = usize::from(area.width.min(86)).saturating_sub(6);
            lines.extend(super::text::wrap_plain(&check, style, width, 2));
            Mode::Prompt
        }
        None => Mode::Breakpoints,
    };
    let h = u16::try_from(lines.len() + 3).unwrap_or(u16::MAX).max(8);
    let w = area.width.saturating_sub(4).min(86);
    lines.push(super::footer_line(app, hint, w));
    let popup = Popup {
        title: "breakpoints",
        hint: "",
        w,
        h,
        scroll: 0,
    };
    popup.draw(area, buf, t, lines);
}

/// The probe log's filter prompt, checked as it is typed with the very
/// parser Enter uses.
pub fn render_log_filter(area: Rect, buf: &mut Buffer, app: &App, input: &str) {
    let t = &app.theme;
    let w = area.width.saturating_sub(4).min(86);
    let mut lines = vec![Line::from(vec![
        Span::styled("show: ", t.key()),
        Span::raw(input.to_string()),
        Span::styled("_", t.current()),
    ])];
    let (style, check) = match ProbeFilter::parse(input) {
        Ok(None) => (t.dim(), format!("{FILTER_FORMS}; nothing: every probe")),
        Ok(Some(f)) => (
            t.current(),
            format!("{} shows {}", t.glyphs.done, f.describe()),
        ),
        Err(e) => (t.alert(), format!("! {e}")),
    };
    let width = usize::from(w).saturating_sub(2);
    lines.extend(super::text::wrap_plain(&check, style, width, 2));
    lines.push(super::footer_line(app, Mode::LogFilter, w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = Popup {
        title: "filter the probe log",
        hint: "",
        w,
        h,
        scroll: 0,
    };
    popup.draw(area, buf, t, lines);
}

/// The guide's chapter list: every chapter with the steps done.
pub fn render_chapters(area: Rect, buf: &mut Buffer, app: &App, selected: usize) {
    let t = &app.theme;
    let Some(g) = app.guide.as_ref() else {
        return;
    };
    let w = &g.walk;
    let current = w.position().map(|p| p.chapter);
    let mut lines = Vec::new();
    for (i, c) in w.chapters().iter().enumerate() {
        let (done, total) = w.chapter_progress(i);
        let mark = if total > 0 && done == total {
            t.glyphs.done
        } else if current == Some(i) {
            t.glyphs.current
        } else {
            " "
        };
        let minutes = c.minutes.map_or_else(String::new, |m| format!(" {m} min"));
        let text = format!(
            "{mark} {:>2}. {}  ({done}/{total}{minutes})",
            i + 1,
            c.title
        );
        let style = if i == selected {
            t.selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    if lines.is_empty() {
        lines.push(Line::styled("(no chapter could be read)", t.dim()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        match w.progress().path() {
            Some(p) => format!("Your progress is saved in {}.", p.display()),
            None => "Progress is not saved.".into(),
        },
        t.dim(),
    ));
    let w_cols = area.width.saturating_sub(4).min(86);
    lines.push(super::footer_line(app, Mode::Chapters, w_cols));
    let h = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    // Keep the selected chapter in view on a short screen.
    let scroll = (selected + 1).saturating_sub(usize::from(h.saturating_sub(2)));
    let popup = Popup {
        title: "chapters",
        hint: "",
        w: w_cols,
        h,
        scroll,
    };
    popup.draw(area, buf, t, lines);
}
/// The links on screen, as (what, URL): the guide step's, then the source
/// pane's permalink.
pub fn links_on_screen(app: &App) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = app
        .guide
        .as_ref()
        .filter(|g| g.open)
        .and_then(|g| g.walk.current_step())
        .map(|step| {
            step.links
                .iter()
                .map(|l| (l.label.clone(), l.url.clone()))
                .collect()
        })
        .unwrap_or_default();
    out.extend(
        crate::tui::code::details(app)
            .into_iter()
            .filter(|(k, _)| k == "permalink")
            .map(|(_, url)| ("the source pane's permalink".to_string(), url)),
    );
    out
}

/// `y`: every link on screen on a clear screen, with no border, each URL
/// from the first column on lines of its own, so that a terminal selects it
/// whole where it fits on one line, and (OSC 8) opens or copies it whole
/// from any piece where it does not.
pub fn render_links(area: Rect, buf: &mut Buffer, app: &App) {
    let t = &app.theme;
    Clear.render(area, buf);
    let width = usize::from(area.width.max(1));
    let mut lines = vec![
        Line::styled(
            format!(
                "Links ({}). Click one, or select it to copy.",
                close_hint(Mode::Links)
            ),
            t.header_row(),
        ),
        Line::raw(""),
    ];
    let links = links_on_screen(app);
    if links.is_empty() {
        lines.push(Line::styled(
            "No link on screen: the guide's steps and the source pane's anchors have them.",
            t.dim(),
        ));
    }
    for (what, url) in &links {
        lines.push(Line::styled(what.clone(), t.title()));
        // Cut by hand at the screen's width, never at a word: a URL has none.
        let chars: Vec<char> = url.chars().collect();
        lines.extend(
            chars
                .chunks(width)
                .map(|c| Line::raw(c.iter().collect::<String>())),
        );
        lines.push(Line::raw(""));
    }
    Paragraph::new(lines).render(area, buf);
    // The popup is the overlay here, so nothing covers the links.
    if app.theme.hyperlinks {
        for (_, url) in &links {
            super::link::link_url(buf, area, url);
        }
    }
}
