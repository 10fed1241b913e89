//! The key table: the one place that says which key does what.
//!
//! The footer, the `?` help overlay and the input handler all read [`BINDINGS`],
//! so a key can never do one thing and be documented as another. A binding
//! belongs to a [`Mode`] (what has the keyboard: the panes, the help, a
//! details popup, the breakpoints list, a text prompt) and maps to an
//! [`Action`], a plain value the state handles; nothing here knows about
//! terminals beyond turning a crossterm key event into a [`Key`].

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::trace::model::StepUnit;

/// A key, as the table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

impl Key {
    /// The key of a crossterm event, or `None` for releases, repeats of
    /// releases and keys the UI has no use for.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        // Windows reports releases too; acting on them would do everything twice.
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        Some(match ev.code {
            KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
            KeyCode::Tab => Key::Tab,
            KeyCode::BackTab => Key::BackTab,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Delete => Key::Delete,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            _ => return None,
        })
    }
}

/// Who has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The panes.
    Normal,
    /// The `?` overlay.
    Help,
    /// The details of one row.
    Details,
    /// The breakpoints list.
    Breakpoints,
    /// Typing a new breakpoint.
    Prompt,
    /// Typing the probe log's filter.
    LogFilter,
    /// The guide's chapter list.
    Chapters,
    /// The URLs on screen, each on lines of its own.
    Links,
}

/// Everything a key can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run the loop to the next probe of this unit (or, in the past, move there).
    Step(StepUnit),
    Continue,
    Pause,
    Play,
    Faster,
    Slower,
    /// One recorded probe back / forward.
    Back,
    Forward,
    /// One recorded iteration back / forward.
    BackIteration,
    ForwardIteration,
    /// The oldest recorded state / the live state.
    Oldest,
    Live,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Details,
    /// The source pane full screen, and back.
    Zoom,
    /// The focused pane full screen, and back.
    ZoomFocused,
    /// The projector preset (few, large panes), and back.
    Projector,
    /// The source pane: Redis's function beside ours, instead of ours, or not.
    RedisView,
    Help,
    Breakpoints,
    /// Close the topmost popup.
    Close,
    Quit,
    BreakAdd,
    BreakToggle,
    BreakRemove,
    /// In the prompt: accept what was typed.
    Submit,
    /// The guide pane, open or closed.
    Guide,
    NextStep,
    PrevStep,
    /// Send the step's action with the built-in client.
    SendAction,
    /// Follow the class's leader (the viewer in control), or stop.
    Follow,
    /// Travel to where the step's moment happened before it opened.
    GuideEarlier,
    /// Show the step's next anchor in the source pane.
    NextAnchor,
    /// The chapter list.
    ChapterList,
    /// In the chapter list: open the selected chapter.
    OpenChapter,
    /// Attached: take control of the loop, hand it back, or wait for it.
    TakeControl,
    /// The URLs on screen, alone, to click or copy.
    Links,
    /// The probe log pane, open or closed.
    ProbeLog,
    /// Type a filter for the probe log.
    LogFilter,
    /// Show every probe in the log again.
    ClearLogFilter,
}

/// One line of the key table.
pub struct Binding {
    pub mode: Mode,
    pub keys: &'static [Key],
    /// How the footer and the help write the keys ("space/n").
    pub label: &'static str,
    pub action: Action,
    /// What it does, for the help overlay.
    pub help: &'static str,
    /// Whether and how the footer shows it.
    pub footer: Footer,
}

/// A binding's place in the footer. The footer shows the key (the label up to
/// its first `/`) and a word; when the terminal is narrow, only the
/// [`Footer::Always`] ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Footer {
    No,
    Always(&'static str),
    Wide(&'static str),
}

impl Binding {
    /// The key as the footer writes it: `n` for `n/space`.
    pub fn short_label(&self) -> &'static str {
        self.label.split('/').next().unwrap_or(self.label)
    }
}

use Action as A;
use Key as K;
use Mode as M;

const fn b(
    mode: Mode,
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    help: &'static str,
    footer: Footer,
) -> Binding {
    Binding {
        mode,
        keys,
        label,
        action,
        help,
        footer,
    }
}

/// The key table. Order matters twice: the first binding that matches a key
/// wins, and the footer and the help list bindings in this order.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(M::Normal, &[K::Char(' '), K::Char('n')], "n/space", A::Step(StepUnit::Probe),
      "step: run the loop to its next probe (in the past: move one probe forward)", Footer::Always("step")),
    b(M::Normal, &[K::Char('f')], "f", A::Step(StepUnit::FileEvent),
      "run to the next file event the loop dispatches", Footer::Always("file")),
    b(M::Normal, &[K::Char('i'), K::Char('N')], "i/N", A::Step(StepUnit::Iteration),
      "run to the start of the next loop iteration", Footer::Always("iter")),
    b(M::Normal, &[K::Char('c')], "c", A::Continue,
      "continue: let the loop run freely (breakpoints still stop it)", Footer::Always("cont")),
    b(M::Normal, &[K::Char('p')], "p", A::Pause, "pause the loop at its next probe", Footer::Wide("pause")),
    b(M::Normal, &[K::Char('P')], "P", A::Play,
      "play: run one iteration, wait, run the next ... (speed with + and -)", Footer::Always("play")),
    b(M::Normal, &[K::Char('+'), K::Char('=')], "+", A::Faster, "play faster (shorter wait between iterations)", Footer::No),
    b(M::Normal, &[K::Char('-'), K::Char('_')], "-", A::Slower, "play slower (longer wait between iterations)", Footer::No),
    b(M::Normal, &[K::Char('[')], "[", A::Back,
      "history: one probe back (shows what was recorded; nothing runs again)", Footer::Wide("back")),
    b(M::Normal, &[K::Char(']')], "]", A::Forward, "history: one probe forward", Footer::Wide("fwd")),
    b(M::Normal, &[K::Char('{')], "{", A::BackIteration, "history: one iteration back", Footer::No),
    b(M::Normal, &[K::Char('}')], "}", A::ForwardIteration, "history: one iteration forward", Footer::No),
    b(M::Normal, &[K::Home], "Home", A::Oldest, "history: the oldest recorded state", Footer::No),
    b(M::Normal, &[K::End], "End", A::Live, "back to the live state (follow the loop)", Footer::Wide("live")),
    b(M::Normal, &[K::Tab], "Tab", A::FocusNext, "focus the next pane", Footer::No),
    b(M::Normal, &[K::BackTab], "S-Tab", A::FocusPrev, "focus the previous pane", Footer::No),
    b(M::Normal, &[K::Up, K::Char('k')], "up/k", A::Up, "select the row above in the focused pane", Footer::No),
    b(M::Normal, &[K::Down, K::Char('j')], "down/j", A::Down, "select the row below in the focused pane", Footer::No),
    b(M::Normal, &[K::Left, K::Char('h')], "left/h", A::Left, "scroll the focused pane left", Footer::No),
    b(M::Normal, &[K::Right, K::Char('l')], "right/l", A::Right, "scroll the focused pane right", Footer::No),
    b(M::Normal, &[K::PageUp], "PgUp", A::PageUp, "one page up in the focused pane", Footer::No),
    b(M::Normal, &[K::PageDown], "PgDn", A::PageDown, "one page down in the focused pane", Footer::No),
    b(M::Normal, &[K::Enter], "Enter", A::Details, "details of the selected row", Footer::No),
    b(M::Normal, &[K::Char('s')], "s", A::Zoom,
      "the source pane full screen, and back (up/down then scroll it)", Footer::Always("code")),
    b(M::Normal, &[K::Char('z')], "z", A::ZoomFocused,
      "the focused pane full screen, and back (Tab leaves it)", Footer::Wide("zoom")),
    b(M::Normal, &[K::Char('V')], "V", A::Projector,
      "projector preset: few, large panes with only their essential columns, to read from the back of a room (--projector starts in it; again: the usual layout)",
      Footer::No),
    b(M::Normal, &[K::Char('r')], "r", A::RedisView,
      "with --redis-src: Redis's own function beside ours (wide pane) or instead of ours (narrow), and back", Footer::No),
    b(M::Normal, &[K::Char('g')], "g", A::Guide,
      "the guide: chapters that explain the loop step by step, waiting for it to do each thing (open, close)",
      Footer::Always("guide")),
    b(M::Normal, &[K::Char('.'), K::Char('>')], ".", A::NextStep, "guide: the next step", Footer::No),
    b(M::Normal, &[K::Char(','), K::Char('<')], ",", A::PrevStep, "guide: the previous step", Footer::No),
    b(M::Normal, &[K::Char('t')], "t", A::SendAction,
      "guide: send the step's command to the server with loopscope's own client (as if typed in redis-cli)",
      Footer::No),
    b(M::Normal, &[K::Char('e')], "e", A::GuideEarlier,
      "guide: when a step's moment already went by before you got to it, see it in history", Footer::No),
    b(M::Normal, &[K::Char('a')], "a", A::NextAnchor,
      "guide: show the step's next place in the code in the source pane", Footer::No),
    b(M::Normal, &[K::Char('o')], "o", A::ChapterList, "guide: the chapters, with your progress", Footer::No),
    b(M::Normal, &[K::Char('F')], "F", A::Follow,
      "guide, in a class: follow the chapter and step of the viewer in control (attach --follow starts so), or go your own way (again)",
      Footer::No),
    b(M::Normal, &[K::Char('T')], "T", A::TakeControl,
      "attached: take control of the loop if nobody has it, or hand it back; while another viewer has it, wait and take it when they let go (again: stop waiting)",
      Footer::Wide("control")),
    b(M::Normal, &[K::Char('y')], "y", A::Links,
      "the links on screen (the guide step's, the source pane's permalink) alone on a clear screen, to click or select and copy",
      Footer::Wide("links")),
    b(M::Normal, &[K::Char('L')], "L", A::ProbeLog,
      "the probe log: every recent probe, up to the moment on screen, in the source pane's place (again: close it)",
      Footer::Wide("log")),
    b(M::Normal, &[K::Char('/')], "/", A::LogFilter,
      "probe log: filter it by a probe kind (command), fd=N, client=N, or text found in the names", Footer::No),
    b(M::Normal, &[K::Esc], "Esc", A::ClearLogFilter, "probe log: clear its filter", Footer::No),
    b(M::Normal, &[K::Char('b')], "b", A::Breakpoints, "breakpoints: add, list, toggle, remove", Footer::Wide("brk")),
    b(M::Normal, &[K::Char('?')], "?", A::Help, "this help: every key, every column", Footer::Always("help")),
    b(M::Normal, &[K::Char('q'), K::Ctrl('c')], "q", A::Quit, "quit (a paused tour server stops with it)", Footer::Always("quit")),
    b(M::Help, &[K::Up, K::Char('k')], "up/k", A::Up, "scroll up", Footer::No),
    b(M::Help, &[K::Down, K::Char('j')], "down/j", A::Down, "scroll down", Footer::Always("scroll")),
    b(M::Help, &[K::PageUp], "PgUp", A::PageUp, "one page up", Footer::No),
    b(M::Help, &[K::PageDown, K::Char(' ')], "PgDn", A::PageDown, "one page down", Footer::No),
    b(M::Help, &[K::Esc, K::Char('?'), K::Char('q')], "Esc/?", A::Close, "close the help", Footer::Always("close")),
    b(M::Help, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
    b(M::Details, &[K::Esc, K::Enter, K::Char('q')], "Esc", A::Close, "close the details", Footer::Always("close")),
    b(M::Details, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
    b(M::Breakpoints, &[K::Char('a')], "a", A::BreakAdd,
      "add: type `command set`, `fd 8`, `handler readQueryFromClient`, `kind poll_return` or `key user:*`", Footer::Always("add")),
    b(M::Breakpoints, &[K::Char(' '), K::Char('t')], "t/space", A::BreakToggle,
      "enable or disable the selected breakpoint", Footer::Always("toggle")),
    b(M::Breakpoints, &[K::Char('d'), K::Delete, K::Char('x')], "d/Del", A::BreakRemove,
      "remove the selected breakpoint", Footer::Always("remove")),
    b(M::Breakpoints, &[K::Up, K::Char('k')], "up/k", A::Up, "select the breakpoint above", Footer::No),
    b(M::Breakpoints, &[K::Down, K::Char('j')], "down/j", A::Down, "select the breakpoint below", Footer::No),
    b(M::Breakpoints, &[K::Esc, K::Char('b'), K::Char('q')], "Esc/b", A::Close, "close the list", Footer::Always("close")),
    b(M::Breakpoints, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
    b(M::Prompt, &[K::Enter], "Enter", A::Submit, "add the breakpoint typed", Footer::Always("add")),
    b(M::Prompt, &[K::Esc], "Esc", A::Close, "cancel", Footer::Always("cancel")),
    b(M::Prompt, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
    b(M::LogFilter, &[K::Enter], "Enter", A::Submit,
      "filter the log with what was typed (nothing typed: show every probe)", Footer::Always("filter")),
    b(M::LogFilter, &[K::Esc], "Esc", A::Close, "cancel", Footer::Always("cancel")),
    b(M::LogFilter, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
    b(M::Chapters, &[K::Up, K::Char('k')], "up/k", A::Up, "select the chapter above", Footer::No),
    b(M::Chapters, &[K::Down, K::Char('j')], "down/j", A::Down, "select the chapter below", Footer::Always("select")),
    b(M::Chapters, &[K::Enter], "Enter", A::OpenChapter,
      "open the chapter, at its first step not done", Footer::Always("open")),
    b(M::Chapters, &[K::Esc, K::Char('o'), K::Char('q')], "Esc/o", A::Close, "close the list", Footer::Always("close")),
    b(M::Chapters, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
    b(M::Links, &[K::Esc, K::Char('y'), K::Char('q')], "Esc/y", A::Close, "close the links", Footer::Always("close")),
    b(M::Links, &[K::Ctrl('c')], "C-c", A::Quit, "quit", Footer::No),
];

/// The action bound to `key` in `mode`, if any.
pub fn lookup(mode: Mode, key: Key) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| b.mode == mode && b.keys.contains(&key))
        .map(|b| b.action)
}

/// The bindings of `mode`, in table order.
pub fn bindings(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.mode == mode)
}

/// The human name of a mode, for the help overlay.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Normal => "panes",
        Mode::Help => "help",
        Mode::Details => "details popup",
        Mode::Breakpoints => "breakpoints list",
        Mode::Prompt => "new breakpoint prompt",
        Mode::LogFilter => "probe log filter prompt",
        Mode::Chapters => "chapter list",
        Mode::Links => "links",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [Mode; 8] = [
        Mode::Normal,
        Mode::Help,
        Mode::Details,
        Mode::Breakpoints,
        Mode::Prompt,
        Mode::LogFilter,
        Mode::Chapters,
        Mode::Links,
    ];

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        for mode in MODES {
            let keys: Vec<Key> = bindings(mode)
                .flat_map(|b| b.keys.iter().copied())
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} twice in {mode:?}");
            }
        }
    }

    #[test]
    fn every_mode_can_quit_or_close() {
        for mode in MODES {
            assert_eq!(lookup(mode, Key::Ctrl('c')), Some(Action::Quit), "{mode:?}");
        }
        assert_eq!(lookup(Mode::Help, Key::Esc), Some(Action::Close));
    }

    #[test]
    fn issue_keys_are_bound() {
        use Action::*;
        let n = Mode::Normal;
        assert_eq!(lookup(n, Key::Char(' ')), Some(Step(StepUnit::Probe)));
        assert_eq!(lookup(n, Key::Char('n')), Some(Step(StepUnit::Probe)));
        assert_eq!(lookup(n, Key::Char('f')), Some(Step(StepUnit::FileEvent)));
        assert_eq!(lookup(n, Key::Char('i')), Some(Step(StepUnit::Iteration)));
        assert_eq!(lookup(n, Key::Char('N')), Some(Step(StepUnit::Iteration)));
        assert_eq!(lookup(n, Key::Char('[')), Some(Back));
        assert_eq!(lookup(n, Key::Home), Some(Oldest));
        assert_eq!(lookup(n, Key::End), Some(Live));
        assert_eq!(lookup(n, Key::BackTab), Some(FocusPrev));
        assert_eq!(lookup(n, Key::Char('x')), None);
        assert_eq!(lookup(n, Key::Char('g')), Some(Guide));
        assert_eq!(lookup(n, Key::Char('t')), Some(SendAction));
        assert_eq!(lookup(n, Key::Char('s')), Some(Zoom));
        assert_eq!(lookup(n, Key::Char('T')), Some(TakeControl));
        assert_eq!(lookup(n, Key::Char('L')), Some(ProbeLog));
        assert_eq!(lookup(n, Key::Char('/')), Some(LogFilter));
        assert_eq!(lookup(n, Key::Char('V')), Some(Projector));
        assert_eq!(lookup(n, Key::Char('F')), Some(Follow));
        assert_eq!(lookup(Mode::LogFilter, Key::Enter), Some(Submit));
    }

    #[test]
    fn crossterm_events_map_to_keys() {
        let ev = KeyEvent::new(KeyCode::Char('C'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&ev), Some(Key::Ctrl('c')));
        let ev = KeyEvent::new(KeyCode::Tab, KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), Some(Key::BackTab));
        let mut ev = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE);
        ev.kind = KeyEventKind::Release;
        assert_eq!(Key::from_event(&ev), None);
    }
}
