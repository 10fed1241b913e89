//! The source pane: our code at the line the loop is at, the notes under it,
//! and, with `--redis-src`, Redis's own function beside it or instead of it.
//!
//! What to show comes from [`crate::tui::code`]; this widget only lays it
//! out: a gutter with line numbers and the marker of the current line, the
//! code with syntax colours (lines outside the enclosing function dim), and
//! the notes wrapped to the pane's width under it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::link::{self, link_url};
use super::table::pane_block;
use super::text::{wrap, wrap_plain};
use crate::source::highlight::tokenize;
use crate::source::redis::c_name;
use crate::tui::code::{self, Listing, Note, Place};
use crate::tui::panes::Pane;
use crate::tui::state::App;
use crate::tui::theme::Theme;

/// From this width on (inside the pane), Redis's function goes beside ours.
pub const SIDE_BY_SIDE: u16 = 140;

pub struct CodeView<'a> {
    pub app: &'a App,
}

impl Widget for CodeView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = &app.theme;
        let place = code::place(app);
        let span = place.as_ref().and_then(code::function_at);
        let title = place.as_ref().map_or_else(String::new, |p| {
            let function = span.as_ref().map_or(p.function.as_str(), |f| &f.name);
            // The function first: a narrow pane cuts the title's end.
            let file = p.file.strip_prefix("src/").unwrap_or(&p.file);
            format!("{function}() {file}:{}", p.line)
        });
        let hint = if app.zoom.is_some() {
            " s: back "
        } else {
            " s: full screen "
        };
        let block = pane_block(app, Pane::Source, &title)
            .title_bottom(Line::styled(hint, t.dim()).right_aligned());
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let Some(place) = place else {
            Paragraph::new(Line::styled(
                "(no probe yet: step with n to see the line of code that runs)",
                t.dim(),
            ))
            .wrap(Wrap { trim: true })
            .render(inner, buf);
            return;
        };
        let budget = if inner.height < 6 {
            inner.height / 2
        } else {
            inner.height / 3
        };
        let notes = code::notes(app, &place, span.as_ref());
        let links: Vec<String> = notes
            .iter()
            .filter_map(|n| match n {
                Note::Link(url) => Some(url.clone()),
                _ => None,
            })
            .collect();
        let notes = note_lines(t, notes, usize::from(inner.width), usize::from(budget));
        let notes_h = u16::try_from(notes.len()).unwrap_or(0);
        let [code_area, notes_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(notes_h)]).areas(inner);
        Paragraph::new(notes).render(notes_area, buf);
        if link::enabled(app) {
            for url in &links {
                link_url(buf, notes_area, url);
            }
        }
        draw_code(app, &place, code_area, buf);
    }
}

/// Our code, Redis's, or both side by side, as the state and width say.
fn draw_code(app: &App, place: &Place, area: Rect, buf: &mut Buffer) {
    let c = &app.code;
    let offset = c.offset(place);
    let hscroll = app.pane(Pane::Source).hscroll;
    let wide = area.width >= SIDE_BY_SIDE;
    let range = match &c.redis {
        Some(_) if wide && !c.flip => {
            let [left, gap, right] = Layout::horizontal([
                Constraint::Fill(1),
                Constraint::Length(1),
                Constraint::Fill(1),
            ])
            .areas(area);
            for y in gap.top()..gap.bottom() {
                buf[(gap.x, y)]
                    .set_symbol(app.theme.glyphs.sep)
                    .set_style(app.theme.border());
            }
            union(
                draw_ours(app, place, left, buf, offset, hscroll),
                draw_redis(app, place, right, buf, offset, hscroll),
            )
        }
        Some(_) if !wide && c.flip => draw_redis(app, place, area, buf, offset, hscroll),
        _ => draw_ours(app, place, area, buf, offset, hscroll),
    };
    if let Some((lo, hi)) = range {
        c.set_range(lo, hi);
    }
}

fn union(a: Option<(i64, i64)>, b: Option<(i64, i64)>) -> Option<(i64, i64)> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}

fn draw_ours(
    app: &App,
    place: &Place,
    area: Rect,
    buf: &mut Buffer,
    offset: i64,
    hscroll: usize,
) -> Option<(i64, i64)> {
    match code::ours(place, usize::from(area.height), offset) {
        Ok(listing) => {
            draw_listing(&app.theme, &listing, area, buf, hscroll);
            Some(listing.range)
        }
        Err(e) => {
            message(&app.theme, &e, area, buf);
            None
        }
    }
}

/// Redis's function from the user's checkout, under a line naming it.
fn draw_redis(
    app: &App,
    place: &Place,
    area: Rect,
    buf: &mut Buffer,
    offset: i64,
    hscroll: usize,
) -> Option<(i64, i64)> {
    let t = &app.theme;
    let checkout = app.code.redis.as_ref()?;
    let anchor = code::anchor_near(&app.code.anchors, place, code::function_at(place).as_ref());
    let wanted = code::redis_ref(anchor, place);
    let name = wanted
        .as_ref()
        .map_or("", |r| c_name(r.function))
        .to_string();
    let found = wanted.and_then(|r| checkout.function(&r).map(|f| (r, f)));
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let title = Span::styled(format!("Redis {name}"), t.title());
    match found {
        Ok((r, f)) => {
            Paragraph::new(Line::from(vec![
                title,
                Span::styled(
                    format!("  {}:{} in your checkout", r.file, f.first_line),
                    t.dim(),
                ),
            ]))
            .render(head, buf);
            let listing = code::redis_listing(&f, usize::from(body.height), offset);
            draw_listing(t, &listing, body, buf, hscroll);
            Some(listing.range)
        }
        Err(e) => {
            Paragraph::new(Line::from(title)).render(head, buf);
            let hint = format!(
                "{e}\n(loopscope finds a Redis function by its name in its file under {}, \
                 the directory that holds Redis's src/)",
                checkout.dir.display()
            );
            message(t, &hint, body, buf);
            None
        }
    }
}

fn message(t: &Theme, text: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(text.to_string())
        .style(t.alert())
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// Draws a listing: marker, line number, separator, then the code, dedented
/// by the indentation every shown line shares and scrolled `hscroll` columns.
fn draw_listing(t: &Theme, listing: &Listing<'_>, area: Rect, buf: &mut Buffer, hscroll: usize) {
    let g = &t.glyphs;
    let last = listing
        .first
        .saturating_add(u32::try_from(listing.lines.len()).unwrap_or(0));
    let digits = last.to_string().len().max(3);
    let dedent = listing
        .lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0)
        .min(listing.indent);
    let mut lex = listing.lex;
    let mut lines = Vec::with_capacity(listing.lines.len());
    for (i, text) in listing.lines.iter().enumerate() {
        let n = listing
            .first
            .saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
        let current = listing.current == Some(n);
        let inside = listing.span.is_none_or(|(a, b)| a <= n && n <= b);
        let tokens = tokenize(text, &mut lex);
        let (marker, gutter) = if current {
            (g.current, t.current())
        } else {
            (" ", t.dim())
        };
        let mut spans = vec![Span::styled(
            format!("{marker}{n:>digits$} {} ", g.sep),
            gutter,
        )];
        let styled = tokens.iter().map(|tok| {
            let style = if current {
                t.code_current()
            } else if inside {
                t.code(tok.kind)
            } else {
                t.dim()
            };
            (style, tok.text)
        });
        let code = skip_chars(styled, dedent + hscroll);
        let width: usize = code.iter().map(|s| s.content.chars().count()).sum();
        spans.extend(code);
        if current {
            // The bar spans the pane, so the line stands out even when short.
            let room = usize::from(area.width).saturating_sub(digits + 4 + width);
            spans.push(Span::styled(" ".repeat(room), t.code_current()));
        }
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines).render(area, buf);
}

/// The styled pieces without their first `n` characters.
fn skip_chars<'a>(pieces: impl Iterator<Item = (Style, &'a str)>, mut n: usize) -> Vec<Span<'a>> {
    let mut out = Vec::new();
    for (style, text) in pieces {
        if n == 0 {
            out.push(Span::styled(text, style));
            continue;
        }
        let len = text.chars().count();
        if len <= n {
            n -= len;
            continue;
        }
        let cut = text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
        n = 0;
        out.push(Span::styled(&text[cut..], style));
    }
    out
}

/// The notes as screen lines no wider than `width`, at most `budget` of them,
/// the most important first. The permalink is never cut: it is left out
/// when it does not fit (Enter shows it).
fn note_lines(t: &Theme, notes: Vec<Note>, width: usize, budget: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for note in notes {
        let lines = match note {
            Note::Warn(w) => wrap_plain(&format!("! {w}"), t.alert(), width, 2),
            Note::Info(i) => wrap_plain(&i, t.current(), width, 2),
            Note::Anchor { name, note } => wrap(
                &[
                    (t.key(), format!("{} {name}:", t.glyphs.bounds)),
                    (Style::new(), format!(" {note}")),
                ],
                width,
                2,
            ),
            Note::Redis { function, file } => wrap(
                &[
                    (t.dim(), "  Redis:".into()),
                    (t.title(), format!(" {function}")),
                    (t.dim(), format!(" in {file}")),
                ],
                width,
                4,
            ),
            Note::Link(url) if url.chars().count() + 2 <= width => {
                vec![Line::styled(format!("  {url}"), t.dim())]
            }
            Note::Link(_) => Vec::new(),
            Note::Mirrors { ours, redis } => wrap_plain(
                &format!("  {ours}() mirrors Redis's {redis}"),
                t.dim(),
                width,
                4,
            ),
        };
        for l in lines {
            if out.len() >= budget {
                return out;
            }
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_chars_cuts_across_pieces() {
        let s = Style::new();
        let got: Vec<String> = skip_chars([(s, "ab"), (s, "cé"), (s, "f")].into_iter(), 3)
            .into_iter()
            .map(|s| s.content.into_owned())
            .collect();
        assert_eq!(got, ["é", "f"]);
    }
}
