//! The table widget every list pane uses: a bordered block, a header row
//! from the pane's [`Column`](crate::tui::panes::Column)s, and the pane's
//! rows.
//!
//! Two choices keep what a guide step talks about on screen:
//! - **Rows.** When a pane has more rows than room, the rows it pins (what
//!   the probe is about, the listener; see [`panes::pinned`]) and the
//!   selected one always show; the room left goes to the other rows in the
//!   pane's order of preference, and each run of rows left out becomes one
//!   dim `… 3 more` line, so nothing disappears without a sign.
//! - **Columns.** When a pane is too narrow for every column, whole columns
//!   are left out, least important first (empty ones before any), instead
//!   of cutting the important ones; the title says how many, and `l`
//!   scrolls sideways through all of them, the first column staying in
//!   place (the title then shows by how much).
//!
//! Cells are laid out by hand (fixed widths, cut with an ellipsis) rather
//! than with ratatui's `Table`, for that sideways scroll.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::projector;
use crate::tui::panes::{self, Column, Mark, Pane, PaneRow};
use crate::tui::state::{App, Overlay};

/// One list pane, drawn from the state.
pub struct PaneView<'a> {
    pub app: &'a App,
    pub pane: Pane,
    /// Extra words after the pane's name in its title ("maxfd 8, setsize
    /// 10128"), the ones that must not be cut first.
    pub title_extra: String,
    /// Draw the column names (the beforeSleep pane reads better without).
    pub header: bool,
    /// Shown when the pane has no rows.
    pub empty: &'a str,
}

/// The block around a pane: its title, a heavier border when focused, and a
/// coloured one with a "look" tag when the guide's step names it (both can
/// be true at once, and still be told apart without colour).
pub fn pane_block<'a>(app: &App, pane: Pane, extra: &str) -> Block<'a> {
    let t = &app.theme;
    let focused = app.focus == pane && app.overlay == Overlay::None;
    let look = looked_at(app, pane);
    let border = if app.behind().is_some() {
        t.past()
    } else if look {
        t.key()
    } else if focused {
        t.focused_border()
    } else {
        t.border()
    };
    let mut title = vec![Span::styled(format!(" {} ", pane.title()), t.title())];
    if look {
        title.push(Span::styled(format!("{} look ", t.glyphs.past), t.past()));
        title.push(Span::raw(" "));
    }
    if !extra.is_empty() {
        title.push(Span::raw(format!("{extra} ")));
    }
    Block::bordered()
        .border_set(if focused {
            t.glyphs.focus_border
        } else {
            t.glyphs.border
        })
        .border_style(border)
        .title(Line::from(title))
}

/// Whether the guide's step names this pane: it is marked, so the eye finds it.
fn looked_at(app: &App, pane: Pane) -> bool {
    app.guide
        .as_ref()
        .is_some_and(|g| g.open && g.looks_at(pane))
}

/// `text` cut or padded to exactly `width` characters.
pub fn fit(text: &str, width: usize, ellipsis: &str) -> String {
    let n = text.chars().count();
    if n <= width {
        let mut s = text.to_string();
        s.extend(std::iter::repeat_n(' ', width - n));
        s
    } else if width == 0 {
        String::new()
    } else {
        let keep = width.saturating_sub(ellipsis.chars().count());
        let mut s: String = text.chars().take(keep).collect();
        s.push_str(ellipsis);
        s.chars().take(width).collect()
    }
}

/// The narrowest a last, fill-the-rest column may get before it is left out.
const FILL_MIN: usize = 10;

/// The columns shown in `width` cells, as (column index, cells it gets); the
/// last one shown takes what is left (cut, if it keeps two thirds of its
/// width). Columns ranked above `most` are never shown (the projector
/// preset's way to keep only the essential ones); of the others, columns
/// are left out least important first ([`Column::drop_rank`]; a column
/// empty in every row before any; among equals, the rightmost), never one
/// of rank 0.
fn fit_columns(cols: &[Column], rows: &[PaneRow], width: usize, most: u8) -> Vec<(usize, usize)> {
    let empty = |i: usize| {
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.cells.get(i).is_none_or(String::is_empty))
    };
    let rank = |i: usize| match cols[i].drop_rank {
        0 => 0,
        r if empty(i) => u16::from(r) + 100,
        r => u16::from(r),
    };
    let need = |i: usize| match cols[i].width {
        0 => cols[i].name.len().max(FILL_MIN),
        w => w,
    };
    // The last column shown may be cut, as long as most of it stays.
    let need_last = |i: usize| match cols[i].width {
        0 => need(i),
        w => (w * 2 / 3).max(FILL_MIN).min(w),
    };
    let mut shown: Vec<usize> = (0..cols.len())
        .filter(|&i| cols[i].drop_rank <= most)
        .collect();
    let total = |shown: &[usize]| match shown.split_last() {
        Some((&last, rest)) => rest.iter().map(|&i| need(i) + 1).sum::<usize>() + need_last(last),
        None => 0,
    };
    while total(&shown) > width {
        let Some(pos) = (0..shown.len())
            .filter(|&p| rank(shown[p]) > 0)
            .max_by_key(|&p| (rank(shown[p]), p))
        else {
            break;
        };
        shown.remove(pos);
    }
    let last = shown.len().saturating_sub(1);
    let before: usize = shown[..last].iter().map(|&i| need(i) + 1).sum();
    shown
        .iter()
        .enumerate()
        .map(|(p, &i)| {
            (
                i,
                if p == last {
                    width.saturating_sub(before)
                } else {
                    need(i)
                },
            )
        })
        .collect()
}

/// Joins the cells of the shown columns into one line of text.
fn join_cells(cells: &[String], shown: &[(usize, usize)], ellipsis: &str) -> String {
    let mut out = String::new();
    for (p, &(i, w)) in shown.iter().enumerate() {
        let cell = cells.get(i).map_or("", String::as_str);
        out.push_str(&fit(cell, w, ellipsis));
        if p + 1 < shown.len() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// Every column at its own width, the last one whole: the line that the
/// sideways scroll moves through.
fn join_all(cols: &[Column], cells: &[String], ellipsis: &str) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        match cols.get(i).map(|c| c.width) {
            Some(w) if w > 0 && i + 1 < cells.len() => {
                out.push_str(&fit(cell, w, ellipsis));
                out.push(' ');
            }
            _ => out.push_str(cell),
        }
    }
    out.trim_end().to_string()
}

/// One line of a list pane's body: a row, or the sign for rows left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLine {
    Row(usize),
    /// This many rows, in a run, are not shown here.
    Hidden(usize),
}

/// Which of `len` rows fill `room` lines: every row if they fit; otherwise
/// the rows of `keep` (in that order, as long as there is room), then those
/// of `fill`, with one [`BodyLine::Hidden`] line for each run of rows left
/// out, in row order. When that leaves out a row of `keep`, the rows of
/// `keep` alone, with one sign for all the rest.
pub fn choose_rows(len: usize, room: usize, keep: &[usize], fill: &[usize]) -> Vec<BodyLine> {
    if len <= room {
        return (0..len).map(BodyLine::Row).collect();
    }
    if room == 0 {
        return Vec::new();
    }
    let mut shown = vec![false; len];
    // Lines used: the rows shown, plus one per run of hidden rows.
    let mut used = 1;
    let hidden =
        |shown: &[bool], i: Option<usize>| i.and_then(|i| shown.get(i)).is_some_and(|s| !s);
    for &r in keep.iter().chain(fill) {
        if r >= len || shown[r] {
            continue;
        }
        let before = hidden(&shown, r.checked_sub(1));
        let after = hidden(&shown, Some(r + 1));
        // Showing `r` splits its run of hidden rows, shortens it, or ends it.
        let cost = match (before, after) {
            (true, true) => 2,
            (false, false) => 0,
            _ => 1,
        };
        if used + cost <= room {
            shown[r] = true;
            used += cost;
        }
    }
    let mut out = Vec::with_capacity(room);
    // Too low for the pinned rows with a sign for each gap: the pinned rows
    // that fit, in order, and one sign for all the others.
    let mut pins: Vec<usize> = keep.iter().copied().filter(|&r| r < len).collect();
    if pins.iter().any(|&r| !shown[r]) {
        pins.truncate(room.saturating_sub(1).max(1));
        pins.sort_unstable();
        pins.dedup();
        let hidden = len - pins.len();
        out.extend(pins.into_iter().map(BodyLine::Row));
        if out.len() < room {
            out.push(BodyLine::Hidden(hidden));
        }
        return out;
    }
    let mut i = 0;
    while i < len {
        if shown[i] {
            out.push(BodyLine::Row(i));
            i += 1;
            continue;
        }
        let run = shown[i..].iter().take_while(|s| !**s).count();
        // A sign for one row costs as much as the row itself.
        out.push(if run == 1 {
            BodyLine::Row(i)
        } else {
            BodyLine::Hidden(run)
        });
        i += run;
    }
    // A pane too low for even one sign and one row shows what it can.
    out.truncate(room);
    out
}

impl Widget for PaneView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = &app.theme;
        let ellipsis = t.glyphs.ellipsis;
        let mut block = pane_block(app, self.pane, &self.title_extra);
        let inner = block.inner(area);
        let state = app.pane(self.pane);
        let cols = self.pane.columns();
        let room = usize::from(inner.height).saturating_sub(usize::from(self.header));
        let len = panes::len(self.pane, app);
        let mut keep: Vec<usize> = state.selected.into_iter().collect();
        keep.extend(panes::pinned(self.pane, app));
        let fill = match state.selected {
            // Browsing: the rows around the selection.
            Some(sel) => {
                let mut near: Vec<usize> = (0..len).collect();
                near.sort_by_key(|&i| i.abs_diff(sel));
                near
            }
            None => panes::fill_order(self.pane, app),
        };
        let body = choose_rows(len, room, &keep, &fill);
        let mut rows: Vec<(usize, PaneRow)> = Vec::with_capacity(body.len());
        // Fetch each run of shown rows in one go.
        let mut k = 0;
        while k < body.len() {
            let BodyLine::Row(start) = body[k] else {
                k += 1;
                continue;
            };
            let run = body[k..]
                .iter()
                .enumerate()
                .take_while(|(j, l)| **l == BodyLine::Row(start + j))
                .count();
            rows.extend((start..).zip(panes::rows(self.pane, app, start, run)));
            k += run;
        }
        let width = usize::from(inner.width);
        let row_cells: Vec<PaneRow> = rows.iter().map(|(_, r)| r.clone()).collect();
        let most = if app.projector {
            projector::ESSENTIAL_RANK
        } else {
            u8::MAX
        };
        let shown = fit_columns(cols, &row_cells, width, most);
        let names: Vec<String> = cols.iter().map(|c| c.name.to_string()).collect();
        // Scrolled sideways: the first column stays (it says which row is
        // which), and every other column moves left by `hscroll` cells (no
        // further than the widest line needs).
        let frozen = cols.first().map_or(0, |c| c.width + 1);
        let rest = |cells: &[String]| {
            join_all(
                cols.get(1..).unwrap_or(&[]),
                cells.get(1..).unwrap_or(&[]),
                ellipsis,
            )
        };
        let widest = rows
            .iter()
            .map(|(_, r)| rest(&r.cells).chars().count())
            .chain([rest(&names).chars().count()])
            .max()
            .unwrap_or(0);
        let hscroll = state
            .hscroll
            .min(widest.saturating_sub(width.saturating_sub(frozen)));
        let line_of = |cells: &[String]| -> String {
            if hscroll > 0 {
                let first = cells.first().map_or("", String::as_str);
                let moved: String = rest(cells).chars().skip(hscroll).collect();
                format!("{}{moved}", fit(first, frozen, ellipsis))
            } else {
                join_cells(cells, &shown, ellipsis)
            }
        };
        let left_out = cols.len().saturating_sub(shown.len());
        let sign = if hscroll > 0 {
            format!(" {} +{hscroll} h ", t.glyphs.scrolled)
        } else if left_out > 0 && !cols.is_empty() {
            format!(
                " +{left_out} col{} l ",
                if left_out == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        let title_len = usize::from(area.width).saturating_sub(2);
        if !sign.is_empty()
            && pane_title_len(self.pane, &self.title_extra, app) + sign.len() < title_len
        {
            block = block.title(Line::styled(sign, t.key()).right_aligned());
        }
        block.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let mut lines = Vec::new();
        if self.header {
            lines.push(Line::styled(line_of(&names), t.header_row()));
        }
        if len == 0 {
            lines.push(Line::styled(self.empty.to_string(), t.dim()));
        }
        let mut rows = rows.into_iter();
        for b in body {
            let BodyLine::Row(i) = b else {
                if let BodyLine::Hidden(n) = b {
                    lines.push(Line::styled(format!("{ellipsis} {n} more"), t.dim()));
                }
                continue;
            };
            let Some((_, row)) = rows.next() else { break };
            let mut style = match row.mark {
                Mark::Plain => Style::new(),
                Mark::Dim | Mark::Done => t.dim(),
                Mark::Current | Mark::Bounds => t.current(),
            };
            let selected = state.selected == Some(i) && app.focus == self.pane;
            if selected {
                style = style.patch(t.selected());
            }
            let text = line_of(&row.cells);
            let text = if selected {
                // Fill the row so the selection bar spans the pane.
                fit(&text, width, "")
            } else {
                text
            };
            lines.push(Line::styled(text, style));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}

/// How many cells the left title of `pane` takes (see [`pane_block`]).
fn pane_title_len(pane: Pane, extra: &str, app: &App) -> usize {
    let look_len = if looked_at(app, pane) {
        app.theme.glyphs.past.chars().count() + 7
    } else {
        0
    };
    let extra_len = if extra.is_empty() {
        0
    } else {
        extra.chars().count() + 1
    };
    pane.title().len() + 2 + look_len + extra_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_and_pads() {
        assert_eq!(fit("abc", 5, "~"), "abc  ");
        assert_eq!(fit("abcdef", 4, "~"), "abc~");
        assert_eq!(fit("abcdef", 4, "…"), "abc…");
        assert_eq!(fit("abcdef", 0, "~"), "");
        assert_eq!(fit("abcdef", 1, "->"), "-");
    }

    fn lines(len: usize, room: usize, keep: &[usize], fill: &[usize]) -> String {
        choose_rows(len, room, keep, fill)
            .iter()
            .map(|l| match l {
                BodyLine::Row(i) => i.to_string(),
                BodyLine::Hidden(n) => format!("({n})"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn rows_kept_in_view_and_the_rest_signed() {
        // Everything fits: every row, no sign.
        assert_eq!(lines(3, 5, &[], &[]), "0 1 2");
        // Pinned rows 1 and 9 of 12 in 6 lines, the newest filling the rest.
        let newest: Vec<usize> = (0..12).rev().collect();
        assert_eq!(lines(12, 6, &[1, 9], &newest), "0 1 (7) 9 10 11");
        // No pin: the newest rows, with one sign for the older ones.
        assert_eq!(lines(12, 4, &[], &newest), "(9) 9 10 11");
        // A run of one hidden row is shown instead of its sign.
        assert_eq!(lines(5, 4, &[0, 2], &[]), "0 1 2 (2)");
        // Never more lines than room, even with more pins than room.
        for room in 0..8 {
            let got = choose_rows(40, room, &[3, 17, 30, 39], &newest);
            assert!(got.len() <= room, "{room}: {got:?}");
        }
        // Out-of-range pins are ignored.
        assert_eq!(lines(2, 1, &[7], &[]), "(2)");
        // Too low for a sign around each pin: the pins, then one sign.
        assert_eq!(lines(22, 3, &[6, 0], &newest), "0 6 (20)");
        assert_eq!(lines(22, 1, &[6, 0], &newest), "6");
    }

    #[test]
    fn narrow_panes_leave_out_the_least_important_columns() {
        let cols = [
            Column {
                name: "fd",
                width: 4,
                drop_rank: 0,
                help: "",
            },
            Column {
                name: "name",
                width: 10,
                drop_rank: 2,
                help: "",
            },
            Column {
                name: "obuf",
                width: 6,
                drop_rank: 0,
                help: "",
            },
            Column {
                name: "addr",
                width: 21,
                drop_rank: 4,
                help: "",
            },
            Column {
                name: "idle",
                width: 0,
                drop_rank: 3,
                help: "",
            },
        ];
        let row = |name: &str| PaneRow {
            cells: ["8", name, "1024", "127.0.0.1:50000", "0"]
                .map(String::from)
                .to_vec(),
            mark: Mark::Plain,
        };
        let names = |shown: Vec<(usize, usize)>| -> Vec<&str> {
            shown.iter().map(|&(i, _)| cols[i].name).collect()
        };
        // Wide: all of them.
        assert_eq!(names(fit_columns(&cols, &[row("x")], 80, u8::MAX)).len(), 5);
        // The empty name column goes first, although addr ranks lower.
        assert_eq!(
            names(fit_columns(&cols, &[row("")], 50, u8::MAX)),
            ["fd", "obuf", "addr", "idle"]
        );
        // With a name, the rank decides.
        assert_eq!(
            names(fit_columns(&cols, &[row("x")], 50, u8::MAX)),
            ["fd", "name", "obuf", "idle"]
        );
        // Columns of rank 0 stay, however narrow.
        assert_eq!(
            names(fit_columns(&cols, &[row("x")], 3, u8::MAX)),
            ["fd", "obuf"]
        );
        // The last column shown takes what is left.
        assert_eq!(
            fit_columns(&cols, &[row("")], 60, u8::MAX).last(),
            Some(&(4, 60 - 4 - 1 - 10 - 1 - 6 - 1 - 21 - 1))
        );
        // Up to a rank: only those columns, however wide.
        assert_eq!(
            names(fit_columns(&cols, &[row("x")], 200, 2)),
            ["fd", "name", "obuf"]
        );
    }
}
