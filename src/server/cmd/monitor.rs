//! `MONITOR`: turns the connection into a live feed of every command the
//! server runs (the command half; the feed is [`crate::server::monitor`]).

use super::RedisCommand;
use super::keys::command;
use crate::server::call::Call;
use crate::server::client::{CLIENT_DENY_BLOCKING, CLIENT_MONITOR};

/// `MONITOR` (mirror of `monitorCommand`). A second MONITOR on the same
/// connection is ignored, without a reply, as in Redis; inside EXEC it is
/// refused, since the transaction must get one reply per command.
fn monitor_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.flags & CLIENT_DENY_BLOCKING != 0 {
        return c.add_reply_error("MONITOR isn't allowed for DENY BLOCKING client");
    }
    if c.flags & CLIENT_MONITOR != 0 {
        return;
    }
    c.flags |= CLIENT_MONITOR;
    server.monitors.push(c.client_ref());
    c.add_reply_ok();
}

pub const COMMANDS: &[RedisCommand] = &[RedisCommand {
    flags: "admin noscript loading stale",
    acl_categories: "@admin @slow @dangerous",
    summary: "Streams every command the server runs to this connection",
    // Redis documents no complexity for MONITOR.
    complexity: "",
    ..command("monitor", monitor_command, 1, "server")
}];

#[cfg(test)]
mod tests {
    use crate::server::cmd::test_support::{client, run_str, server, show};

    #[test]
    fn a_second_monitor_says_nothing() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        assert_eq!(show(&run_str(&mut server, &mut c, "MONITOR")), "+OK\r\n");
        assert_eq!(show(&run_str(&mut server, &mut c, "MONITOR")), "");
        assert_eq!(server.monitors, [c.client_ref()]);
    }
}
