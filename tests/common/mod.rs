//! Shared helpers for the integration tests: start a real `loopscope serve`
//! process on a free loopback port, talk to it with raw sockets, stop it by PID.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

pub mod tmux;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `loopscope serve` process, killed (by PID) when dropped.
pub struct TestServer {
    pub port: u16,
    child: Child,
}

impl TestServer {
    /// Starts a server with default settings.
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts a server with extra `serve` flags. Retries with another port if
    /// the chosen one was taken between choosing and binding.
    pub fn start_with(extra: &[&str]) -> TestServer {
        TestServer::start_retrying(|| (Vec::new(), ()), extra).0
    }

    /// Like [`TestServer::start_with`], but returns as soon as the log says
    /// `needle` rather than "ready to accept connections": for a server
    /// that listens (and answers) before it is ready, while it loads.
    pub fn start_until(extra: &[&str], needle: &'static str) -> TestServer {
        TestServer::start_retrying_until(|| (Vec::new(), ()), extra, needle).0
    }

    /// Starts a server with an attach port (`--trace-port`) and extra
    /// `serve` flags; returns it and the attach port. Both ports are chosen
    /// afresh on every try.
    pub fn start_with_trace_port(extra: &[&str]) -> (TestServer, u16) {
        TestServer::start_retrying(
            || {
                let trace_port = free_port();
                (
                    vec!["--trace-port".into(), trace_port.to_string()],
                    trace_port,
                )
            },
            extra,
        )
    }

    /// Starts a server on a fresh port with the flags `choose` picks (and
    /// `extra`), trying again with new choices when it does not come up:
    /// a port chosen free can be taken by another test before it is bound.
    fn start_retrying<T>(
        choose: impl FnMut() -> (Vec<String>, T),
        extra: &[&str],
    ) -> (TestServer, T) {
        TestServer::start_retrying_until(choose, extra, "ready to accept connections")
    }

    fn start_retrying_until<T>(
        mut choose: impl FnMut() -> (Vec<String>, T),
        extra: &[&str],
        needle: &'static str,
    ) -> (TestServer, T) {
        for _ in 0..10 {
            let port = free_port();
            let (flags, chosen) = choose();
            let mut child = Command::new(env!("CARGO_BIN_EXE_loopscope"))
                .args(["serve", "--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(&flags)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn loopscope");
            // Wait for the "ready" log line rather than probing with a
            // connection, which would count as a client.
            if wait_for_line(child.stderr.take().unwrap(), needle) {
                return (TestServer { port, child }, chosen);
            }
            // No ready line: most likely a port was taken; try others.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start loopscope serve");
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A raw connection with a read timeout, so a missing reply fails the test
    /// instead of hanging it.
    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// A client from the `redis` crate.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .expect("redis connection")
    }

    /// Sends SIGTERM, as `kill` would, and returns the exit status.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.stop_with(libc::SIGTERM)
    }

    /// Sends `signal` (SIGTERM, SIGINT) and returns the exit status.
    pub fn stop_with(self, signal: i32) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        self.wait_for_exit()
    }

    /// Waits up to 10 s for the server to exit by itself (after a signal or
    /// SHUTDOWN) and returns its exit status.
    pub fn wait_for_exit(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects to a trace attach port on loopback, retrying for up to 10 s (the
/// attach server may still be starting), with `read_timeout` on reads.
pub fn connect_attach_port(port: u16, read_timeout: Duration) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("attach: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream
}

/// Waits up to 10 s for a log line containing `needle`. A thread keeps
/// draining the log afterwards so the server never blocks writing it.
fn wait_for_line(log: impl Read + Send + 'static, needle: &'static str) -> bool {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
            if line.contains(needle) {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).is_ok()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `request` and reads until `expected.len()` bytes arrived, then
/// checks them byte for byte.
pub fn roundtrip(conn: &mut TcpStream, request: &[u8], expected: &[u8]) {
    conn.write_all(request).unwrap();
    let got = read_exact_len(conn, expected.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "reply to {:?}",
        String::from_utf8_lossy(request)
    );
}

/// Reads exactly `len` bytes (or panics with what arrived before the timeout).
pub fn read_exact_len(conn: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut got = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match conn.read(&mut got[filled..]) {
            Ok(0) => panic!(
                "connection closed after {:?}",
                String::from_utf8_lossy(&got[..filled])
            ),
            Ok(n) => filled += n,
            Err(e) => panic!(
                "read failed after {:?}: {e}",
                String::from_utf8_lossy(&got[..filled])
            ),
        }
    }
    got
}

/// Reads until the server closes the connection; returns everything read.
pub fn read_to_close(conn: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    conn.read_to_end(&mut all)
        .expect("server should close the connection");
    all
}

/// Finds a tool on PATH, or prints a loud skip note and returns None.
///
/// Under CI (`CI=true`) a missing tool fails the test instead: CI installs
/// every tool the tests use, so a skip there would hide a broken set-up.
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let why = format!(
            "`{name}` is not installed; install it (Debian: redis-server / redis-tools / tmux / strace) to run this test"
        );
        assert!(
            !running_in_ci(),
            "{why} (CI=true: a missing tool is a failure)"
        );
        eprintln!("\n*** SKIPPED: {why} ***\n");
    }
    found
}

/// CI sets `CI=true`; there, tests must not skip.
pub fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// One command encoded as a RESP multibulk request, as clients send it.
pub fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    req
}

/// A connection that reads whole RESP replies, for comparing servers byte for byte.
pub struct RespConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RespConn {
    pub fn connect(addr: &str) -> RespConn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        RespConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one command as a multibulk request.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.stream.write_all(&multibulk(args)).unwrap();
    }

    /// Reads exactly one reply and returns its raw bytes.
    pub fn reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(end) = reply_end(&self.buf, 0) {
                return self.buf.drain(..end).collect();
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed mid-reply: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!(
                    "no reply ({e}); got so far {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// Sends a command and returns its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.reply()
    }
}

/// Where the RESP2/RESP3 reply starting at `at` ends, if it is complete.
fn reply_end(buf: &[u8], at: usize) -> Option<usize> {
    let line_end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let header = std::str::from_utf8(&buf[at + 1..line_end]).ok()?;
    let after = line_end + 2;
    match buf[at] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let len: i64 = header.parse().ok()?;
            if len < 0 {
                return Some(after);
            }
            let end = after + len as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let mut n: i64 = header.parse().ok()?;
            if matches!(buf[at], b'%' | b'|') {
                n *= 2;
            }
            let mut pos = after;
            for _ in 0..n.max(0) {
                pos = reply_end(buf, pos)?;
            }
            Some(pos)
        }
        _ => panic!(
            "not a RESP reply: {:?}",
            String::from_utf8_lossy(&buf[at..])
        ),
    }
}

/// A fresh directory under the system's temporary one, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// `loopscope-<what>-<name>-<pid>-<nanos>`: unique per test and run.
    pub fn new(what: &str, name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "loopscope-{what}-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }

    /// Where the append-only files go (`appendonlydir`, Redis's default).
    pub fn aof_dir(&self) -> std::path::PathBuf {
        self.0.join("appendonlydir")
    }

    /// The first incremental AOF file, under the default `appendfilename`.
    pub fn incr(&self) -> std::path::PathBuf {
        self.aof_dir().join("appendonly.aof.1.incr.aof")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real `redis-server` on a free loopback port, killed by PID when dropped.
pub struct RealRedis {
    pub port: u16,
    child: Child,
    /// Its scratch directory, removed when dropped; `None` when the caller
    /// gave the directory (and removes it).
    dir: Option<std::path::PathBuf>,
}

impl RealRedis {
    /// Starts Debian's redis-server, or returns None (after a loud skip note) if it is not installed.
    pub fn start() -> Option<RealRedis> {
        RealRedis::start_with(&[])
    }

    /// Like [`RealRedis::start`], with extra command-line settings.
    pub fn start_with(extra: &[&str]) -> Option<RealRedis> {
        let bin = tool("redis-server")?;
        for attempt in 0..10 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "loopscope-redis-{}-{port}-{attempt}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let mut child = spawn_redis(&bin, port, &dir, extra, Stdio::piped());
            // Like TestServer: wait for the log line, so no probe connection
            // uses up a client id.
            if wait_for_line(child.stdout.take().unwrap(), "Ready to accept connections") {
                return Some(RealRedis {
                    port,
                    child,
                    dir: Some(dir),
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start redis-server");
    }

    /// Starts redis-server on the data in `dir` (which the caller keeps),
    /// returning as soon as it listens: while it loads, it already accepts
    /// connections and answers `-LOADING`, and its "Ready" line comes only
    /// after the load. `None` (after a loud skip note) if it is not installed.
    pub fn start_in(dir: &std::path::Path, extra: &[&str]) -> Option<RealRedis> {
        let bin = tool("redis-server")?;
        let port = free_port();
        let mut child = spawn_redis(&bin, port, dir, extra, Stdio::null());
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not listen on {port}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Some(RealRedis {
            port,
            child,
            dir: None,
        })
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// redis-server on loopback `port`, with no snapshots, its data in `dir`,
/// the DEBUG command allowed, and `extra` settings.
fn spawn_redis(
    bin: &std::path::Path,
    port: u16,
    dir: &std::path::Path,
    extra: &[&str],
    stdout: Stdio,
) -> Child {
    Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--enable-debug-command", "local"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server")
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
