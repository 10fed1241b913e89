//! The Redis 7.0.15 line ranges that loopscope links to.
//!
//! loopscope is compared against Redis 7.0.15 (Debian's `redis-server`), so
//! every link into Redis's source, from an anchor, a chapter or the docs,
//! points at that release's commit ([`REDIS_7_0_15`]). This table is the one
//! place those ranges are written: one row per Redis function (from the line
//! that names it to its closing brace), plus a few named parts of functions
//! that chapters point at. Anchors take their range from it by name, so a
//! misspelt name does not compile, and a test checks that every permalink in
//! the repository is a row of it.
//!
//! Each range was read from the 7.0.15 sources; only names and line numbers
//! are kept here, never Redis's code.

use super::{REDIS_7_0_15, RedisRef};

/// One named range of a Redis source file at 7.0.15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedisRange {
    pub name: &'static str,
    /// Path inside the Redis repository, e.g. `src/ae.c`.
    pub file: &'static str,
    pub first_line: u32,
    pub last_line: u32,
}

const fn range(
    name: &'static str,
    file: &'static str,
    first_line: u32,
    last_line: u32,
) -> RedisRange {
    RedisRange {
        name,
        file,
        first_line,
        last_line,
    }
}

/// Every verified range, functions first (in the order of the project's
/// function map), then the named parts of functions and files.
pub static REDIS_7_0_15_RANGES: &[RedisRange] = &[
    range("aeCreateEventLoop", "src/ae.c", 67, 99),
    range("aeDeleteEventLoop", "src/ae.c", 139, 152),
    range("aeResizeSetSize", "src/ae.c", 121, 137),
    range("aeSetDontWait", "src/ae.c", 107, 112),
    range("aeCreateFileEvent", "src/ae.c", 158, 176),
    range("aeDeleteFileEvent", "src/ae.c", 178, 198),
    range("aeGetFileEvents", "src/ae.c", 208, 213),
    range("aeGetFileClientData", "src/ae.c", 200, 206),
    range("aeCreateTimeEvent", "src/ae.c", 215, 236),
    range("aeDeleteTimeEvent", "src/ae.c", 238, 249),
    range("usUntilEarliestTimer", "src/ae.c", 260, 273),
    range("processTimeEvents", "src/ae.c", 276, 340),
    range("aeProcessEvents", "src/ae.c", 357, 469),
    range("aeMain", "src/ae.c", 493, 500),
    range("aeStop", "src/ae.c", 154, 156),
    range("aeSetBeforeSleepProc", "src/ae.c", 506, 508),
    range("aeSetAfterSleepProc", "src/ae.c", 510, 512),
    range("aeApiCreate", "src/ae_epoll.c", 39, 57),
    range("aeApiResize", "src/ae_epoll.c", 59, 64),
    range("aeApiAddEvent", "src/ae_epoll.c", 74, 89),
    range("aeApiDelEvent", "src/ae_epoll.c", 91, 107),
    range("aeApiPoll", "src/ae_epoll.c", 109, 135),
    range("aeFileEvent", "src/ae.h", 72, 77),
    range("aeTimeEvent", "src/ae.h", 80, 90),
    range("aeFiredEvent", "src/ae.h", 93, 96),
    range("aeEventLoop", "src/ae.h", 99, 111),
    range("aeApiState", "src/ae_epoll.c", 34, 37),
    range("main", "src/server.c", 6856, 7174),
    range("initServerConfig", "src/server.c", 1901, 2022),
    range("initServer", "src/server.c", 2448, 2683),
    range("InitServerLast", "src/server.c", 2690, 2695),
    range("adjustOpenFilesLimit", "src/server.c", 2169, 2245),
    range("listenToPort", "src/server.c", 2339, 2379),
    range("createSocketAcceptHandler", "src/server.c", 2308, 2319),
    range("loadDataFromDisk", "src/server.c", 6585, 6653),
    range("updateMaxclients", "src/config.c", 2497, 2517),
    range("updateHZ", "src/config.c", 2412, 2420),
    range("beforeSleep", "src/server.c", 1560, 1688),
    range("afterSleep", "src/server.c", 1693, 1712),
    range("serverCron", "src/server.c", 1201, 1462),
    range("clientsCron", "src/server.c", 940, 1004),
    range("clientsCronResizeQueryBuffer", "src/server.c", 690, 722),
    range("clientsCronResizeOutputBuffer", "src/server.c", 731, 771),
    range("databasesCron", "src/server.c", 1009, 1060),
    range("incrementallyRehash", "src/server.c", 579, 591),
    range("updateDictResizePolicy", "src/server.c", 599, 606),
    range("updateCachedTime", "src/server.c", 1091, 1094),
    range("whileBlockedCron", "src/server.c", 1483, 1534),
    range("blockingOperationStarts", "src/server.c", 1465, 1470),
    range("blockingOperationEnds", "src/server.c", 1472, 1476),
    range("processEventsWhileBlocked", "src/networking.c", 4000, 4031),
    range("acceptTcpHandler", "src/networking.c", 1359, 1377),
    range("acceptCommonHandler", "src/networking.c", 1287, 1357),
    range("clientAcceptHandler", "src/networking.c", 1232, 1284),
    range("anetGenericAccept", "src/anet.c", 511, 538),
    range("connCreateAcceptedSocket", "src/connection.c", 95, 100),
    range("connSocketAccept", "src/connection.c", 213, 224),
    range("connSocketSetReadHandler", "src/connection.c", 253, 263),
    range("connSocketSetWriteHandler", "src/connection.c", 234, 248),
    range("connSocketEventHandler", "src/connection.c", 269, 321),
    range("connSocketClose", "src/connection.c", 148, 164),
    range("callHandler", "src/connhelpers.h", 77, 86),
    range("createClient", "src/networking.c", 120, 217),
    range("linkClient", "src/networking.c", 91, 99),
    range("readQueryFromClient", "src/networking.c", 2619, 2718),
    range("processInputBuffer", "src/networking.c", 2523, 2617),
    range("processInlineBuffer", "src/networking.c", 2146, 2218),
    range("processMultibulkBuffer", "src/networking.c", 2264, 2421),
    range("setProtocolError", "src/networking.c", 2224, 2251),
    range(
        "processCommandAndResetClient",
        "src/networking.c",
        2469,
        2493,
    ),
    range(
        "processPendingCommandAndInputBuffer",
        "src/networking.c",
        2499,
        2516,
    ),
    range("commandProcessed", "src/networking.c", 2428, 2459),
    range("resetClient", "src/networking.c", 2072, 2105),
    range("processCommand", "src/server.c", 3679, 4027),
    range("isInsideYieldingLongCommand", "src/server.c", 646, 648),
    range("call", "src/server.c", 3347, 3550),
    range("afterCommand", "src/server.c", 3592, 3604),
    range("propagateNow", "src/server.c", 3140, 3152),
    range("addReply", "src/networking.c", 407, 422),
    range("_addReplyToBufferOrList", "src/networking.c", 383, 399),
    range("prepareClientToWrite", "src/networking.c", 284, 316),
    range("putClientInPendingWriteQueue", "src/networking.c", 243, 260),
    range("installClientWriteHandler", "src/networking.c", 219, 234),
    range(
        "handleClientsWithPendingWrites",
        "src/networking.c",
        2041,
        2069,
    ),
    range(
        "handleClientsWithPendingWritesUsingThreads",
        "src/networking.c",
        4215,
        4305,
    ),
    range("writeToClient", "src/networking.c", 1957, 2029),
    range("_writeToClient", "src/networking.c", 1896, 1947),
    range("_writevToClient", "src/networking.c", 1824, 1889),
    range("sendReplyToClient", "src/networking.c", 2032, 2035),
    range("freeClient", "src/networking.c", 1580, 1725),
    range("unlinkClient", "src/networking.c", 1475, 1539),
    range("freeClientAsync", "src/networking.c", 1731, 1748),
    range(
        "freeClientsInAsyncFreeQueue",
        "src/networking.c",
        1791,
        1808,
    ),
    range("beforeNextClient", "src/networking.c", 1772, 1787),
    range("protectClient", "src/networking.c", 2120, 2126),
    range("unprotectClient", "src/networking.c", 2129, 2137),
    range(
        "checkClientOutputBufferLimits",
        "src/networking.c",
        3756,
        3802,
    ),
    range(
        "closeClientOnOutputBufferLimitReached",
        "src/networking.c",
        3815,
        3840,
    ),
    range("updateClientMemUsageAndBucket", "src/server.c", 886, 910),
    range("evictClients", "src/networking.c", 4444, 4473),
    range("pauseClients", "src/networking.c", 3941, 3961),
    range("unpauseClients", "src/networking.c", 3964, 3969),
    range(
        "checkClientPauseTimeoutAndReturnIfPaused",
        "src/networking.c",
        3979,
        3986,
    ),
    range("postponeClientRead", "src/networking.c", 4311, 4324),
    range(
        "handleClientsWithPendingReadsUsingThreads",
        "src/networking.c",
        4338,
        4418,
    ),
    range("IOThreadMain", "src/networking.c", 4070, 4114),
    range("initThreadedIO", "src/networking.c", 4117, 4150),
    range("stopThreadedIOIfNeeded", "src/networking.c", 4195, 4207),
    range("activeExpireCycle", "src/expire.c", 113, 332),
    range("activeExpireCycleTryExpire", "src/expire.c", 54, 65),
    range("feedAppendOnlyFile", "src/aof.c", 1309, 1348),
    range("flushAppendOnlyFile", "src/aof.c", 1062, 1263),
    range("loadAppendOnlyFiles", "src/aof.c", 1634, 1757),
    range("loadSingleAppendOnlyFile", "src/aof.c", 1384, 1631),
    range("aofOpenIfNeededOnServerStart", "src/aof.c", 713, 768),
    range("rewriteAppendOnlyFileBackground", "src/aof.c", 2431, 2483),
    range("rewriteAppendOnlyFile", "src/aof.c", 2357, 2412),
    range("backgroundRewriteDoneHandler", "src/aof.c", 2572, 2724),
    range("rdbLoad", "src/rdb.c", 3251, 3270),
    range("startLoading", "src/rdb.c", 2685, 2706),
    range("stopLoading", "src/rdb.c", 2736, 2748),
    range("rdbLoadProgressCallback", "src/rdb.c", 2775, 2790),
    range("rdbSaveBackground", "src/rdb.c", 1466, 1500),
    range("rdbSaveRio", "src/rdb.c", 1323, 1361),
    range("backgroundSaveDoneHandler", "src/rdb.c", 3329, 3349),
    range("redisFork", "src/server.c", 6412, 6480),
    range("checkChildrenDone", "src/server.c", 1096, 1145),
    range("openChildInfoPipe", "src/childinfo.c", 45, 53),
    range("sendChildInfoGeneric", "src/childinfo.c", 69, 119),
    range("receiveChildInfo", "src/childinfo.c", 170, 183),
    range("blockClient", "src/blocked.c", 89, 106),
    range("blockForKeys", "src/blocked.c", 729, 773),
    range("signalKeyAsReady", "src/blocked.c", 830, 866),
    range("handleClientsBlockedOnKeys", "src/blocked.c", 621, 697),
    range("unblockClient", "src/blocked.c", 179, 215),
    range("queueClientForReprocessing", "src/blocked.c", 168, 175),
    range("processUnblockedClients", "src/blocked.c", 127, 150),
    range("addClientToTimeoutTable", "src/timeout.c", 116, 123),
    range("handleBlockedClientsTimeout", "src/timeout.c", 138, 156),
    range("expireIfNeeded", "src/db.c", 1682, 1717),
    range("keyIsExpired", "src/db.c", 1616, 1651),
    range("debugCommand", "src/debug.c", 388, 1035),
    range("pubsubSubscribeChannel", "src/pubsub.c", 246, 269),
    range("pubsubPublishMessage", "src/pubsub.c", 523, 525),
    range("pubsubPublishMessageInternal", "src/pubsub.c", 468, 520),
    range("addReplyPubsubMessage", "src/pubsub.c", 107, 118),
    range("publishCommand", "src/pubsub.c", 606, 616),
    range("replicationFeedMonitors", "src/replication.c", 562, 601),
    range("monitorCommand", "src/server.c", 6080, 6095),
    range("clientsCronHandleTimeout", "src/timeout.c", 57, 80),
    range("slowlogPushCurrentCommand", "src/server.c", 3207, 3217),
    range("slowlogPushEntryIfNeeded", "src/slowlog.c", 123, 132),
    range("latencyAddSampleIfNeeded", "src/latency.h", 83, 86),
    range("latencyAddSample", "src/latency.c", 82, 112),
    range("notifyKeyspaceEvent", "src/notify.c", 104, 145),
    range("signalModifiedKey", "src/db.c", 556, 559),
    range("trackingInvalidateKey", "src/tracking.c", 366, 422),
    range(
        "trackingBroadcastInvalidationMessages",
        "src/tracking.c",
        594,
        640,
    ),
    range("scriptInterrupt", "src/script.c", 80, 109),
    range("scriptKill", "src/script.c", 294, 324),
    range("scriptResetRun", "src/script.c", 257, 276),
    range("luaMaskCountHook", "src/script_lua.c", 1577, 1593),
    range("luaCallFunction", "src/script_lua.c", 1634, 1737),
    range("evictionTimeProc", "src/evict.c", 455, 467),
    range("moduleTimerHandler", "src/module.c", 8240, 8286),
    range("modulePipeReadable", "src/module.c", 11424, 11435),
    range("showThroughput", "src/redis-benchmark.c", 1660, 1702),
    range("aeProcessEvents (fired loop)", "src/ae.c", 410, 462),
    range("ae.h: constants and structs", "src/ae.h", 38, 111),
    range("ae_epoll.c: add, delete, poll", "src/ae_epoll.c", 74, 135),
    range(
        "aeCreateTimeEvent / aeDeleteTimeEvent",
        "src/ae.c",
        215,
        249,
    ),
    range(
        "initServer: the aeCreateEventLoop call",
        "src/server.c",
        2512,
        2518,
    ),
    range(
        "initServer: serverCron, the listeners, the sleep hooks",
        "src/server.c",
        2627,
        2658,
    ),
    range("main: initServer to aeMain", "src/server.c", 7092, 7171),
    range(
        "processCommand: where call runs",
        "src/server.c",
        4008,
        4024,
    ),
    range(
        "server.h: static server configuration",
        "src/server.h",
        103,
        178,
    ),
    range("CONFIG_FDSET_INCR", "src/server.h", 174, 178),
    range(
        "connection.h: the connection type",
        "src/connection.h",
        42,
        88,
    ),
    range(
        "connection.c: accept, handlers, event handler",
        "src/connection.c",
        213,
        321,
    ),
    range(
        "networking.c: the pending-writes queue",
        "src/networking.c",
        219,
        316,
    ),
    range(
        "networking.c: the accept path",
        "src/networking.c",
        1232,
        1377,
    ),
    range(
        "networking.c: the write path",
        "src/networking.c",
        1824,
        2069,
    ),
    range(
        "networking.c: the parse path",
        "src/networking.c",
        2146,
        2617,
    ),
];

/// The reference for `name` at 7.0.15. A name with a note after the C name
/// (`aeSetDontWait (its closest relative)`) takes the function's range
/// unless the table has a row for the exact text. Used in constant
/// initialisers, so a name missing from the table stops the build.
pub const fn redis_7_0_15(name: &'static str) -> RedisRef {
    let found = match find(name, false) {
        Some(r) => Some(r),
        None => find(name, true),
    };
    match found {
        Some(r) => RedisRef {
            function: name,
            file: r.file,
            commit: REDIS_7_0_15,
            first_line: r.first_line,
            last_line: r.last_line,
        },
        None => panic!("a Redis name missing from REDIS_7_0_15_RANGES"),
    }
}

const fn find(name: &str, by_c_name: bool) -> Option<&'static RedisRange> {
    let mut i = 0;
    while i < REDIS_7_0_15_RANGES.len() {
        let row = &REDIS_7_0_15_RANGES[i];
        let hit = if by_c_name {
            same_c_name(row.name, name)
        } else {
            same_text(row.name.as_bytes(), name.as_bytes())
        };
        if hit {
            return Some(row);
        }
        i += 1;
    }
    None
}

const fn same_text(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `row` is exactly the C name that `name` starts with (up to a space or `(`).
const fn same_c_name(row: &str, name: &str) -> bool {
    let (row, name) = (row.as_bytes(), name.as_bytes());
    if name.len() <= row.len() || !same_text(row, prefix(name, row.len())) {
        return false;
    }
    matches!(name[row.len()], b' ' | b'(')
}

const fn prefix(bytes: &[u8], len: usize) -> &[u8] {
    bytes.split_at(len).0
}

/// Checks a link into Redis's repository: it must pin 7.0.15 and name a
/// range of [`REDIS_7_0_15_RANGES`] (file and both lines). Links elsewhere
/// pass. The error says what is wrong and, for a range, what the table has
/// for that file.
pub fn check_permalink(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("https://github.com/redis/redis/blob/") else {
        return Ok(());
    };
    let Some((commit, path)) = rest.split_once('/') else {
        return Err(format!("`{url}` names no file"));
    };
    if commit != REDIS_7_0_15 {
        return Err(format!(
            "`{url}` is not pinned to Redis 7.0.15 (commit {REDIS_7_0_15})"
        ));
    }
    let Some((file, lines)) = path.split_once("#L") else {
        return Err(format!("`{url}` names no line range (#La-Lb)"));
    };
    let range = lines
        .split_once("-L")
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let Some((first, last)) = range else {
        return Err(format!("`{url}` has no line range of the form #La-Lb"));
    };
    if REDIS_7_0_15_RANGES
        .iter()
        .any(|r| r.file == file && r.first_line == first && r.last_line == last)
    {
        return Ok(());
    }
    let known: Vec<String> = REDIS_7_0_15_RANGES
        .iter()
        .filter(|r| r.file == file)
        .map(|r| format!("{} L{}-L{}", r.name, r.first_line, r.last_line))
        .collect();
    Err(format!(
        "`{url}`: L{first}-L{last} of {file} is not a verified 7.0.15 range (src/source/redis_map.rs has: {})",
        if known.is_empty() {
            "nothing for this file".to_string()
        } else {
            known.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Redis permalink written anywhere in the repository's sources,
    /// chapters and docs, with where it was found.
    fn permalinks_in_the_repository() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![root.join("README.md")];
        let mut dirs = vec![
            root.join("src"),
            root.join("walkthrough"),
            root.join("docs"),
        ];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if matches!(path.extension().and_then(|e| e.to_str()), Some("rs" | "md")) {
                    files.push(path);
                }
            }
        }
        let prefix = "https://github.com/redis/redis/blob/";
        let mut links = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for (at, _) in line.match_indices(prefix) {
                    let url: String = line[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && !"\"')>`,".contains(*c))
                        .collect();
                    // Code that builds links (`blob/{}/…`) is not a link.
                    let commit = url[prefix.len()..].split('/').next().unwrap_or_default();
                    if commit.is_empty() || !commit.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        continue;
                    }
                    let file = file.strip_prefix(root).unwrap_or(&file);
                    links.push((format!("{}:{}", file.display(), n + 1), url));
                }
            }
        }
        links
    }

    #[test]
    fn every_redis_link_in_the_repository_is_a_verified_7_0_15_range() {
        let links = permalinks_in_the_repository();
        assert!(links.len() > 50, "found only {} links", links.len());
        let wrong: Vec<String> = links
            .iter()
            .filter_map(|(place, url)| check_permalink(url).err().map(|e| format!("{place}: {e}")))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn every_anchor_links_a_row_of_the_table() {
        for a in super::super::ANCHORS {
            let url = a.redis.permalink();
            assert_eq!(check_permalink(&url), Ok(()), "anchor {}", a.name);
        }
    }

    #[test]
    fn names_resolve_exactly_or_by_their_c_name() {
        let main = redis_7_0_15("aeMain");
        assert_eq!(
            (main.file, main.first_line, main.last_line),
            ("src/ae.c", 493, 500)
        );
        let fired = redis_7_0_15("aeProcessEvents (fired loop)");
        assert_eq!((fired.first_line, fired.last_line), (410, 462));
        let noted = redis_7_0_15("aeSetDontWait (its closest relative)");
        assert_eq!(noted.function, "aeSetDontWait (its closest relative)");
        assert_eq!((noted.first_line, noted.last_line), (107, 112));
        assert!(
            find("aeMainX", true).is_none(),
            "a longer name is another name"
        );
        assert!(find("ae", true).is_none());
    }

    #[test]
    fn permalinks_off_the_table_are_refused_with_what_it_has() {
        let url = |commit: &str, tail: &str| {
            format!("https://github.com/redis/redis/{}/{commit}/{tail}", "blob")
        };
        assert_eq!(
            check_permalink(&url(REDIS_7_0_15, "src/ae.c#L493-L500")),
            Ok(())
        );
        let short = check_permalink(&url(REDIS_7_0_15, "src/ae.c#L493-L499")).unwrap_err();
        assert!(short.contains("aeMain L493-L500"), "{short}");
        let newer = check_permalink(&url("unstable", "src/ae.c#L1-L2")).unwrap_err();
        assert!(newer.contains("not pinned to Redis 7.0.15"), "{newer}");
        assert!(check_permalink(&url(REDIS_7_0_15, "src/ae.c")).is_err());
        assert!(check_permalink(&url(REDIS_7_0_15, "src/ae.c#Lx-L2")).is_err());
        assert_eq!(check_permalink("https://redis.io/docs/"), Ok(()));
    }
}
