//! The activity pane: sparklines of what recent iterations did, because
//! people would rather look than read. One bar per iteration, newest on the
//! right: fired entries, commands run, and how busy the loop was (the share
//! of the iteration not spent sleeping in poll).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use super::table::pane_block;
use crate::tui::logs::IterStats;
use crate::tui::panes::Pane;
use crate::tui::state::App;

/// Width of the label before each sparkline.
const LABEL: u16 = 11;

pub struct ActivityView<'a> {
    pub app: &'a App,
}

type Series = (&'static str, fn(&IterStats) -> u64);

/// The series, most telling first: a short pane shows the first ones only.
const SERIES: [Series; 3] = [
    ("fired", |s| u64::from(s.fired)),
    ("cmds", |s| u64::from(s.commands)),
    ("busy%", |s| {
        s.busy_us()
            .saturating_mul(100)
            .checked_div(s.active_us())
            .unwrap_or(0)
    }),
];

impl Widget for ActivityView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = &app.theme;
        let n = app.activity.count_upto(app.visible_seq());
        let block = pane_block(
            app,
            Pane::Activity,
            &format!("last {} iterations", n.min(usize::from(area.width))),
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
        let bars = usize::from(inner.width - LABEL);
        let stats: Vec<&IterStats> = app.activity.range(n.saturating_sub(bars), n).collect();
        let shown = SERIES.len().min(usize::from(inner.height));
        let rows = Layout::vertical(vec![Constraint::Fill(1); shown]).split(inner);
        for (i, ((name, value), row)) in SERIES.iter().zip(rows.iter()).enumerate() {
            let data: Vec<u64> = stats.iter().map(|s| value(s)).collect();
            let max = data.iter().copied().max().unwrap_or(0);
            let [label, chart] =
                Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(*row);
            Paragraph::new(format!("{name}:{max}"))
                .style(t.title())
                .render(label, buf);
            Sparkline::default()
                .data(data)
                .max(max.max(1))
                .bar_set(t.glyphs.bars.clone())
                .style(if i % 2 == 0 { t.chart() } else { t.chart_alt() })
                .render(chart, buf);
        }
    }
}
