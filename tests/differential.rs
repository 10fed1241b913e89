//! Side by side with the real thing: every command below is sent to Debian's
//! `redis-server` and to loopscope, and the raw reply bytes must be identical.
//! Skips loudly when redis-server is not installed (CI installs it).

mod common;

use common::{RealRedis, RespConn, TestServer};

/// Runs `script` (one command per line, arguments split on spaces, `\s` for a
/// space inside an argument) on both servers over fresh connections and
/// compares every reply.
fn same_replies(script: &str) {
    same_replies_with(script, &[]);
}

/// [`same_replies`] with both servers started with the same extra settings.
fn same_replies_with(script: &str, settings: &[&str]) {
    let Some(redis) = RealRedis::start_with(settings) else {
        return;
    };
    let ours = TestServer::start_with(settings);
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

/// Like [`same_replies`], over several connections to each server. Each
/// line starts with a connection number and a verb: `N> cmd` sends and
/// reads one reply, `N! cmd` only sends (a BLPOP that blocks, a SUBSCRIBE
/// with several confirmations), `N<` reads one more reply (a confirmation,
/// a message, a blocked client's answer). `sleep MS` waits on both.
fn same_replies_multi(script: &str) {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let ours = TestServer::start();
    let mut theirs: Vec<RespConn> = Vec::new();
    let mut mine: Vec<RespConn> = Vec::new();
    for line in script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(ms) = line.strip_prefix("sleep ") {
            std::thread::sleep(std::time::Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        let split = line.find(['>', '!', '<']).expect("a verb");
        let n: usize = line[..split].trim().parse().expect("a connection number");
        while theirs.len() <= n {
            theirs.push(RespConn::connect(&redis.addr()));
            mine.push(RespConn::connect(&ours.addr()));
        }
        let verb = line.as_bytes()[split];
        let rest = line[split + 1..].trim();
        if verb != b'<' {
            let args: Vec<Vec<u8>> = rest
                .split(' ')
                .map(|a| a.replace("\\s", " ").into_bytes())
                .collect();
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            theirs[n].send(&args);
            mine[n].send(&args);
        }
        if verb != b'!' {
            let expected = mask_client_id(theirs[n].reply());
            let got = mask_client_id(mine[n].reply());
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected),
                "reply to `{line}` differs from redis-server"
            );
        }
    }
}

#[test]
fn list_commands() {
    same_replies(
        "RPUSH l a b c d e
         LPUSH l z
         LPUSH
         RPUSHX nokey a
         LPUSHX l y
         LLEN l
         LLEN nokey
         LRANGE l 0 -1
         LRANGE l -100 100
         LRANGE l 3 1
         LRANGE l x 1
         LRANGE l 0 -9223372036854775808
         LINDEX l 0
         LINDEX l -1
         LINDEX l 99
         LINDEX l x
         LINDEX nokey x
         LSET l 0 A
         LSET l 99 x
         LSET nokey 0 x
         LSET l x y
         LINSERT l BEFORE c X
         LINSERT l after e Y
         LINSERT l after nope Y
         LINSERT l middle c X
         LINSERT nokey before a b
         LREM l 0 nope
         RPUSH r a b a c a
         LREM r 2 a
         LREM r -1 a
         LREM r x a
         LRANGE r 0 -1
         LTRIM r 0 0
         LTRIM r 5 10
         EXISTS r
         LTRIM nokey 0 1
         RPUSH p a b c b a b
         LPOS p b
         LPOS p b RANK 2
         LPOS p b RANK -1
         LPOS p b RANK 0
         LPOS p b COUNT 0
         LPOS p b COUNT 2 RANK -1
         LPOS p b MAXLEN 2 COUNT 0
         LPOS p b COUNT -1
         LPOS p b MAXLEN x
         LPOS p b RANK -9223372036854775808
         LPOS p b FOO 1
         LPOS nokey b COUNT 0
         LPOP p
         RPOP p 2
         LPOP p 0
         LPOP p -1
         LPOP nokey 2
         LPOP p 1 2
         RPOP nokey
         LMOVE p p LEFT RIGHT
         LMOVE p d RIGHT LEFT
         LMOVE p d up LEFT
         LMOVE nokey d LEFT LEFT
         RPOPLPUSH p d
         LRANGE d 0 -1
         LRANGE p 0 -1
         SET s str
         LPUSH s a
         LRANGE s 0 1
         LMOVE s d LEFT LEFT
         LMOVE d s LEFT LEFT
         LPOP s x
         LPOS s a RANK 0
         TYPE l
         HELLO 3
         LPOP nokey
         LPOP nokey 1
         LPOP p 0
         LPOS nokey x
         HELLO 2",
    );
}

#[test]
fn blocking_list_commands_without_blocking() {
    same_replies(
        "BLPOP k 0.01
         BRPOP k 0.001
         BLPOP k -1
         BLPOP k x
         BLPOP k 1e300
         BLPOP k inf
         BLPOP k nan
         BLPOP k 9223372036854776
         BLMOVE a b LEFT RIGHT 0.01
         BRPOPLPUSH a b 0.01
         BLMOVE a b LEFT up 0.01
         BLMOVE a b LEFT RIGHT x
         SET s v
         BLPOP s 0.01
         RPUSH k a b
         BLPOP s k 0.01
         BLPOP nokey k 0
         BRPOP k k 0
         RPUSH k a
         BLMOVE k s LEFT RIGHT 0
         BRPOPLPUSH k d 0
         LRANGE d 0 -1
         MULTI
         BLPOP k 0
         BRPOPLPUSH k d 0
         BLMOVE k d LEFT LEFT 0
         BLPOP k x
         EXEC",
    );
}

#[test]
fn debug_set_active_expire_leaves_expired_keys_to_lazy_expiry() {
    // While the active cycle is off only a lookup deletes a key past its
    // deadline; the argument is read with atoi, so 4294967296 is 0 (off).
    same_replies_multi(
        "0> DEBUG SET-ACTIVE-EXPIRE 0
         0> SET k v PX 50
         sleep 300
         0> DBSIZE
         0> GET k
         0> DBSIZE
         0> DEBUG SET-ACTIVE-EXPIRE
         0> DEBUG set-active-expire 1 2
         0> DEBUG Set-Active-Expire x
         0> DEBUG SET-ACTIVE-EXPIRE 4294967296
         0> SET k v PX 50
         sleep 300
         0> DBSIZE
         0> DEBUG SET-ACTIVE-EXPIRE 5abc
         sleep 400
         0> DBSIZE",
    );
}

#[test]
fn debug_populate_makes_the_same_keys_and_values() {
    // Existing keys are skipped, a size pads the value with zeros or cuts
    // it, and both numbers must be non-negative integers.
    same_replies_multi(
        "0> FLUSHALL
         0> DEBUG POPULATE 3
         0> MGET key:0 key:1 key:2 key:3
         0> SET p:1 mine
         0> DEBUG POPULATE 3 p 3
         0> MGET p:0 p:1 p:2
         0> DEBUG POPULATE 2 q 10
         0> GET q:1
         0> DEBUG POPULATE 1 z 0
         0> GET z:0
         0> DEBUG POPULATE abc
         0> DEBUG POPULATE -1
         0> DEBUG POPULATE 2 p x
         0> DEBUG POPULATE 2 p -5
         0> DEBUG POPULATE
         0> DEBUG POPULATE 1 2 3 4
         0> DEBUG POPULATE 0
         0> DBSIZE
         0> DEBUG POPULATE 1000 big
         0> DBSIZE
         0> GET big:999",
    );
}

#[test]
fn blocked_clients_with_several_connections() {
    same_replies_multi(
        "0> FLUSHALL
         1! BLPOP k 0
         2! BLPOP other k 0
         3! BRPOP k 0
         sleep 50
         0> RPUSH k a b c d
         1<
         2<
         3<
         0> LRANGE k 0 -1
         # A push inside a transaction serves the waiter after EXEC.
         1! BLMOVE src dst LEFT RIGHT 0
         2! BRPOP dst 0
         sleep 50
         0> MULTI
         0> LPUSH src x
         0> LPOP src
         0> LPUSH src y
         0> EXEC
         1<
         2<
         0> EXISTS src dst
         # The served client's pipelined commands run once it is answered.
         1! BLPOP q 0
         1! PING
         sleep 50
         0> RPUSH q v
         1<
         1<
         # A destination of the wrong type fails the move and keeps the element.
         0> SET str v
         2! BLMOVE m str LEFT LEFT 0
         sleep 50
         0> RPUSH m e
         2<
         0> LLEN m
         # A key pushed and then replaced within a transaction serves nobody.
         1! BLPOP w 0
         sleep 50
         0> MULTI
         0> RPUSH w a
         0> DEL w
         0> SET w str
         0> EXEC
         0> DEL w
         0> RPUSH w b
         1<
         # Timeouts.
         3> BLPOP none 0.05
         3> BLMOVE none x LEFT LEFT 0.05
         3> HELLO 3
         3> BLPOP none 0.05",
    );
}

#[test]
fn hash_commands() {
    same_replies(
        "HSET h a 1 b 2
         HSET h a 1 b
         HSET h c 3 a 10
         HGETALL h
         HDEL h b x
         HGETALL h
         HGET h a
         HGET h nope
         HGET nokey a
         HMGET h a nope c
         HMGET nokey a
         HEXISTS h a
         HEXISTS h x
         HLEN h
         HLEN nokey
         HKEYS h
         HVALS h
         HSTRLEN h a
         HSTRLEN h nope
         HINCRBY h a 5
         HINCRBY h new 5
         HINCRBY h a x
         HSET h s str big 9223372036854775807 neg -9223372036854775808
         HINCRBY h s 1
         HINCRBY h big 1
         HINCRBY h neg -1
         HINCRBY nokey f 3
         HINCRBYFLOAT h f 1.5
         HINCRBYFLOAT h f inf
         HINCRBYFLOAT h f x
         HINCRBYFLOAT h s 1
         HSET h n 10.5
         HINCRBYFLOAT h n 0.1
         HSETNX h a 99
         HSETNX h z 99
         HMSET h x 1 y 2
         HMSET h x
         HGETALL h
         SET str v
         HSET str a 1
         HGET str a
         HGETALL str
         HINCRBY str a x
         HDEL h a c new s big neg z x y f n
         EXISTS h
         HELLO 3
         HGETALL nokey
         HGETALL nokey2
         HSET m k v
         HGETALL m
         HMGET m k x
         HELLO 2",
    );
}

#[test]
fn set_commands() {
    // Sets of integers answer in numeric order in Redis 7.0, so their
    // replies are comparable; other sets are checked by size only.
    same_replies(
        "SADD a 4 3 2 1
         SADD a 2 5
         SMEMBERS a
         SADD b 3 4 5 6
         SINTER a b
         SUNION a b
         SDIFF a b
         SDIFF a a
         SDIFF nokey a
         SINTER a nokey
         SINTERSTORE d a b
         SMEMBERS d
         SUNIONSTORE d a b
         SDIFFSTORE d a b
         SMEMBERS d
         SINTERSTORE d a nokey
         EXISTS d
         SINTERCARD 2 a b
         SINTERCARD 2 a b LIMIT 1
         SINTERCARD 0 a
         SINTERCARD 3 a b
         SINTERCARD 2 a b LIMIT -1
         SINTERCARD 2 a b FOO 1
         SISMEMBER a 3
         SISMEMBER a x
         SMISMEMBER a 3 x 5
         SCARD a
         SCARD nokey
         SREM a 1 9
         SREM nokey 1
         SMOVE a b 2
         SMOVE a b 2
         SMOVE nokey b 2
         SMOVE a a 3
         SADD c x
         SMEMBERS c
         SRANDMEMBER c
         SRANDMEMBER c 5
         SRANDMEMBER c -3
         SRANDMEMBER c 0
         SRANDMEMBER a 10
         SRANDMEMBER nokey 3
         SRANDMEMBER nokey
         SRANDMEMBER a -9223372036854775808
         SRANDMEMBER a x
         SRANDMEMBER a 1 2
         SPOP nokey
         SPOP nokey 2
         SPOP c 0
         SPOP c
         EXISTS c
         SPOP a -1
         SPOP a x
         SADD e 1 2 3
         SPOP e 3
         EXISTS e
         SET str v
         SADD str 1
         SINTER nokey str
         SUNION a str
         SMEMBERS str
         SMOVE a str 3
         SADD n 01
         SADD n 1
         SCARD n
         HELLO 3
         SMEMBERS a
         SMEMBERS nokey
         SPOP nokey 1
         SRANDMEMBER a 100
         SINTERCARD 1 a
         HELLO 2",
    );
}

#[test]
fn types_across_type_scan_and_keys() {
    same_replies(
        "RPUSH l a
         HSET h f v
         SADD s m
         SET str v
         TYPE l
         TYPE h
         TYPE s
         TYPE str
         TYPE nokey
         SCAN 0 TYPE list
         SCAN 0 TYPE hash
         SCAN 0 TYPE set
         SCAN 0 TYPE string COUNT 100
         KEYS l*
         GET l
         INCR h
         APPEND s x
         LLEN h
         HGET s f
         SCARD l
         DEL l h s str
         DBSIZE",
    );
}

#[test]
fn pubsub_with_two_clients() {
    same_replies_multi(
        "1! SUBSCRIBE a b a
         1<
         1<
         1<
         1! PSUBSCRIBE p* a?
         1<
         1<
         1> GET x
         1> PING
         1> PING hi
         1> PING a b
         1> CLIENT ID
         1> UNSUBSCRIBE x
         0> PUBLISH a hello
         1<
         0> PUBLISH ab hi
         1<
         0> PUBLISH nobody hi
         # Redis lists channels in its hash table's order: ask for one.
         0> PUBSUB CHANNELS b*
         0> PUBSUB CHANNELS x*
         0> PUBSUB NUMSUB a b c
         0> PUBSUB NUMSUB
         0> PUBSUB NUMPAT
         0> PUBSUB NUMPAT x
         0> PUBSUB FOO
         1! PUNSUBSCRIBE
         1<
         1<
         1> PUNSUBSCRIBE
         1! UNSUBSCRIBE b a
         1<
         1<
         1> UNSUBSCRIBE
         1> GET x
         2> HELLO 3
         2> SUBSCRIBE c
         2> GET x
         2> PING
         2! PUBLISH c self
         2<
         2> PSUBSCRIBE c*
         0> PUBLISH c two
         2<
         2<
         2> PUBSUB NUMSUB c
         2> UNSUBSCRIBE
         2> UNSUBSCRIBE
         2> PUNSUBSCRIBE
         3! SSUBSCRIBE s t
         3<
         3<
         3> SUNSUBSCRIBE t
         3> SUBSCRIBE c
         0> SPUBLISH s hi
         3<
         0> PUBLISH s hi
         0> PUBSUB SHARDCHANNELS s*
         0> PUBSUB SHARDNUMSUB s c
         3> SUNSUBSCRIBE
         3> SUNSUBSCRIBE
         3> UNSUBSCRIBE
         4> MULTI
         4> SUBSCRIBE q
         4> SSUBSCRIBE q
         4> EXEC
         4> RESET
         4> GET x",
    );
}

#[test]
fn transactions_and_watch() {
    same_replies_multi(
        "0> FLUSHALL
         1> EXEC
         1> DISCARD
         1> MULTI
         1> MULTI
         1> SET a 1
         1> NOSUCH
         1> GET
         1> EXEC
         1> MULTI
         1> SET a 1
         1> INCR a
         1> LPUSH a x
         1> WATCH x
         1> UNWATCH
         1> EXEC
         1> WATCH a
         1> MULTI
         1> GET a
         0> SET a 2
         1> EXEC
         1> WATCH a
         0> SET a 3
         1> UNWATCH
         1> MULTI
         1> GET a
         1> EXEC
         # Writes that change nothing do not touch; the ones that do, do.
         0> SET k v
         1> WATCH k
         0> SET k v NX
         0> INCRBY k x
         0> EXPIRE k 100 GT
         0> PERSIST k
         1> MULTI
         1> EXEC
         1> WATCH k
         0> APPEND k x
         1> MULTI
         1> EXEC
         1> WATCH k
         0> SETRANGE k 0 y
         1> MULTI
         1> EXEC
         1> WATCH k
         0> EXPIRE k 100
         1> MULTI
         1> EXEC
         # A watched key that did not exist survives FLUSHALL; one that did does not.
         1> WATCH nokey
         0> FLUSHALL
         1> MULTI
         1> EXEC
         0> SET q 1
         1> WATCH q
         0> FLUSHDB
         1> MULTI
         1> EXEC
         0> SET q 1
         1> WATCH q
         0> SELECT 1
         0> FLUSHDB
         0> SELECT 0
         1> MULTI
         1> EXEC
         # A key watched in another database is another key.
         1> SELECT 2
         1> WATCH q
         1> SELECT 0
         0> SET q 2
         1> MULTI
         1> EXEC
         1> WATCH q
         1> SET q 5
         1> MULTI
         1> EXEC
         # Watching a key that expires before EXEC fails it.
         0> SET e v PX 100
         1> WATCH e
         sleep 200
         1> MULTI
         1> EXEC
         # Every list, hash and set write touches.
         0> RPUSH l a
         0> HSET h f v
         0> SADD s m
         1> WATCH l h s
         0> LPUSH l b
         1> MULTI
         1> EXEC
         1> WATCH h
         0> HINCRBY h n 1
         1> MULTI
         1> EXEC
         1> WATCH s
         0> SREM s nope
         1> MULTI
         1> EXEC
         1> WATCH s
         0> SPOP s
         1> MULTI
         1> EXEC
         1> HELLO 3
         1> WATCH l
         0> RPOP l
         1> MULTI
         1> EXEC
         1> MULTI
         1> SUBSCRIBE ch
         1> MONITOR
         1> EXEC
         1> UNSUBSCRIBE ch",
    );
}

#[test]
fn client_kill_and_unblock() {
    same_replies_multi(
        "0> CLIENT KILL
         0> CLIENT KILL 1.2.3.4:5
         0> CLIENT KILL id
         0> CLIENT KILL ID x
         0> CLIENT KILL ID 0
         0> CLIENT KILL ID 99999
         0> CLIENT KILL TYPE foo
         0> CLIENT KILL TYPE master
         0> CLIENT KILL TYPE normal SKIPME maybe
         0> CLIENT KILL USER nobody
         0> CLIENT KILL USER default SKIPME yes TYPE replica
         0> CLIENT KILL ADDR 1.2.3.4:5
         0> CLIENT KILL LADDR 1.2.3.4:5
         0> CLIENT KILL FOO bar
         0> CLIENT KILL ID 1 ID
         1! SUBSCRIBE x
         1<
         0> CLIENT KILL TYPE pubsub
         0> CLIENT UNBLOCK 99999
         0> CLIENT UNBLOCK x
         0> CLIENT UNBLOCK 1 foo
         0> CLIENT UNBLOCK 1 timeout x
         0> CLIENT LIST TYPE pubsub
         0> CLIENT KILL TYPE normal",
    );
}

#[test]
fn config_client_output_buffer_limit() {
    same_replies(
        "CONFIG GET client-output-buffer-limit
         CONFIG SET client-output-buffer-limit normal\\s1\\s2
         CONFIG SET client-output-buffer-limit normal\\s1\\s2\\s3
         CONFIG GET client-output-buffer-limit
         CONFIG SET client-output-buffer-limit pubsub\\s1mb\\s2kb\\s10\\sslave\\s0\\s0\\s0
         CONFIG GET client-output-buffer-limit
         CONFIG SET client-output-buffer-limit foo\\s1\\s2\\s3
         CONFIG SET client-output-buffer-limit master\\s1\\s2\\s3
         CONFIG SET client-output-buffer-limit normal\\sx\\s2\\s3
         CONFIG SET client-output-buffer-limit normal\\s1\\s2\\s-3
         CONFIG SET client-output-buffer-limit normal\\s1\\s2\\sx
         CONFIG SET client-output-buffer-limit normal\\s-1\\s2\\s3
         CONFIG SET client-output-buffer-limit \\s
         CONFIG SET client-output-buffer-limit replica\\s1\\s2\\s3
         CONFIG GET client-output*
         CONFIG SET client-output-buffer-limit normal\\s0\\s0\\s0\\sreplica\\s256mb\\s64mb\\s60\\spubsub\\s32mb\\s8mb\\s60
         CONFIG GET client-output-buffer-limit",
    );
}

/// Every command this server added for lists, hashes, sets, pub/sub,
/// transactions and MONITOR, for the metadata comparisons below.
const TYPE_COMMANDS: &[&str] = &[
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "llen",
    "lrange",
    "lindex",
    "lset",
    "lrem",
    "ltrim",
    "linsert",
    "lpos",
    "lmove",
    "rpoplpush",
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "hset",
    "hmset",
    "hsetnx",
    "hget",
    "hmget",
    "hdel",
    "hexists",
    "hlen",
    "hstrlen",
    "hgetall",
    "hkeys",
    "hvals",
    "hincrby",
    "hincrbyfloat",
    "sadd",
    "srem",
    "smembers",
    "sismember",
    "smismember",
    "scard",
    "smove",
    "spop",
    "srandmember",
    "sinter",
    "sinterstore",
    "sintercard",
    "sunion",
    "sunionstore",
    "sdiff",
    "sdiffstore",
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "publish",
    "pubsub",
    "ssubscribe",
    "sunsubscribe",
    "spublish",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "monitor",
    "reset",
];

#[test]
fn command_info_of_the_new_commands() {
    // PUBSUB's subcommands come in Redis's hash table order, which changes
    // from one redis-server process to the next: it is compared below.
    let plain: Vec<&str> = TYPE_COMMANDS
        .iter()
        .copied()
        .filter(|&n| n != "pubsub")
        .collect();
    for chunk in plain.chunks(8) {
        same_replies(&format!("COMMAND INFO {}", chunk.join(" ")));
    }
    same_replies("COMMAND INFO client|kill client|unblock");
}

/// Sorts the entries under every `subcommands` key (a map in COMMAND DOCS,
/// an array of arrays in COMMAND INFO) by name, since Redis lists them in
/// its hash table's order.
fn sort_subcommands(reply: &mut Resp) {
    let Resp::Aggregate(kind, items) = reply else {
        return;
    };
    items.iter_mut().for_each(sort_subcommands);
    if *kind == b'%' {
        let mut i = 0;
        while i + 1 < items.len() {
            if items[i] == Resp::Bulk(b"subcommands".to_vec())
                && let Resp::Aggregate(_, subs) = &mut items[i + 1]
            {
                let mut pairs: Vec<(Resp, Resp)> = Vec::new();
                let mut flat = std::mem::take(subs).into_iter();
                while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                    pairs.push((k, v));
                }
                pairs.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
                *subs = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
            }
            i += 2;
        }
    }
}

#[test]
fn command_info_of_pubsub_matches_in_any_subcommand_order() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let ours = TestServer::start();
    let info = |addr: &str| {
        let mut conn = RespConn::connect(addr);
        let bytes = conn.call(&[b"COMMAND", b"INFO", b"pubsub"]);
        let mut reply = parse_resp(&bytes, &mut 0);
        // [[name, arity, ..., subcommands]]: sort the subcommand entries.
        if let Resp::Aggregate(_, outer) = &mut reply
            && let Some(Resp::Aggregate(_, entry)) = outer.first_mut()
            && let Some(Resp::Aggregate(_, subs)) = entry.get_mut(9)
        {
            subs.sort_by_key(|s| format!("{s:?}"));
        }
        reply
    };
    assert_eq!(info(&ours.addr()), info(&redis.addr()));
}

/// A parsed RESP3 reply, just enough to compare `COMMAND DOCS` by shape.
#[derive(Debug, PartialEq)]
enum Resp {
    Simple(Vec<u8>),
    Bulk(Vec<u8>),
    Int(i64),
    Null,
    /// Arrays, sets and maps (a map as its flat list of keys and values).
    Aggregate(u8, Vec<Resp>),
}

fn parse_resp(buf: &[u8], pos: &mut usize) -> Resp {
    let end = *pos
        + buf[*pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a line");
    let kind = buf[*pos];
    let line = std::str::from_utf8(&buf[*pos + 1..end]).expect("ascii");
    *pos = end + 2;
    match kind {
        b'+' => Resp::Simple(line.as_bytes().to_vec()),
        b':' => Resp::Int(line.parse().expect("an integer")),
        b'_' => Resp::Null,
        b'$' => {
            let len: usize = line.parse().expect("a length");
            let data = buf[*pos..*pos + len].to_vec();
            *pos += len + 2;
            Resp::Bulk(data)
        }
        b'*' | b'~' | b'%' => {
            let n: usize = line.parse().expect("a count");
            let n = if kind == b'%' { 2 * n } else { n };
            Resp::Aggregate(kind, (0..n).map(|_| parse_resp(buf, pos)).collect())
        }
        other => panic!("unexpected RESP type {}", other as char),
    }
}

/// Replaces the prose of `COMMAND DOCS` (summary, complexity, the text of
/// each history entry, replaced_by), which we write in our own words, so
/// that everything else can be compared exactly.
fn mask_prose(reply: &mut Resp) {
    let Resp::Aggregate(kind, items) = reply else {
        return;
    };
    if *kind == b'%' {
        let mut i = 0;
        while i + 1 < items.len() {
            let key = match &items[i] {
                Resp::Bulk(k) => k.clone(),
                _ => Vec::new(),
            };
            match key.as_slice() {
                b"summary" | b"complexity" | b"replaced_by" => {
                    items[i + 1] = Resp::Bulk(b"...".to_vec())
                }
                b"history" => {
                    if let Resp::Aggregate(_, entries) = &mut items[i + 1] {
                        for entry in entries {
                            if let Resp::Aggregate(_, pair) = entry {
                                pair[1] = Resp::Bulk(b"...".to_vec());
                            }
                        }
                    }
                }
                _ => mask_prose(&mut items[i + 1]),
            }
            i += 2;
        }
    } else {
        items.iter_mut().for_each(mask_prose);
    }
}

#[test]
fn command_docs_of_the_new_commands_match_but_for_prose() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let ours = TestServer::start();
    let mut theirs = RespConn::connect(&redis.addr());
    let mut mine = RespConn::connect(&ours.addr());
    for conn in [&mut theirs, &mut mine] {
        conn.call(&[b"HELLO", b"3"]);
    }
    for name in TYPE_COMMANDS {
        let request: [&[u8]; 3] = [b"COMMAND", b"DOCS", name.as_bytes()];
        let parse = |bytes: Vec<u8>| {
            let mut reply = parse_resp(&bytes, &mut 0);
            mask_prose(&mut reply);
            sort_subcommands(&mut reply);
            reply
        };
        let expected = parse(theirs.call(&request));
        let got = parse(mine.call(&request));
        assert_eq!(got, expected, "COMMAND DOCS {name}");
    }
}

#[test]
fn auth_with_a_password() {
    same_replies_with(
        "GET x
         FOO
         GET
         AUTH
         AUTH a b c
         AUTH bad
         AUTH default bad
         AUTH nobody secret
         HELLO 3
         HELLO
         HELLO 3 AUTH default bad
         HELLO 3 SETNAME a\\sb
         PING
         MULTI
         DEBUG SLEEP 0
         SUBSCRIBE ch
         CONFIG GET requirepass
         HELLO 2 AUTH default secret
         CONFIG GET requirepass
         AUTH bad
         PING
         RESET
         PING
         AUTH secret
         HELLO 3 AUTH default secret
         CONFIG SET requirepass other
         PING
         RESET
         GET x
         AUTH default other
         AUTH secret
         CONFIG GET protected-mode
         CONFIG SET protected-mode maybe",
        &["--requirepass", "secret"],
    );
}
