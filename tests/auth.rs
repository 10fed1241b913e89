//! AUTH, NOAUTH and HELLO … AUTH against a real `loopscope serve --requirepass`,
//! over raw sockets (exact bytes) and through the `redis` crate (a client
//! library's own handshake).

mod common;

use common::{RespConn, TestServer};

const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

#[test]
fn commands_wait_for_auth() {
    let server = TestServer::start_with(&["--requirepass", "secret"]);
    let mut conn = RespConn::connect(&server.addr());
    assert_eq!(conn.call(&[b"SET", b"k", b"v"]), NOAUTH);
    assert_eq!(conn.call(&[b"PING"]), NOAUTH);
    assert_eq!(conn.call(&[b"AUTH", b"wrong"]), WRONGPASS);
    assert_eq!(conn.call(&[b"AUTH", b"default", b"wrong"]), WRONGPASS);
    assert_eq!(conn.call(&[b"GET", b"k"]), NOAUTH);
    assert_eq!(conn.call(&[b"AUTH", b"secret"]), b"+OK\r\n");
    assert_eq!(conn.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    assert_eq!(conn.call(&[b"GET", b"k"]), b"$1\r\nv\r\n");
    // Another connection starts unauthenticated again.
    let mut other = RespConn::connect(&server.addr());
    assert_eq!(other.call(&[b"GET", b"k"]), NOAUTH);
}

#[test]
fn unauthenticated_requests_must_be_small() {
    let server = TestServer::start_with(&["--requirepass", "secret"]);
    let mut conn = server.raw();
    common::roundtrip(
        &mut conn,
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    // After AUTH the same request is fine (an unknown command, but parsed).
    let mut conn = RespConn::connect(&server.addr());
    assert_eq!(conn.call(&[b"AUTH", b"secret"]), b"+OK\r\n");
    let args: Vec<&[u8]> = std::iter::repeat_n(&b"x"[..], 11).collect();
    let reply = conn.call(&args);
    assert!(reply.starts_with(b"-ERR unknown command 'x'"), "{reply:?}");
}

#[test]
fn hello_3_auth_switches_protocol_and_authenticates() {
    let server = TestServer::start_with(&["--requirepass", "secret"]);
    let mut conn = RespConn::connect(&server.addr());
    let refused = conn.call(&[b"HELLO", b"3"]);
    assert!(
        refused.starts_with(b"-NOAUTH HELLO must be called"),
        "{refused:?}"
    );
    assert_eq!(
        conn.call(&[b"HELLO", b"3", b"AUTH", b"default", b"nope"]),
        WRONGPASS
    );
    let hello = conn.call(&[b"HELLO", b"3", b"AUTH", b"default", b"secret"]);
    assert!(hello.starts_with(b"%7\r\n"), "{hello:?}");
    assert_eq!(conn.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
}

#[test]
fn the_redis_crate_logs_in_with_a_password() {
    let server = TestServer::start_with(&["--requirepass", "secret"]);
    let url = format!("redis://:secret@127.0.0.1:{}/", server.port);
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .expect("connects and authenticates");
    redis::cmd("SET").arg("a").arg(1).exec(&mut con).unwrap();
    let got: i64 = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    assert_eq!(got, 1);

    let bad = format!("redis://:wrong@127.0.0.1:{}/", server.port);
    let err = redis::Client::open(bad.as_str())
        .unwrap()
        .get_connection()
        .err()
        .expect("a wrong password is refused");
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");

    let anonymous = redis::Client::open(server.url()).unwrap();
    let mut con = anonymous.get_connection().expect("connects");
    let err = redis::cmd("GET")
        .arg("a")
        .query::<Option<String>>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("NOAUTH"), "{err}");
}
