//! View tests: the screen rendered into a `TestBackend` and compared with
//! reviewed snapshots (text only: colours are checked on the buffer).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Widget;

use super::activity::ActivityView;
use super::code::CodeView;
use super::{MIN_HEIGHT, MIN_WIDTH, draw, fit_parts};
use std::borrow::Cow;

use crate::trace::model::{
    Event, GateState, GateStatus, Message, ProbeData, ProbeKind, Site, StopPoint, StopReason,
};
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

/// Whether the screen has a pane titled `title`, focused (heavy border) or not.
fn has_title(screen: &str, title: &str) -> bool {
    ["┌", "┏"]
        .iter()
        .any(|corner| screen.contains(&format!("{corner} {title}")))
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

/// The sizes every view is reviewed at: the smallest a learner is told to
/// use, a common laptop window, and a large screen.
pub(super) const SIZES: [(u16, u16); 3] = [(80, 24), (100, 30), (200, 50)];

/// The text of `area` of a rendered screen, one trimmed line per row.
fn crop(buf: &Buffer, area: Rect) -> String {
    (area.y..area.bottom())
        .map(|y| {
            let row: String = (area.x..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect();
            row.trim_end().to_string() + "\n"
        })
        .collect()
}

/// The crowded loop of [`Script::crowd`], with the guide on chapter 7's
/// step about that moment ("The reply does not fit"), open or not.
fn crowded(guide_open: bool) -> App {
    use crate::walkthrough::load::{Origin, load};
    use crate::walkthrough::{Progress, Walkthrough};
    let mut app = app_with(&Script::crowd().out, true);
    let walk = Walkthrough::with_progress(load(&Origin::Embedded), Progress::in_memory());
    let mut g = crate::tui::guide::Guide::new(walk, Some("127.0.0.1".into()));
    assert!(g.open_chapter(6), "chapter 7");
    app.guide = Some(g);
    app.on_key(Key::Char('g'));
    app.on_action(Action::NextStep);
    if !guide_open {
        app.on_key(Key::Char('g'));
    }
    app
}

/// Every pane where the layout puts it (focused, so that the panes without
/// a place of their own on a short screen get one), and the whole screen,
/// with the guide closed and open, at each of [`SIZES`]. Beside the
/// snapshots, what the chapters ask the learner to look at is checked
/// wherever its pane is on screen: the listener, the client the step is
/// about (fd 12), maxfd, the client's obuf, the dropped count.
#[test]
fn every_pane_and_the_screen_at_three_sizes() {
    for guide_open in [false, true] {
        let with = if guide_open { "guide" } else { "no_guide" };
        for (w, h) in SIZES {
            let mut app = crowded(guide_open);
            let s = screen(&app, w, h);
            assert!(s.contains("dropped 0"), "{w}x{h}:\n{s}");
            insta::assert_snapshot!(format!("screen_{with}_{w}x{h}"), s);
            let body = Rect::new(0, 3, w, h - 5);
            for pane in Pane::ALL {
                if pane == Pane::Guide && !guide_open {
                    continue;
                }
                app.focus = pane;
                let term = render(&app, w, h);
                let Some((_, area)) = super::layout(&app, body)
                    .into_iter()
                    .find(|(p, _)| *p == pane)
                else {
                    panic!("{w}x{h} {with}: focused {pane:?} has no place");
                };
                let text = crop(term.backend().buffer(), area);
                match pane {
                    Pane::Events => {
                        assert!(text.contains("maxfd 22"), "{w}x{h}:\n{text}");
                        for row in ["6     r    listener", "12    rw   client 5"] {
                            assert!(text.contains(row), "{w}x{h} {row}:\n{text}");
                        }
                        assert!(text.contains("more"), "no sign of hidden rows:\n{text}");
                    }
                    Pane::Clients => {
                        assert!(text.contains("obuf"), "{w}x{h}:\n{text}");
                        assert!(text.contains("28 MiB"), "{w}x{h}:\n{text}");
                    }
                    // The big reply is summarised, cut at worst, never escaped.
                    Pane::Flow => {
                        assert!(text.contains("GET big → $3355443"), "{w}x{h}:\n{text}");
                        assert!(!text.contains("\\x00"), "{w}x{h}:\n{text}");
                    }
                    _ => {}
                }
                insta::assert_snapshot!(
                    format!("pane_{}_{with}_{w}x{h}", pane.title().replace(' ', "_")),
                    text
                );
            }
        }
    }
}

/// The projector preset (`V`) at each of [`SIZES`], with the guide open
/// and closed. Open, the guide's step ("The reply does not fit") names the
/// events and beforeSleep panes: they are beside it, and nothing else is;
/// closed, the focused events pane is beside the source pane. The tables
/// keep only their essential columns (no Redis names), and the header says
/// the preset is on.
#[test]
fn the_projector_preset_at_three_sizes() {
    for guide_open in [false, true] {
        let with = if guide_open { "guide" } else { "no_guide" };
        for (w, h) in SIZES {
            let mut app = crowded(guide_open);
            app.on_key(Key::Char('V'));
            let s = screen(&app, w, h);
            assert!(s.contains("projector (V)"), "{w}x{h}:\n{s}");
            let shown: Vec<Pane> = Pane::ALL
                .into_iter()
                .filter(|p| has_title(&s, p.title()))
                .collect();
            let want = if guide_open {
                vec![Pane::Events, Pane::BeforeSleep, Pane::Guide]
            } else {
                vec![Pane::Events, Pane::Source]
            };
            assert_eq!(shown, want, "{w}x{h}:\n{s}");
            assert!(s.contains("12    rw   client 5"), "{w}x{h}:\n{s}");
            assert!(!s.contains("readQueryFromClient / "), "{w}x{h}:\n{s}");
            insta::assert_snapshot!(format!("projector_{with}_{w}x{h}"), s);
        }
    }
}

#[test]
fn v_turns_the_preset_on_and_off() {
    let mut app = crowded(false);
    let usual = screen(&app, 100, 30);
    app.on_key(Key::Char('V'));
    let projected = screen(&app, 100, 30);
    assert_ne!(projected, usual);
    assert!(
        projected.contains("projector: few, large panes"),
        "{projected}"
    );
    app.on_key(Key::Char('V'));
    let back = screen(&app, 100, 30);
    assert!(back.contains("projector off"), "{back}");
    app.status = None;
    assert_eq!(screen(&app, 100, 30), usual);
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

// ---------------------------------------------------------------------------
// The source pane
// ---------------------------------------------------------------------------

/// The text of a buffer, one string per row.
fn rows(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// The source pane alone, drawn at `w` x `h`.
fn source_pane(app: &App, w: u16, h: u16) -> Buffer {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    CodeView { app }.render(area, &mut buf);
    buf
}

/// The row of the current line (the one with the marker in its gutter),
/// and the code on it.
fn marked_row(buf: &Buffer) -> (u16, String) {
    let all = rows(buf);
    let y = all
        .iter()
        .position(|r| r.starts_with("│▶") || r.starts_with("┃▶"))
        .unwrap_or_else(|| panic!("no marked line:\n{}", all.join("\n")));
    let row = &all[y];
    let code = row
        .split_once(['│', '┃'])
        .and_then(|(_, rest)| rest.split_once('│'))
        .map(|(_, rest)| rest.trim_end_matches('│').trim().to_string())
        .expect("gutter");
    (u16::try_from(y).expect("y"), code)
}

/// A story app, then one more event at `site`.
fn app_at(site: Site) -> App {
    let s = Script::story();
    let mut app = app_with(&s.out, true);
    app.on_message(Message::Event(Event {
        seq: s.seq + 1,
        iter: s.iter,
        t_us: s.t_us + 1,
        site: Cow::Owned(site),
        data: ProbeData::AfterSleep {},
    }));
    app
}

/// Every probe of the loop and the server, as its site: found in the
/// embedded sources the way a reader would, `probe!(tracer, "ours" => "Redis", ...)`.
fn real_probe_sites() -> Vec<Site> {
    let mut out = Vec::new();
    for (path, text) in crate::source::files() {
        if !(path.starts_with("src/ae/") || path.starts_with("src/server/")) {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let Some(call) = line.split_once("probe!(").map(|(_, rest)| rest) else {
                continue;
            };
            let names: Vec<&str> = call.split('"').collect();
            if names.len() < 5 || names[2].trim() != "=>" {
                continue;
            }
            out.push(Site {
                file: Cow::Borrowed(path),
                line: u32::try_from(i + 1).expect("line"),
                function: Cow::Owned(names[1].to_string()),
                mirrors: Cow::Owned(names[3].to_string()),
            });
        }
    }
    out
}

#[test]
fn the_source_pane_marks_the_line_of_every_real_probe() {
    let sites = real_probe_sites();
    assert!(sites.len() >= 15, "only {} probes found", sites.len());
    for site in sites {
        let app = app_at(site.clone());
        let buf = source_pane(&app, 110, 18);
        let (_, code) = marked_row(&buf);
        let line = crate::source::file(&site.file)
            .and_then(|t| t.lines().nth(site.line as usize - 1))
            .expect("line");
        assert!(
            !code.is_empty() && line.trim().starts_with(&code),
            "{}:{}: marked {code:?}, the line is {line:?}",
            site.file,
            site.line
        );
        let all = rows(&buf).join("\n");
        let title = format!(
            "{}() {}:{}",
            site.function,
            site.file.trim_start_matches("src/"),
            site.line
        );
        assert!(all.contains(&title), "{title}:\n{all}");
        // Under the code: the function's anchor, or what the probe mirrors.
        let span = crate::tui::code::function_at(&crate::tui::code::place(&app).expect("place"));
        let near = crate::tui::code::anchor_near(
            &app.code.anchors,
            &crate::tui::code::place(&app).expect("place"),
            span.as_ref(),
        );
        match near {
            Some(a) => assert!(all.contains(&format!("◆ {}:", a.name)), "{title}:\n{all}"),
            None => assert!(
                all.contains(&format!("mirrors Redis's {}", site.mirrors)),
                "{title}:\n{all}"
            ),
        }
    }
}

#[test]
fn source_pane_at_the_set_command() {
    let app = app_with(&paused_at(ProbeKind::Command, 1), true);
    let buf = source_pane(&app, 80, 14);
    let (_, code) = marked_row(&buf);
    assert_eq!(code, "self.ev(ProbeData::Command {");
    let at = app.frame().and_then(|f| f.at.as_ref()).expect("at");
    assert_eq!(at.site.file, "src/tui/testkit.rs");
    insta::assert_snapshot!(rows(&buf).join("\n"));
}

#[test]
fn the_source_pane_shows_the_anchor_with_its_redis_counterpart() {
    let site = crate::source::find_anchor("ae.poll").expect("anchor");
    let info = crate::source::anchor_info("ae.poll").expect("info");
    let app = app_at(Site {
        file: Cow::Borrowed(site.file),
        line: site.line,
        function: Cow::Borrowed(info.function),
        mirrors: Cow::Borrowed("aeApiPoll"),
    });
    let all = rows(&source_pane(&app, 120, 20)).join("\n");
    assert!(all.contains(&format!("◆ ae.poll: {}", info.note)), "{all}");
    assert!(all.contains("Redis: aeApiPoll in src/ae_epoll.c"), "{all}");
    assert!(all.contains(&info.redis.permalink()), "{all}");
    // Narrower than the permalink: it is left out rather than cut (Enter shows it).
    let narrow = rows(&source_pane(&app, 60, 20)).join("\n");
    assert!(!narrow.contains("https://"), "{narrow}");
    let details = crate::tui::panes::details(Pane::Source, &app, 0);
    assert!(
        details
            .iter()
            .any(|(k, v)| k == "permalink" && *v == info.redis.permalink())
    );
}

#[test]
fn code_from_another_version_or_missing_says_so() {
    let mut msgs = Script::story().out;
    if let Some(Message::Hello(h)) = msgs.first_mut() {
        h.loopscope = Cow::Borrowed("0.0.1");
    }
    let app = app_with(&msgs, true);
    let all = rows(&source_pane(&app, 100, 16)).join("\n");
    assert!(
        all.contains("the trace comes from loopscope 0.0.1"),
        "{all}"
    );
    let gone = app_at(Site {
        file: Cow::Borrowed("src/gone.rs"),
        line: 3,
        function: Cow::Borrowed("vanished"),
        mirrors: Cow::Borrowed("aeMain"),
    });
    let all = rows(&source_pane(&gone, 100, 16)).join("\n");
    assert!(
        all.contains("src/gone.rs is not part of this build"),
        "{all}"
    );
    assert!(all.contains("vanished() mirrors Redis's aeMain"), "{all}");
}

#[test]
fn the_source_pane_goes_full_screen_scrolls_and_comes_back() {
    let mut app = app_with(&paused_at(ProbeKind::Command, 1), true);
    app.focus = Pane::Fired;
    app.on_key(Key::Char('s'));
    assert_eq!(app.zoom.map(|z| z.pane), Some(Pane::Source));
    assert_eq!(app.focus, Pane::Source);
    let s = screen(&app, 80, 24);
    assert!(
        !has_title(&s, "events") && has_title(&s, "source set_foo_bar() tui/testkit.rs"),
        "{s}"
    );
    insta::assert_snapshot!("source_full_screen", s);
    // Up and down scroll the code; the marked line moves the other way.
    let line_at = |app: &App| marked_row(&render(app, 80, 24).backend().buffer().clone()).0;
    let before = line_at(&app);
    app.on_key(Key::Down);
    app.on_key(Key::Down);
    assert_eq!(line_at(&app), before - 2);
    for _ in 0..500 {
        app.on_key(Key::PageDown);
    }
    // Scrolling stops at the end of the file: one step back up shows it.
    let bottom = screen(&app, 80, 24);
    app.on_key(Key::Up);
    assert_ne!(screen(&app, 80, 24), bottom, "scrolled past the end");
    // Back: the layout and the focus as they were.
    app.on_key(Key::Char('s'));
    assert_eq!(app.zoom, None);
    assert_eq!(app.focus, Pane::Fired);
    assert!(has_title(&screen(&app, 80, 24), "events"));
    // The loop moves on: the window follows the new line again.
    let mut app = app_with(&paused_at(ProbeKind::Command, 1), true);
    app.focus = Pane::Source;
    app.on_key(Key::Down);
    let scrolled = app
        .code
        .offset(&crate::tui::code::place(&app).expect("place"));
    assert_eq!(scrolled, 1);
    app.on_action(Action::Forward);
    app.on_action(Action::Back);
    app.on_action(Action::Back);
    let p = crate::tui::code::place(&app).expect("place");
    assert_eq!(app.code.offset(&p), 0);
}

#[test]
fn short_terminals_lend_the_source_place_to_the_focused_clients_or_activity() {
    let mut app = app_with(&paused_at(ProbeKind::Command, 1), true);
    let s = screen(&app, 80, 24);
    assert!(has_title(&s, Pane::Source.title()), "{s}");
    assert!(!has_title(&s, Pane::Clients.title()) && !has_title(&s, Pane::Activity.title()));
    app.focus = Pane::Clients;
    let s = screen(&app, 80, 24);
    assert!(
        has_title(&s, Pane::Clients.title()) && !has_title(&s, Pane::Source.title()),
        "{s}"
    );
    app.focus = Pane::Activity;
    assert!(has_title(&screen(&app, 80, 24), Pane::Activity.title()));
    // Tall: every pane has its own place.
    let s = screen(&app, 120, 40);
    // The probe log takes the source pane's place only when opened (L).
    for pane in Pane::ALL
        .into_iter()
        .filter(|p| !matches!(p, Pane::Guide | Pane::Log))
    {
        assert!(has_title(&s, pane.title()), "{}:\n{s}", pane.title());
    }
}

/// A stand-in for Redis's checkout, written by the test: one small C file.
fn fake_checkout(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loopscope-tui-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/ae_epoll.c"), body).expect("write");
    dir
}

#[test]
fn redis_src_shows_the_mirrored_function_beside_ours_or_on_r() {
    let dir = fake_checkout(
        "redis-src",
        "/* written by a loopscope test */\n\
         static int helper(int x) { return x; }\n\
         \n\
         static int aeApiPoll(aeEventLoop *eventLoop, struct timeval *tvp) {\n\
         \tint ready = wait_for_fds(eventLoop, tvp);\n\
         \treturn ready;\n\
         }\n",
    );
    // Poll returned: the testkit site mirrors aeApiPoll, whose file the
    // anchor table knows (src/ae_epoll.c).
    let mut app = app_with(&paused_at(ProbeKind::PollReturn, 1), true);
    app.code.redis = Some(crate::tui::code::RedisCheckout::new(dir.clone()));
    app.on_key(Key::Char('s'));
    let wide = screen(&app, 160, 30);
    assert!(
        wide.contains("Redis aeApiPoll  src/ae_epoll.c:4 in your checkout"),
        "{wide}"
    );
    assert!(wide.contains("int ready = wait_for_fds"), "{wide}");
    assert!(wide.contains("source begin() tui/testkit.rs"), "{wide}");
    insta::assert_snapshot!("redis_src_side_by_side", wide);
    // Narrow: ours, and r flips to Redis's.
    let narrow = screen(&app, 80, 24);
    assert!(!narrow.contains("wait_for_fds"), "{narrow}");
    app.on_key(Key::Char('r'));
    let narrow = screen(&app, 80, 24);
    assert!(narrow.contains("wait_for_fds"), "{narrow}");
    assert!(!narrow.contains("self.ev("), "{narrow}");
    // Wide with r: ours alone.
    assert!(!screen(&app, 160, 30).contains("wait_for_fds"));
    app.on_key(Key::Char('r'));

    // A checkout without the function says so, and what it looked for.
    let other = fake_checkout(
        "redis-src-missing",
        "int unrelated(void) {\n    return 0;\n}\n",
    );
    app.code.redis = Some(crate::tui::code::RedisCheckout::new(other.clone()));
    let s = screen(&app, 160, 30);
    assert!(s.contains("function named aeApiPoll"), "{s}");
    // And one without the file.
    std::fs::remove_file(other.join("src/ae_epoll.c")).expect("rm");
    app.code.redis = Some(crate::tui::code::RedisCheckout::new(other.clone()));
    let s = screen(&app, 160, 30);
    assert!(s.contains("cannot read"), "{s}");
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(other);
}

#[test]
fn r_without_redis_src_says_how_to_get_it() {
    let mut app = app_with(&Script::story().out, true);
    app.on_key(Key::Char('r'));
    assert!(
        matches!(&app.status, Some(crate::tui::state::Status::Info(s)) if s.contains("--redis-src")),
        "{:?}",
        app.status
    );
    assert!(!app.code.flip);
}

#[test]
fn the_current_line_stands_out_with_and_without_colour() {
    let mut app = app_with(&paused_at(ProbeKind::Command, 1), true);
    let buf = source_pane(&app, 80, 14);
    let (y, _) = marked_row(&buf);
    let cell = &buf[(10, y)];
    assert!(cell.modifier.contains(Modifier::REVERSED));
    assert_eq!(cell.bg, Color::Reset);
    app.theme = crate::tui::theme::Theme::new(true, false);
    let buf = source_pane(&app, 80, 14);
    assert_eq!(buf[(10, y)].bg, Color::Green);
    // Syntax colours on the other lines: `Some` is a keyword, `"set"` a string.
    let all = rows(&buf);
    let row = all
        .iter()
        .position(|r| r.contains("Some(\"set\""))
        .expect("a line with Some");
    let x = all[row].chars().position(|c| c == 'S').expect("S");
    let fg = |x: usize| buf[(u16::try_from(x).expect("x"), u16::try_from(row).expect("y"))].fg;
    assert_eq!(fg(x), Color::Magenta);
    assert_eq!(fg(x + 5), Color::Green);
}

#[test]
fn before_the_first_probe_the_pane_shows_where_iterations_start() {
    let app = app_with(&Script::start().out, true);
    let all = rows(&source_pane(&app, 100, 16)).join("\n");
    assert!(all.contains("source process_events() ae/mod.rs:"), "{all}");
    assert!(all.contains("no probe yet"), "{all}");
    assert!(all.contains("◆ ae.process_events:"), "{all}");
    let (_, code) = marked_row(&source_pane(&app, 100, 16));
    let site = crate::source::find_anchor("ae.process_events").expect("anchor");
    let line = crate::source::file(site.file)
        .and_then(|t| t.lines().nth(site.line as usize - 1))
        .expect("line");
    assert!(line.trim().starts_with(&code), "{code:?} vs {line:?}");
}

// ---------------------------------------------------------------------------
// The guide
// ---------------------------------------------------------------------------

#[test]
fn the_guide_beside_the_step_s_panes_on_a_narrow_screen() {
    use crate::tui::guide::tests::guided;
    let app = guided(crate::walkthrough::Progress::in_memory(), Some("127.0.0.1"));
    let s = screen(&app, 80, 24);
    // The step's panes are there, marked; the others make room.
    assert!(
        s.contains("events ◀ look") && s.contains("fired ◀ look"),
        "{s}"
    );
    assert!(
        !has_title(&s, "time events") && !has_title(&s, "command flow"),
        "{s}"
    );
    assert!(s.contains("Step 1: The listener fires"), "{s}");
    insta::assert_snapshot!("guide_80x24", s);
}

#[test]
fn the_guide_beside_every_pane_on_a_wide_screen() {
    use crate::tui::guide::tests::guided_on;
    let mut app = guided_on(
        &Script::story().out,
        crate::walkthrough::Progress::in_memory(),
        Some("127.0.0.1"),
    );
    app.on_key(Key::Char('t'));
    let s = screen(&app, 160, 40);
    // The probe log takes the source pane's place only when opened (L).
    for pane in Pane::ALL.into_iter().filter(|p| *p != Pane::Log) {
        assert!(has_title(&s, pane.title()), "{}:\n{s}", pane.title());
    }
    // The source pane shows the step's anchor, and says why.
    assert!(s.contains("source accept_tcp_handler()"), "{s}");
    assert!(s.contains("guide: accept up to 1000 connections"), "{s}");
    // Back to the running line (test code, so the screen stays the same
    // when the server's code changes).
    app.code.pin = None;
    insta::assert_snapshot!("guide_160x40", screen(&app, 160, 40));
    // Scrolling the guide moves its text.
    app.focus = Pane::Guide;
    let before = screen(&app, 100, 24);
    app.on_key(Key::Down);
    app.on_key(Key::Down);
    assert_ne!(screen(&app, 100, 24), before);
    for _ in 0..100 {
        app.on_key(Key::Down);
    }
    let bottom = screen(&app, 100, 24);
    app.on_key(Key::Up);
    assert_ne!(screen(&app, 100, 24), bottom, "scrolled past the end");
}

#[test]
fn the_chapter_list() {
    use crate::tui::guide::tests::guided;
    let mut app = guided(crate::walkthrough::Progress::in_memory(), Some("127.0.0.1"));
    app.on_key(Key::Char('o'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("1. A test chapter  (0/2 2 min)"), "{s}");
    insta::assert_snapshot!("chapter_list", s);
}

#[test]
fn tiny_terminals_with_the_guide_never_panic() {
    use crate::tui::guide::tests::guided;
    let mut app = guided(crate::walkthrough::Progress::in_memory(), Some("127.0.0.1"));
    for keys in ["", "o", "s"] {
        app.overlay = crate::tui::state::Overlay::None;
        for k in keys.chars() {
            app.on_key(Key::Char(k));
        }
        for w in (1..=130).step_by(7) {
            for h in (1..=40).step_by(3) {
                let _ = screen(&app, w, h);
            }
        }
    }
}

#[test]
fn the_guide_says_which_chapter_files_were_left_out_and_marks_the_header() {
    use crate::walkthrough::{Diagnostic, Loaded, Progress, Walkthrough, parse};
    let text = crate::tui::guide::tests::CHAPTER.replace("look: events, fired", "look: header");
    let loaded = Loaded {
        chapters: vec![parse::parse_chapter("t.md", &text).expect("parses")],
        diagnostics: vec![Diagnostic {
            file: "walkthrough/99-broken.md".into(),
            line: 5,
            message: "`wait:` unknown event `comand`".into(),
        }],
    };
    let mut app = app_with(&Script::start().out, true);
    app.guide = Some(crate::tui::guide::Guide::new(
        Walkthrough::with_progress(loaded, Progress::in_memory()),
        None,
    ));
    app.on_key(Key::Char('g'));
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("a chapter was left out:") && s.contains("walkthrough/99-broken.md:5:"),
        "{s}"
    );
    let strip = s.lines().nth(1).expect("the phase strip");
    assert!(strip.contains("◀ look"), "{s}");
    // A replay has no server: the step says the command was sent back then.
    assert!(s.contains("(a replay: it was sent"), "{s}");
}

/// Every view, at every size from 1x1 to 100x40 (in steps), renders without
/// a panic; and one terminal resized rapidly between extremes keeps drawing.
#[test]
fn every_view_at_every_size_and_through_rapid_resizes() {
    use crate::tui::guide::tests::guided;
    let story = || app_with(&Script::story().out, true);
    let with = |mut app: App, actions: &[Action]| {
        for a in actions {
            app.on_action(*a);
        }
        app
    };
    let guide = || guided(crate::walkthrough::Progress::in_memory(), Some("127.0.0.1"));
    let mut details = story();
    details.focus = Pane::Flow;
    let details = with(details, &[Action::Up, Action::Details]);
    let mut cut_off = story();
    cut_off.link = Some("disconnected (connection refused), retrying in 5.00 s".into());
    let views: Vec<(&str, App)> = vec![
        ("panes", story()),
        ("help", with(story(), &[Action::Help])),
        ("breakpoints", with(story(), &[Action::Breakpoints])),
        ("details", details),
        ("full-screen source", with(story(), &[Action::Zoom])),
        ("redis beside ours", with(story(), &[Action::RedisView])),
        ("the past", with(story(), &[Action::Back, Action::Back])),
        ("disconnected", cut_off),
        ("guide", guide()),
        ("chapter list", with(guide(), &[Action::ChapterList])),
        (
            "guide and full-screen source",
            with(guide(), &[Action::Zoom]),
        ),
        ("projector", with(story(), &[Action::Projector])),
        ("guide and projector", with(guide(), &[Action::Projector])),
    ];
    // Every small size, where layouts give up, then steps up to 100x40.
    let widths = (1..=10).chain((15..=100).step_by(15)).chain([100]);
    let heights = (1..=6).chain((10..=40).step_by(10));
    for (name, app) in &views {
        for w in widths.clone() {
            for h in heights.clone() {
                let r =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(app, w, h)));
                assert!(r.is_ok(), "{name} at {w}x{h} panicked");
            }
        }
    }
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    for (i, (_, app)) in views.iter().cycle().take(200).enumerate() {
        let i = u16::try_from(i).expect("small");
        let (w, h) = if i % 2 == 0 {
            (1 + i % 7, 1 + i % 5)
        } else {
            (60 + i % 140, 20 + i % 50)
        };
        term.backend_mut().resize(w, h);
        term.draw(|f| draw(f, app)).expect("draw after a resize");
    }
}

#[test]
fn a_cut_off_attach_says_disconnected_in_the_header() {
    let mut app = app_with(&Script::story().out, true);
    app.link = Some("disconnected (the server closed the connection), retrying in 0.25 s".into());
    let s = screen(&app, 120, 24);
    let header = s.lines().next().unwrap_or_default();
    assert!(header.contains("disconnected"), "{s}");
    app.link = None;
    assert!(!screen(&app, 120, 24).contains("disconnected"));
}

#[test]
fn the_guide_names_the_port_the_server_really_listens_on() {
    use crate::tui::guide::tests::guided;
    let mut app = guided(crate::walkthrough::Progress::in_memory(), Some("127.0.0.1"));
    app.hello
        .as_mut()
        .expect("the story starts with a hello")
        .port = 7001;
    let s = screen(&app, 80, 24);
    assert!(s.contains("redis-cli -p 7001"), "{s}");
    assert!(!s.contains("{port}") && !s.contains("6380."), "{s}");
}

#[test]
fn z_shows_the_focused_pane_full_screen_and_tab_leaves_it() {
    let mut app = app_with(&Script::crowd().out, true);
    app.focus = Pane::Clients;
    app.on_key(Key::Char('z'));
    let s = screen(&app, 80, 24);
    assert!(has_title(&s, "clients") && !has_title(&s, "events"), "{s}");
    // All fifteen clients fit, with room for every column but name and db.
    for id in 1..=15 {
        assert!(
            s.contains(&format!("┃{id:<4} {:<4}", 7 + id)),
            "client {id}:\n{s}"
        );
    }
    assert!(s.contains("addr") && s.contains("idle"), "{s}");
    app.on_key(Key::Char('z'));
    assert!(has_title(&screen(&app, 80, 24), "events"));
    app.on_key(Key::Char('z'));
    app.on_key(Key::Tab);
    assert_eq!(app.zoom, None);
    assert_eq!(app.focus, Pane::Activity);
}

#[test]
fn sideways_scroll_is_shown_in_the_title_and_reset_when_the_focus_moves() {
    let mut app = app_with(&Script::crowd().out, true);
    let s = screen(&app, 80, 24);
    let title = |s: &str| {
        s.lines()
            .find(|l| l.contains("events maxfd"))
            .map(str::to_string)
    };
    assert!(title(&s).is_some_and(|t| !t.contains('◀')), "{s}");
    app.on_key(Key::Right);
    let s = screen(&app, 80, 24);
    assert!(title(&s).is_some_and(|t| t.contains("◀ +8 h")), "{s}");
    // Scrolled, the fd column stays and the others move left by 8 cells,
    // bringing the write handler column in.
    assert!(
        s.contains("┃fd    t      read handler           write ha┃"),
        "{s}"
    );
    assert!(
        s.contains("┃12    ent 5  read_query_from_client send_rep┃"),
        "{s}"
    );
    app.on_key(Key::Tab);
    app.on_key(Key::BackTab);
    let s = screen(&app, 80, 24);
    assert!(title(&s).is_some_and(|t| !t.contains('◀')), "{s}");
}

#[test]
fn focus_and_look_are_told_apart_without_colour_and_in_ascii() {
    for unicode in [true, false] {
        let mut app = crowded(true);
        app.theme = crate::tui::theme::Theme::new(false, !unicode);
        // Chapter 7 step 2 looks at events and beforeSleep; focus one of them.
        app.focus = Pane::Events;
        let s = screen(&app, 100, 30);
        let (heavy, plain) = if unicode { ("┏", "┌") } else { ("#", "+") };
        let look = app.theme.glyphs.past;
        assert!(s.contains(&format!("{heavy} events {look} look")), "{s}");
        assert!(
            s.contains(&format!("{plain} beforeSleep {look} look")),
            "{s}"
        );
    }
}

#[test]
fn y_shows_every_link_on_screen_alone_to_select_or_click() {
    let mut app = crowded(true);
    let urls: Vec<String> = super::popup::links_on_screen(&app)
        .into_iter()
        .map(|(_, url)| url)
        .collect();
    // Chapter 7 step 2's two links, and the source pane's permalink.
    assert_eq!(urls.len(), 3, "{urls:?}");
    app.on_key(Key::Char('y'));
    assert_eq!(app.mode(), crate::tui::keys::Mode::Links);
    let wide = render(&app, 200, 50);
    let lines: Vec<String> = rows(wide.backend().buffer())
        .into_iter()
        .map(|r| r.trim_end().to_string())
        .collect();
    for url in &urls {
        assert!(
            lines.contains(url),
            "{url} is not alone on a line:\n{lines:#?}"
        );
    }
    insta::assert_snapshot!("links_200x50", lines.join("\n"));
    // Narrower than a URL: cut at the screen's edge, nothing lost between lines.
    let narrow = rows(render(&app, 80, 24).backend().buffer()).join("\n");
    for url in &urls {
        assert!(
            narrow.contains(&url[..80]) && narrow.contains(&url[80..]),
            "{narrow}"
        );
    }
    app.on_key(Key::Esc);
    assert_eq!(app.mode(), crate::tui::keys::Mode::Normal);
}

#[test]
fn a_narrow_header_keeps_the_iteration_the_loop_state_and_the_dropped_count() {
    let app = app_with(&paused_at(ProbeKind::Command, 1), true);
    let header = |w: u16| {
        screen(&app, w, 24)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let wide = header(100);
    assert!(
        wide.contains("loopscope live") && wide.contains("0 ops/s"),
        "{wide}"
    );
    for w in [MIN_WIDTH, 70, 80] {
        let h = header(w);
        for part in ["iter 3", "PAUSED (step)", "dropped 0"] {
            assert!(h.contains(part), "{w} columns, no {part}: {h}");
        }
        assert!(h.starts_with("\" "), "{h}");
    }
    // What goes first on a narrow line: the name.
    let narrow = header(MIN_WIDTH);
    assert!(
        !narrow.contains("loopscope") && narrow.contains("ops/s"),
        "{narrow}"
    );
    assert!(header(80).contains("loopscope live"));
}

/// Defect 9: the chapters' emphasis was printed with its stars. Every step
/// of every chapter, rendered, has no star left outside code.
#[test]
fn no_chapter_prints_markdown_markers() {
    use crate::walkthrough::load::{Origin, load};
    let t = crate::tui::theme::Theme::new(false, false);
    let loaded = load(&Origin::Embedded);
    assert!(loaded.chapters.len() >= 13);
    let mut emphasised = 0;
    for chapter in &loaded.chapters {
        for step in &chapter.steps {
            for line in super::text::markdown(&step.text, &t, 60) {
                for span in &line.spans {
                    let code = span.style == t.title()
                        || span.style == t.code(crate::source::highlight::Kind::String);
                    assert!(
                        code || !span.content.contains('*'),
                        "{}: {:?} in {line:?}",
                        chapter.title,
                        span.content
                    );
                    if span
                        .style
                        .add_modifier
                        .contains(ratatui::style::Modifier::ITALIC)
                    {
                        emphasised += 1;
                    }
                }
            }
        }
    }
    // The chapters do use emphasis (*numbers*, *after*): it shows as italics.
    assert!(emphasised > 0);
}

#[test]
fn a_finished_recording_says_so_and_suggests_no_client() {
    let mut s = Script::start();
    s.idle();
    let mut app = app_with(&s.out, false);
    app.recording = true;
    app.on_source_end("end of the recording".into());
    let live = screen(&app, 100, 30);
    assert!(live.contains("recording ended"), "{live}");
    assert!(!live.contains("running"), "{live}");
    assert!(live.contains("no command in the recording"), "{live}");
    assert!(!live.contains("redis-cli SET"), "{live}");
    app.on_action(Action::Back);
    let past = screen(&app, 100, 30);
    assert!(past.contains("1 step back"), "{past}");
    assert!(past.contains("End: newest"), "{past}");
    assert!(!past.contains("End: live"), "{past}");
}

#[test]
fn the_activity_pane_lists_the_busiest_iterations_and_marks_the_selected_one() {
    let mut app = app_with(&Script::story().out, false);
    app.focus = Pane::Activity;
    app.on_action(Action::Down);
    let area = Rect::new(0, 0, 60, 12);
    let mut buf = Buffer::empty(area);
    ActivityView { app: &app }.render(area, &mut buf);
    let rows: Vec<String> = (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    let listed: Vec<&String> = rows.iter().filter(|r| r.contains("iter ")).collect();
    assert_eq!(listed.len(), 4, "{rows:#?}");
    let marked: Vec<&&String> = listed
        .iter()
        .filter(|r| r.contains(&format!("{}iter", app.theme.glyphs.current)))
        .collect();
    assert_eq!(marked.len(), 1, "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains("busy:")), "{rows:#?}");
}

/// The probe log at the two sizes a learner uses: in the source pane's
/// place live, filtered, and as of a moment in the past (the probe there
/// marked, nothing newer listed).
#[test]
fn the_probe_log_live_filtered_and_in_the_past() {
    for (w, h) in [(80, 24), (100, 30)] {
        let mut app = app_with(&Script::story().out, true);
        app.on_key(Key::Char('L'));
        let s = screen(&app, w, h);
        assert!(has_title(&s, Pane::Log.title()), "{s}");
        assert!(!has_title(&s, Pane::Source.title()), "{s}");
        insta::assert_snapshot!(format!("probe_log_live_{w}x{h}"), s);
        app.on_key(Key::Char('/'));
        for c in "fd=8".chars() {
            app.on_key(Key::Char(c));
        }
        let s = screen(&app, w, h);
        assert!(s.contains("shows fd=8"), "{s}");
        insta::assert_snapshot!(format!("probe_log_prompt_{w}x{h}"), s);
        app.on_key(Key::Enter);
        let s = screen(&app, w, h);
        let shown = crate::tui::panes::len(Pane::Log, &app);
        assert!(s.contains(&format!("fd=8 {shown} of ")), "{s}");
        insta::assert_snapshot!(format!("probe_log_fd8_{w}x{h}"), s);
        app.on_key(Key::Esc);
        app.on_action(Action::BackIteration);
        let s = screen(&app, w, h);
        assert!(s.contains("VIEWING THE PAST"), "{s}");
        insta::assert_snapshot!(format!("probe_log_past_{w}x{h}"), s);
    }
}

/// Past the cap, the log lets its oldest probes go and its title says so.
#[test]
fn the_probe_log_says_when_older_probes_are_gone() {
    let mut s = Script::story();
    let mut app = app_with(&s.out, true);
    app.on_key(Key::Char('L'));
    assert!(!screen(&app, 80, 24).contains("gone"));
    let fed = s.out.len();
    while app.probes.forgotten() == 0 {
        let from = s.out.len();
        s.idle();
        for m in &s.out[from..] {
            app.on_message(m.clone());
        }
    }
    assert!(s.out.len() > fed);
    let cap = crate::tui::probelog::PROBE_LOG_CAP;
    assert_eq!(crate::tui::panes::len(Pane::Log, &app), cap);
    let s = screen(&app, 100, 30);
    assert!(
        s.contains(&format!("probe log {cap} probes │ older gone")),
        "{s}"
    );
}

#[test]
fn a_header_that_leaves_its_first_parts_out_does_not_open_with_a_separator() {
    use ratatui::text::Span;
    let sep = " | ";
    let part = |text: &str| vec![Span::raw(sep), Span::raw(text.to_string())];
    let parts = vec![
        (0, vec![Span::raw(" ")]),
        (3, vec![Span::raw("loopscope ")]),
        (2, vec![Span::raw("live")]),
        (0, part("iter 2")),
        (0, part("PAUSED by the guide: a long label")),
    ];
    let text = |width| -> String {
        fit_parts(parts.clone(), width, "~", sep)
            .spans
            .iter()
            .map(|s| s.content.to_string())
            .collect()
    };
    assert_eq!(
        text(80),
        " loopscope live | iter 2 | PAUSED by the guide: a long label"
    );
    assert_eq!(text(45), " iter 2 | PAUSED by the guide: a long label");
    assert_eq!(text(30), " iter 2 | PAUSED by the guide~");
}

/// An iteration that `processEventsWhileBlocked` ran from inside the AOF
/// loader says so in the header; the loop's next own iteration does not.
#[test]
fn the_header_names_the_loader_for_an_iteration_run_from_inside_it() {
    let mut s = crate::tui::testkit::Script::story();
    s.iter += 1;
    s.ev(ProbeData::IterationBegin {});
    s.ev(ProbeData::EventsWhileBlocked {
        caller: "loadSingleAppendOnlyFile".into(),
        round: 2,
        loading: true,
        loaded_bytes: 10,
        total_bytes: 100,
    });
    s.ev(ProbeData::BeforeSleepBegin {});
    let app = app_with(&s.out, true);
    assert_eq!(
        app.frame().and_then(|f| f.while_blocked.clone()),
        Some(("loadSingleAppendOnlyFile".to_string(), 2))
    );
    let header = screen(&app, 200, 24)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        header.contains("run from loadSingleAppendOnlyFile (2/4)"),
        "{header}"
    );

    // Run from inside a command of an earlier iteration: when the inner
    // iterations are over, that iteration goes on, and is not "run from".
    let inner = s.iter;
    s.iter -= 1;
    s.ev(ProbeData::ClientConnected {
        client: 9,
        fd: 30,
        addr: "127.0.0.1:1".into(),
    });
    let app = app_with(&s.out, true);
    assert_eq!(app.frame().and_then(|f| f.while_blocked.clone()), None);
    assert_eq!(
        app.frame().map(|f| f.phase),
        Some(crate::tui::frame::Phase::FileEvents)
    );
    s.iter = inner;

    s.iter += 1;
    s.ev(ProbeData::IterationBegin {});
    let app = app_with(&s.out, true);
    assert_eq!(app.frame().and_then(|f| f.while_blocked.clone()), None);
    let header = screen(&app, 200, 24)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(!header.contains("run from"), "{header}");
}
