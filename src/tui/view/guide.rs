//! The guide pane: the open chapter's current step, as the learner reads it:
//! how far along the chapter they are, its prose (on the first step after
//! the chapter's introduction), then what to look at, what to do, what the
//! loop will do (ticked off as it happens, or a note that it already did
//! before the step opened), the places in the code, further reading, what
//! the last command sent got back, and after the last step the chapter's
//! summary and what comes next.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use super::link::{self, link_url};
use super::table::pane_block;
use super::text::{markdown, wrap};
use crate::server::DEFAULT_PORT;
use crate::source::REDIS_7_0_15;
use crate::tui::guide::Guide;
use crate::tui::panes::{Pane, plural};
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
        let following = if g.class.following { "following " } else { "" };
        let extra = match (w.position(), w.current_chapter()) {
            (Some(p), Some(c)) => format!(
                "{following}chapter {}/{} {} step {}/{}",
                p.chapter + 1,
                w.chapters().len(),
                t.glyphs.sep,
                p.step + 1,
                c.steps.len()
            ),
            _ => following.trim_end().to_string(),
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
        let keys = match g.class.following {
            true => [" F your own way  a code ", " F own way "],
            false => [
                " , prev  . next  t send  a code  o chapters ",
                " ,/. steps  t send  o list ",
            ],
        };
        let keys = keys.into_iter().find(|k| k.len() < room);
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
        let empty = match g.class.following {
            true => {
                "Following the class: the leader has not opened a chapter yet. F: your own way."
            }
            false => "No chapter is open: . starts one, o lists them.",
        };
        out.extend(wrap(&[(t.dim(), empty.to_string())], width, 0));
        return out;
    };
    out.extend(wrap(
        &[(t.title(), format!("{}. {}", pos.chapter + 1, chapter.title))],
        width,
        3,
    ));
    out.extend(progress_line(g, pos.chapter, pos.step, t, width));
    let port = app.hello.as_ref().map_or(DEFAULT_PORT, |h| h.port);
    if pos.step == 0 && !chapter.intro.is_empty() {
        out.push(Line::raw(""));
        out.extend(wrap(&[(t.dim(), chapter.summary.clone())], width, 0));
        out.push(Line::raw(""));
        out.extend(markdown(&prose_for_port(&chapter.intro, port), t, width));
    }
    out.push(Line::raw(""));
    let done = g.step_done(pos.step);
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
    out.extend(markdown(&prose_for_port(&step.text, port), t, width));
    out.push(Line::raw(""));
    let look: Vec<&str> = step.look.iter().map(|p| p.name()).collect();
    if !look.is_empty() {
        out.extend(field(t, "look", vec![(plain, look.join(", "))], width));
    }
    if let Some((from, action)) = w.current_action_from() {
        let mut how = match (g.server_host.is_some(), from == pos.step) {
            _ if g.class.following => "  (the leader's guide sends it)".to_string(),
            (true, true) => "  (t sends it, or type it in redis-cli)".to_string(),
            (true, false) => format!("  (step {}'s command: t sends it again)", from + 1),
            (false, _) => "  (a replay: it was sent when this was recorded)".to_string(),
        };
        if g.server_host.is_some() && app.loop_paused() && !done && !g.class.following {
            how.push_str(" then c: the loop is paused");
        }
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
    if let Some(seen) = w.earlier().filter(|_| !done) {
        out.extend(field(
            t,
            "seen",
            vec![(
                t.alert(),
                format!(
                    "this already happened at iteration {}, before you got here: e shows it in \
                     history; the step waits for the next time",
                    seen.iter
                ),
            )],
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
            vec![
                (plain, l.label.clone()),
                (t.dim(), format!(" {}", shown_url(&l.url))),
            ],
            width,
        ));
    }
    if pos.step + 1 == chapter.steps.len() {
        out.extend(chapter_end(g, pos.chapter, t, width));
    }
    out
}

/// How a step's link reads in the pane. A Redis permalink is shown by what
/// it points at (`Redis 7.0.15 src/ae.c#L493-L500`): the whole URL, with its
/// 40-digit commit, would wrap over lines without telling more. The text is
/// still a hyperlink to the whole URL, and `y` shows the URL itself.
fn shown_url(url: &str) -> String {
    let pinned = format!("https://github.com/redis/redis/blob/{REDIS_7_0_15}/");
    match url.strip_prefix(&pinned) {
        Some(place) => format!("Redis 7.0.15 {place}"),
        None => url.to_string(),
    }
}

/// `steps ✓✓▶--  2 of 5 done`: one mark per step of the chapter.
fn progress_line(
    g: &Guide,
    chapter: usize,
    current: usize,
    t: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let (done, total) = g.progress_of(chapter);
    let marks: String = (0..total)
        .map(|i| match (g.step_done(i), i == current) {
            (true, _) => t.glyphs.done,
            (false, true) => t.glyphs.current,
            (false, false) => "-",
        })
        .collect();
    field(
        t,
        "steps",
        vec![
            (t.current(), marks),
            (t.dim(), format!("  {done} of {total} done")),
        ],
        width,
    )
}

/// After the last step: the chapter's summary, and where to go next.
fn chapter_end(g: &Guide, chapter: usize, t: &Theme, width: usize) -> Vec<Line<'static>> {
    let w = &g.walk;
    let Some(c) = w.chapters().get(chapter) else {
        return Vec::new();
    };
    let (done, total) = g.progress_of(chapter);
    let mut out = vec![Line::raw("")];
    let head = match done == total {
        true => format!("{} End of chapter {}: all done", t.glyphs.done, chapter + 1),
        false => format!(
            "End of chapter {}: {done} of {} done",
            chapter + 1,
            plural(total as u64, "step")
        ),
    };
    out.extend(wrap(&[(t.title(), head)], width, 0));
    out.extend(wrap(&[(Style::new(), c.summary.clone())], width, 0));
    let next = match w.chapters().get(chapter + 1) {
        Some(n) => format!(". opens chapter {}: {}", chapter + 2, n.title),
        None => "That was the last chapter. o lists them all.".into(),
    };
    out.extend(wrap(&[(t.dim(), next)], width, 0));
    out
}
