//! Breakpoints: does this probe event match that breakpoint?
//!
//! A breakpoint names one thing to stop at (see [`BreakOn`]): a probe kind, an
//! fd, a handler, a command, or a key pattern. Key patterns use the glob syntax
//! of Redis's `KEYS` command (`*`, `?`, `[a-z]`, `[^x]`, `\` to escape), the
//! same matcher Redis implements as `stringmatchlen` (util.c). It is matched
//! against the keys as the event shows them ([`short_bytes`](super::model::short_bytes):
//! escaped, and cut after 64 bytes).

use super::model::{BreakOn, Breakpoint, Event, ProbeData};
use crate::walkthrough::condition::Condition;

/// True if the enabled breakpoint `bp` matches `ev`. Disabled ones never do.
/// `when` is the parsed condition of a [`BreakOn::When`] breakpoint (the
/// gate parses it once, when the breakpoint is added).
pub fn matches(bp: &Breakpoint, when: Option<&Condition>, ev: &Event) -> bool {
    bp.enabled && on_matches(&bp.on, when, ev)
}

fn on_matches(on: &BreakOn, when: Option<&Condition>, ev: &Event) -> bool {
    let data = &ev.data;
    match on {
        BreakOn::When { .. } => when.is_some_and(|c| c.matches(ev)),
        BreakOn::Kind { kind } => data.kind() == *kind,
        BreakOn::Fd { fd } => data.fd() == Some(*fd),
        BreakOn::Handler { name } => data.handler().is_some_and(|h| h.is_named(name)),
        BreakOn::Command { name: wanted } => match data {
            ProbeData::Command { name, argv, .. } => {
                let ran = name.as_deref().or(argv.first().map(String::as_str));
                ran.is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            }
            _ => false,
        },
        BreakOn::Key { pattern } => match data {
            ProbeData::Command { keys, .. } => keys
                .iter()
                .any(|k| glob_match(pattern.as_bytes(), k.as_bytes())),
            _ => false,
        },
    }
}

/// One element of a parsed glob pattern.
#[derive(Debug, PartialEq)]
enum Token {
    Byte(u8),
    AnyByte,
    AnyRun,
    /// `[...]`: byte ranges (a single byte is the range `b..=b`), maybe negated.
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

fn tokenize(pattern: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = pattern.get(i) {
        i += 1;
        let token = match c {
            b'*' => Token::AnyRun,
            b'?' => Token::AnyByte,
            b'\\' => match pattern.get(i) {
                Some(&escaped) => {
                    i += 1;
                    Token::Byte(escaped)
                }
                None => Token::Byte(b'\\'),
            },
            b'[' => {
                let negated = pattern.get(i) == Some(&b'^');
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                // An unterminated class takes the rest of the pattern, as in Redis.
                while let Some(&m) = pattern.get(i) {
                    i += 1;
                    match m {
                        b']' => break,
                        b'\\' => {
                            let escaped = pattern.get(i).copied().unwrap_or(b'\\');
                            i += 1;
                            ranges.push((escaped, escaped));
                        }
                        _ if pattern.get(i) == Some(&b'-')
                            && pattern.get(i + 1).is_some_and(|&e| e != b']') =>
                        {
                            let end = pattern[i + 1];
                            i += 2;
                            ranges.push((m.min(end), m.max(end)));
                        }
                        _ => ranges.push((m, m)),
                    }
                }
                Token::Class { negated, ranges }
            }
            other => Token::Byte(other),
        };
        tokens.push(token);
    }
    tokens
}

fn token_matches(token: &Token, b: u8) -> bool {
    match token {
        Token::Byte(t) => *t == b,
        Token::AnyByte => true,
        Token::AnyRun => false,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&b)) != *negated
        }
    }
}

/// Glob match with Redis `KEYS` semantics.
///
/// Mirror of `stringmatchlen` (util.c) in effect, though not in method: Redis
/// recurses at every `*`; here the classic greedy matcher remembers only the
/// last `*` and retries from there, which gives the same answers without
/// recursion, so no pattern can exhaust the stack or take exponential time.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let tokens = tokenize(pattern);
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (token after it, text position).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::AnyRun) => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(tok) if token_matches(tok, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p.min(tokens.len())..]
        .iter()
        .all(|tok| *tok == Token::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Handler, Mask, ProbeKind, ReplyInfo, Site};
    use std::borrow::Cow;

    static SITE: Site = Site {
        file: Cow::Borrowed("x"),
        line: 1,
        function: Cow::Borrowed("f"),
        mirrors: Cow::Borrowed(""),
    };

    fn ev(data: ProbeData) -> Event {
        Event {
            seq: 1,
            iter: 1,
            t_us: 0,
            site: Cow::Borrowed(&SITE),
            data,
        }
    }

    fn command(name: &str, keys: &[&str], fd: i32) -> Event {
        ev(ProbeData::Command {
            client: 1,
            client_name: None,
            fd,
            db: 0,
            name: Some(name.to_string().into()),
            argv: std::iter::once(name.to_uppercase())
                .chain(keys.iter().map(|k| k.to_string()))
                .collect(),
            argc: 1 + keys.len() as u32,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            reply: ReplyInfo::from_resp(b"+OK\r\n"),
            duration_us: 1,
        })
    }

    fn bp(on: BreakOn) -> Breakpoint {
        Breakpoint {
            id: 1,
            enabled: true,
            on,
        }
    }

    #[test]
    fn glob_like_redis_keys() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("user:*:name", "user:42:name", true),
            ("user:*:name", "user:42:age", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("[abc", "b", true),
            ("", "", true),
            ("", "x", false),
            ("**", "x", true),
        ];
        for &(pat, text, want) in cases {
            assert_eq!(
                glob_match(pat.as_bytes(), text.as_bytes()),
                want,
                "{pat:?} vs {text:?}"
            );
        }
    }

    #[test]
    fn glob_is_not_exponential() {
        let text = "a".repeat(5000);
        assert!(!glob_match(b"*a*a*a*a*a*a*a*a*a*a*b", text.as_bytes()));
    }

    #[test]
    fn command_breakpoint_matches_name_any_case() {
        assert!(matches(
            &bp(BreakOn::Command { name: "GET".into() }),
            None,
            &command("get", &["k"], 8)
        ));
        assert!(!matches(
            &bp(BreakOn::Command { name: "set".into() }),
            None,
            &command("get", &["k"], 8)
        ));
    }

    #[test]
    fn key_breakpoint_matches_keys_only() {
        let b = bp(BreakOn::Key {
            pattern: "user:*".into(),
        });
        assert!(matches(&b, None, &command("get", &["user:1"], 8)));
        assert!(!matches(&b, None, &command("get", &["session:1"], 8)));
    }

    #[test]
    fn fd_breakpoint_sees_every_probe_about_the_fd() {
        let b = bp(BreakOn::Fd { fd: 8 });
        assert!(matches(&b, None, &command("get", &[], 8)));
        assert!(!matches(&b, None, &command("get", &[], 9)));
        let fe = ev(ProbeData::FileEvent {
            fd: 8,
            mask: Mask::READABLE,
            handler: Handler::new("a", "b"),
            refired: false,
        });
        assert!(matches(&b, None, &fe));
        assert!(!matches(&b, None, &ev(ProbeData::AfterSleep {})));
    }

    #[test]
    fn handler_and_kind_breakpoints() {
        let fe = ev(ProbeData::FileEvent {
            fd: 8,
            mask: Mask::READABLE,
            handler: Handler::new("read_query_from_client", "readQueryFromClient"),
            refired: false,
        });
        assert!(matches(
            &bp(BreakOn::Handler {
                name: "readQueryFromClient".into()
            }),
            None,
            &fe
        ));
        assert!(matches(
            &bp(BreakOn::Handler {
                name: "read_query_from_client".into()
            }),
            None,
            &fe
        ));
        assert!(!matches(
            &bp(BreakOn::Handler {
                name: "server_cron".into()
            }),
            None,
            &fe
        ));
        assert!(matches(
            &bp(BreakOn::Kind {
                kind: ProbeKind::FileEvent
            }),
            None,
            &fe
        ));
        assert!(!matches(
            &bp(BreakOn::Kind {
                kind: ProbeKind::Command
            }),
            None,
            &fe
        ));
    }

    #[test]
    fn disabled_breakpoint_never_matches() {
        let mut b = bp(BreakOn::Fd { fd: 8 });
        b.enabled = false;
        assert!(!matches(&b, None, &command("get", &[], 8)));
    }
}
