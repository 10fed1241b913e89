//! Side by side under strace: loopscope and Debian's redis-server get the
//! same traffic from the same client, and each server's reads and writes on
//! that client's socket are counted. The number of read calls, the number of
//! write calls (`write`, `writev`, `sendto`, `sendmsg`, failed ones too) and
//! the largest bytes per call must be within 10% of redis-server's: this is
//! what "behaves like Redis 7.0.15" means for the event loop's I/O.
//!
//! Only the measured client's socket counts: strace's `-yy` names each fd's
//! endpoints, and the client's own port picks its lines out of everything
//! else the server does (its log, other connections). The client is plain
//! and deterministic: it writes the whole request at once, then reads the
//! whole reply into a 64 KiB buffer, the same code for both servers (the
//! kernel's socket buffers shape the write counts, so both get the same).

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{RespConn, free_port, multibulk, tool};

const SYSCALLS: &str = "trace=read,recvfrom,write,writev,sendto,sendmsg";

/// Which server runs under strace.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Redis,
    Loopscope,
}

/// A server started under strace, its trace going to a file. Stopped by the
/// server's PID (strace then exits by itself) when dropped.
struct Traced {
    strace: Child,
    pid: i32,
    port: u16,
    out: PathBuf,
    dir: PathBuf,
    stopped: bool,
}

impl Traced {
    fn start(strace: &Path, redis: &Path, kind: Kind) -> Traced {
        for attempt in 0..10 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "loopscope-strace-{}-{port}-{attempt}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join("strace.txt");
            let mut cmd = Command::new(strace);
            cmd.args(["-f", "-qq", "-yy", "-e", SYSCALLS, "-o"])
                .arg(&out)
                .arg("--");
            match kind {
                Kind::Redis => cmd
                    .arg(redis)
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--appendonly", "no", "--dir"])
                    .arg(&dir),
                Kind::Loopscope => cmd.arg(env!("CARGO_BIN_EXE_loopscope")).args([
                    "serve",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                ]),
            };
            let mut strace = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn strace");
            // Bounded wait for the server to listen (strace slows its start).
            for _ in 0..200 {
                if let Ok(mut setup) = TcpStream::connect(("127.0.0.1", port)) {
                    setup
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    // Another test's server may have taken the port first:
                    // then ours failed to bind, and this one is not strace's child.
                    let ours =
                        server_pid(&mut setup).filter(|&pid| parent_of(pid) == Some(strace.id()));
                    let Some(pid) = ours else {
                        break;
                    };
                    return Traced {
                        strace,
                        pid,
                        port,
                        out,
                        dir,
                        stopped: false,
                    };
                }
                if let Ok(Some(_)) = strace.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = strace.kill();
            let _ = strace.wait();
            let _ = std::fs::remove_dir_all(&dir);
        }
        panic!("could not start {kind:?} under strace");
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the server and returns strace's output, complete once strace exited.
    fn finish(mut self) -> String {
        self.stop();
        std::fs::read_to_string(&self.out).expect("strace output")
    }

    /// Kills the server, once: after strace has reaped it its PID may be reused.
    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // SAFETY: kill(2) on the server we started (strace's child), still alive.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = self.strace.wait();
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The parent of process `pid`, from the fourth field of `/proc/PID/stat`
/// (the second, the command name, is in parentheses and may hold spaces).
fn parent_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// The PID of the server on the other end of `conn`, from `INFO server`,
/// or `None` if it does not answer.
fn server_pid(conn: &mut TcpStream) -> Option<i32> {
    conn.write_all(b"INFO server\r\n").ok()?;
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    while !text.ends_with(b"\r\n\r\n") && text.len() < 65536 {
        let n = conn.read(&mut chunk).ok().filter(|&n| n > 0)?;
        text.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&text);
    let pid = text.lines().find_map(|l| l.strip_prefix("process_id:"))?;
    pid.trim().parse().ok()
}

/// What a server did on one client's socket.
#[derive(Debug, Default, PartialEq)]
struct Io {
    reads: usize,
    writes: usize,
    /// Largest size a read asked for, and largest it got.
    max_read_asked: usize,
    max_read: usize,
    /// Largest number of bytes one write call sent.
    max_write: usize,
}

/// Counts the calls of strace's `output` on the socket whose peer port is
/// `client_port`. With `-f`, a call interrupted by another thread's is split
/// into an `<unfinished ...>` line and a `<... resumed>` one; they are joined.
fn count(output: &str, client_port: u16) -> Io {
    let peer = format!("->127.0.0.1:{client_port}]>");
    let mut unfinished: HashMap<&str, String> = HashMap::new();
    let mut io = Io::default();
    for line in output.lines() {
        let Some((pid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = if let Some(head) = call.strip_suffix(" <unfinished ...>") {
            unfinished.insert(pid, head.to_string());
            continue;
        } else if call.starts_with("<... ") {
            let Some(head) = unfinished.remove(pid) else {
                continue;
            };
            let rest = call.split_once("resumed>").map_or("", |(_, r)| r);
            head + rest
        } else {
            call.to_string()
        };
        if !call.contains(&peer) {
            continue;
        }
        let name = call.split('(').next().unwrap_or_default();
        let Some((args, ret)) = call.rsplit_once(") = ") else {
            continue;
        };
        let got: usize = ret
            .split(' ')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        match name {
            "read" | "recvfrom" => {
                io.reads += 1;
                io.max_read = io.max_read.max(got);
                if name == "read" {
                    let asked = args.rsplit(", ").next().and_then(|a| a.parse().ok());
                    io.max_read_asked = io.max_read_asked.max(asked.unwrap_or(0));
                }
            }
            "write" | "writev" | "sendto" | "sendmsg" => {
                io.writes += 1;
                io.max_write = io.max_write.max(got);
            }
            _ => {}
        }
    }
    io
}

/// Runs one case on one server: `setup` requests on another connection,
/// then `request` from a fresh client that reads `reply_len` bytes back.
/// Returns the reply and what the server did on that client's socket.
fn measure(
    strace: &Path,
    redis: &Path,
    kind: Kind,
    setup: &[Vec<&[u8]>],
    request: &[u8],
    reply_len: usize,
) -> (Vec<u8>, Io) {
    let server = Traced::start(strace, redis, kind);
    let mut admin = RespConn::connect(&server.addr());
    for args in setup {
        let reply = admin.call(args);
        assert!(
            !reply.starts_with(b"-"),
            "{kind:?}: set-up failed: {reply:?}"
        );
    }
    let mut client = TcpStream::connect(server.addr()).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let client_port = client.local_addr().unwrap().port();
    client.write_all(request).unwrap();
    let mut reply = Vec::with_capacity(reply_len);
    let mut chunk = vec![0u8; 64 * 1024];
    while reply.len() < reply_len {
        let n = client.read(&mut chunk).expect("reply");
        assert!(n > 0, "{kind:?} closed the connection mid-reply");
        reply.extend_from_slice(&chunk[..n]);
    }
    // The server handles this only after strace has logged its last write
    // to the client (a traced call is logged before the next one starts).
    assert_eq!(admin.call(&[b"PING"]), b"+PONG\r\n");
    let io = count(&server.finish(), client_port);
    drop(client);
    (reply, io)
}

/// Whether `ours` is within 10% of `theirs`.
fn close(ours: usize, theirs: usize) -> bool {
    ours.abs_diff(theirs) * 10 <= theirs
}

/// Runs a case on both servers, prints both sets of figures, and checks them.
fn compare(case: &str, setup: &[Vec<&[u8]>], request: &[u8], reply: &[u8]) {
    let Some(strace) = tool("strace") else {
        return;
    };
    let Some(redis) = tool("redis-server") else {
        return;
    };
    let (redis_reply, theirs) = measure(&strace, &redis, Kind::Redis, setup, request, reply.len());
    let (our_reply, ours) = measure(
        &strace,
        &redis,
        Kind::Loopscope,
        setup,
        request,
        reply.len(),
    );
    eprintln!("{case}:\n  redis-server {theirs:?}\n  loopscope    {ours:?}");
    assert!(
        redis_reply == reply,
        "{case}: redis-server's reply is not the expected one"
    );
    assert!(
        our_reply == reply,
        "{case}: loopscope's reply differs from redis-server's"
    );
    for (what, o, t) in [
        ("read calls", ours.reads, theirs.reads),
        ("write calls", ours.writes, theirs.writes),
        ("largest read", ours.max_read, theirs.max_read),
        (
            "largest read asked",
            ours.max_read_asked,
            theirs.max_read_asked,
        ),
        ("largest write", ours.max_write, theirs.max_write),
    ] {
        assert!(
            close(o, t),
            "{case}: {what}: loopscope {o}, redis-server {t}"
        );
    }
}

fn bulk(b: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", b.len()).into_bytes();
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
    out
}

#[test]
fn lrange_of_100000_elements_is_written_like_redis() {
    let elements: Vec<Vec<u8>> = (0..100_000)
        .map(|i| format!("element:{i}").into_bytes())
        .collect();
    let setup: Vec<Vec<&[u8]>> = elements
        .chunks(1000)
        .map(|chunk| {
            let mut args: Vec<&[u8]> = vec![b"RPUSH", b"biglist"];
            args.extend(chunk.iter().map(Vec::as_slice));
            args
        })
        .collect();
    let mut reply = format!("*{}\r\n", elements.len()).into_bytes();
    for e in &elements {
        reply.extend_from_slice(&bulk(e));
    }
    let request = multibulk(&[b"LRANGE", b"biglist", b"0", b"-1"]);
    compare("LRANGE of 100,000 elements", &setup, &request, &reply);
}

#[test]
fn a_40_kib_set_argument_is_read_like_redis() {
    let value = vec![b'v'; 40 * 1024];
    let request = multibulk(&[b"SET", b"key", &value]);
    compare("SET of a 40 KiB value", &[], &request, b"+OK\r\n");
}

#[test]
fn five_thousand_pipelined_pings_are_read_and_answered_like_redis() {
    let request = multibulk(&[b"PING"]).repeat(5000);
    let reply = b"+PONG\r\n".repeat(5000);
    compare("5,000 pipelined PINGs", &[], &request, &reply);
}

#[test]
fn strace_lines_are_counted_for_the_client_socket_only() {
    let output = "\
7 write(1</dev/null<char 1:3>>, \"log line\"..., 72) = 72
7 read(8<TCP:[127.0.0.1:6379->127.0.0.1:5000]>, \"*1\\r\\n\"..., 16384) = 14
7 read(9<TCP:[127.0.0.1:6379->127.0.0.1:5001]>, \"*1\\r\\n\"..., 16384) = 14
7 writev(8<TCP:[127.0.0.1:6379->127.0.0.1:5000]>, [{iov_base=\"+\", iov_len=16384}], 2 <unfinished ...>
9 write(3<pipe:[1]>, \"x\", 1) = 1
7 <... writev resumed>) = 81856
7 write(8<TCP:[127.0.0.1:6379->127.0.0.1:5000]>, \"+PONG\\r\\n\", 7) = -1 EAGAIN (Resource temporarily unavailable)
7 read(8<TCP:[127.0.0.1:6379->127.0.0.1:5000]>, \"$4\"..., 20474) = 100
";
    assert_eq!(
        count(output, 5000),
        Io {
            reads: 2,
            writes: 2,
            max_read_asked: 20474,
            max_read: 100,
            max_write: 81856,
        }
    );
}
