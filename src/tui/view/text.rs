//! Text for panes that read like prose (the source pane's notes, the guide):
//! word wrapping that keeps each word's style, and the chapters' Markdown.
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

/// The Markdown of a chapter's prose, as wrapped lines: paragraphs, lists
/// (nested, numbered or not), fenced and indented code blocks kept as they
/// are, headings, *emphasis*, **strong** and `inline code`. Parsed with
/// pulldown-cmark, so what a teacher writes reads as any Markdown viewer
/// would show it; what the chapters never use (tables, images, HTML) shows
/// as its text.
pub fn markdown(text: &str, t: &Theme, width: usize) -> Vec<Line<'static>> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

    let mut out: Vec<Line<'static>> = Vec::new();
    // The block being gathered, and how its continuation lines are indented.
    let mut pieces: Vec<Piece> = Vec::new();
    let mut indent = 0;
    // Emphasis and strong may nest: the style is the stack's top.
    let mut styles = vec![Style::new()];
    // One entry per open list: the next item's number, or `None` for `-`.
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut in_code = false;
    let blank = |out: &mut Vec<Line<'static>>| {
        if out.last().is_some_and(|l| l.width() > 0) {
            out.push(Line::raw(""));
        }
    };
    let flush = |pieces: &mut Vec<Piece>, out: &mut Vec<Line<'static>>, indent: usize| {
        if pieces.iter().any(|(_, s)| !s.trim().is_empty()) {
            out.extend(wrap(pieces, width, indent));
        }
        pieces.clear();
    };
    for event in Parser::new(text) {
        let style = styles.last().copied().unwrap_or_default();
        match event {
            // A paragraph inside a list item goes on the item's line.
            Event::Start(Tag::Paragraph) if lists.is_empty() => blank(&mut out),
            Event::End(TagEnd::Paragraph) => flush(&mut pieces, &mut out, indent),
            Event::Start(Tag::Heading { .. }) => {
                blank(&mut out);
                styles.push(t.header_row());
            }
            Event::Start(Tag::List(first)) => {
                flush(&mut pieces, &mut out, indent);
                if lists.is_empty() {
                    blank(&mut out);
                }
                lists.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                flush(&mut pieces, &mut out, indent);
                let depth = lists.len().saturating_sub(1) * 2;
                let marker = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                indent = depth + marker.len();
                pieces.push((Style::new(), format!("{}{marker}", " ".repeat(depth))));
            }
            Event::End(TagEnd::Item) => {
                flush(&mut pieces, &mut out, indent);
                indent = lists.len().saturating_sub(1) * 2;
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                flush(&mut pieces, &mut out, indent);
                if lists.is_empty() || matches!(kind, CodeBlockKind::Fenced(_)) {
                    blank(&mut out);
                }
                in_code = true;
            }
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Start(Tag::Emphasis) => styles.push(style.add_modifier(Modifier::ITALIC)),
            Event::Start(Tag::Strong) => styles.push(style.add_modifier(Modifier::BOLD)),
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut pieces, &mut out, indent);
                styles.pop();
            }
            Event::End(TagEnd::Emphasis | TagEnd::Strong) => {
                styles.pop();
            }
            Event::Text(text) if in_code => {
                let pad = " ".repeat(indent + 2);
                for line in text.lines() {
                    out.push(Line::styled(format!("{pad}{line}"), t.code(Kind::String)));
                }
            }
            Event::Text(text) => pieces.push((style, text.into_string())),
            Event::Code(code) => pieces.push((t.title(), code.into_string())),
            Event::SoftBreak => pieces.push((style, " ".into())),
            Event::HardBreak => flush(&mut pieces, &mut out, indent),
            _ => {}
        }
    }
    flush(&mut pieces, &mut out, indent);
    while out.last().is_some_and(|l| l.width() == 0) {
        out.pop();
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

    fn style_of(lines: &[Line<'_>], word: &str) -> Style {
        lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.content == word)
            .unwrap_or_else(|| panic!("no span {word:?} in {lines:?}"))
            .style
    }

    #[test]
    fn markdown_emphasis_numbered_and_nested_lists() {
        let t = Theme::new(false, true);
        let md = "Watch the *numbers* change __after__ it, not ***both***.\n\n1. one\n2. two\n   - inner item that wraps\n\nEnd.";
        let lines = markdown(md, &t, 24);
        assert_eq!(
            texts(&lines),
            [
                "Watch the numbers change",
                "after it, not both.",
                "",
                "1. one",
                "2. two",
                "  - inner item that",
                "    wraps",
                "",
                "End.",
            ]
        );
        assert!(
            style_of(&lines, "numbers")
                .add_modifier
                .contains(Modifier::ITALIC)
        );
        assert!(
            style_of(&lines, "after")
                .add_modifier
                .contains(Modifier::BOLD)
        );
        let both = style_of(&lines, "both").add_modifier;
        assert!(both.contains(Modifier::BOLD | Modifier::ITALIC));
        // Emphasis ends where its marker does.
        assert_eq!(style_of(&lines, "change"), Style::new());
    }
}
