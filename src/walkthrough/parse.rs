//! Reading a chapter file (the format is described in `walkthrough/README.md`).
//!
//! The reader goes through the file line by line, once, in three states: the
//! metadata block between the two `---` lines, the introduction, and the
//! steps (each starts at a `## ` heading; its fields come right under the
//! heading, then its prose). It never stops at the first problem: every
//! mistake becomes a [`Diagnostic`] naming the file and line, so a teacher
//! sees all of them at once, and no input, however broken, makes it panic.

use std::fmt;

use super::argv::split_args;
use super::chapter::{Action, AnchorRef, Chapter, DEFAULT_CLIENT, Link, Pane, Step};
use super::condition::{Condition, Sequence};

/// A problem in a chapter file, at a line (1-based; 0 when about the whole file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// The most times an action may be repeated in one write.
pub const MAX_REPEAT: u32 = 100_000;

/// Metadata keys, and whether each is required.
const META_KEYS: &[(&str, bool)] = &[
    ("title", true),
    ("summary", true),
    ("id", false),
    ("minutes", false),
    ("cleanup", false),
];

/// Step field names.
const STEP_FIELDS: &[&str] = &[
    "anchor",
    "action",
    "client",
    "repeat",
    "setup",
    "setup_client",
    "wait",
    "pause",
    "continues",
    "look",
    "link",
];

/// Parses the text of one chapter file. `file` names it in diagnostics, and
/// its stem is the chapter's id unless the metadata gives one.
pub fn parse_chapter(file: &str, text: &str) -> Result<Chapter, Vec<Diagnostic>> {
    whole(parse_chapter_as_far_as_it_goes(file, text))
}

/// Parses a file's raw bytes: like [`parse_chapter`], after checking that the
/// bytes are UTF-8 text.
pub fn parse_chapter_bytes(file: &str, bytes: &[u8]) -> Result<Chapter, Vec<Diagnostic>> {
    whole(parse_bytes_as_far_as_they_go(file, bytes))
}

/// The chapter if nothing was wrong with it.
fn whole((chapter, diags): (Option<Chapter>, Vec<Diagnostic>)) -> Result<Chapter, Vec<Diagnostic>> {
    match chapter {
        Some(c) if diags.is_empty() => Ok(c),
        _ => Err(diags),
    }
}

/// Every problem of the file, and the chapter as far as it parsed (the lines
/// in error left out), so `chapters --check` can check the rest of it too.
pub fn parse_chapter_as_far_as_it_goes(
    file: &str,
    text: &str,
) -> (Option<Chapter>, Vec<Diagnostic>) {
    let mut p = Parser {
        file,
        diags: Vec::new(),
    };
    let chapter = p.chapter(text);
    (Some(chapter), p.diags)
}

/// Like [`parse_chapter_as_far_as_it_goes`] on raw bytes; bytes that are not
/// UTF-8 text give no chapter at all.
pub fn parse_bytes_as_far_as_they_go(
    file: &str,
    bytes: &[u8],
) -> (Option<Chapter>, Vec<Diagnostic>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_chapter_as_far_as_it_goes(file, text),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            let diag = Diagnostic {
                file: file.to_string(),
                line,
                message: "this line is not UTF-8 text".into(),
            };
            (None, vec![diag])
        }
    }
}

struct Parser<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

/// Splits `key: value` (or `key:` alone), where the key is lowercase letters
/// and underscores. `https://…` is not a field: a colon must be followed by a
/// space or the end of the line.
fn field_line(line: &str) -> Option<(&str, &str)> {
    let key_len = line
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
        .count();
    if key_len == 0 {
        return None;
    }
    let (key, rest) = line.split_at(key_len);
    let value = rest.strip_prefix(':')?;
    if !value.is_empty() && !value.starts_with([' ', '\t']) {
        return None;
    }
    Some((key, value.trim()))
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// A step while its lines are being read.
struct StepBuilder {
    step: Step,
    /// Still in the field block right under the heading.
    in_fields: bool,
    in_fence: bool,
    action_lines: Vec<(usize, Vec<Vec<u8>>)>,
    client: Option<(usize, String)>,
    setup_lines: Vec<(usize, Vec<Vec<u8>>)>,
    setup_client: Option<(usize, String)>,
    repeat: Option<(usize, u32)>,
    pause_line: usize,
    seen_pause: bool,
    /// Where `continues:` was given, if it was.
    continues_line: Option<usize>,
    seen_look: bool,
}

impl Parser<'_> {
    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line,
            message: message.into(),
        });
    }

    fn chapter(&mut self, text: &str) -> Chapter {
        let lines: Vec<&str> = text.lines().collect();
        let stem = self
            .file
            .rsplit('/')
            .next()
            .unwrap_or(self.file)
            .trim_end_matches(".md");
        let mut chapter = Chapter {
            id: stem.to_string(),
            title: String::new(),
            summary: String::new(),
            minutes: None,
            file: self.file.to_string(),
            intro: String::new(),
            steps: Vec::new(),
            cleanup: None,
        };
        let body_start = self.metadata(&lines, &mut chapter);
        let mut intro = Vec::new();
        let mut current: Option<StepBuilder> = None;
        let mut intro_fence = false;
        for (i, raw) in lines.iter().enumerate().skip(body_start) {
            let n = i + 1;
            let line = raw.trim_end();
            let fenced = match &current {
                Some(b) => b.in_fence,
                None => intro_fence,
            };
            let heading = if line == "##" {
                Some("")
            } else {
                line.strip_prefix("## ")
            };
            if !fenced && let Some(title) = heading {
                if let Some(b) = current.take() {
                    self.finish_step(b, &mut chapter);
                }
                current = Some(self.start_step(n, title));
                continue;
            }
            match current.as_mut() {
                Some(b) => self.step_line(b, n, line),
                None => {
                    if is_fence(line) {
                        intro_fence = !intro_fence;
                    }
                    intro.push(line);
                }
            }
        }
        if let Some(b) = current.take() {
            self.finish_step(b, &mut chapter);
        }
        chapter.intro = join_prose(&intro);
        if chapter.steps.is_empty() {
            self.error(
                lines.len().max(1),
                "the chapter has no steps: each step starts with a `## ` heading",
            );
        }
        chapter
    }

    /// Reads the `---` block; returns the index of the first line after it.
    fn metadata(&mut self, lines: &[&str], chapter: &mut Chapter) -> usize {
        let Some(open) = lines.iter().position(|l| !l.trim().is_empty()) else {
            self.error(
                1,
                "the file is empty: a chapter starts with a `---` metadata block",
            );
            return lines.len();
        };
        if lines[open].trim_end() != "---" {
            self.error(
                open + 1,
                "a chapter starts with a metadata block: a line `---`, lines like `title: ...`, and `---` again",
            );
            return open;
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut close = None;
        for (i, raw) in lines.iter().enumerate().skip(open + 1) {
            let n = i + 1;
            let line = raw.trim_end();
            if line == "---" {
                close = Some(i);
                break;
            }
            if line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = field_line(line) else {
                self.error(
                    n,
                    format!(
                        "expected `key: value` in the metadata block, got `{}`",
                        shorten(line)
                    ),
                );
                continue;
            };
            let Some((key, _)) = META_KEYS.iter().find(|(k, _)| *k == key) else {
                let known: Vec<&str> = META_KEYS.iter().map(|(k, _)| *k).collect();
                self.error(
                    n,
                    format!(
                        "unknown metadata key `{key}`; known keys: {}",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if seen.contains(key) {
                self.error(n, format!("`{key}` is given twice"));
                continue;
            }
            seen.push(key);
            if value.is_empty() {
                self.error(n, format!("`{key}` is empty"));
                continue;
            }
            match *key {
                "title" => chapter.title = value.to_string(),
                "cleanup" => match split_args(value) {
                    Ok(argv) if !argv.is_empty() => {
                        chapter.cleanup = Some(Action {
                            client: DEFAULT_CLIENT.to_string(),
                            commands: vec![argv],
                            repeat: 1,
                            line: n,
                        })
                    }
                    Ok(_) => self.error(n, "`cleanup:` needs a command"),
                    Err(e) => self.error(
                        n,
                        format!("`cleanup:` cannot be split like redis-cli would: {e}"),
                    ),
                },
                "summary" => chapter.summary = value.to_string(),
                "id" => {
                    if value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    {
                        chapter.id = value.to_string();
                    } else {
                        self.error(n, "`id` may only use letters, digits, `-` and `_`");
                    }
                }
                _ => match value.parse::<u32>() {
                    Ok(m) if (1..=600).contains(&m) => chapter.minutes = Some(m),
                    _ => self.error(
                        n,
                        format!(
                            "`minutes` takes a whole number of minutes (1 to 600), not `{value}`"
                        ),
                    ),
                },
            }
        }
        let Some(close) = close else {
            self.error(
                open + 1,
                "the metadata block is never closed: add a line `---` after it",
            );
            return lines.len();
        };
        for (key, required) in META_KEYS {
            if *required && !seen.contains(key) {
                self.error(open + 1, format!("the metadata block needs `{key}:`"));
            }
        }
        close + 1
    }

    fn start_step(&mut self, line: usize, title: &str) -> StepBuilder {
        let title = title.trim();
        if title.is_empty() {
            self.error(line, "a step heading needs a title after `## `");
        }
        StepBuilder {
            step: Step {
                title: title.to_string(),
                text: String::new(),
                anchors: Vec::new(),
                action: None,
                setup: None,
                wait: Sequence::default(),
                pause: false,
                continues: false,
                look: Vec::new(),
                links: Vec::new(),
                line,
            },
            in_fields: true,
            in_fence: false,
            action_lines: Vec::new(),
            client: None,
            setup_lines: Vec::new(),
            setup_client: None,
            repeat: None,
            pause_line: 0,
            seen_pause: false,
            continues_line: None,
            seen_look: false,
        }
    }

    fn step_line(&mut self, b: &mut StepBuilder, n: usize, line: &str) {
        if b.in_fence {
            if is_fence(line) {
                b.in_fence = false;
            }
            push_line(&mut b.step.text, line);
            return;
        }
        if let Some((key, value)) = field_line(line) {
            let known = STEP_FIELDS.contains(&key);
            if b.in_fields && known {
                self.field(b, n, key, value);
                return;
            }
            if b.in_fields {
                self.error(
                    n,
                    format!(
                        "unknown step field `{key}`; fields are: {} (prose must not start with `word:`)",
                        STEP_FIELDS.join(", ")
                    ),
                );
                return;
            }
            if known {
                self.error(n, format!("`{key}:` after the prose: put a step's fields right under its `## ` heading"));
                return;
            }
        }
        if b.in_fields && line.trim().is_empty() {
            return;
        }
        b.in_fields = false;
        if is_fence(line) {
            b.in_fence = true;
        }
        push_line(&mut b.step.text, line);
    }

    fn field(&mut self, b: &mut StepBuilder, n: usize, key: &str, value: &str) {
        if value.is_empty() {
            self.error(n, format!("`{key}:` needs a value"));
            return;
        }
        match key {
            "anchor" => {
                let name_len = value
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
                    .count();
                let (name, note) = value.split_at(name_len);
                if name.is_empty() || !note.is_empty() && !note.starts_with([' ', '\t']) {
                    self.error(
                        n,
                        format!(
                            "`anchor:` starts with an anchor name such as `ae.poll`, not `{}`",
                            shorten(value)
                        ),
                    );
                    return;
                }
                let note = note.trim().trim_start_matches(['—', '-', ':']).trim();
                b.step.anchors.push(AnchorRef {
                    name: name.to_string(),
                    note: note.to_string(),
                    line: n,
                });
            }
            "action" | "setup" => match split_args(value) {
                Ok(argv) if !argv.is_empty() => match key {
                    "action" => b.action_lines.push((n, argv)),
                    _ => b.setup_lines.push((n, argv)),
                },
                Ok(_) => self.error(n, format!("`{key}:` needs a command")),
                Err(e) => self.error(
                    n,
                    format!("`{key}:` cannot be split like redis-cli would: {e}"),
                ),
            },
            "client" | "setup_client" => {
                let ok = value.len() <= 32
                    && value
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
                let slot = match key {
                    "client" => &mut b.client,
                    _ => &mut b.setup_client,
                };
                if slot.is_some() {
                    self.error(n, format!("`{key}:` is given twice"));
                } else if ok {
                    *slot = Some((n, value.to_string()));
                } else {
                    self.error(
                        n,
                        format!("`{key}:` is a name of up to 32 letters, digits, `-` or `_`"),
                    );
                }
            }
            "repeat" => match value.parse::<u32>() {
                _ if b.repeat.is_some() => self.error(n, "`repeat:` is given twice"),
                Ok(r) if (1..=MAX_REPEAT).contains(&r) => b.repeat = Some((n, r)),
                _ => self.error(
                    n,
                    format!("`repeat:` takes a whole number from 1 to {MAX_REPEAT}, not `{value}`"),
                ),
            },
            "wait" => match Condition::parse(value) {
                Ok(c) => b.step.wait.conditions.push(c),
                Err(e) => self.error(n, format!("`wait:` {e}")),
            },
            "pause" => {
                if b.seen_pause {
                    self.error(n, "`pause:` is given twice");
                }
                b.seen_pause = true;
                b.pause_line = n;
                match value.to_ascii_lowercase().as_str() {
                    "yes" | "true" => b.step.pause = true,
                    "no" | "false" => b.step.pause = false,
                    _ => self.error(n, format!("`pause:` takes yes or no, not `{value}`")),
                }
            }
            "continues" => {
                if b.continues_line.is_some() {
                    self.error(n, "`continues:` is given twice");
                }
                b.continues_line = Some(n);
                match value.to_ascii_lowercase().as_str() {
                    "yes" | "true" => b.step.continues = true,
                    "no" | "false" => b.step.continues = false,
                    _ => self.error(n, format!("`continues:` takes yes or no, not `{value}`")),
                }
            }
            "look" => {
                if b.seen_look {
                    self.error(n, "`look:` is given twice: list the panes on one line");
                }
                b.seen_look = true;
                for name in value.split([',', ' ']).filter(|s| !s.is_empty()) {
                    match Pane::from_name(name) {
                        Some(p) if !b.step.look.contains(&p) => b.step.look.push(p),
                        Some(_) => {}
                        None => {
                            let known: Vec<&str> = Pane::ALL.iter().map(|(_, n)| *n).collect();
                            self.error(
                                n,
                                format!("unknown pane `{name}`; panes are: {}", known.join(", ")),
                            );
                        }
                    }
                }
            }
            _ => {
                // "link": the URL is the last word, the label everything before it.
                let (label, url) = value.rsplit_once([' ', '\t']).unwrap_or(("", value));
                let label = label.trim();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    self.error(
                        n,
                        "`link:` is a label followed by a URL starting with https://",
                    );
                } else if label.is_empty() {
                    self.error(n, "`link:` needs a label before the URL");
                } else {
                    b.step.links.push(Link {
                        label: label.to_string(),
                        url: url.to_string(),
                    });
                }
            }
        }
    }

    fn finish_step(&mut self, mut b: StepBuilder, chapter: &mut Chapter) {
        let step_client = b
            .client
            .as_ref()
            .map_or(DEFAULT_CLIENT.to_string(), |(_, c)| c.clone());
        if let Some((first, _)) = b.setup_lines.first() {
            b.step.setup = Some(Action {
                client: b
                    .setup_client
                    .take()
                    .map_or(step_client.clone(), |(_, c)| c),
                commands: b.setup_lines.iter().map(|(_, a)| a.clone()).collect(),
                repeat: 1,
                line: *first,
            });
        } else if let Some((n, _)) = b.setup_client {
            self.error(n, "`setup_client:` without a `setup:` to send");
        }
        if let Some((first, _)) = b.action_lines.first() {
            b.step.action = Some(Action {
                client: step_client,
                commands: b.action_lines.iter().map(|(_, a)| a.clone()).collect(),
                repeat: b.repeat.map_or(1, |(_, r)| r),
                line: *first,
            });
        } else {
            if let Some((n, _)) = b.client.filter(|_| b.step.setup.is_none()) {
                self.error(n, "`client:` without an `action:` or `setup:` to send");
            }
            if let Some((n, _)) = b.repeat {
                self.error(n, "`repeat:` without an `action:` to repeat");
            }
        }
        if b.step.pause && b.step.wait.is_empty() {
            self.error(
                b.pause_line,
                "`pause: yes` needs a `wait:` condition to pause at",
            );
        }
        if let Some(n) = b.continues_line.filter(|_| b.step.continues) {
            if chapter.steps.is_empty() {
                self.error(
                    n,
                    "`continues: yes` on the first step: there is no step before it to go on from",
                );
            }
            if b.step.setup.is_some() {
                self.error(
                    n,
                    "`continues: yes` with `setup:`: the chapter never opens at this step, so its set-up would never be sent",
                );
            }
        }
        if b.in_fence {
            self.error(b.step.line, "a ``` code block in this step is never closed");
        }
        b.step.text = b.step.text.trim().to_string();
        chapter.steps.push(b.step);
    }
}

fn push_line(text: &mut String, line: &str) {
    text.push_str(line);
    text.push('\n');
}

fn join_prose(lines: &[&str]) -> String {
    lines.join("\n").trim().to_string()
}

/// A line cut for quoting in a message.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
---
title: A test chapter
summary: Checks the parser.
minutes: 2
---

Some intro.

## First step
anchor: ae.poll — the loop sleeps here
look: events, fired
link: aeProcessEvents https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/ae.c#L357-L469

Prose with a colon: fine here.
Visit https://example.org too.

## Second step
action: SET greeting \"hello world\"
action: GET greeting
client: other
repeat: 3
wait: command name=set
wait: write
pause: yes

```
wait: inside a code block is prose
```
";

    fn parse(text: &str) -> Result<Chapter, Vec<Diagnostic>> {
        parse_chapter("walkthrough/99-test.md", text)
    }

    fn errors(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// Fails unless one of the diagnostics `e` contains `text`.
    fn assert_reported(e: &[String], text: &str) {
        assert!(e.iter().any(|m| m.contains(text)), "{text:?} not in {e:?}");
    }

    #[test]
    fn reads_a_good_chapter() {
        let c = parse(GOOD).expect("parses");
        assert_eq!(c.id, "99-test");
        assert_eq!(c.title, "A test chapter");
        assert_eq!(c.minutes, Some(2));
        assert_eq!(c.intro, "Some intro.");
        assert_eq!(c.steps.len(), 2);
        let s = &c.steps[0];
        assert_eq!(s.title, "First step");
        assert_eq!(s.anchors[0].name, "ae.poll");
        assert_eq!(s.anchors[0].note, "the loop sleeps here");
        assert_eq!(s.look, [Pane::Events, Pane::Fired]);
        assert_eq!(s.links[0].label, "aeProcessEvents");
        assert!(s.text.starts_with("Prose with a colon"));
        assert!(s.action.is_none() && s.wait.is_empty() && !s.pause);
        let s = &c.steps[1];
        let a = s.action.as_ref().expect("action");
        assert_eq!(a.client, "other");
        assert_eq!(a.repeat, 3);
        assert_eq!(a.commands[0][2], b"hello world");
        assert_eq!(a.expected_replies(), 6);
        assert_eq!(a.to_resp().len(), 3 * (a.to_resp().len() / 3));
        assert_eq!(s.wait.conditions.len(), 2);
        assert!(s.pause);
        assert!(s.text.contains("wait: inside a code block is prose"));
        assert_eq!(s.line, 17);
    }

    #[test]
    fn setup_lines_go_on_their_own_client_or_the_steps() {
        let head = "---\ntitle: t\nsummary: s\n---\n";
        let c = parse(&format!(
            "{head}## a\nclient: other\naction: GET big\nsetup: SETRANGE big 9 x\nsetup: DEL small\n\
             ## b\nsetup_client: sleeper\nsetup: DEBUG SLEEP 1\nclient: bystander\naction: PING\n\
             ## c\nclient: first\nsetup: PING\nwait: command\n## d\nsetup: PING\n"
        ))
        .expect("parses");
        let setup = |i: usize| c.steps[i].setup.clone().expect("a setup");
        assert_eq!(setup(0).client, "other");
        assert_eq!(setup(0).commands.len(), 2);
        assert_eq!(setup(0).line, 8);
        assert_eq!(
            setup(0).to_string(),
            "SETRANGE big 9 x | DEL small (in one write) [client other]"
        );
        assert_eq!(setup(1).client, "sleeper");
        assert_eq!(
            c.steps[1].action.as_ref().expect("action").client,
            "bystander"
        );
        assert_eq!(setup(2).client, "first");
        assert!(c.steps[2].action.is_none());
        assert_eq!(setup(3).client, DEFAULT_CLIENT);
        assert!(
            parse(GOOD)
                .expect("parses")
                .steps
                .iter()
                .all(|s| s.setup.is_none())
        );
    }

    #[test]
    fn metadata_problems_name_the_line() {
        assert_eq!(
            errors("")[0],
            "walkthrough/99-test.md:1: the file is empty: a chapter starts with a `---` metadata block"
        );
        let e = errors("title: x\n## s\n");
        assert!(
            e[0].starts_with("walkthrough/99-test.md:1: a chapter starts with a metadata block"),
            "{e:?}"
        );
        let e = errors("---\ntitle: t\n");
        assert_reported(&e, ":1: the metadata block is never closed");
        let e = errors("---\ntitle: t\ncolour: red\nminutes: lots\n---\n## s\n");
        assert_reported(&e, ":3: unknown metadata key `colour`");
        assert_reported(&e, ":4: `minutes` takes a whole number");
        assert_reported(&e, ":1: the metadata block needs `summary:`");
        let e = errors("---\ntitle: t\nsummary: s\n---\nno steps\n");
        assert!(e[0].contains(":5: the chapter has no steps"), "{e:?}");
    }

    #[test]
    fn step_problems_name_the_line() {
        let head = "---\ntitle: t\nsummary: s\n---\n";
        let e = errors(&format!("{head}## s\nacton: PING\n"));
        assert!(e[0].contains(":6: unknown step field `acton`"), "{e:?}");
        let e = errors(&format!("{head}## s\nSome prose.\nwait: command\n"));
        assert!(e[0].contains(":7: `wait:` after the prose"), "{e:?}");
        let e = errors(&format!("{head}## s\nwait: comand name=set\n"));
        assert!(e[0].contains(":6: `wait:` unknown event `comand`"), "{e:?}");
        let e = errors(&format!("{head}## s\naction: SET k \"v\n"));
        assert!(e[0].contains(":6: `action:` cannot be split"), "{e:?}");
        let e = errors(&format!("{head}## s\npause: yes\n"));
        assert!(e[0].contains(":6: `pause: yes` needs a `wait:`"), "{e:?}");
        let e = errors(&format!(
            "{head}## s\ncontinues: yes\n## t\ncontinues: maybe\n## u\ncontinues: yes\nsetup: PING\n"
        ));
        assert_reported(&e, ":6: `continues: yes` on the first step");
        assert_reported(&e, ":8: `continues:` takes yes or no");
        assert_reported(&e, ":10: `continues: yes` with `setup:`");
        let e = errors(&format!(
            "{head}## s\nrepeat: 0\nclient: a b\nlook: evnts\n"
        ));
        assert_reported(&e, ":6: `repeat:` takes a whole number");
        assert_reported(&e, ":7: `client:` is a name");
        assert_reported(&e, ":8: unknown pane `evnts`");
        let e = errors(&format!("{head}## s\nclient: x\n"));
        assert!(e[0].contains(":6: `client:` without an `action:`"), "{e:?}");
        let e = errors(&format!("{head}## s\nsetup_client: x\nsetup: \"open\n"));
        assert_reported(&e, ":6: `setup_client:` without a `setup:`");
        assert_reported(&e, ":7: `setup:` cannot be split");
        let e = errors(&format!("{head}## s\nlink: https://x.org\nanchor: -bad\n"));
        assert_reported(&e, ":6: `link:` needs a label");
        assert_reported(&e, ":7: `anchor:` starts with an anchor name");
        let e = errors(&format!("{head}## s\n```\nopen fence\n"));
        assert!(
            e[0].contains(":5: a ``` code block in this step is never closed"),
            "{e:?}"
        );
        let e = errors(&format!("{head}## \n"));
        assert!(e[0].contains(":5: a step heading needs a title"), "{e:?}");
    }

    #[test]
    fn not_utf8_names_the_line() {
        let e = parse_chapter_bytes("x.md", b"---\ntitle: \xff\n").expect_err("bad bytes");
        assert_eq!(e[0].to_string(), "x.md:2: this line is not UTF-8 text");
    }

    /// A small deterministic fuzz: mutate a good chapter in many ways (drop,
    /// duplicate, swap and cut lines; flip, insert and delete bytes) and check
    /// the parser never panics and every error names the file and a line that
    /// exists.
    #[test]
    fn mutated_chapters_never_panic() {
        let mut rng = crate::walkthrough::testkit::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move |n: usize| rng.below(n);
        let alphabet: &[u8] = b"-#:=!<>\"'` \n\tawr\\x\xc3\xa9\xff";
        let mut oks = 0;
        for round in 0..3000 {
            let mut bytes = GOOD.as_bytes().to_vec();
            for _ in 0..1 + round % 6 {
                let len = bytes.len();
                match next(6) {
                    0 if len > 0 => {
                        let at = next(len);
                        bytes[at] = alphabet[next(alphabet.len())];
                    }
                    1 => {
                        let at = next(len + 1);
                        bytes.insert(at, alphabet[next(alphabet.len())]);
                    }
                    2 if len > 0 => {
                        bytes.remove(next(len));
                    }
                    3 => bytes.truncate(next(len + 1)),
                    _ => {
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        let mut lines: Vec<&str> = text.lines().collect();
                        if !lines.is_empty() {
                            let (a, b) = (next(lines.len()), next(lines.len()));
                            if next(2) == 0 {
                                lines.swap(a, b);
                            } else {
                                lines.insert(a, lines[b]);
                            }
                        }
                        bytes = lines.join("\n").into_bytes();
                    }
                }
            }
            let line_count = bytes.split(|&b| b == b'\n').count().max(1);
            match parse_chapter_bytes("m.md", &bytes) {
                Ok(c) => {
                    oks += 1;
                    assert!(!c.steps.is_empty());
                }
                Err(diags) => {
                    assert!(!diags.is_empty());
                    for d in diags {
                        assert_eq!(d.file, "m.md");
                        assert!(
                            d.line >= 1 && d.line <= line_count,
                            "{d} of {line_count} lines"
                        );
                    }
                }
            }
        }
        // Some mutations are harmless (in prose): both outcomes are exercised.
        assert!(oks > 0 && oks < 3000, "{oks}");
    }
}
