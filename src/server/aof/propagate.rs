//! What a command writes to the AOF: the mirror of the propagation half of
//! Redis's `call()` (`server.dirty`, `alsoPropagate`, `preventCommandPropagation`)
//! and of the `rewriteClientCommandVector` calls scattered over the commands.
//!
//! A command is written to the AOF when it is a write command and it
//! changed its database: [`call`](crate::server::call::call) reads the
//! database's change counter ([`Db::dirty`]) before and after the command.
//! So `SET NX` on an existing key, or `DEL` of a missing one, writes nothing.
//!
//! Most commands are written as the client sent them. Those whose meaning
//! would change when replayed later are rewritten into what they did, the
//! way Redis 7.0.15 rewrites them (checked by running each against it and
//! reading the AOF it wrote):
//!
//! | sent                                   | written                          |
//! |----------------------------------------|----------------------------------|
//! | `SET k v EX/PX/EXAT …`, `SETEX`, `PSETEX` | `SET k v PXAT <unix ms>`      |
//! | `EXPIRE`, `PEXPIRE`, `EXPIREAT` (+ flags) | `PEXPIREAT k <unix ms>` (+ flags) |
//! | any expire whose time has passed       | `DEL k`                          |
//! | `GETEX k EX/PX/…` / `GETEX k PERSIST`  | `PEXPIREAT k <ms>` / `PERSIST k` |
//! | `GETSET k v` / `GETDEL k`              | `SET k v` / `DEL k`              |
//! | `INCRBYFLOAT k n`                      | `SET k <result> KEEPTTL`         |
//! | `HINCRBYFLOAT k f n`                   | `HSET k f <result>`              |
//! | `BLPOP`/`BRPOP` that got data          | `LPOP k` / `RPOP k`              |
//! | `BLMOVE` / `BRPOPLPUSH` that got data  | `LMOVE …` / `RPOPLPUSH s d`      |
//! | `SPOP k` / `SPOP k n`                  | `SREM k m` (n of them in MULTI) / `DEL k` when all went |
//!
//! Knowing the absolute time, the result of a float increment, or whether
//! the key is gone needs no help from the command: it is in the database
//! right after the command ran, and [`rewrite`] reads it there. Only the
//! choices a command made at random or among several keys (which member
//! SPOP took, which key BLPOP served) are reported by the command itself,
//! through [`propagate_instead`].

use super::{Server, also_propagate, feed_append_only_file, propagate_pending_commands};
use crate::server::client::{CLIENT_PREVENT_PROP, Client};
use crate::server::cmd::RedisCommand;
use crate::server::db::{Db, Value};
use crate::trace::Tracer;

/// Where a command started, for [`after_call`]: its database and that
/// database's change counter.
pub struct CallMark {
    db: usize,
    dirty: u64,
}

/// Called by `call` before the command runs. `None` when the AOF is off,
/// which is the only cost the AOF adds to a command then.
#[inline]
pub fn before_call(server: &mut Server, c: &Client) -> Option<CallMark> {
    if !server.aof.on {
        return None;
    }
    server.aof.call_depth += 1;
    Some(CallMark {
        db: c.db,
        dirty: server.dbs[c.db].dirty,
    })
}

/// Called by `call` after the command ran: queues what the command is to
/// be written as, and when the outermost command (EXEC, not the commands
/// it runs) returns, feeds everything queued to the AOF buffer. Kept out
/// of line so that `call` stays small enough to inline while the AOF is off.
#[inline(never)]
pub fn after_call(
    tracer: &mut Tracer,
    server: &mut Server,
    c: &mut Client,
    cmd: &RedisCommand,
    mark: CallMark,
) {
    server.aof.call_depth = server.aof.call_depth.saturating_sub(1);
    let prevented = c.flags & CLIENT_PREVENT_PROP != 0;
    c.flags &= !CLIENT_PREVENT_PROP;
    // FLUSHALL and FLUSHDB are written even when there was nothing to flush.
    let forced = matches!(cmd.name, "flushall" | "flushdb");
    let changed = server.dbs[mark.db].dirty != mark.dirty;
    if !prevented && (changed || forced) && is_write(cmd) {
        let argv =
            rewrite(cmd.name, &c.argv, &server.dbs[mark.db]).unwrap_or_else(|| c.argv.clone());
        also_propagate(server, mark.db, argv);
    }
    if server.aof.call_depth == 0 {
        propagate_pending_commands(tracer, server);
    }
}

fn is_write(cmd: &RedisCommand) -> bool {
    cmd.flags.split(' ').any(|f| f == "write")
}

/// A command reports what it did in place of itself, for the choices
/// [`rewrite`] cannot see afterwards (mirror of `alsoPropagate` followed by
/// `preventCommandPropagation`). `argv` is only built when the AOF is on.
pub fn propagate_instead(server: &mut Server, c: &mut Client, argv: impl FnOnce() -> Vec<Vec<u8>>) {
    if server.aof.on {
        also_propagate(server, c.db, argv());
        c.flags |= CLIENT_PREVENT_PROP;
    }
}

/// Writes `argv` (run in `db`) to the AOF buffer at once, for work done
/// outside any command: a blocked client served when another client's push
/// gave it data (the `alsoPropagate` of `serveClientBlockedOnList`).
pub fn propagate_now(
    tracer: &mut Tracer,
    server: &mut Server,
    db: usize,
    argv: impl FnOnce() -> Vec<Vec<u8>>,
) {
    if server.aof.on {
        propagate_pending_commands(tracer, server);
        feed_append_only_file(tracer, &mut server.aof, Some(db), &argv());
    }
}

fn words(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// True when one of `args` is `word`, in any case.
fn has_option(args: &[Vec<u8>], word: &str) -> bool {
    args.iter().any(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// What a command that changed `db` is written as, when that differs from
/// what was sent (see the table in the module docs); `None` keeps `argv`.
pub fn rewrite(name: &str, argv: &[Vec<u8>], db: &Db) -> Option<Vec<Vec<u8>>> {
    let key = argv.get(1)?.as_slice();
    let deadline = || db.get_expire(key).map(|ms| ms.to_string().into_bytes());
    let del = || Some(words(&[b"DEL", key]));
    let rest = argv.get(2..).unwrap_or_default();
    // SET's options come after the value, which may itself read "ex".
    let set_options = argv.get(3..).unwrap_or_default();
    match name {
        "set"
            if ["ex", "px", "exat"]
                .iter()
                .any(|o| has_option(set_options, o))
                && !has_option(set_options, "pxat") =>
        {
            let when = deadline()?;
            Some(words(&[b"SET", key, argv.get(2)?, b"PXAT", &when]))
        }
        "setex" | "psetex" => {
            let when = deadline()?;
            Some(words(&[b"SET", key, argv.get(3)?, b"PXAT", &when]))
        }
        "getset" => Some(words(&[b"SET", key, argv.get(2)?])),
        "getdel" => del(),
        "getex" | "expire" | "pexpire" | "expireat" | "pexpireat" if db.peek(key).is_none() => {
            del()
        }
        "getex" if has_option(rest, "persist") => Some(words(&[b"PERSIST", key])),
        "getex" => Some(words(&[b"PEXPIREAT", key, &deadline()?])),
        "expire" | "pexpire" | "expireat" => {
            let mut out = words(&[b"PEXPIREAT", key, &deadline()?]);
            out.extend(argv.iter().skip(3).cloned());
            Some(out)
        }
        "incrbyfloat" => match db.peek(key)? {
            Value::String(v) => Some(words(&[b"SET", key, v, b"KEEPTTL"])),
            _ => None,
        },
        "hincrbyfloat" => match db.peek(key)? {
            Value::Hash(h) => {
                let field = argv.get(2)?;
                Some(words(&[b"HSET", key, field, h.get(field)?]))
            }
            _ => None,
        },
        "blmove" => {
            let from = argv.get(3)?.to_ascii_lowercase();
            let to = argv.get(4)?.to_ascii_lowercase();
            Some(words(&[b"LMOVE", key, argv.get(2)?, &from, &to]))
        }
        "brpoplpush" => Some(words(&[b"RPOPLPUSH", key, argv.get(2)?])),
        "spop" if db.peek(key).is_none() => del(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::aof::Aof;
    use crate::server::cmd::test_support::{client, run_str, server};

    fn shown(argv: &[Vec<u8>]) -> String {
        argv.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The server with the AOF on (buffer only, no file) and a client.
    fn aof_server() -> (Server, Box<Client>, std::net::TcpStream) {
        let mut server = server();
        server.aof.on = true;
        for db in &mut server.dbs {
            db.log_expired = true;
        }
        let (c, peer) = client(&mut server);
        (server, c, peer)
    }

    /// The AOF buffer as readable lines: one command per line.
    fn buffer(aof: &Aof) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = aof.buf.as_slice();
        while !rest.is_empty() {
            let mut p = crate::server::aof::load::CommandReader::new(rest);
            match p.next_command() {
                Ok(Some(argv)) => {
                    out.push(shown(&argv));
                    rest = &rest[p.offset()..];
                }
                other => panic!("buffer does not parse: {other:?}"),
            }
        }
        out
    }

    /// Runs `line` through `call`, the way the networking layer does.
    fn call(server: &mut Server, c: &mut Client, line: &str) {
        c.argv = line.split(' ').map(|w| w.as_bytes().to_vec()).collect();
        let cmd = server.commands.lookup(&c.argv).expect("known command");
        let mut el = crate::server::cmd::test_support::event_loop();
        crate::server::call::call(
            &mut crate::server::call::Call {
                el: &mut el,
                server,
                c,
            },
            cmd,
        );
    }

    #[test]
    fn relative_expiries_become_absolute() {
        let (mut server, mut c, _peer) = aof_server();
        let before = crate::server::mstime() as i64;
        call(&mut server, &mut c, "SET a 1 EX 100");
        call(&mut server, &mut c, "setex b 100 v");
        call(&mut server, &mut c, "set c v");
        call(&mut server, &mut c, "set d ex");
        call(&mut server, &mut c, "expire c 100");
        call(&mut server, &mut c, "pexpireat c 99999999999999");
        call(&mut server, &mut c, "expire c -1");
        let lines = buffer(&server.aof);
        assert_eq!(lines[0], "SELECT 0");
        for (line, key, value) in [(&lines[1], "a", "1"), (&lines[2], "b", "v")] {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts[..4], ["SET", key, value, "PXAT"], "{line}");
            let when: i64 = parts[4].parse().expect("a number");
            assert!(
                when >= before + 100_000 && when < before + 200_000,
                "{line}"
            );
        }
        assert_eq!(lines[3], "set c v");
        assert_eq!(lines[4], "set d ex", "a value is not an option");
        assert!(lines[5].starts_with("PEXPIREAT c "), "{}", lines[5]);
        assert_eq!(lines[6], "pexpireat c 99999999999999");
        assert_eq!(lines[7], "DEL c");
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn unchanged_data_writes_nothing_and_select_follows_the_db() {
        let (mut server, mut c, _peer) = aof_server();
        call(&mut server, &mut c, "set a 1");
        call(&mut server, &mut c, "setnx a 2");
        call(&mut server, &mut c, "del nosuch");
        call(&mut server, &mut c, "get a");
        call(&mut server, &mut c, "select 3");
        call(&mut server, &mut c, "incrbyfloat f 1.5");
        call(&mut server, &mut c, "select 0");
        call(&mut server, &mut c, "getset a 3");
        assert_eq!(
            buffer(&server.aof),
            [
                "SELECT 0",
                "set a 1",
                "SELECT 3",
                "SET f 1.5 KEEPTTL",
                "SELECT 0",
                "SET a 3"
            ]
        );
    }

    #[test]
    fn transactions_are_wrapped_only_with_several_writes() {
        let (mut server, mut c, _peer) = aof_server();
        for line in ["MULTI", "SET m1 a", "INCR m2", "GET m1"] {
            run_str(&mut server, &mut c, line);
            if line != "MULTI" {
                // Queue it as processCommand does inside MULTI.
                let cmd = server.commands.lookup(&c.argv).expect("known");
                crate::server::multi::queue_multi_command(&mut c, cmd);
            }
        }
        call(&mut server, &mut c, "EXEC");
        for line in ["MULTI", "SET m3 a"] {
            run_str(&mut server, &mut c, line);
            if line != "MULTI" {
                let cmd = server.commands.lookup(&c.argv).expect("known");
                crate::server::multi::queue_multi_command(&mut c, cmd);
            }
        }
        call(&mut server, &mut c, "EXEC");
        assert_eq!(
            buffer(&server.aof),
            [
                "SELECT 0", "MULTI", "SET m1 a", "INCR m2", "EXEC", "SET m3 a"
            ]
        );
    }

    #[test]
    fn expired_keys_are_written_as_del_before_the_command() {
        let (mut server, mut c, _peer) = aof_server();
        call(&mut server, &mut c, "set k v px 1");
        std::thread::sleep(std::time::Duration::from_millis(5));
        call(&mut server, &mut c, "set k w");
        let lines = buffer(&server.aof);
        assert_eq!(lines[2..], ["DEL k", "set k w"]);
    }

    #[test]
    fn random_and_blocking_choices_are_written_as_what_they_did() {
        let (mut server, mut c, _peer) = aof_server();
        call(&mut server, &mut c, "sadd s a b c");
        call(&mut server, &mut c, "spop s");
        call(&mut server, &mut c, "spop s 5");
        call(&mut server, &mut c, "rpush l x y");
        call(&mut server, &mut c, "blpop nokey l 0");
        call(&mut server, &mut c, "brpoplpush l l2 0");
        let lines = buffer(&server.aof);
        assert!(lines[2].starts_with("SREM s "), "{}", lines[2]);
        assert_eq!(
            lines[3..],
            ["DEL s", "rpush l x y", "LPOP l", "RPOPLPUSH l l2"]
        );
    }
}
