//! Terminal hyperlinks (OSC 8) over URLs already drawn in a buffer.
//!
//! A long URL wraps inside a pane, so the terminal cannot find it by itself,
//! and selecting it picks up borders and line breaks. Where the terminal
//! understands OSC 8, each piece of a drawn URL is turned into a link to the
//! whole URL: clicking any piece opens it, and "copy link" copies all of it.
//! Terminals without OSC 8 ignore the sequences.
//!
//! ratatui has no notion of links, so the piece's first cell carries the
//! whole piece wrapped in the sequences, with a forced width of the piece's
//! length (`CellDiffOption::ForcedWidth`): the diff writes that cell alone and
//! skips the cells it covers, which keep their own characters, so the buffer
//! still reads the same to everything else.

use std::num::NonZeroU16;

use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;

use crate::tui::state::{App, Overlay};

/// Whether to link URLs on this frame: the terminal is real, and no popup
/// is open (a link's first cell covers the cells after it, so a popup over
/// some of them would not be drawn there).
pub fn enabled(app: &App) -> bool {
    app.theme.hyperlinks && app.overlay == Overlay::None
}

/// The shortest piece of a URL that is linked: a shorter run of the same
/// characters is more likely a word of the text around it.
const MIN_PIECE: usize = 12;

/// Links each piece of `url` drawn in `area` of `buf` to the whole URL. A
/// piece is the longest run of cells that ends a row's text and is part of
/// the URL (a wrapped URL's pieces all end their rows, but the last).
pub fn link_url(buf: &mut Buffer, area: Rect, url: &str) {
    for y in area.top()..area.bottom() {
        let cells: Vec<String> = (area.left()..area.right())
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let text: String = cells.concat();
        // One cell per char holds for URLs: they are ASCII.
        if text.chars().count() != cells.len() {
            continue;
        }
        let end = text.trim_end().chars().count();
        let piece = (0..end).find_map(|start| {
            let candidate: String = text.chars().skip(start).take(end - start).collect();
            let long_enough = candidate.len() >= MIN_PIECE.min(url.len());
            (long_enough && url.contains(candidate.as_str())).then_some((start, candidate))
        });
        let Some((start, piece)) = piece else {
            continue;
        };
        let (Ok(width), Ok(offset)) = (u16::try_from(piece.len()), u16::try_from(start)) else {
            continue;
        };
        let Some(width) = NonZeroU16::new(width) else {
            continue;
        };
        let cell = &mut buf[(area.left() + offset, y)];
        cell.set_symbol(&format!("\x1b]8;;{url}\x1b\\{piece}\x1b]8;;\x1b\\"));
        cell.set_diff_option(CellDiffOption::ForcedWidth(width));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::text::Line;
    use ratatui::widgets::{Paragraph, Widget};

    const URL: &str = "https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/networking.c#L219-L234";

    #[test]
    fn each_piece_of_a_wrapped_url_links_to_the_whole_url() {
        let area = Rect::new(0, 0, 50, 4);
        let mut buf = Buffer::empty(area);
        let lines = vec![
            Line::raw(format!("read  handler {}", &URL[..36])),
            Line::raw(format!("      {}", &URL[36..80])),
            Line::raw(format!("      {}", &URL[80..])),
            Line::raw("      https and networking words are not links"),
        ];
        Paragraph::new(lines).render(area, &mut buf);
        link_url(&mut buf, area, URL);
        let open = format!("\x1b]8;;{URL}\x1b\\");
        for (y, x, piece) in [
            (0, 14, &URL[..36]),
            (1, 6, &URL[36..80]),
            (2, 6, &URL[80..]),
        ] {
            let cell = &buf[(x, y)];
            assert_eq!(
                cell.symbol(),
                format!("{open}{piece}\x1b]8;;\x1b\\"),
                "row {y}"
            );
            let width = NonZeroU16::new(u16::try_from(piece.len()).expect("short")).expect("piece");
            assert_eq!(cell.diff_option, CellDiffOption::ForcedWidth(width));
            // The cells it covers keep their characters.
            assert_eq!(buf[(x + 1, y)].symbol(), &piece[1..2]);
        }
        assert!(!buf[(6, 3)].symbol().contains('\x1b'));
        assert!(
            buf.content()
                .iter()
                .take(14)
                .all(|c| !c.symbol().contains('\x1b'))
        );
    }
}
