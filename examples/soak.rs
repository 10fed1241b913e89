//! The soak driver behind `bench/soak.sh`: many clients, a long time, and
//! every kind of rude behaviour, against a running server; then a check that
//! the server survived it whole.
//!
//! Each client is a thread that runs *sessions* until the time is up. A
//! session connects and then behaves in one of these ways, picked at random:
//!
//! - **polite**: a run of mixed commands (SET/GET/INCR/LPUSH/LPOP/HSET/SADD/
//!   PUBLISH, MULTI…EXEC), each reply read and checked for its type. Some
//!   SETs write a key no one else writes; once their `+OK` arrives the key is
//!   *acknowledged* and must be readable at the end;
//! - **cut**: half of a command, then the connection is dropped;
//! - **slow**: half of a command, a pause, then the rest, and the reply read;
//! - **deaf**: a pipeline of big replies that is never read, then a close;
//! - **hang-up**: a command, and a close before its reply arrives;
//! - **subscriber**: SUBSCRIBE, a few messages, a close.
//!
//! Before and after, it measures the server's resident memory and open file
//! descriptors from `/proc/PID` and its own memory count (INFO's
//! `used_memory`), and at the end it reads back every acknowledged key.
//! RSS depends on what the allocator gives back to the system; `used_memory`
//! is what the server still holds. The figures go to stdout; the exit status is non-zero
//! if anything failed. Loopback only: the address is always 127.0.0.1.
//!
//! ```text
//! cargo run --release --example soak -- --port P --pid PID [--clients N] [--seconds S]
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// What every client counts, summed at the end.
#[derive(Default)]
struct Counters {
    sessions: AtomicU64,
    commands: AtomicU64,
    cut: AtomicU64,
    slow: AtomicU64,
    deaf: AtomicU64,
    hang_up: AtomicU64,
    subscriber: AtomicU64,
    /// Replies of the wrong type, or replies lost in a polite session.
    failures: AtomicU64,
    connect_errors: AtomicU64,
}

/// A small xorshift generator: reproducible from the seed, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Encodes one command as a RESP multibulk request.
fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one whole reply; returns its first byte (the type) and its first line.
fn read_reply(r: &mut impl BufRead) -> std::io::Result<(u8, String)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let kind = line.as_bytes().first().copied().unwrap_or(b'?');
    let head = line.trim_end().to_string();
    let n: i64 = head.get(1..).and_then(|s| s.parse().ok()).unwrap_or(0);
    match kind {
        b'$' if n >= 0 => {
            let mut body = vec![0u8; n as usize + 2];
            r.read_exact(&mut body)?;
        }
        b'*' => {
            for _ in 0..n.max(0) {
                read_reply(r)?;
            }
        }
        _ => {}
    }
    Ok((kind, head))
}

fn connect(port: u16, counters: &Counters) -> Option<TcpStream> {
    for _ in 0..50 {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                return Some(s);
            }
            Err(_) => {
                counters.connect_errors.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    None
}

/// One client thread: sessions until `until`; returns its acknowledged keys.
fn client(id: u64, port: u16, until: Instant, counters: Arc<Counters>) -> Vec<String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut acked = Vec::new();
    let mut seq = 0u64;
    while Instant::now() < until {
        let Some(stream) = connect(port, &counters) else {
            break;
        };
        counters.sessions.fetch_add(1, Ordering::Relaxed);
        let roll = rng.below(100);
        let set = request(&[
            b"SET",
            format!("soak:shared:{}", rng.below(1000)).as_bytes(),
            b"v",
        ]);
        let _ = match roll {
            0..=69 => polite(stream, &mut rng, id, &mut seq, &mut acked, until, &counters),
            70..=77 => cut(stream, &set, &counters),
            78..=84 => slow(stream, &set, &counters),
            85..=89 => deaf(stream, &counters),
            90..=94 => hang_up(stream, &counters),
            _ => subscriber(stream, &mut rng, &counters),
        };
    }
    acked
}

/// A run of mixed commands, replies read and checked.
fn polite(
    stream: TcpStream,
    rng: &mut Rng,
    id: u64,
    seq: &mut u64,
    acked: &mut Vec<String>,
    until: Instant,
    counters: &Counters,
) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    for _ in 0..rng.below(40) + 1 {
        if Instant::now() >= until {
            break;
        }
        let shared = format!("soak:shared:{}", rng.below(1000));
        let list = format!("soak:list:{}", rng.below(100));
        let (req, want, unique) = match rng.below(10) {
            0 | 1 => {
                *seq += 1;
                let key = format!("soak:ack:{id}:{seq}");
                let req = request(&[b"SET", key.as_bytes(), value_of(&key).as_bytes()]);
                (req, b'+', Some(key))
            }
            2 => (request(&[b"GET", shared.as_bytes()]), b'$', None),
            3 => (request(&[b"INCR", b"soak:counter"]), b':', None),
            4 => (request(&[b"LPUSH", list.as_bytes(), b"x"]), b':', None),
            5 => (request(&[b"LPOP", list.as_bytes()]), b'$', None),
            6 => (
                request(&[b"HSET", b"soak:hash", shared.as_bytes(), b"1"]),
                b':',
                None,
            ),
            7 => (
                request(&[b"SADD", b"soak:set", shared.as_bytes()]),
                b':',
                None,
            ),
            8 => (request(&[b"PUBLISH", b"soak:chan", b"hello"]), b':', None),
            _ => {
                let mut req = request(&[b"MULTI"]);
                req.extend(request(&[b"SET", shared.as_bytes(), b"m"]));
                req.extend(request(&[b"INCR", b"soak:counter"]));
                req.extend(request(&[b"EXEC"]));
                w.write_all(&req)?;
                let kinds = [
                    read_reply(&mut r)?.0,
                    read_reply(&mut r)?.0,
                    read_reply(&mut r)?.0,
                    read_reply(&mut r)?.0,
                ];
                counters.commands.fetch_add(4, Ordering::Relaxed);
                if kinds != [b'+', b'+', b'+', b'*'] {
                    fail(counters, &format!("MULTI/EXEC replies {kinds:?}"));
                }
                continue;
            }
        };
        w.write_all(&req)?;
        let (kind, head) = read_reply(&mut r).inspect_err(|e| {
            fail(counters, &format!("lost the reply: {e}"));
        })?;
        counters.commands.fetch_add(1, Ordering::Relaxed);
        if kind != want {
            fail(
                counters,
                &format!("expected {:?}, got {head:?}", want as char),
            );
        } else if let Some(key) = unique {
            acked.push(key);
        }
        thread::sleep(Duration::from_millis(rng.below(100)));
    }
    Ok(())
}

/// Counts a failure and says what it was (the first few only).
fn fail(counters: &Counters, what: &str) {
    if counters.failures.fetch_add(1, Ordering::Relaxed) < 10 {
        eprintln!("soak: failure: {what}");
    }
}

/// The value an acknowledged key must hold.
fn value_of(key: &str) -> String {
    format!("value-of-{key}")
}

/// Half a command, then gone.
fn cut(mut stream: TcpStream, set: &[u8], counters: &Counters) -> std::io::Result<()> {
    counters.cut.fetch_add(1, Ordering::Relaxed);
    stream.write_all(&set[..set.len() / 2])
}

/// Half a command, a pause, the rest, and the reply.
fn slow(mut stream: TcpStream, set: &[u8], counters: &Counters) -> std::io::Result<()> {
    counters.slow.fetch_add(1, Ordering::Relaxed);
    let (a, b) = set.split_at(set.len() / 2);
    stream.write_all(a)?;
    thread::sleep(Duration::from_millis(200));
    stream.write_all(b)?;
    let (kind, head) = read_reply(&mut BufReader::new(stream))?;
    if kind != b'+' {
        fail(counters, &format!("a late-finished SET got {head:?}"));
    }
    Ok(())
}

/// A pipeline of big replies, never read; the server must not wait for it.
fn deaf(mut stream: TcpStream, counters: &Counters) -> std::io::Result<()> {
    counters.deaf.fetch_add(1, Ordering::Relaxed);
    let get = request(&[b"GET", b"soak:big"]);
    let mut burst = Vec::with_capacity(get.len() * 100);
    for _ in 0..100 {
        burst.extend_from_slice(&get);
    }
    stream.write_all(&burst)?;
    thread::sleep(Duration::from_secs(2));
    Ok(())
}

/// A command, and a close before its reply.
fn hang_up(mut stream: TcpStream, counters: &Counters) -> std::io::Result<()> {
    counters.hang_up.fetch_add(1, Ordering::Relaxed);
    stream.write_all(&request(&[b"GET", b"soak:big"]))
}

/// SUBSCRIBE, a few messages (the polite clients publish), then gone.
fn subscriber(stream: TcpStream, rng: &mut Rng, counters: &Counters) -> std::io::Result<()> {
    counters.subscriber.fetch_add(1, Ordering::Relaxed);
    let mut w = stream.try_clone()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut r = BufReader::new(stream);
    w.write_all(&request(&[b"SUBSCRIBE", b"soak:chan"]))?;
    for _ in 0..rng.below(5) + 1 {
        if read_reply(&mut r).is_err() {
            break;
        }
    }
    Ok(())
}

/// `VmRSS` of the process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Open file descriptors of the process.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// One command on a fresh connection; the reply's first line.
fn one(port: u16, args: &[&[u8]]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(&request(args))?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    Ok(line.trim_end().to_string())
}

/// A numeric field of an INFO section (`connected_clients` counts the
/// connection that asks).
fn info_field(port: u16, section: &str, field: &str) -> Option<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(&request(&[b"INFO", section.as_bytes()])).ok()?;
    let mut r = BufReader::new(s);
    let mut head = String::new();
    r.read_line(&mut head).ok()?;
    let len: usize = head.trim_end().get(1..)?.parse().ok()?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.parse().ok())
}

/// Reads back every acknowledged key, pipelined in batches; returns how many
/// were missing or wrong.
fn verify(port: u16, keys: &[String]) -> std::io::Result<u64> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    let mut bad = 0;
    for batch in keys.chunks(1000) {
        let mut req = Vec::new();
        for k in batch {
            req.extend(request(&[b"GET", k.as_bytes()]));
        }
        w.write_all(&req)?;
        for k in batch {
            let mut head = String::new();
            r.read_line(&mut head)?;
            let len: i64 = head
                .trim_end()
                .get(1..)
                .and_then(|n| n.parse().ok())
                .unwrap_or(-1);
            if len < 0 {
                bad += 1;
                continue;
            }
            let mut body = vec![0u8; len as usize + 2];
            r.read_exact(&mut body)?;
            if body.get(..len as usize) != Some(value_of(k).as_bytes()) {
                bad += 1;
            }
        }
    }
    Ok(bad)
}

struct Args {
    port: u16,
    pid: u32,
    clients: u64,
    seconds: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        port: 0,
        pid: 0,
        clients: 1000,
        seconds: 600,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag}: not a number: {value}");
        match flag.as_str() {
            "--port" => a.port = value.parse().map_err(bad)?,
            "--pid" => a.pid = value.parse().map_err(bad)?,
            "--clients" => a.clients = value.parse().map_err(bad)?,
            "--seconds" => a.seconds = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.port == 0 || a.pid == 0 {
        return Err("usage: soak --port P --pid PID [--clients N] [--seconds S]".into());
    }
    Ok(a)
}

fn main() -> std::process::ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let used = || info_field(a.port, "memory", "used_memory").unwrap_or(0);
    let (rss0, fds0, used0) = (rss_kib(a.pid), fds(a.pid), used());
    println!("baseline: rss {rss0} KiB, {fds0} fds, used_memory {used0} B");
    // A big value for the deaf clients' replies to pile up behind.
    let big = "x".repeat(16 * 1024);
    if one(a.port, &[b"SET", b"soak:big", big.as_bytes()])
        .ok()
        .as_deref()
        != Some("+OK")
    {
        eprintln!("soak: the server does not answer");
        return std::process::ExitCode::FAILURE;
    }
    let counters = Arc::new(Counters::default());
    let until = Instant::now() + Duration::from_secs(a.seconds);
    let mut threads = Vec::new();
    for id in 0..a.clients {
        let c = Arc::clone(&counters);
        let port = a.port;
        match thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || client(id, port, until, c))
        {
            Ok(t) => threads.push(t),
            Err(e) => eprintln!("soak: client {id} not started: {e}"),
        }
    }
    // Sample the peak while the clients run.
    let mut peak = (0u64, 0usize);
    while Instant::now() < until {
        thread::sleep(Duration::from_secs(1));
        peak = (peak.0.max(rss_kib(a.pid)), peak.1.max(fds(a.pid)));
    }
    let acked: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_default())
        .collect();
    // Wait for the server to see every client leave.
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(a.port, "clients", "connected_clients").is_none_or(|n| n > 1)
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_secs(2));
    let (rss1, fds1, used1) = (rss_kib(a.pid), fds(a.pid), used());
    let missing = verify(a.port, &acked).unwrap_or(u64::MAX);
    let flushed = one(a.port, &[b"FLUSHALL"]).unwrap_or_default();
    thread::sleep(Duration::from_secs(2));
    let (rss2, used2) = (rss_kib(a.pid), used());
    let alive = one(a.port, &[b"PING"]).ok().as_deref() == Some("+PONG");
    let c = &*counters;
    let n = |x: &AtomicU64| x.load(Ordering::Relaxed);
    println!(
        "ran {} s with {} clients: {} sessions, {} commands answered",
        a.seconds,
        a.clients,
        n(&c.sessions),
        n(&c.commands)
    );
    println!(
        "rude sessions: {} cut mid-command, {} half-written then finished, {} never read, \
         {} hung up before the reply, {} subscribers",
        n(&c.cut),
        n(&c.slow),
        n(&c.deaf),
        n(&c.hang_up),
        n(&c.subscriber)
    );
    println!(
        "failures: {} wrong or lost replies in polite sessions, {} connect retries",
        n(&c.failures),
        n(&c.connect_errors)
    );
    println!("peak: rss {} KiB, {} fds", peak.0, peak.1);
    println!(
        "after the clients left: rss {rss1} KiB, used_memory {used1} B (with the data), {fds1} fds"
    );
    println!(
        "after FLUSHALL ({flushed}): rss {rss2} KiB (baseline {rss0} KiB), \
         used_memory {used2} B (baseline {used0} B)"
    );
    println!(
        "acknowledged writes: {}, missing or wrong: {missing}",
        acked.len()
    );
    println!("server alive: {alive}");
    let ok = alive && missing == 0 && fds1 == fds0 && n(&c.failures) == 0;
    println!("{}", if ok { "SOAK PASSED" } else { "SOAK FAILED" });
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
