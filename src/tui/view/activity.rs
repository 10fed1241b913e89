//! The activity pane: sparklines of what recent iterations did, because
//! people would rather look than read, and numbers, because a learner asked
//! "how long was that?" wants one. One bar per iteration, newest on the
//! right: fired entries, commands run, busy time (the iteration without its
//! sleep in poll and without pauses) and its share of the iteration. Under
//! the bars, the busiest recent iterations by name, each a way into history.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use super::table::pane_block;
use crate::tui::logs::IterStats;
use crate::tui::panes::{Pane, plural};
use crate::tui::state::App;
use crate::tui::theme::Theme;

/// Width of the label before each sparkline.
const LABEL: u16 = 11;

pub struct ActivityView<'a> {
    pub app: &'a App,
}

/// A series: its name, its value for one iteration, and how its largest
/// value reads in the label.
type Series = (
    &'static str,
    fn(&IterStats) -> u64,
    fn(u64, &Theme) -> String,
);

/// The series, most telling first: a short pane shows the first ones only.
const SERIES: [Series; 4] = [
    ("fired", |s| u64::from(s.fired), |n, _| n.to_string()),
    ("cmds", |s| u64::from(s.commands), |n, _| n.to_string()),
    ("busy", IterStats::busy_us, |us, t| t.duration(us)),
    (
        "busy%",
        |s| {
            s.busy_us()
                .saturating_mul(100)
                .checked_div(s.active_us())
                .unwrap_or(0)
        },
        |n, _| n.to_string(),
    ),
];

impl Widget for ActivityView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = &app.theme;
        let n = app.activity.count_upto(app.visible_seq());
        let block = pane_block(
            app,
            Pane::Activity,
            &format!(
                "last {}",
                plural(n.min(usize::from(area.width)) as u64, "iteration")
            ),
        );
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 || inner.width <= LABEL {
            return;
        }
        if n == 0 {
            Paragraph::new(Line::styled("(no iteration finished yet)", t.dim())).render(inner, buf);
            return;
        }
        let slowest = app.slowest_iterations();
        // Every series first; the list gets the rows below them, if they
        // hold its heading and at least one iteration.
        let height = usize::from(inner.height);
        let list_rows = match height.saturating_sub(SERIES.len()).min(slowest.len() + 1) {
            0 | 1 => 0,
            rows => rows,
        };
        let bar_rows = height - list_rows;
        let [bars_area, list_area] = Layout::vertical([
            Constraint::Length(bar_rows as u16),
            Constraint::Length(list_rows as u16),
        ])
        .areas(inner);
        draw_bars(app, n, bars_area, bar_rows.min(SERIES.len()), buf);
        draw_slowest(app, &slowest, list_area, buf);
    }
}

fn draw_bars(app: &App, n: usize, area: Rect, shown: usize, buf: &mut Buffer) {
    let t = &app.theme;
    let bars = usize::from(area.width.saturating_sub(LABEL));
    let stats: Vec<&IterStats> = app.activity.range(n.saturating_sub(bars), n).collect();
    let rows = Layout::vertical(vec![Constraint::Fill(1); shown]).split(area);
    for (i, ((name, value, label), row)) in SERIES.iter().zip(rows.iter()).enumerate() {
        let data: Vec<u64> = stats.iter().map(|s| value(s)).collect();
        let max = data.iter().copied().max().unwrap_or(0);
        let [label_area, chart] =
            Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(*row);
        Paragraph::new(format!("{name}:{}", label(max, t)))
            .style(t.title())
            .render(label_area, buf);
        Sparkline::default()
            .data(data)
            .max(max.max(1))
            .bar_set(t.glyphs.bars.clone())
            .style(if i % 2 == 0 { t.chart() } else { t.chart_alt() })
            .render(chart, buf);
    }
}

/// The busiest iterations, one a line: the selected one is marked, and
/// Enter travels there (see `App::slowest_iterations`).
fn draw_slowest(app: &App, slowest: &[&IterStats], area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let selected = app.pane(Pane::Activity).selected;
    let mut lines = vec![Line::styled(
        "busiest recent iterations (Enter travels there):",
        t.title(),
    )];
    for (i, s) in slowest.iter().enumerate() {
        let mark = if selected == Some(i) {
            t.glyphs.current
        } else {
            " "
        };
        let text = format!(
            "{mark}iter {:<7} busy {:>8}  {}  {}{}",
            s.iter,
            t.duration(s.busy_us()),
            plural(u64::from(s.commands), "cmd"),
            plural(u64::from(s.time_events), "timer"),
            match s.paused_us {
                0 => String::new(),
                p => format!("  ({} paused)", t.duration(p)),
            }
        );
        let style = if selected == Some(i) {
            t.current()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::from(Span::styled(text, style)));
    }
    Paragraph::new(lines).render(area, buf);
}
