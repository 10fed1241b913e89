//! View tests: the screen rendered into a `TestBackend` and compared with
//! reviewed snapshots (text only: colours are checked on the buffer).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Widget;

use super::activity::ActivityView;
use super::table::PaneView;
use super::{MIN_HEIGHT, MIN_WIDTH, draw};
use crate::trace::model::{GateState, GateStatus, Message, ProbeKind, StopPoint, StopReason};
use crate::tui::keys::{Action, Key};
use crate::tui::panes::Pane;
use crate::tui::state::App;
use crate::tui::testkit::{Script, app_with};

fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| draw(f, app)).expect("draw");
    term
}

fn screen(app: &App, w: u16, h: u16) -> String {
    render(app, w, h).backend().to_string()
}

/// The story cut right after the `n`th event of `kind`, with the gate paused there.
fn paused_at(kind: ProbeKind, n: usize) -> Vec<Message> {
    let all = Script::story().out;
    let mut seen = 0;
    let mut out = Vec::new();
    for m in all {
        let hit = matches!(&m, Message::Event(e) if e.data.kind() == kind);
        let seq = match &m {
            Message::Event(e) => e.seq,
            _ => 0,
        };
        out.push(m);
        if hit {
            seen += 1;
            if seen == n {
                out.push(Message::Gate(GateStatus {
                    state: GateState::Paused,
                    at: Some(StopPoint {
                        seq,
                        kind,
                        reason: StopReason::Step,
                    }),
                    breakpoints: Vec::new(),
                    controller: Some(0),
                }));
                return out;
            }
        }
    }
    panic!("no {kind:?} #{n} in the story");
}

#[test]
fn full_screen_80x24_at_the_set_command() {
    let app = app_with(&paused_at(ProbeKind::Command, 1), true);
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn full_screen_160x48_at_the_set_command() {
    let app = app_with(&paused_at(ProbeKind::Command, 1), true);
    insta::assert_snapshot!(screen(&app, 160, 48));
}

#[test]
fn full_screen_80x24_ascii_after_the_reply_is_written() {
    let app = app_with(&Script::story().out, false);
    let s = screen(&app, 80, 24);
    assert!(s.is_ascii(), "ASCII fallback leaks a glyph:\n{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn viewing_the_past_is_marked() {
    let mut app = app_with(&Script::story().out, true);
    app.on_action(Action::BackIteration);
    app.on_action(Action::Back);
    let s = screen(&app, 80, 24);
    assert!(s.contains("VIEWING THE PAST"), "{s}");
    insta::assert_snapshot!(s);
}

/// Each pane alone, at the 80x24 layout's size and a larger one.
#[test]
fn every_pane_at_two_sizes() {
    let mut app = app_with(&paused_at(ProbeKind::Command, 1), true);
    app.on_action(Action::Down); // select a row in the focused pane (events)
    for pane in Pane::ALL {
        for (w, h) in [(46, 8), (120, 16)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            match pane {
                Pane::Activity => ActivityView { app: &app }.render(area, &mut buf),
                _ => PaneView {
                    app: &app,
                    pane,
                    title_extra: String::new(),
                    header: pane != Pane::BeforeSleep,
                    empty: "(empty)",
                }
                .render(area, &mut buf),
            }
            let text: String = (0..h)
                .map(|y| {
                    let row: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
                    row.trim_end().to_string() + "\n"
                })
                .collect();
            insta::assert_snapshot!(
                format!("pane_{}_{w}x{h}", pane.title().replace(' ', "_")),
                text
            );
        }
    }
}

#[test]
fn help_overlay() {
    let mut app = app_with(&Script::story().out, true);
    app.on_key(Key::Char('?'));
    insta::assert_snapshot!(screen(&app, 80, 24));
    // The help explains every column of every pane and every key.
    let all: String = super::help_lines(&app.theme)
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    for pane in Pane::ALL {
        for c in pane.columns() {
            assert!(all.contains(c.help), "{} / {}", pane.title(), c.name);
        }
    }
    for b in crate::tui::keys::BINDINGS {
        assert!(all.contains(b.help), "{}", b.label);
    }
}

#[test]
fn details_and_breakpoints_popups() {
    let mut app = app_with(&paused_at(ProbeKind::Command, 1), true);
    app.focus = Pane::Flow;
    app.on_action(Action::Up);
    app.on_key(Key::Enter);
    let s = screen(&app, 80, 24);
    assert!(s.contains("argv[2]") && s.contains("bar"), "{s}");
    insta::assert_snapshot!("details_flow", s);
    app.on_key(Key::Esc);
    app.on_key(Key::Char('b'));
    app.on_key(Key::Char('a'));
    for c in "key user:*".chars() {
        app.on_key(Key::Char(c));
    }
    insta::assert_snapshot!("breakpoint_prompt", screen(&app, 80, 24));
}

#[test]
fn tiny_terminals_never_panic_and_say_too_small() {
    let mut app = app_with(&Script::story().out, true);
    for overlay in [None, Some('?'), Some('b')] {
        if let Some(c) = overlay {
            app.on_key(Key::Esc);
            app.on_key(Key::Char(c));
        }
        for w in (1..=100).step_by(3) {
            for h in 1..=30 {
                let s = screen(&app, w, h);
                if (w < MIN_WIDTH || h < MIN_HEIGHT) && w * h >= 40 {
                    assert!(s.contains("too"), "{w}x{h}:\n{s}");
                }
            }
        }
    }
    insta::assert_snapshot!(screen(&app, 40, 10));
}

#[test]
fn the_dispatched_entry_is_highlighted_and_no_color_means_no_colour() {
    let app = app_with(&paused_at(ProbeKind::FileEvent, 2), true);
    let term = render(&app, 80, 24);
    let buf = term.backend().buffer();
    let area = buf.area;
    let row = (0..area.height)
        .find(|&y| {
            let line: String = (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.contains("dispatching")
        })
        .expect("a dispatching row");
    let line: String = (0..area.width)
        .map(|x| buf[(x, row)].symbol().to_string())
        .collect();
    let x = u16::try_from(line.chars().position(|c| c == '▶').expect("marker")).expect("x");
    assert!(buf[(x, row)].modifier.contains(Modifier::BOLD));
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset);
        assert_eq!(cell.bg, Color::Reset);
    }
    let mut coloured = app_with(&paused_at(ProbeKind::FileEvent, 2), true);
    coloured.theme = crate::tui::theme::Theme::new(true, false);
    let term = render(&coloured, 80, 24);
    assert!(
        term.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}
