//! `loopscope chapters --check`: what parsing alone cannot know.
//!
//! A chapter that parses may still point at things that do not exist: an
//! anchor that was renamed in the code, a command the server does not have,
//! a command with the wrong number of arguments, a link into Redis's
//! repository that does not pin a commit. These checks compare every chapter
//! with the code it describes (the anchor table of [`crate::source`] and the
//! server's command table), so CI fails when the two drift apart.

use crate::server::cmd::{CommandTable, RedisCommand};
use crate::source::{self, REDIS_7_0_15};
use crate::trace::model::ProbeKind;

use super::chapter::Chapter;
use super::condition::{Field, Op, Value};
use super::parse::Diagnostic;

/// Every problem of these chapters that parsing did not catch.
pub fn check(chapters: &[Chapter]) -> Vec<Diagnostic> {
    let table = CommandTable::new();
    let mut out = Vec::new();
    for chapter in chapters {
        let mut error = |line: usize, message: String| {
            out.push(Diagnostic {
                file: chapter.file.clone(),
                line,
                message,
            })
        };
        for argv in chapter.cleanup.iter().flat_map(|a| &a.commands) {
            if let Err(e) = check_command(&table, argv) {
                let line = chapter.cleanup.as_ref().map_or(0, |a| a.line);
                error(line, format!("`cleanup:` {e}"));
            }
        }
        for step in &chapter.steps {
            for anchor in &step.anchors {
                if source::anchor_info(&anchor.name).is_none() {
                    error(
                        anchor.line,
                        format!(
                            "no anchor named `{}`; `loopscope source --list` lists them",
                            anchor.name
                        ),
                    );
                } else if source::find_anchor(&anchor.name).is_none() {
                    error(
                        anchor.line,
                        format!(
                            "anchor `{}` is in the table but not in the code",
                            anchor.name
                        ),
                    );
                }
            }
            for (field, action) in [("action", &step.action), ("setup", &step.setup)] {
                for (i, argv) in action.iter().flat_map(|a| a.commands.iter().enumerate()) {
                    if let Err(e) = check_command(&table, argv) {
                        let line = action.as_ref().map_or(0, |a| a.line + i);
                        error(line, format!("`{field}:` {e}"));
                    }
                }
            }
            for (i, c) in step.wait.conditions.iter().enumerate() {
                if c.kind != ProbeKind::Command {
                    continue;
                }
                let pauses_here = step.pause && i + 1 == step.wait.conditions.len();
                for f in &c.filters {
                    let (Field::Name, Op::Eq, Value::Text(name)) = (f.field, f.op, &f.value) else {
                        continue;
                    };
                    match lookup_by_name(&table, name) {
                        None => error(
                            step.line,
                            format!(
                                "`wait: {}` names a command the server does not have",
                                c.text
                            ),
                        ),
                        // The gate's command breakpoints compare whole names,
                        // so a pause needs the subcommand spelled out.
                        Some(cmd) if pauses_here && !cmd.subcommands.is_empty() => error(
                            step.line,
                            format!(
                                "`wait: {}` with `pause: yes`: name the subcommand, e.g. `name={}|{}`",
                                c.text,
                                cmd.name,
                                cmd.subcommands.first().map_or("...", |s| s
                                    .name
                                    .rsplit('|')
                                    .next()
                                    .unwrap_or("..."))
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            }
            for link in &step.links {
                if let Err(e) = check_link(&link.url) {
                    error(step.line, format!("link `{}`: {e}", link.label));
                }
            }
        }
    }
    out
}

/// Is `argv` a command the server knows, with an argument count it accepts?
/// The same rules as the server's `processCommand`: an unknown name, or an
/// arity that does not fit, would be refused before the command runs.
pub fn check_command(table: &CommandTable, argv: &[Vec<u8>]) -> Result<(), String> {
    let shown = super::argv::display_args(argv);
    let cmd = table
        .lookup(argv)
        .ok_or_else(|| format!("`{shown}`: the server has no such command"))?;
    if cmd.accepts_argc(argv.len()) {
        Ok(())
    } else {
        Err(format!(
            "`{shown}`: wrong number of arguments for '{}' (arity {})",
            cmd.name, cmd.arity
        ))
    }
}

/// Whether the server has a command of this name, as a trace event shows
/// it (`set`, `client|list`): for breakpoints typed by hand. A container
/// alone (`client`) is refused, since only its subcommands ever run.
pub fn known_command(name: &str) -> Result<(), String> {
    match lookup_by_name(&CommandTable::new(), name) {
        None => Err(format!("the server has no command `{name}`")),
        Some(cmd) if !cmd.subcommands.is_empty() && !name.contains('|') => Err(format!(
            "`{name}` runs as one of its subcommands: name it, e.g. `{}`",
            cmd.subcommands.first().map_or(name, |s| s.name)
        )),
        Some(_) => Ok(()),
    }
}

/// Whether `name` is one of the server's event handlers, by our name or
/// the Redis one (any case); the error lists them.
pub fn known_handler(name: &str) -> Result<(), String> {
    let handlers = crate::server::EVENT_HANDLERS;
    if handlers
        .iter()
        .any(|(ours, redis)| ours.eq_ignore_ascii_case(name) || redis.eq_ignore_ascii_case(name))
    {
        return Ok(());
    }
    let names: Vec<String> = handlers
        .iter()
        .map(|(ours, redis)| format!("{ours} ({redis})"))
        .collect();
    Err(format!(
        "no handler `{name}`; the handlers are: {}",
        names.join(", ")
    ))
}

/// Finds a command by the name a trace event shows (`set`, `client|list`).
fn lookup_by_name(table: &CommandTable, name: &str) -> Option<&'static RedisCommand> {
    let argv: Vec<Vec<u8>> = name.split('|').map(|p| p.as_bytes().to_vec()).collect();
    table.lookup(&argv)
}

/// Links into Redis's repository must pin Redis 7.0.15, the release
/// loopscope is compared against, so they keep pointing at the lines the
/// chapter talks about, in the code that behaves as loopscope does.
fn check_link(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("https://github.com/redis/redis/") else {
        return Ok(());
    };
    let Some(rest) = rest.strip_prefix("blob/") else {
        return Ok(());
    };
    let commit = rest.split('/').next().unwrap_or_default();
    if commit == REDIS_7_0_15 {
        Ok(())
    } else {
        Err(format!(
            "a link into Redis's source must pin Redis 7.0.15 (commit {REDIS_7_0_15}), not `{commit}`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walkthrough::parse::parse_chapter;

    #[test]
    fn the_built_in_chapters_match_the_code() {
        let loaded = crate::walkthrough::load::load(&crate::walkthrough::Origin::Embedded);
        let problems: Vec<String> = check(&loaded.chapters)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn links_must_pin_a_commit() {
        assert!(check_link("https://redis.io/docs/").is_ok());
        let at = |commit: &str| {
            format!(
                "https://github.com/redis/redis/{}/{commit}/src/ae.c",
                "blob"
            )
        };
        assert!(check_link(&at(REDIS_7_0_15)).is_ok());
        assert!(check_link(&at("unstable")).is_err());
        assert!(check_link(&at("4f8cdc2a1ea53e42955af758aabffee67cb455dd")).is_err());
    }

    #[test]
    fn unknown_anchors_and_commands_are_reported() {
        let text = "---\ntitle: t\nsummary: s\n---\n## s\nanchor: ae.poll\nanchor: ae.nowhere\naction: NOSUCHCOMMAND x\nwait: command name=nosuchcommand\n";
        let chapter = parse_chapter("c.md", text).expect("parses");
        let found: Vec<String> = check(&[chapter]).iter().map(|d| d.to_string()).collect();
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("c.md:7: no anchor named `ae.nowhere`")),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|m| m.starts_with(
                "c.md:8: `action:` `NOSUCHCOMMAND x`: the server has no such command"
            )),
            "{found:#?}"
        );
        assert!(
            found.iter().any(
                |m| m.starts_with("c.md:5: `wait: command name=nosuchcommand` names a command")
            ),
            "{found:#?}"
        );
        assert!(!found.iter().any(|m| m.contains("ae.poll")), "{found:#?}");
    }

    #[test]
    fn hand_typed_command_and_handler_names_are_checked() {
        assert_eq!(known_command("set"), Ok(()));
        assert_eq!(known_command("client|list"), Ok(()));
        assert!(known_command("nosuchcmd").is_err_and(|e| e.contains("no command `nosuchcmd`")));
        assert!(known_command("client").is_err_and(|e| e.contains("client|")));
        assert_eq!(known_handler("readQueryFromClient"), Ok(()));
        assert_eq!(known_handler("SERVER_CRON"), Ok(()));
        let err = known_handler("foo").expect_err("no such handler");
        assert!(
            err.contains("accept_tcp_handler (acceptTcpHandler)") && err.contains("server_cron"),
            "{err}"
        );
    }

    #[test]
    fn actions_are_checked_against_the_command_table() {
        let table = CommandTable::new();
        let argv = |line: &str| crate::walkthrough::argv::split_args(line).expect("splits");
        assert_eq!(check_command(&table, &argv("SET k v PX 300")), Ok(()));
        assert_eq!(check_command(&table, &argv("config set hz 50")), Ok(()));
        let err = check_command(&table, &argv("GET a b")).expect_err("GET takes one key");
        assert_eq!(
            err,
            "`GET a b`: wrong number of arguments for 'get' (arity 2)"
        );
        let err = check_command(&table, &argv("CONFIG NOPE")).expect_err("no such subcommand");
        assert!(err.contains("no such command"), "{err}");
    }
}
