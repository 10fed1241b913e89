//! Side by side with the real thing: every command below is sent to Debian's
//! `redis-server` and to loopscope, and the raw reply bytes must be identical.
//! Skips loudly when redis-server is not installed (CI installs it).

mod common;

use common::{RealRedis, RespConn, TestServer};

/// Runs `script` (one command per line, arguments split on spaces, `\s` for a
/// space inside an argument) on both servers over fresh connections and
/// compares every reply.
fn same_replies(script: &str) {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let ours = TestServer::start();
    let mut theirs = RespConn::connect(&redis.addr());
    let mut mine = RespConn::connect(&ours.addr());
    for line in script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let args: Vec<Vec<u8>> = line
            .split(' ')
            .map(|a| a.replace("\\s", " ").into_bytes())
            .collect();
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        // Client ids are unique and growing in both, but Redis 7.0 spends
        // ids 1 and 2 on internal clients, so its first connection is id 3.
        let expected = mask_client_id(theirs.call(&args));
        let got = mask_client_id(mine.call(&args));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "reply to `{line}` differs from redis-server"
        );
    }
}

/// Replaces the number after HELLO's `id` key with `N`.
fn mask_client_id(reply: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&reply).into_owned();
    match text.find("$2\r\nid\r\n:") {
        Some(at) => {
            let start = at + "$2\r\nid\r\n:".len();
            let end = start + text[start..].find("\r\n").unwrap_or(0);
            format!("{}N{}", &text[..start], &text[end..]).into_bytes()
        }
        None => reply,
    }
}

#[test]
fn connection_commands() {
    same_replies(
        "PING
         PING hello
         PING a b
         ECHO
         ECHO hi
         SELECT 15
         SELECT 16
         SELECT -1
         SELECT x
         SELECT 0
         CLIENT SETNAME my-client
         CLIENT GETNAME
         CLIENT SETNAME bad\\sname
         CLIENT SETNAME
         CLIENT NOSUCH
         CLIENT
         HELLO 4
         HELLO x
         NOSUCHCOMMAND a b",
    );
}

#[test]
fn resp3_replies() {
    same_replies(
        "SET s 1
         HELLO 3 SETNAME x
         GET nosuch
         MGET s nosuch
         INCRBYFLOAT f 1.5
         EXISTS s
         TTL s
         PING
         HELLO 2",
    );
}

#[test]
fn string_commands() {
    same_replies(
        "SET k v
         GET k
         SET k v2 NX
         SET k v3 XX GET
         SET k v EX 0
         SET k v EX -1
         SET k v PX 100 EX 100
         SET k v NX XX
         SET k v KEEPTTL EX 10
         SET k v BADOPT
         SET k v EX 1000
         SET k v KEEPTTL
         SET nx1 v NX GET
         GETSET k new
         GETDEL k
         GETDEL k
         SETNX a 1
         SETNX a 2
         SETEX e 100 v
         SETEX e 0 v
         SETEX e x v
         PSETEX p 100000 v
         MSET a 1 b 2 c 3
         MSET a
         MGET a b c nosuch
         MSETNX a 1 z 2
         MSETNX y 1 z 2
         INCR n
         INCRBY n 10
         DECR n
         DECRBY n 5
         INCRBY n x
         INCR a
         SET big 9223372036854775807
         INCR big
         DECRBY n -9223372036854775808
         SET s hello
         INCR s
         INCRBYFLOAT f 10.5
         INCRBYFLOAT f 0.1
         INCRBYFLOAT f -5e3
         INCRBYFLOAT f abc
         INCRBYFLOAT s 1
         APPEND s \\sworld
         APPEND new x
         STRLEN s
         STRLEN nosuch
         GETRANGE s 0 4
         GETRANGE s -5 -1
         GETRANGE s 5 1
         GETRANGE s 0 1000
         GETRANGE nosuch 0 1
         SETRANGE s 6 WORLD
         SETRANGE s 20 x
         GET s
         SETRANGE s -1 x
         GETEX s
         GETEX s EX 100
         TTL s
         GETEX s PERSIST
         TTL s
         GETEX s EX 0
         GETEX nosuch EX 10",
    );
}

#[test]
fn key_commands() {
    same_replies(
        "MSET a 1 b 2 c 3
         DEL a nosuch
         EXISTS a b c b
         UNLINK b
         TYPE c
         TYPE nosuch
         EXPIRE c 100
         TTL c
         EXPIRE c 100 NX
         EXPIRE c 50 GT
         EXPIRE c 200 GT
         EXPIRE c 300 LT
         EXPIRE c 10 NX XX
         EXPIRE c 10 GT LT
         EXPIRE c 10 FOO
         EXPIRE c x
         EXPIRE c 9223372036854775807
         PEXPIRE c 100000
         PERSIST c
         PERSIST c
         TTL c
         PTTL nosuch
         EXPIREAT c 1
         EXISTS c
         SET d 1
         PEXPIREAT d 99999999999999
         RENAME d e
         RENAME nosuch x
         RENAMENX e e
         SET f 1
         RENAMENX e f
         RENAME e e
         KEYS e*
         KEYS [e]
         KEYS f?
         KEYS nomatch*
         SCAN 0 COUNT x
         SCAN x
         SCAN 0 MATCH nosuch* COUNT 1000
         FLUSHDB
         RANDOMKEY
         DBSIZE",
    );
}

#[test]
fn server_commands() {
    same_replies(
        "COMMAND INFO get set
         CONFIG GET save
         CONFIG GET appendonly
         CONFIG GET maxclients
         CONFIG GET hz
         CONFIG GET nosuchparameter
         CONFIG SET hz 20
         CONFIG GET hz
         CONFIG SET nosuch 1
         DBSIZE
         FLUSHALL
         FLUSHALL ASYNC
         FLUSHDB SYNC
         FLUSHDB BAD
         DEBUG SLEEP 0
         TIME x",
    );
}
