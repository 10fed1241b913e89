//! The table widget every list pane uses: a bordered block, a header row
//! from the pane's [`Column`](crate::tui::panes::Column)s, and the pane's
//! rows, scrolled so the selected row stays visible.
//!
//! Cells are laid out by hand (fixed widths, cut with an ellipsis) rather
//! than with ratatui's `Table`, so that a pane can also scroll sideways
//! (`h`/`l`) to reveal the columns a narrow terminal cuts off.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use crate::tui::panes::{self, Mark, Pane};
use crate::tui::state::App;

/// One list pane, drawn from the state.
pub struct PaneView<'a> {
    pub app: &'a App,
    pub pane: Pane,
    /// Extra words after the pane's name in its title ("setsize 10128, maxfd 8").
    pub title_extra: String,
    /// Draw the column names (the beforeSleep pane reads better without).
    pub header: bool,
    /// Shown when the pane has no rows.
    pub empty: &'a str,
}

/// The block around a pane: its title, and a brighter border when focused.
pub fn pane_block<'a>(app: &App, pane: Pane, extra: &str) -> Block<'a> {
    let t = &app.theme;
    let focused = app.focus == pane && app.overlay == crate::tui::state::Overlay::None;
    let border = if app.behind().is_some() {
        t.past()
    } else if focused {
        t.focused_border()
    } else {
        t.border()
    };
    // The guide's step names this pane: mark it, so the eye finds it.
    let look = app
        .guide
        .as_ref()
        .is_some_and(|g| g.open && g.looks_at(pane));
    let border = if look { t.key() } else { border };
    let mut title = vec![Span::styled(format!(" {} ", pane.title()), t.title())];
    if look {
        title.push(Span::styled(format!("{} look ", t.glyphs.past), t.past()));
        title.push(Span::raw(" "));
    }
    if !extra.is_empty() {
        title.push(Span::raw(format!("{extra} ")));
    }
    Block::bordered()
        .border_set(t.glyphs.border)
        .border_style(border)
        .title(Line::from(title))
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

/// Joins cells into one line of text by the pane's column widths.
fn join_cells(pane: Pane, cells: &[String], ellipsis: &str) -> String {
    let cols = pane.columns();
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

/// The first row to show so that `selected` is visible, or the newest rows
/// for a pane that follows its end.
pub fn scroll_offset(
    selected: Option<usize>,
    len: usize,
    visible: usize,
    follow_end: bool,
) -> usize {
    match selected {
        Some(s) => (s + 1).saturating_sub(visible).min(len.saturating_sub(1)),
        None if follow_end => len.saturating_sub(visible),
        None => 0,
    }
}

impl Widget for PaneView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = &app.theme;
        let block = pane_block(app, self.pane, &self.title_extra);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let state = app.pane(self.pane);
        let skip = |s: String| -> String { s.chars().skip(state.hscroll).collect() };
        let mut lines = Vec::new();
        if self.header {
            let names: Vec<String> = self
                .pane
                .columns()
                .iter()
                .map(|c| c.name.to_string())
                .collect();
            lines.push(Line::styled(
                skip(join_cells(self.pane, &names, t.glyphs.ellipsis)),
                t.header_row(),
            ));
        }
        let visible = usize::from(inner.height).saturating_sub(lines.len());
        let len = panes::len(self.pane, app);
        if len == 0 {
            lines.push(Line::styled(self.empty.to_string(), t.dim()));
        }
        // With no row selected, the command flow shows its newest commands
        // and the events array its highest fds, where new clients appear.
        let follow_end = matches!(self.pane, Pane::Flow | Pane::Events);
        let offset = scroll_offset(state.selected, len, visible, follow_end);
        for (i, row) in panes::rows(self.pane, app, offset, visible)
            .into_iter()
            .enumerate()
        {
            let mut style = match row.mark {
                Mark::Plain => Style::new(),
                Mark::Dim | Mark::Done => t.dim(),
                Mark::Current | Mark::Bounds => t.current(),
            };
            let selected = state.selected == Some(offset + i) && app.focus == self.pane;
            if selected {
                style = style.patch(t.selected());
            }
            let text = skip(join_cells(self.pane, &row.cells, t.glyphs.ellipsis));
            let text = if selected {
                // Fill the row so the selection bar spans the pane.
                fit(&text, usize::from(inner.width), "")
            } else {
                text
            };
            lines.push(Line::styled(text, style));
        }
        Paragraph::new(lines).render(inner, buf);
    }
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

    #[test]
    fn offsets_keep_the_selection_visible() {
        assert_eq!(scroll_offset(None, 100, 5, false), 0);
        assert_eq!(scroll_offset(None, 100, 5, true), 95);
        assert_eq!(scroll_offset(None, 3, 5, true), 0);
        assert_eq!(scroll_offset(Some(2), 100, 5, true), 0);
        assert_eq!(scroll_offset(Some(9), 100, 5, false), 5);
        assert_eq!(scroll_offset(Some(9), 100, 0, false), 10);
    }
}
