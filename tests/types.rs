//! Lists, hashes and sets against a real `loopscope serve`, through the
//! `redis` crate and redis-benchmark: the values come back as the client
//! library expects them, types are reported and enforced, and the
//! benchmark's list, set and hash tests run without an error.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;

use common::{TestServer, tool};
use redis::Commands;

#[test]
fn lists_hashes_and_sets_through_the_redis_crate() {
    let server = TestServer::start();
    let mut con = server.client();
    let n: i64 = con.rpush("l", &["a", "b", "c"]).unwrap();
    assert_eq!(n, 3);
    let _: i64 = con.lpush("l", "z").unwrap();
    let items: Vec<String> = con.lrange("l", 0, -1).unwrap();
    assert_eq!(items, ["z", "a", "b", "c"]);
    let popped: Option<String> = con.rpop("l", None).unwrap();
    assert_eq!(popped.as_deref(), Some("c"));

    let () = con
        .hset_multiple("h", &[("f1", "v1"), ("f2", "v2")])
        .unwrap();
    let all: HashMap<String, String> = con.hgetall("h").unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all["f2"], "v2");
    let n: i64 = con.hincr("h", "count", 5).unwrap();
    assert_eq!(n, 5);

    let added: i64 = con.sadd("s", &["x", "y", "x"]).unwrap();
    assert_eq!(added, 2);
    let members: HashSet<String> = con.smembers("s").unwrap();
    assert_eq!(members, HashSet::from(["x".to_string(), "y".to_string()]));
    let inter: HashSet<String> = con.sinter(&["s", "nokey"]).unwrap();
    assert!(inter.is_empty());

    for (key, kind) in [
        ("l", "list"),
        ("h", "hash"),
        ("s", "set"),
        ("nokey", "none"),
    ] {
        let t: String = redis::cmd("TYPE").arg(key).query(&mut con).unwrap();
        assert_eq!(t, kind);
    }
    let err = con.get::<_, String>("l").unwrap_err();
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    let mut found: Vec<String> = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("hash")
        .query::<(String, Vec<String>)>(&mut con)
        .unwrap()
        .1;
    found.sort();
    assert_eq!(found, ["h"]);
    let mut keys: Vec<String> = con.keys("*").unwrap();
    keys.sort();
    assert_eq!(keys, ["h", "l", "s"]);
}

#[test]
fn redis_benchmark_list_set_and_hash_tests_run_without_errors() {
    let Some(bench) = tool("redis-benchmark") else {
        return;
    };
    let server = TestServer::start();
    let port = server.port.to_string();
    // The default test list, except ZADD and ZPOPMIN (no sorted sets here).
    let tests = "ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,lrange_100,lrange_300,\
                 lrange_500,lrange_600,mset";
    let out = Command::new(&bench)
        .args(["-p", &port, "-t", tests, "-n", "2000", "-c", "10", "-q"])
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
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "LRANGE_600 (first 600 elements)",
    ] {
        assert!(
            stdout.contains(&format!("{test}: ")),
            "no {test} result in {stdout}"
        );
    }
    let mut con = server.client();
    let t: String = redis::cmd("TYPE").arg("mylist").query(&mut con).unwrap();
    assert_eq!(t, "list");
    let len: i64 = con.llen("mylist").unwrap();
    assert!(
        len >= 600,
        "LRANGE_600 needs 600 elements, the list has {len}"
    );
    let field: Option<String> = con.hget("myhash", "element:__rand_int__").unwrap();
    assert_eq!(field.map(|v| v.len()), Some(3));
    // SADD added one literal member over and over, and SPOP took it away.
    let card: i64 = con.scard("myset").unwrap();
    assert_eq!(card, 0);
}
