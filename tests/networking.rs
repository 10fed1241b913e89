//! The path of a request through the loop, checked byte for byte over raw
//! sockets against a real `loopscope serve`: pipelining, requests split across
//! reads, big requests and replies (bounded reads and writes that rely on the
//! level-trigger emulation), protocol errors, QUIT, maxclients and shutdown.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{TestServer, read_exact_len, read_to_close, roundtrip};

#[test]
fn inline_and_multibulk_ping() {
    let server = TestServer::start();
    let mut c = server.raw();
    roundtrip(&mut c, b"PING\r\n", b"+PONG\r\n");
    roundtrip(&mut c, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    roundtrip(
        &mut c,
        b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n",
        b"$5\r\nhello\r\n",
    );
}

#[test]
fn pipelined_requests_beyond_one_read_are_all_answered() {
    // 20,000 PINGs are ~280 KB: many 16 KiB reads, each one event. Without the
    // level-trigger emulation the tail of the pipeline would never be read.
    let server = TestServer::start();
    let mut c = server.raw();
    let n = 20_000;
    c.write_all(&b"*1\r\n$4\r\nPING\r\n".repeat(n)).unwrap();
    let got = read_exact_len(&mut c, n * 7);
    assert!(got.chunks(7).all(|r| r == b"+PONG\r\n"));
}

#[test]
fn a_request_split_across_reads_is_reassembled() {
    let server = TestServer::start();
    let mut c = server.raw();
    let request = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    for byte in request {
        c.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    roundtrip(&mut c, b"", b"+OK\r\n");
    roundtrip(&mut c, b"GET key\r\n", b"$5\r\nvalue\r\n");
}

#[test]
fn big_values_go_in_and_come_back_whole() {
    // A 5 MB reply cannot be written in one go: the writable handler takes
    // over, 64 KiB or more per event, until it is drained.
    let server = TestServer::start();
    let mut c = server.raw();
    let value = vec![b'x'; 5 * 1024 * 1024];
    let mut req = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len()).into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    roundtrip(&mut c, &req, b"+OK\r\n");
    c.write_all(b"GET big\r\n").unwrap();
    let header = format!("${}\r\n", value.len());
    let got = read_exact_len(&mut c, header.len() + value.len() + 2);
    assert_eq!(&got[..header.len()], header.as_bytes());
    assert!(
        got[header.len()..header.len() + value.len()]
            .iter()
            .all(|&b| b == b'x')
    );
    // The connection still works afterwards, and so does another one.
    roundtrip(&mut c, b"PING\r\n", b"+PONG\r\n");
    roundtrip(&mut server.raw(), b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn a_client_that_never_reads_does_not_block_others() {
    let server = TestServer::start();
    let mut setup = server.raw();
    let value = vec![b'y'; 1024 * 1024];
    let mut req = format!("*3\r\n$3\r\nSET\r\n$1\r\nv\r\n${}\r\n", value.len()).into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    roundtrip(&mut setup, &req, b"+OK\r\n");
    // This client asks for 20 MB of replies and never reads them.
    let mut greedy = server.raw();
    greedy.write_all(&b"GET v\r\n".repeat(20)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut other = server.raw();
    roundtrip(&mut other, b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn unknown_command_and_wrong_arity_errors_keep_the_connection() {
    let server = TestServer::start();
    let mut c = server.raw();
    roundtrip(
        &mut c,
        b"FOO bar baz\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
    );
    roundtrip(
        &mut c,
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    roundtrip(&mut c, b"PING\r\n", b"+PONG\r\n");
}

/// Each protocol error is answered, then the connection is closed, as Redis does.
#[test]
fn protocol_errors_are_answered_then_the_connection_closes() {
    let server = TestServer::start();
    let cases: &[(&[u8], &str)] = &[
        (
            b"*abc\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nx\r\n",
            "-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$999999999999\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"SET \"a b\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (request, expected) in cases {
        let mut c = server.raw();
        c.write_all(request).unwrap();
        let got = read_to_close(&mut c);
        assert_eq!(
            String::from_utf8_lossy(&got),
            *expected,
            "request {:?}",
            String::from_utf8_lossy(request)
        );
    }
    // Commands before the bad one in the same packet still run.
    let mut c = server.raw();
    c.write_all(b"PING\r\n*x\r\n").unwrap();
    assert_eq!(
        read_to_close(&mut c),
        b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
    );
}

#[test]
fn too_big_inline_request_closes_the_connection() {
    let server = TestServer::start();
    let mut c = server.raw();
    let _ = c.write_all(&vec![b'a'; 70 * 1024]);
    let got = read_to_close(&mut c);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: too big inline request\r\n"
    );
}

#[test]
fn quit_replies_then_closes_and_ignores_what_follows() {
    let server = TestServer::start();
    let mut c = server.raw();
    c.write_all(b"QUIT\r\nSET after quit\r\n").unwrap();
    assert_eq!(read_to_close(&mut c), b"+OK\r\n");
    roundtrip(&mut server.raw(), b"EXISTS after\r\n", b":0\r\n");
}

#[test]
fn maxclients_refuses_with_redis_error() {
    let server = TestServer::start_with(&["--maxclients", "2"]);
    let mut a = server.raw();
    let mut b = server.raw();
    roundtrip(&mut a, b"PING\r\n", b"+PONG\r\n");
    roundtrip(&mut b, b"PING\r\n", b"+PONG\r\n");
    let mut third = server.raw();
    assert_eq!(
        read_to_close(&mut third),
        b"-ERR max number of clients reached\r\n"
    );
    drop(a);
    // The slot frees once the server has seen the close.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = server.raw();
        c.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 64];
        let n = std::io::Read::read(&mut c, &mut buf).unwrap_or(0);
        if &buf[..n] == b"+PONG\r\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "slot never freed: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn garbage_from_many_clients_never_hurts_the_server() {
    let server = TestServer::start();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..200 {
        let mut c = server.raw();
        let len = (seed % 300) as usize + 1;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Bias towards protocol characters so the parser goes deep.
                let b = (seed >> 24) as u8;
                match b % 8 {
                    0 => b'*',
                    1 => b'$',
                    2 => b'\r',
                    3 => b'\n',
                    4 => b'0' + b % 10,
                    5 => b'"',
                    _ => b,
                }
            })
            .collect();
        let _ = c.write_all(&bytes);
    }
    roundtrip(&mut server.raw(), b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = TestServer::start();
    roundtrip(&mut server.raw(), b"PING\r\n", b"+PONG\r\n");
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
}

/// A client that announces an argument larger than any memory (after
/// `proto-max-bulk-len` is raised to its maximum) is closed without a reply,
/// and everyone else goes on. Redis would try to allocate the argument up
/// front and abort; loopscope refuses that one client.
#[test]
fn an_argument_too_big_for_memory_closes_only_that_client() {
    let server = TestServer::start();
    let mut admin = server.raw();
    roundtrip(
        &mut admin,
        b"*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$18\r\nproto-max-bulk-len\r\n$19\r\n9223372036854775807\r\n",
        b"+OK\r\n",
    );
    let mut greedy = server.raw();
    greedy
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4611686018427387904\r\nabc")
        .unwrap();
    assert_eq!(read_to_close(&mut greedy), b"");
    roundtrip(&mut admin, b"PING\r\n", b"+PONG\r\n");
}
