//! `INFO [section ...]`: the server's state as `field:value` lines grouped in
//! `# Section`s (the mirror of `infoCommand` / `genRedisInfoString`).
//!
//! Monitoring tools and `redis-cli --stat` parse this text, so the shape is
//! Redis's exactly: sections in a fixed order whatever order they were asked
//! in, `\r\n` line ends, a blank line between sections. Every value is read
//! from the live server: the clients come from the client table, `used_memory`
//! from the counting allocator ([`crate::server::zmalloc`]), the command rate
//! from serverCron's samples.
//!
//! We print the sections and fields that have a meaning here and leave out
//! the rest rather than fill them with invented numbers: no
//! `commandstats`/`errorstats`/`latencystats` (we keep no per-command
//! counters), no `run_id`, no build or compiler fields.

use crate::server::call::Call;
use std::fmt::Write;

use super::super::{Arg, ArgKind, REDIS_VERSION, RedisCommand};
use super::{instantaneous_ops_per_sec, server_command};
use crate::server::Server;
use crate::server::client::Client;
use crate::server::cmd::connection::client::clients_in_fd_order;
use crate::server::util::bytes_to_human;
use crate::server::zmalloc;

/// The sections `INFO` knows, in the order it prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "cluster",
    "keyspace",
];

/// Which sections a request selects: none named means the default set;
/// `default`, `all` and `everything` stand for groups (here all three mean
/// every section we have, as the ones `all` adds are those we leave out);
/// unknown names select nothing (mirror of `genInfoSectionDict`).
fn selected_sections(args: &[Vec<u8>]) -> Vec<&'static str> {
    if args.is_empty() {
        return SECTIONS.to_vec();
    }
    let wanted: Vec<Vec<u8>> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let groups: [&[u8]; 3] = [b"default", b"all", b"everything"];
    if wanted.iter().any(|w| groups.contains(&w.as_slice())) {
        return SECTIONS.to_vec();
    }
    SECTIONS
        .iter()
        .copied()
        .filter(|s| wanted.iter().any(|w| w == s.as_bytes()))
        .collect()
}

/// The persistence section (mirror of its part of `genRedisInfoString`):
/// no RDB ever, the AOF's state, and — since there is no background
/// rewrite — no rewrite in progress and none done. The size fields appear
/// only while `appendonly` is set, as in Redis; the `loading_*` progress fields
/// only while the data loads (INFO has the `loading` flag, so it is
/// answered meanwhile).
fn write_persistence(out: &mut String, server: &Server) -> std::fmt::Result {
    let aof = &server.aof;
    write!(
        out,
        "# Persistence\r\nloading:{}\r\nasync_loading:0\r\nrdb_bgsave_in_progress:0\r\nrdb_saves:0\r\n\
         aof_enabled:{}\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n\
         aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_last_write_status:{}\r\n",
        u8::from(server.loading),
        u8::from(aof.on),
        if aof.last_write_error.is_some() {
            "err"
        } else {
            "ok"
        },
    )?;
    // Redis tests the setting (`aof_enabled`), not the state: the sizes
    // are there while the AOF loads too, when `aof_enabled:` says 0.
    if aof.on || server.config.appendonly {
        write!(
            out,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\naof_buffer_length:{}\r\n\
             aof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
            aof.current_size,
            aof.base_size,
            aof.buf.len(),
            aof.bio.pending(),
            aof.delayed_fsync,
        )?;
    }
    if server.loading {
        write_loading_progress(out, server)?;
    }
    Ok(())
}

/// The loading progress lines of the persistence section, Redis's
/// arithmetic included: the percentage of `loading_total_bytes` loaded, and
/// an ETA that is the time so far scaled by the bytes still to load (a
/// made-up 1 s in the first second). loopscope loads no RDB, so
/// `loading_rdb_used_mem` (the size an RDB's header announces) is 0.
fn write_loading_progress(out: &mut String, server: &Server) -> std::fmt::Result {
    let (total, loaded) = (server.loading_total_bytes, server.loading_loaded_bytes);
    let (perc, remaining) = if total > 0 {
        (
            loaded as f64 / total as f64 * 100.0,
            total.saturating_sub(loaded),
        )
    } else {
        (0.0, 1)
    };
    let elapsed = (crate::server::mstime() / 1000).saturating_sub(server.loading_start_time);
    let eta = if elapsed == 0 {
        1
    } else {
        elapsed * remaining / (loaded + 1)
    };
    write!(
        out,
        "loading_start_time:{}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:0\r\n\
         loading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
        server.loading_start_time,
    )
}

/// Appends `# Title` and the section's lines (mirror of the per-section parts
/// of `genRedisInfoString`).
fn write_section(out: &mut String, server: &Server, c: &Client, section: &str) {
    // Writing to a String cannot fail.
    let _ = match section {
        "server" => write_server(out, server),
        "clients" => write_clients(out, server, c),
        "memory" => write_memory(out),
        "persistence" => write_persistence(out, server),
        "stats" => write_stats(out, server),
        "replication" => write!(
            out,
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
        ),
        "cpu" => write_cpu(out),
        "modules" => write!(out, "# Modules\r\n"),
        "cluster" => write!(out, "# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => write_keyspace(out, server),
        _ => Ok(()),
    };
}

/// The `os` field: kernel name, release and machine, as `uname` gives them.
fn os_name() -> String {
    // SAFETY: utsname is plain old data; uname fills it in.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return std::env::consts::OS.to_string();
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|&&ch| ch != 0)
            .map(|&ch| ch as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&uts.sysname),
        field(&uts.release),
        field(&uts.machine)
    )
}

/// The readiness API under mio on this platform.
fn multiplexing_api() -> &'static str {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        "epoll"
    } else if cfg!(any(
        target_os = "macos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd"
    )) {
        "kqueue"
    } else {
        "poll"
    }
}

fn write_server(out: &mut String, server: &Server) -> std::fmt::Result {
    let uptime = server.start_instant.elapsed().as_secs();
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    write!(
        out,
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nloopscope_version:{}\r\nredis_mode:standalone\r\nos:{}\r\n\
         arch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:{}\r\nprocess_id:{}\r\n\
         tcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\n\
         configured_hz:{}\r\nexecutable:{executable}\r\nconfig_file:\r\nio_threads_active:0\r\n",
        env!("CARGO_PKG_VERSION"),
        os_name(),
        usize::BITS,
        multiplexing_api(),
        std::process::id(),
        server.local_addr.port(),
        crate::server::ustime(),
        uptime / 86400,
        server.config.hz,
        server.config.hz,
    )
}

fn write_clients(out: &mut String, server: &Server, c: &Client) -> std::fmt::Result {
    write!(
        out,
        "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nblocked_clients:{}\r\n\
         tracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
        clients_in_fd_order(server, c).len(),
        server.config.maxclients,
        server.blocked_clients,
        server.clients_timeout_table.len(),
    )
}

fn write_memory(out: &mut String) -> std::fmt::Result {
    let used = zmalloc::used_memory() as u64;
    let peak = (zmalloc::peak_memory() as u64).max(used);
    // Like Redis, fall back to the allocator's count where the kernel's is unknown.
    let rss = zmalloc::resident_set_size().unwrap_or(used);
    let system = zmalloc::total_system_memory();
    let peak_perc = if peak > 0 {
        used as f64 * 100.0 / peak as f64
    } else {
        0.0
    };
    write!(
        out,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
         used_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\n\
         used_memory_peak_perc:{peak_perc:.2}%\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:{}\r\n\
         maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nmem_allocator:libc\r\n",
        bytes_to_human(used),
        bytes_to_human(rss),
        bytes_to_human(peak),
        bytes_to_human(system),
    )
}

fn write_stats(out: &mut String, server: &Server) -> std::fmt::Result {
    let s = &server.stats;
    write!(
        out,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\n\
         total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\n\
         evicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\n\
         pubsubshard_channels:{}\r\nclient_output_buffer_limit_disconnections:{}\r\n",
        s.numconnections,
        s.numcommands,
        instantaneous_ops_per_sec(server),
        s.net_input_bytes,
        s.net_output_bytes,
        s.rejected_conn,
        s.expiredkeys,
        s.keyspace_hits,
        s.keyspace_misses,
        server.pubsub.channels.len(),
        server.pubsub.patterns.len(),
        server.pubsub.shard_channels.len(),
        s.client_outbuf_limit_disconnections,
    )
}

/// CPU time of the process, of its children and of this thread (the one
/// running the event loop), as `getrusage` reports them.
fn write_cpu(out: &mut String) -> std::fmt::Result {
    let usage = |who| {
        // SAFETY: rusage is plain old data; getrusage fills it in.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage.
        let ok = unsafe { libc::getrusage(who, &mut ru) } == 0;
        ok.then_some(ru)
    };
    let seconds = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
    out.push_str("# CPU\r\n");
    for (who, suffix) in [
        (libc::RUSAGE_SELF, ""),
        (libc::RUSAGE_CHILDREN, "_children"),
    ] {
        if let Some(ru) = usage(who) {
            write!(
                out,
                "used_cpu_sys{suffix}:{}\r\nused_cpu_user{suffix}:{}\r\n",
                seconds(ru.ru_stime),
                seconds(ru.ru_utime)
            )?;
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(ru) = usage(libc::RUSAGE_THREAD) {
        write!(
            out,
            "used_cpu_sys_main_thread:{}\r\nused_cpu_user_main_thread:{}\r\n",
            seconds(ru.ru_stime),
            seconds(ru.ru_utime)
        )?;
    }
    Ok(())
}

/// One line per database that has keys.
fn write_keyspace(out: &mut String, server: &Server) -> std::fmt::Result {
    out.push_str("# Keyspace\r\n");
    for (id, db) in server.dbs.iter().enumerate() {
        let keys = db.size();
        if keys > 0 {
            write!(
                out,
                "db{id}:keys={keys},expires={},avg_ttl={}\r\n",
                db.expires_len(),
                db.avg_ttl()
            )?;
        }
    }
    Ok(())
}

/// The whole `INFO` text for the given section arguments.
pub fn info_string(server: &Server, c: &Client, args: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for section in selected_sections(args) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        write_section(&mut out, server, c, section);
    }
    out
}

/// `INFO [section ...]`: the text as a bulk string, or a verbatim string in
/// RESP3 (mirror of `infoCommand`).
fn info_command(call: &mut Call) {
    let (server, c) = call.parts();
    let text = info_string(server, c, &c.argv[1..]);
    c.add_reply_verbatim(text.as_bytes(), "txt");
}

pub const INFO: RedisCommand = RedisCommand {
    args: &[Arg {
        name: "section",
        kind: ArgKind::String,
        token: None,
        optional: true,
        multiple: true,
        since: None,
    }],
    tips: &[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ],
    history: &[("7.0.0", "Several sections in one call.")],
    since: "1.0.0",
    summary: "Reports the server's state and statistics, by section",
    complexity: "O(1)",
    ..server_command(
        "info",
        info_command,
        -1,
        "loading stale",
        "@slow @dangerous",
    )
};

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{attach, client, run_str, server, show};
    use super::*;

    fn field<'a>(text: &'a str, name: &str) -> &'a str {
        text.split("\r\n")
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    #[test]
    fn sections_come_in_redis_order_and_framing() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        // Observed from Redis 7.0.15 with an empty keyspace.
        assert_eq!(
            show(&run_str(&mut server, &mut c, "INFO keyspace")),
            "$12\r\n# Keyspace\r\n\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "INFO modules")),
            "$11\r\n# Modules\r\n\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "INFO cluster cluster")),
            "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "INFO foo")),
            "$0\r\n\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "INFO foo bar")),
            "$0\r\n\r\n"
        );
        let two = show(&run_str(&mut server, &mut c, "INFO KEYSPACE clients"));
        let body = two.split_once("\r\n").expect("bulk").1;
        assert!(
            body.starts_with("# Clients\r\nconnected_clients:1\r\n"),
            "{two}"
        );
        assert!(
            body.ends_with("clients_in_timeout_table:0\r\n\r\n# Keyspace\r\n\r\n"),
            "{two}"
        );
        let headers = |req: &str, server: &mut Server, c: &mut Client| -> Vec<String> {
            show(&run_str(server, c, req))
                .split("\r\n")
                .filter(|l| l.starts_with('#'))
                .map(str::to_string)
                .collect()
        };
        let all = headers("INFO", &mut server, &mut c);
        assert_eq!(
            all,
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Cluster",
                "# Keyspace"
            ]
        );
        assert_eq!(headers("INFO everything", &mut server, &mut c), all);
        assert_eq!(headers("INFO all foo", &mut server, &mut c), all);
        assert_eq!(headers("INFO server Default", &mut server, &mut c), all);
    }

    #[test]
    fn resp3_reply_is_verbatim_text() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        run_str(&mut server, &mut c, "HELLO 3");
        assert_eq!(
            show(&run_str(&mut server, &mut c, "INFO cluster")),
            "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"
        );
    }

    #[test]
    fn server_section_reports_live_values() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        server.config.hz = 25;
        let text = info_string(&server, &c, &[b"server".to_vec()]);
        assert_eq!(field(&text, "redis_version"), "7.0.15");
        assert_eq!(field(&text, "loopscope_version"), env!("CARGO_PKG_VERSION"));
        assert_eq!(field(&text, "process_id"), std::process::id().to_string());
        assert_eq!(
            field(&text, "tcp_port"),
            server.local_addr.port().to_string()
        );
        assert_eq!(field(&text, "hz"), "25");
        assert_eq!(field(&text, "configured_hz"), "25");
        assert_eq!(field(&text, "arch_bits"), "64");
        assert!(!field(&text, "executable").is_empty());
        let now = crate::server::ustime();
        let reported: u64 = field(&text, "server_time_usec").parse().expect("number");
        assert!(now >= reported && now - reported < 5_000_000);
        run_str(&mut server, &mut c, "PING");
    }

    #[test]
    fn clients_stats_and_memory() {
        let mut server = server();
        let (other, _po) = client(&mut server);
        attach(&mut server, other);
        let (mut c, _peer) = client(&mut server);
        server.stats.numconnections = 7;
        server.stats.keyspace_hits = 4;
        server.stats.ops_samples = [32; 16];
        server.config.maxclients = 123;
        let text = info_string(&server, &c, &[]);
        assert_eq!(field(&text, "connected_clients"), "2");
        assert_eq!(field(&text, "maxclients"), "123");
        assert_eq!(field(&text, "total_connections_received"), "7");
        assert_eq!(field(&text, "keyspace_hits"), "4");
        assert_eq!(field(&text, "instantaneous_ops_per_sec"), "32");
        let used: u64 = field(&text, "used_memory").parse().expect("number");
        assert!(used > 0);
        assert_eq!(field(&text, "used_memory_human"), bytes_to_human(used));
        let peak: u64 = field(&text, "used_memory_peak").parse().expect("number");
        assert!(peak >= used);
        assert!(
            field(&text, "used_memory_rss")
                .parse::<u64>()
                .expect("number")
                > 0
        );
        assert!(field(&text, "used_cpu_user").contains('.'));
        assert_eq!(field(&text, "role"), "master");
        run_str(&mut server, &mut c, "PING");
        assert!(
            show(&run_str(&mut server, &mut c, "INFO stats"))
                .contains("total_commands_processed:1\r\n")
        );
    }
}
