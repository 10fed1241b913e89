//! Colours and glyphs, with the two fallbacks a terminal may need.
//!
//! Every glyph the UI draws comes from [`Glyphs`], which has a Unicode set and a
//! plain-ASCII set (for terminals or fonts without box drawing, and for logs
//! people paste into issues). Every style comes from [`Theme`], which honours the
//! `NO_COLOR` convention (<https://no-color.org>): with it set, nothing is
//! coloured and meaning is carried by bold, reverse video and the glyphs alone,
//! so no information is lost.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::{bar, border};

use crate::source::highlight::Kind;

/// The glyphs of one character set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glyphs {
    /// Marks the fired entry being dispatched and the selected row.
    pub current: &'static str,
    /// Marks a fired entry whose handler already ran this iteration.
    pub done: &'static str,
    /// Marks a fired entry put back by the level-trigger emulation.
    pub refired: &'static str,
    /// Marks the time event that bounds the poll timeout.
    pub bounds: &'static str,
    /// Between the steps of the phase strip and inside the flow log.
    pub arrow: &'static str,
    /// Ends a cell that was cut to fit.
    pub ellipsis: &'static str,
    /// Between the parts of the header.
    pub sep: &'static str,
    /// The unit of microseconds.
    pub micros: &'static str,
    /// "At least", before a count that lost events.
    pub at_least: &'static str,
    /// Marks the view of the past.
    pub past: &'static str,
    /// Before the number of cells a pane is scrolled sideways by.
    pub scrolled: &'static str,
    pub border: border::Set<'static>,
    /// The border of the pane with the keyboard focus: heavier than the
    /// others, so focus shows without colour and on a "look" pane.
    pub focus_border: border::Set<'static>,
    pub bars: bar::Set<'static>,
}

/// Box drawing and block elements.
pub const UNICODE: Glyphs = Glyphs {
    current: "▶",
    done: "✓",
    refired: "↻",
    bounds: "◆",
    arrow: "→",
    ellipsis: "…",
    sep: "│",
    micros: "µs",
    at_least: "≥",
    past: "◀",
    scrolled: "◀",
    border: border::PLAIN,
    focus_border: border::THICK,
    bars: bar::NINE_LEVELS,
};

/// Nothing but printable ASCII.
pub const ASCII: Glyphs = Glyphs {
    current: ">",
    done: "+",
    refired: "*",
    bounds: "#",
    arrow: "->",
    ellipsis: "~",
    sep: "|",
    micros: "us",
    at_least: ">=",
    past: "<<",
    scrolled: "<",
    border: border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    },
    focus_border: border::Set {
        top_left: "#",
        top_right: "#",
        bottom_left: "#",
        bottom_right: "#",
        vertical_left: "#",
        vertical_right: "#",
        horizontal_top: "=",
        horizontal_bottom: "=",
    },
    bars: bar::Set {
        full: "#",
        seven_eighths: "#",
        three_quarters: "=",
        five_eighths: "=",
        half: "-",
        three_eighths: "-",
        one_quarter: ".",
        one_eighth: ".",
        empty: " ",
    },
};

/// Styles and glyphs for one run of the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub glyphs: Glyphs,
    /// Turn drawn URLs into terminal hyperlinks (OSC 8). On for a real
    /// terminal; off where the screen is compared as text (tests).
    pub hyperlinks: bool,
}

impl Theme {
    /// A theme from the environment: `NO_COLOR` (set and non-empty) turns colour
    /// off; `ascii` forces the ASCII glyphs, which are also chosen when the locale
    /// does not say UTF-8.
    pub fn from_env(ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let utf8 = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .find(|v| !v.is_empty())
            .is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("utf-8") || v.contains("utf8")
            });
        Theme {
            hyperlinks: true,
            ..Theme::new(!no_color, ascii || !utf8)
        }
    }

    pub fn new(color: bool, ascii: bool) -> Theme {
        Theme {
            color,
            glyphs: if ascii { ASCII } else { UNICODE },
            hyperlinks: false,
        }
    }

    /// A duration for people: microseconds when short, milliseconds from 10 ms.
    pub fn duration(&self, us: u64) -> String {
        if us >= 10_000 {
            format!("{} ms", us / 1000)
        } else {
            format!("{us} {}", self.glyphs.micros)
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Pane titles and table headers.
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header_row(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// The border of the pane that has the keyboard focus.
    pub fn focused_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    /// The row under the cursor of the focused pane.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Something happening right now: the dispatched fired entry, the current phase.
    pub fn current(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    /// Rows that are there to show the shape of the data, not data: empty slots.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// Errors, drops, and the "viewing the past" banner.
    pub fn alert(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn past(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// Keys in the footer and the help.
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Activity charts.
    pub fn chart(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn chart_alt(&self) -> Style {
        self.fg(Color::Magenta)
    }

    /// One token of source code. Without colour, keywords are bold and
    /// comments dim, so the shape of the code still shows.
    pub fn code(&self, kind: Kind) -> Style {
        match kind {
            Kind::Keyword if self.color => Style::new().fg(Color::Magenta),
            Kind::Keyword => Style::new().add_modifier(Modifier::BOLD),
            Kind::String => self.fg(Color::Green),
            Kind::Number => self.fg(Color::Yellow),
            Kind::Comment => self.dim(),
            Kind::Ident | Kind::Punct | Kind::Space => Style::new(),
        }
    }

    /// The line of code the loop is at: one solid bar, syntax colours off,
    /// so it stands out in colour and without.
    pub fn code_current(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_glyphs_are_ascii() {
        let g = ASCII;
        let b = &g.border;
        let fb = &g.focus_border;
        let bars = &g.bars;
        for s in [
            g.current,
            g.done,
            g.refired,
            g.bounds,
            g.arrow,
            g.ellipsis,
            g.sep,
            g.micros,
            g.at_least,
            g.past,
            g.scrolled,
            fb.top_left,
            fb.vertical_left,
            fb.horizontal_top,
            b.top_left,
            b.top_right,
            b.bottom_left,
            b.bottom_right,
            b.vertical_left,
            b.vertical_right,
            b.horizontal_top,
            b.horizontal_bottom,
            bars.full,
            bars.seven_eighths,
            bars.three_quarters,
            bars.five_eighths,
            bars.half,
            bars.three_eighths,
            bars.one_quarter,
            bars.one_eighth,
            bars.empty,
        ] {
            assert!(s.is_ascii() && !s.is_empty(), "{s:?}");
        }
    }

    #[test]
    fn no_color_theme_has_no_colours() {
        let t = Theme::new(false, false);
        for s in [
            t.title(),
            t.current(),
            t.alert(),
            t.past(),
            t.key(),
            t.dim(),
            t.code(Kind::Keyword),
            t.code(Kind::String),
            t.code(Kind::Comment),
            t.code_current(),
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert_ne!(Theme::new(true, false).current().fg, None);
    }
}
