//! MONITOR: the mirror of `replicationFeedMonitors` (Redis's `replication.c`).
//!
//! A client that sent `MONITOR` is told about every command any client runs,
//! as one status line per command, in the order the server ran them:
//!
//! ```text
//! +1700000000.123456 [0 127.0.0.1:52422] "set" "k" "v"
//! ```
//!
//! — the time, the database *after* the command (so `SELECT 3` shows 3), the
//! sender's address, and the arguments quoted like `redis-cli` quotes them.
//! Redis feeds the monitors at the end of `call()`, so a transaction shows
//! its queued commands first and `EXEC` last, and commands refused before
//! running (unknown, wrong arity) or flagged `admin` (CONFIG, CLIENT,
//! DEBUG, MONITOR itself) never show.

use std::time::{SystemTime, UNIX_EPOCH};

use super::Server;
use super::client::{Client, ClientRef};
use super::networking;

/// Appends `bytes` to `out` quoted the way Redis's `sdscatrepr` does:
/// printable ASCII as is, `"` and `\` escaped, `\n \r \t \a \b` by name,
/// any other byte as `\xHH`.
pub fn cat_repr(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// The line a monitor receives for `argv` run by `c` in database `db`.
pub fn monitor_line(c: &Client, db: usize, argv: &[Vec<u8>]) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}] ",
        now.as_secs(),
        now.subsec_micros(),
        db,
        c.addr
    )
    .into_bytes();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        cat_repr(&mut line, arg);
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// Sends the line for the command `c` just ran to every monitor, `c`
/// included if it is one (mirror of `replicationFeedMonitors`).
// anchor: monitor.feed_monitors
pub fn replication_feed_monitors(server: &mut Server, c: &mut Client) {
    let line = monitor_line(c, c.db, &c.argv);
    for who in server.monitors.clone() {
        let send = |server: &mut Server, m: &mut Client| {
            m.add_reply_proto(&line);
            networking::close_client_on_output_buffer_limit_reached(server, m);
        };
        if who == c.client_ref() {
            send(server, c);
        } else {
            networking::with_client(server, who, send);
        }
    }
}

/// Forgets a monitor (when it closes or RESETs).
pub fn remove_monitor(server: &mut Server, who: ClientRef) {
    server.monitors.retain(|&m| m != who);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::cmd::test_support::{client, server};

    #[test]
    fn arguments_are_quoted_like_sdscatrepr() {
        let mut out = Vec::new();
        cat_repr(&mut out, b"a\"b\\c\n\r\t\x07\x08\x00\x7f\xff ~");
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#""a\"b\\c\n\r\t\a\b\x00\x7f\xff ~""#
        );
    }

    #[test]
    fn the_line_has_time_db_address_and_arguments() {
        let mut server = server();
        let (c, _peer) = client(&mut server);
        let line = monitor_line(&c, 3, &[b"set".to_vec(), b"k".to_vec(), b"a b".to_vec()]);
        let line = String::from_utf8_lossy(&line).into_owned();
        let (time, rest) = line.split_once(' ').expect("a space after the time");
        let (secs, micros) = time.trim_start_matches('+').split_once('.').expect("a dot");
        assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{time}");
        assert_eq!(rest, format!("[3 {}] \"set\" \"k\" \"a b\"\r\n", c.addr));
    }
}
