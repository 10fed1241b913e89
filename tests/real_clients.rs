//! Real clients against a real `loopscope serve`: the `redis` crate, and the
//! `redis-cli` and `redis-benchmark` a user would run (skipped loudly when not
//! installed; CI installs redis-tools).

mod common;

use std::process::Command;

use common::{TestServer, tool};
use redis::Commands;

#[test]
fn redis_crate_round_trips() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = con.set("greeting", "hello").unwrap();
    let v: String = con.get("greeting").unwrap();
    assert_eq!(v, "hello");
    let n: i64 = con.incr("counter", 5).unwrap();
    assert_eq!(n, 5);
    let missing: Option<String> = con.get("missing").unwrap();
    assert_eq!(missing, None);
    let _: () = con.set_ex("temp", "x", 100).unwrap();
    let ttl: i64 = con.ttl("temp").unwrap();
    assert!((99..=100).contains(&ttl));
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&["greeting", "missing"])
        .query(&mut con)
        .unwrap();
    assert_eq!(values, vec![Some("hello".to_string()), None]);
    let (a, b): (String, i64) = redis::pipe()
        .get("greeting")
        .incr("counter", 1)
        .query(&mut con)
        .unwrap();
    assert_eq!((a.as_str(), b), ("hello", 6));
    let err = redis::cmd("INCR")
        .arg("greeting")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("value is not an integer or out of range"),
        "{err}"
    );
}

#[test]
fn redis_cli_one_shot_and_interactive() {
    let Some(cli) = tool("redis-cli") else { return };
    let server = TestServer::start();
    let port = server.port.to_string();
    let out = Command::new(&cli)
        .args(["-p", &port, "SET", "foo", "bar"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    let out = Command::new(&cli)
        .args(["-p", &port, "GET", "foo"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bar\n");
    // Interactive mode starts by asking COMMAND DOCS for its hints; with stdin
    // not a terminal it still runs that start-up, then reads commands.
    let mut child = Command::new(&cli)
        .args(["-p", &port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"PING\nDBSIZE\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n1\n");
    assert!(
        out.stderr.is_empty(),
        "redis-cli complained: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // RESP3 through redis-cli.
    let out = Command::new(&cli)
        .args(["-3", "-p", &port, "HELLO", "3"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("proto") && text.contains('3'), "{text}");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    let Some(bench) = tool("redis-benchmark") else {
        return;
    };
    let server = TestServer::start();
    let port = server.port.to_string();
    for pipeline in ["1", "16"] {
        let out = Command::new(&bench)
            .args([
                "-p",
                &port,
                "-t",
                "set,get,incr,ping,mset",
                "-n",
                "20000",
                "-c",
                "20",
                "-P",
                pipeline,
                "-q",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "redis-benchmark failed: {stdout} {stderr}"
        );
        assert!(
            !stdout.contains("Error") && !stderr.contains("WARNING"),
            "{stdout} {stderr}"
        );
        for test in [
            "SET",
            "GET",
            "INCR",
            "PING_INLINE",
            "PING_MBULK",
            "MSET (10 keys)",
        ] {
            assert!(
                stdout.contains(&format!("{test}: ")),
                "no {test} result in {stdout}"
            );
        }
    }
    // The benchmark's keys are really there: SET stored its 3-byte payload
    // (`-d 3`, the default) and INCR counted every request of both runs.
    let mut con = server.client();
    let v: Option<Vec<u8>> = redis::Commands::get(&mut con, "key:__rand_int__").unwrap();
    assert_eq!(v.map(|v| v.len()), Some(3));
    let n: i64 = redis::Commands::get(&mut con, "counter:__rand_int__").unwrap();
    assert_eq!(n, 40_000);
}
