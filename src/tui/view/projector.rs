//! The projector preset (`V`, `--projector`): the body for a classroom.
//!
//! A projected terminal keeps its 80 or 200 columns, but the back row of a
//! room reads only what is big. So the preset shows few panes at any size,
//! each one large, and the others are a Tab away: the focused pane is always
//! on screen.
//!
//! ```text
//! guide open                              guide closed (narrower: stacked)
//! +- guide -------+ +- a step's pane -+   +- focused -----+ +- source -----+
//! | the step      | +- a step's pane -+   |               | | the code     |
//! |               | +- focused -------+   |               | |              |
//! ```
//!
//! With the guide open, it takes half the body at every width (the room
//! reads along with it), and the other half goes to the panes its step
//! names (at most [`LOOKED_AT`]; the source pane when it names none) and to
//! the focused pane when it is none of them. With the guide closed, the
//! focused pane and the source pane (or the probe log, while open) share
//! the body, side by side from [`SIDE_BY_SIDE`] columns on, one above the
//! other below; a focused source pane has all of it.
//!
//! The tables show only their essential columns ([`ESSENTIAL_RANK`]).

use ratatui::layout::{Constraint, Layout, Rect};

use super::{source_or_log, stack, with_focus};
use crate::tui::guide::Guide;
use crate::tui::panes::Pane;
use crate::tui::state::App;

/// In the preset, a table leaves out every column ranked above this
/// ([`Column::drop_rank`](crate::tui::panes::Column)) at any width, so that
/// the columns left have room to be read (`l` still scrolls to the others):
/// out go the Redis names, the clients' names, databases, ages and idle
/// times. The time events' period (rank 2) stays: chapter 9 asks the
/// learner to watch it change.
pub const ESSENTIAL_RANK: u8 = 2;

/// The most panes a step names that go beside the guide (no chapter names
/// more).
const LOOKED_AT: usize = 2;

/// From this width on, the focused pane and the code go side by side: each
/// half is then wide enough for every essential column of the widest table
/// (the events array's, with room for its peer). Below, they go one above
/// the other, so that a table keeps its columns and a line of code its end.
const SIDE_BY_SIDE: u16 = 160;

/// Where each pane goes in the body, in the preset (see the module doc).
pub fn layout(app: &App, area: Rect) -> Vec<(Pane, Rect)> {
    match app.guide.as_ref().filter(|g| g.open) {
        Some(g) => with_guide(app, g, area),
        None => without_guide(app, area),
    }
}

/// The guide on the left half, the step's panes and the focused one
/// stacked on the right.
fn with_guide(app: &App, g: &Guide, area: Rect) -> Vec<(Pane, Rect)> {
    let [guide, side] = Layout::horizontal([Constraint::Fill(1); 2]).areas(area);
    let mut looked: Vec<Pane> = g.look_panes().into_iter().take(LOOKED_AT).collect();
    if looked.is_empty() {
        // The step's anchors show there.
        looked.push(Pane::Source);
    }
    let mut out = stack(with_focus(app, looked), side);
    out.push((Pane::Guide, guide));
    out
}

/// The focused pane, and the code beside it or below it.
fn without_guide(app: &App, area: Rect) -> Vec<(Pane, Rect)> {
    let code = source_or_log(app);
    if app.focus == code {
        return vec![(code, area)];
    }
    let halves = [Constraint::Fill(1); 2];
    let [focused, beside] = if area.width >= SIDE_BY_SIDE {
        Layout::horizontal(halves)
    } else {
        Layout::vertical(halves)
    }
    .areas(area);
    vec![(app.focus, focused), (code, beside)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::guide::tests::{guided, walk_of};
    use crate::tui::keys::{Action, Key};
    use crate::tui::testkit::{Script, app_with};
    use crate::walkthrough::Progress;

    /// The body of an 80x24 screen (below the header, above the status
    /// line and the footer).
    const BODY: Rect = Rect::new(0, 3, 80, 19);

    /// `app` in the preset, with the focus on `focus`.
    fn projected(mut app: App, focus: Pane) -> App {
        app.on_key(Key::Char('V'));
        app.focus = focus;
        app
    }

    fn panes(out: &[(Pane, Rect)]) -> Vec<Pane> {
        out.iter().map(|(p, _)| *p).collect()
    }

    #[test]
    fn with_the_guide_the_step_s_panes_beside_it() {
        // The test chapter's first step names the events and fired panes.
        let app = projected(guided(Progress::in_memory(), None), Pane::Guide);
        let out = layout(&app, BODY);
        assert_eq!(panes(&out), [Pane::Events, Pane::Fired, Pane::Guide]);
        // The guide on the left half, the two panes stacked on the right.
        assert_eq!(out[2].1, Rect::new(0, 3, 40, 19));
        assert_eq!(out[0].1, Rect::new(40, 3, 40, 10));
        assert_eq!(out[1].1, Rect::new(40, 13, 40, 9));
    }

    #[test]
    fn with_the_guide_the_focused_pane_joins_the_step_s() {
        let app = projected(guided(Progress::in_memory(), None), Pane::Clients);
        let out = layout(&app, BODY);
        assert_eq!(
            panes(&out),
            [Pane::Events, Pane::Fired, Pane::Clients, Pane::Guide]
        );
        // A pane the step names is not shown twice.
        let app = projected(guided(Progress::in_memory(), None), Pane::Fired);
        assert_eq!(
            panes(&layout(&app, BODY)),
            [Pane::Events, Pane::Fired, Pane::Guide]
        );
    }

    #[test]
    fn a_step_that_names_no_pane_gets_the_source_pane() {
        let chapter = "---
id: t
title: T
summary: S.
minutes: 1
---
Intro.

## Look up
look: header

The iteration count, up there.
";
        let mut app = app_with(&Script::start().out, true);
        app.guide = Some(Guide::new(walk_of(chapter, Progress::in_memory()), None));
        app.on_key(Key::Char('g'));
        let app = projected(app, Pane::Guide);
        assert_eq!(panes(&layout(&app, BODY)), [Pane::Source, Pane::Guide]);
    }

    #[test]
    fn without_the_guide_the_focused_pane_and_the_code() {
        let app = projected(app_with(&Script::story().out, true), Pane::Flow);
        // Above it, at 80 columns...
        assert_eq!(
            layout(&app, BODY),
            [
                (Pane::Flow, Rect::new(0, 3, 80, 10)),
                (Pane::Source, Rect::new(0, 13, 80, 9))
            ]
        );
        // ...beside it, on a wide screen.
        assert_eq!(
            layout(&app, Rect::new(0, 3, 200, 45)),
            [
                (Pane::Flow, Rect::new(0, 3, 100, 45)),
                (Pane::Source, Rect::new(100, 3, 100, 45))
            ]
        );
        // The source pane focused has the whole body.
        let app = projected(app_with(&Script::story().out, true), Pane::Source);
        assert_eq!(layout(&app, BODY), [(Pane::Source, BODY)]);
        // The probe log, open, is the code's place.
        let mut app = projected(app_with(&Script::story().out, true), Pane::Events);
        app.on_action(Action::ProbeLog);
        app.focus = Pane::Clients;
        assert_eq!(panes(&layout(&app, BODY)), [Pane::Clients, Pane::Log]);
    }

    #[test]
    fn tab_shows_every_pane_in_turn() {
        let mut app = projected(app_with(&Script::story().out, true), Pane::Events);
        let mut seen = Vec::new();
        for _ in 0..Pane::ALL.len() {
            app.on_action(Action::FocusNext);
            assert!(panes(&layout(&app, BODY)).contains(&app.focus));
            seen.push(app.focus);
        }
        for pane in [Pane::Events, Pane::Fired, Pane::Clients, Pane::Activity] {
            assert!(seen.contains(&pane), "{pane:?} never shown: {seen:?}");
        }
    }

    #[test]
    fn zoom_still_fills_the_body() {
        let mut app = projected(app_with(&Script::story().out, true), Pane::Timers);
        app.on_key(Key::Char('z'));
        assert_eq!(super::super::layout(&app, BODY), [(Pane::Timers, BODY)]);
    }

    /// Every step of every chapter, at every size, whatever has the focus:
    /// the panes the step names are on screen (the text never points at a
    /// pane that is not there), so is the focused pane, and no two panes
    /// overlap.
    #[test]
    fn every_chapter_step_s_panes_are_on_screen_at_every_size() {
        use crate::walkthrough::Walkthrough;
        use crate::walkthrough::load::{Origin, load};
        let walk = Walkthrough::with_progress(load(&Origin::Embedded), Progress::in_memory());
        let mut app = app_with(&Script::story().out, true);
        app.guide = Some(Guide::new(walk, None));
        app.on_key(Key::Char('g'));
        app.on_key(Key::Char('V'));
        let at = |app: &App| app.guide.as_ref().and_then(|g| g.walk.position());
        assert_eq!(at(&app).map(|p| (p.chapter, p.step)), Some((0, 0)));
        let mut steps = 0;
        loop {
            let look = app
                .guide
                .as_ref()
                .map(Guide::look_panes)
                .unwrap_or_default();
            assert!(look.len() <= LOOKED_AT, "a step names {look:?}");
            for (w, h) in super::super::tests::SIZES {
                let body = Rect::new(0, 3, w, h - 5);
                for focus in Pane::ALL.into_iter().filter(|p| *p != Pane::Log) {
                    app.focus = focus;
                    let out = layout(&app, body);
                    let shown = panes(&out);
                    for p in look.iter().chain([&focus]) {
                        assert!(shown.contains(p), "{w}x{h} {p:?} missing: {shown:?}");
                    }
                    for (i, (_, a)) in out.iter().enumerate() {
                        assert!(body.intersection(*a) == *a && a.height >= 4, "{a:?}");
                        for (_, b) in &out[i + 1..] {
                            assert!(!a.intersects(*b), "{w}x{h} {shown:?}");
                        }
                    }
                }
            }
            steps += 1;
            if !app.guide.as_mut().expect("the guide").next_step() {
                break;
            }
        }
        assert!(steps > 30, "only {steps} steps");
    }
}
