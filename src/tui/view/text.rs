//! Text for panes that read like prose (the source pane's notes, the guide):
//! word wrapping that keeps each word's style, and the small part of Markdown
//! the chapters use.
//!
//! Wrapping is done here rather than by ratatui's `Paragraph` because the
//! panes need the wrapped lines themselves: to know how many rows notes
//! take, and how far the guide can scroll.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::source::highlight::Kind;
use crate::tui::theme::Theme;

/// A run of text in one style.
pub type Piece = (Style, String);

/// Greedy word wrap of styled pieces to `width` columns; continuation lines
/// start with `indent` spaces. A word longer than a line is broken.
pub fn wrap(pieces: &[Piece], width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(indent + 8);
    // Words, each made of styled fragments (`code`, then a comma).
    let mut words: Vec<Vec<Piece>> = vec![Vec::new()];
    for (style, text) in pieces {
        for (i, frag) in text.split(' ').enumerate() {
            if i > 0 {
                words.push(Vec::new());
            }
            if !frag.is_empty()
                && let Some(w) = words.last_mut()
            {
                w.push((*style, frag.to_string()));
            }
        }
    }
    let mut out = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut len = 0;
    let mut fresh = true;
    for word in words {
        let wl: usize = word.iter().map(|(_, t)| t.chars().count()).sum();
        if !fresh && len + 1 + wl > width {
            out.push(Line::from(std::mem::take(&mut line)));
            line.push(Span::raw(" ".repeat(indent)));
            len = indent;
            fresh = true;
        }
        if !fresh {
            line.push(Span::raw(" "));
            len += 1;
        }
        // A word longer than a whole line is broken across lines.
        for (style, text) in word {
            let mut rest = text.as_str();
            while !rest.is_empty() {
                if len >= width {
                    out.push(Line::from(std::mem::take(&mut line)));
                    line.push(Span::raw(" ".repeat(indent)));
                    len = indent;
                }
                let take = rest
                    .char_indices()
                    .nth(width - len)
                    .map_or(rest.len(), |(i, _)| i);
                line.push(Span::styled(rest[..take].to_string(), style));
                len += rest[..take].chars().count();
                rest = &rest[take..];
            }
        }
        fresh = false;
    }
    if line.iter().any(|s| !s.content.trim().is_empty()) {
        out.push(Line::from(line));
    }
    out
}

/// One plain string, wrapped in one style.
pub fn wrap_plain(text: &str, style: Style, width: usize, indent: usize) -> Vec<Line<'static>> {
    wrap(&[(style, text.to_string())], width, indent)
}

/// The Markdown of a chapter's prose, as wrapped lines: paragraphs (lines
/// joined), `- ` list items, fenced code blocks kept as they are, and inline
/// `code` and **bold**.
pub fn markdown(text: &str, t: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut para = String::new();
    let mut in_fence = false;
    let flush = |para: &mut String, out: &mut Vec<Line<'static>>| {
        if para.is_empty() {
            return;
        }
        let indent = if para.starts_with("- ") { 2 } else { 0 };
        out.extend(wrap(&inline(para, t), width, indent));
        para.clear();
    };
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            flush(&mut para, &mut out);
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            out.push(Line::styled(format!("  {line}"), t.code(Kind::String)));
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut para, &mut out);
            if out.last().is_some_and(|l| l.width() > 0) {
                out.push(Line::raw(""));
            }
            continue;
        }
        let item = trimmed.starts_with("- ") || trimmed.starts_with("* ");
        if item {
            flush(&mut para, &mut out);
            para.push_str("- ");
            para.push_str(trimmed[2..].trim_start());
            continue;
        }
        if !para.is_empty() {
            para.push(' ');
        }
        para.push_str(trimmed);
    }
    flush(&mut para, &mut out);
    while out.last().is_some_and(|l| l.width() == 0) {
        out.pop();
    }
    out
}

/// Splits `code` spans and **bold** runs out of a paragraph.
fn inline(text: &str, t: &Theme) -> Vec<Piece> {
    let mut out = Vec::new();
    let plain = Style::new();
    let mut rest = text;
    while !rest.is_empty() {
        let tick = rest.find('`');
        let star = rest.find("**");
        let (at, marker, style) = match (tick, star) {
            (Some(a), Some(b)) if b < a => (b, "**", plain.add_modifier(Modifier::BOLD)),
            (Some(a), _) => (a, "`", t.title()),
            (None, Some(b)) => (b, "**", plain.add_modifier(Modifier::BOLD)),
            (None, None) => {
                out.push((plain, rest.to_string()));
                break;
            }
        };
        let after = &rest[at + marker.len()..];
        match after.find(marker) {
            Some(end) => {
                out.push((plain, rest[..at].to_string()));
                out.push((style, after[..end].to_string()));
                rest = &after[end + marker.len()..];
            }
            None => {
                out.push((plain, rest.to_string()));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wrap_keeps_words_styles_and_width() {
        let s = Style::new();
        assert_eq!(texts(&wrap_plain("a bb ccc", s, 20, 2)), ["a bb ccc"]);
        assert_eq!(
            texts(&wrap_plain("one two three four five", s, 10, 2)),
            ["one two", "  three", "  four", "  five"]
        );
        for l in wrap_plain("x ".repeat(100).trim(), s, 12, 4) {
            assert!(l.width() <= 12, "{l:?}");
        }
        assert_eq!(
            texts(&wrap_plain("ab handler=accept_tcp_handler", s, 12, 2)),
            ["ab", "  handler=ac", "  cept_tcp_h", "  andler"]
        );
        assert!(wrap_plain("", s, 10, 0).is_empty());
        // Leading spaces are kept, and a word made of two styles stays whole.
        let b = Style::new().add_modifier(Modifier::BOLD);
        let lines = wrap(
            &[(s, "  x ".into()), (b, "code".into()), (s, ", y".into())],
            40,
            0,
        );
        assert_eq!(texts(&lines), ["  x code, y"]);
        assert!(
            lines[0]
                .spans
                .iter()
                .any(|sp| sp.content == "code" && sp.style == b)
        );
    }

    #[test]
    fn markdown_paragraphs_lists_code_and_inline() {
        let t = Theme::new(false, true);
        let md = "First line\nsame paragraph with `code`.\n\n- item one\n- item **two**\n\n```\nraw  text\n```\n";
        let lines = markdown(md, &t, 80);
        assert_eq!(
            texts(&lines),
            [
                "First line same paragraph with code.",
                "",
                "- item one",
                "- item two",
                "",
                "  raw  text",
            ]
        );
        let code = lines[0]
            .spans
            .iter()
            .find(|s| s.content == "code")
            .expect("code span");
        assert_eq!(code.style, t.title());
        // Unclosed markers are text.
        assert_eq!(texts(&markdown("a `b", &t, 80)), ["a `b"]);
    }
}
