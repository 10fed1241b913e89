//! The guide pane: the open chapter's current step, as the learner reads it:
//! its prose, then what to look at, what to do, what the loop will do (ticked
//! off as it happens), the places in the code, further reading, and what the
//! last command sent got back.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use super::link::{self, link_url};
use super::table::pane_block;
use super::text::{markdown, wrap};
use crate::server::DEFAULT_PORT;
use crate::tui::guide::Guide;
use crate::tui::panes::Pane;
use crate::tui::state::App;
use crate::tui::theme::Theme;
use crate::walkthrough::chapter::prose_for_port;

pub struct GuideView<'a> {
    pub app: &'a App,
}

impl Widget for GuideView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = &app.theme;
        let Some(g) = app.guide.as_ref() else {
            return;
        };
        let w = &g.walk;
        let extra = match (w.position(), w.current_chapter()) {
            (Some(p), Some(c)) => format!(
                "chapter {}/{} {} step {}/{}",
                p.chapter + 1,
                w.chapters().len(),
                t.glyphs.sep,
                p.step + 1,
                c.steps.len()
            ),
            _ => String::new(),
        };
        let block = pane_block(app, Pane::Guide, &extra);
        let inner = block.inner(area);
        let lines = guide_lines(app, g, usize::from(inner.width));
        let max = lines.len().saturating_sub(usize::from(inner.height));
        g.set_max_scroll(max);
        let scroll = g.scroll.min(max);
        // Say when the step goes on below the pane; that comes before the
        // key hints, which shorten or give way so the two never overlap.
        let more = (scroll < max).then_some(if app.focus == Pane::Guide {
            " down: more "
        } else {
            " more: Tab here, down "
        });
        let room = usize::from(area.width).saturating_sub(2 + more.map_or(0, str::len));
        let keys = [
            " , prev  . next  t send  a code  o chapters ",
            " ,/. steps  t send  o list ",
        ]
        .into_iter()
        .find(|k| k.len() < room);
        let mut block = block;
        if let Some(how) = more {
            block = block.title_bottom(Line::styled(how, t.key()).left_aligned());
        }
        if let Some(keys) = keys {
            block = block.title_bottom(Line::styled(keys, t.dim()).right_aligned());
        }
        block.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
        Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
        if link::enabled(app)
            && let Some(step) = g.walk.current_step()
        {
            for l in &step.links {
                link_url(buf, inner, &l.url);
            }
        }
    }
}

/// `label  text`, wrapped under the text.
fn field(t: &Theme, label: &str, pieces: Vec<(Style, String)>, width: usize) -> Vec<Line<'static>> {
    let mut all = vec![(t.key(), format!("{label:<6}"))];
    all.extend(pieces);
    wrap(&all, width, 7)
}

fn guide_lines(app: &App, g: &Guide, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let w = &g.walk;
    let plain = Style::new();
    let mut out = Vec::new();
    let warn = |out: &mut Vec<Line<'static>>, text: String| {
        out.extend(wrap(&[(t.alert(), format!("! {text}"))], width, 2));
    };
    if let Some(first) = w.diagnostics().first() {
        let more = match w.diagnostics().len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more: `loopscope chapters --check` lists them)"),
        };
        warn(&mut out, format!("a chapter was left out: {first}{more}"));
    }
    if let Some(e) = w.save_error().or(w.progress().warning()) {
        warn(&mut out, e.to_string());
    }
    let (Some(pos), Some(chapter), Some(step)) =
        (w.position(), w.current_chapter(), w.current_step())
    else {
        out.push(Line::styled(
            "No chapter is open: . starts one, o lists them.",
            t.dim(),
        ));
        return out;
    };
    out.extend(wrap(
        &[(t.title(), format!("{}. {}", pos.chapter + 1, chapter.title))],
        width,
        3,
    ));
    let done = w.is_done(pos.step);
    let mark = if done {
        t.glyphs.done
    } else {
        t.glyphs.current
    };
    out.extend(wrap(
        &[
            (
                if done { t.current() } else { t.key() },
                format!("{mark} Step {}:", pos.step + 1),
            ),
            (t.header_row(), format!(" {}", step.title)),
        ],
        width,
        2,
    ));
    out.push(Line::raw(""));
    let port = app.hello.as_ref().map_or(DEFAULT_PORT, |h| h.port);
    out.extend(markdown(&prose_for_port(&step.text, port), t, width));
    out.push(Line::raw(""));
    let look: Vec<&str> = step.look.iter().map(|p| p.name()).collect();
    if !look.is_empty() {
        out.extend(field(t, "look", vec![(plain, look.join(", "))], width));
    }
    if let Some((from, action)) = w.current_action_from() {
        let how = match (g.server_host.is_some(), from == pos.step) {
            (true, true) => "  (t sends it, or type it in redis-cli)".to_string(),
            (true, false) => format!("  (step {}'s command: t sends it again)", from + 1),
            (false, _) => "  (a replay: it was sent when this was recorded)".to_string(),
        };
        out.extend(field(
            t,
            "do",
            vec![(t.title(), action.to_string()), (t.dim(), how)],
            width,
        ));
    }
    if let Some(r) = &g.last_reply {
        out.extend(field(t, "reply", vec![(t.current(), r.clone())], width));
    }
    let met = w.current_wait_progress().map_or(0, |(m, _)| m);
    for (i, c) in step.wait.conditions.iter().enumerate() {
        let (mark, style) = if done || i < met {
            (t.glyphs.done, t.current())
        } else {
            (" ", plain)
        };
        let label = if i == 0 { "wait" } else { "" };
        out.extend(field(
            t,
            label,
            vec![(style, format!("{mark} {}", c.text))],
            width,
        ));
    }
    if step.pause {
        out.extend(field(
            t,
            "then",
            vec![(plain, "the loop stops right there, so you can look".into())],
            width,
        ));
    }
    let shown = app.code.pin.as_deref();
    for (i, a) in step.anchors.iter().enumerate() {
        let mark = if shown == Some(a.name.as_str()) {
            t.glyphs.current
        } else {
            " "
        };
        let mut pieces = vec![(t.title(), format!("{mark} {}", a.name))];
        if !a.note.is_empty() {
            pieces.push((plain, format!(" {} {}", t.glyphs.arrow, a.note)));
        }
        out.extend(field(t, if i == 0 { "code" } else { "" }, pieces, width));
    }
    for l in &step.links {
        out.extend(field(
            t,
            "read",
            vec![(plain, l.label.clone()), (t.dim(), format!(" {}", l.url))],
            width,
        ));
    }
    out
}
