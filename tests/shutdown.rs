//! SHUTDOWN: the errors are Redis's byte for byte; a successful SHUTDOWN
//! sends no reply, runs nothing after it, writes out what the append-only
//! file still holds, and the process exits with success.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{RealRedis, TestServer, read_to_close, roundtrip};

/// Requests that SHUTDOWN refuses, whatever the server's state.
const REFUSED: &[u8] = b"SHUTDOWN ABORT\r\n\
SHUTDOWN FOO\r\n\
SHUTDOWN NOSAVE SAVE\r\n\
SHUTDOWN NOW ABORT\r\n\
shutdown abort abort\r\n\
MULTI\r\n\
SHUTDOWN\r\n\
EXEC\r\n";

const REFUSALS: &[u8] = b"-ERR No shutdown in progress.\r\n\
-ERR syntax error\r\n\
-ERR syntax error\r\n\
-ERR syntax error\r\n\
-ERR No shutdown in progress.\r\n\
+OK\r\n\
-ERR Command not allowed inside a transaction\r\n\
-EXECABORT Transaction discarded because of previous errors.\r\n";

fn connect(addr: &str) -> TcpStream {
    let c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

#[test]
fn refusals_match_redis_byte_for_byte() {
    let ours = TestServer::start();
    roundtrip(&mut ours.raw(), REFUSED, REFUSALS);
    match RealRedis::start() {
        Some(redis) => roundtrip(&mut connect(&redis.addr()), REFUSED, REFUSALS),
        None => eprintln!("SKIPPED the redis-server half: redis-server is not installed"),
    }
}

#[test]
fn shutdown_closes_every_connection_without_a_reply_and_exits_with_success() {
    let server = TestServer::start();
    let mut bystander = server.raw();
    roundtrip(&mut bystander, b"PING\r\n", b"+PONG\r\n");
    let mut c = server.raw();
    // The PING after SHUTDOWN is never run: Redis has exited by then.
    c.write_all(b"SHUTDOWN NOSAVE NOW\r\nPING\r\n").unwrap();
    assert_eq!(
        read_to_close(&mut c),
        b"",
        "no reply to SHUTDOWN or to PING"
    );
    assert_eq!(read_to_close(&mut bystander), b"");
    assert!(server.wait_for_exit().success());
}

#[test]
fn save_fails_without_force_and_the_server_stays_up() {
    let server = TestServer::start();
    let mut c = server.raw();
    roundtrip(
        &mut c,
        b"SHUTDOWN SAVE\r\nPING\r\n",
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n+PONG\r\n",
    );
    c.write_all(b"SHUTDOWN SAVE FORCE\r\n").unwrap();
    assert_eq!(read_to_close(&mut c), b"");
    assert!(server.wait_for_exit().success());
}

#[test]
fn writes_still_in_the_aof_buffer_are_on_disk_after_shutdown() {
    let dir = std::env::temp_dir().join(format!("loopscope-shutdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_arg = dir.to_string_lossy().into_owned();
    // appendfsync no: nothing forces the buffer out but the shutdown itself.
    let aof = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "no",
        "--dir",
        &dir_arg,
    ];
    let server = TestServer::start_with(&aof);
    let mut c = server.raw();
    // One read holds both: SET runs and feeds the AOF buffer, then SHUTDOWN
    // stops the loop before any beforeSleep could write that buffer (or the
    // +OK, which Redis never sends either). Only the shutdown path can have
    // put the SET on disk.
    c.write_all(b"SET kept yes\r\nSHUTDOWN\r\n").unwrap();
    assert_eq!(read_to_close(&mut c), b"");
    assert!(server.wait_for_exit().success());

    let again = TestServer::start_with(&aof);
    roundtrip(&mut again.raw(), b"GET kept\r\n", b"$3\r\nyes\r\n");
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
