//! Active expiry: the half of key expiration that runs from the event loop,
//! the mirror of `activeExpireCycle` in Redis's `expire.c`.
//!
//! Lazy expiry (in [`crate::server::db`]) only removes a key when someone
//! touches it. Keys that nobody reads again would stay in memory forever, so
//! the loop also hunts for them, in small slices of time that never stall
//! clients:
//!
//! - the **slow cycle** runs from `server_cron`, `hz` times a second, and may
//!   use up to 25% of the time between two crons (25 ms at `hz 10`);
//! - the **fast cycle** runs from `before_sleep`, on every loop iteration,
//!   for at most 1 ms, and never twice within 2 ms. It only runs at all when
//!   the previous cycle stopped because it ran out of time, that is, when
//!   expired keys are piling up faster than the slow cycle clears them.
//!
//! A cycle visits up to 16 databases. In each one it samples 20 keys that
//! have a TTL and deletes the expired ones. If more than 10% of the sample
//! was expired, the database probably holds many more, so it samples again.
//! Every 16 samples it looks at the clock and stops when the budget is spent.
//!
//! Along the way it keeps two estimates that `INFO` reports: each database's
//! average TTL (`avg_ttl`), and the share of sampled keys that were already
//! expired (`expired_stale_perc`).

use super::db::mstime_i64;
use super::{Server, ustime};

/// Keys sampled per database per round, at the default effort
/// (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const KEYS_PER_LOOP: u64 = 20;
/// Budget of a fast cycle in µs (`ACTIVE_EXPIRE_CYCLE_FAST_DURATION`).
const FAST_DURATION: u64 = 1000;
/// Share of the cron period the slow cycle may use, in %
/// (`ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`).
const SLOW_TIME_PERC: u64 = 25;
/// Above this % of expired keys in a sample, sample the database again
/// (`ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`).
const ACCEPTABLE_STALE: u64 = 10;
/// Databases visited per call (`CRON_DBS_PER_CALL`).
const DBS_PER_CALL: usize = 16;
/// Redis's default `active-expire-effort`.
pub const DEFAULT_EFFORT: u32 = 1;

/// Which of the two cycles to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireCycleKind {
    /// From `before_sleep`: at most 1 ms, only when expired keys pile up.
    Fast,
    /// From `server_cron`: up to 25% of the cron period.
    Slow,
}

/// What one call did, for the trace and the TUI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpireCycleStats {
    /// False when a fast cycle decided not to run at all.
    pub ran: bool,
    /// Keys with a TTL that were looked at.
    pub sampled: u64,
    /// Keys deleted because their deadline had passed.
    pub expired: u64,
    /// Time the call took, in µs.
    pub elapsed_us: u64,
    /// True when the call stopped because its time budget ran out.
    pub time_limit_hit: bool,
}

/// The cycle's memory between calls (the `static` variables of
/// `activeExpireCycle`) and the statistics it feeds to `INFO stats`.
#[derive(Clone, Debug)]
pub struct ExpireCycle {
    /// `active-expire-effort`, 1..=10: more effort samples more keys, allows
    /// more time, and tolerates fewer stale keys.
    pub effort: u32,
    /// Next database to visit.
    current_db: usize,
    /// Did the previous call run out of time?
    timelimit_exit: bool,
    /// Start of the last fast cycle, in µs (Unix time).
    last_fast_cycle: u64,
    /// Running estimate of the fraction (0..1) of sampled keys found expired
    /// (`stat_expired_stale_perc`; INFO prints it ×100 as `expired_stale_perc`).
    pub stale_perc: f64,
    /// Calls that hit their time limit (`expired_time_cap_reached_count`).
    pub time_cap_reached_count: u64,
    /// Total µs spent in the cycle (`expire_cycle_cpu_milliseconds` ×1000).
    pub time_used_us: u64,
}

impl Default for ExpireCycle {
    fn default() -> Self {
        ExpireCycle {
            effort: DEFAULT_EFFORT,
            current_db: 0,
            timelimit_exit: false,
            last_fast_cycle: 0,
            stale_perc: 0.0,
            time_cap_reached_count: 0,
            time_used_us: 0,
        }
    }
}

/// The cycle's parameters for one effort level (1..=10): each step of effort
/// adds a quarter of the base sample and fast budget, 2% of CPU, and lowers
/// the tolerated stale share by 1%.
struct Tuning {
    keys_per_loop: u64,
    fast_duration: u64,
    slow_time_perc: u64,
    acceptable_stale: u64,
}

impl Tuning {
    fn for_effort(effort: u32) -> Self {
        let e = u64::from(effort.clamp(1, 10) - 1);
        Tuning {
            keys_per_loop: KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * e,
            fast_duration: FAST_DURATION + FAST_DURATION / 4 * e,
            slow_time_perc: SLOW_TIME_PERC + 2 * e,
            acceptable_stale: ACCEPTABLE_STALE - e,
        }
    }
}

/// Runs one active expire cycle over the server's databases.
///
/// Mirror of `activeExpireCycle` (expire.c).
// anchor: expire.active_expire_cycle
pub fn active_expire_cycle(server: &mut Server, kind: ExpireCycleKind) -> ExpireCycleStats {
    run_cycle(server, kind, &mut ustime)
}

/// The cycle, with the clock (µs) passed in so tests can control time.
fn run_cycle(
    server: &mut Server,
    kind: ExpireCycleKind,
    clock: &mut dyn FnMut() -> u64,
) -> ExpireCycleStats {
    let tuning = Tuning::for_effort(server.expire_cycle.effort);
    let start = clock();
    let state = &mut server.expire_cycle;

    if kind == ExpireCycleKind::Fast {
        // Redis compares the stale *fraction* (0..1) with a *percentage*
        // here, so in practice only a time-limit exit lets a fast cycle run.
        // We keep that, as clients can observe it.
        if !state.timelimit_exit && state.stale_perc < tuning.acceptable_stale as f64 {
            return ExpireCycleStats::default();
        }
        if start
            < state
                .last_fast_cycle
                .saturating_add(tuning.fast_duration * 2)
        {
            return ExpireCycleStats::default();
        }
        state.last_fast_cycle = start;
    }

    let dbnum = server.dbs.len();
    // After a time-limit exit, visit every database: some are behind.
    let dbs_per_call = if DBS_PER_CALL > dbnum || state.timelimit_exit {
        dbnum
    } else {
        DBS_PER_CALL
    };
    let timelimit = match kind {
        ExpireCycleKind::Fast => tuning.fast_duration,
        ExpireCycleKind::Slow => {
            (tuning.slow_time_perc * 1_000_000 / u64::from(server.config.hz.max(1)) / 100).max(1)
        }
    };
    state.timelimit_exit = false;

    let mut stats = ExpireCycleStats {
        ran: true,
        ..ExpireCycleStats::default()
    };
    let mut iteration: u64 = 0;
    for _ in 0..dbs_per_call {
        if server.expire_cycle.timelimit_exit {
            break;
        }
        let db_index = server.expire_cycle.current_db % dbnum.max(1);
        server.expire_cycle.current_db = (db_index + 1) % dbnum.max(1);
        let Some(db) = server.dbs.get_mut(db_index) else {
            break;
        };
        loop {
            iteration += 1;
            let num = db.expires_len() as u64;
            if num == 0 {
                db.avg_ttl = 0;
                break;
            }
            // Redis also skips a database whose expires dict is under 1% full,
            // because sampling a sparse hash table wastes time on empty
            // buckets. Our expires table is dense, so that case cannot arise.
            let now = mstime_i64();
            let num = num.min(tuning.keys_per_loop);
            let (mut sampled, mut expired, mut ttl_sum, mut ttl_samples) = (0u64, 0u64, 0i64, 0i64);
            while sampled < num {
                let Some((ttl, was_expired)) = db.active_expire_try_next(now, &mut server.stats)
                else {
                    break;
                };
                expired += u64::from(was_expired);
                if ttl > 0 {
                    // Only keys still alive say something about the TTLs.
                    ttl_sum = ttl_sum.saturating_add(ttl);
                    ttl_samples += 1;
                }
                sampled += 1;
            }
            stats.sampled += sampled;
            stats.expired += expired;
            if ttl_samples > 0 {
                // A running average: the old estimate weighs 98%.
                let avg_ttl = ttl_sum / ttl_samples;
                if db.avg_ttl == 0 {
                    db.avg_ttl = avg_ttl;
                }
                db.avg_ttl = (db.avg_ttl / 50) * 49 + avg_ttl / 50;
            }
            // Reading the clock costs a little, so only every 16 rounds.
            if iteration & 0xf == 0 && clock().saturating_sub(start) > timelimit {
                server.expire_cycle.timelimit_exit = true;
                server.expire_cycle.time_cap_reached_count += 1;
                break;
            }
            if sampled != 0 && expired * 100 / sampled <= tuning.acceptable_stale {
                break;
            }
        }
    }

    let state = &mut server.expire_cycle;
    stats.elapsed_us = clock().saturating_sub(start);
    stats.time_limit_hit = state.timelimit_exit;
    state.time_used_us += stats.elapsed_us;
    // The stale-key estimate: this call's share weighs 5%.
    let current_perc = if stats.sampled > 0 {
        stats.expired as f64 / stats.sampled as f64
    } else {
        0.0
    };
    state.stale_perc = current_perc * 0.05 + state.stale_perc * 0.95;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::Value;
    use crate::server::util::testkit::test_server;
    use std::cell::Cell;

    fn fill(server: &mut Server, db: usize, prefix: &str, n: usize, when: i64) {
        for i in 0..n {
            let key = format!("{prefix}:{i}");
            server.dbs[db].set_key(key.as_bytes(), Value::string(b"v"), false);
            server.dbs[db].set_expire(key.as_bytes(), when);
        }
    }

    #[test]
    fn tuning_follows_effort() {
        let t = Tuning::for_effort(1);
        assert_eq!(
            (
                t.keys_per_loop,
                t.fast_duration,
                t.slow_time_perc,
                t.acceptable_stale
            ),
            (20, 1000, 25, 10)
        );
        let t = Tuning::for_effort(10);
        assert_eq!(
            (
                t.keys_per_loop,
                t.fast_duration,
                t.slow_time_perc,
                t.acceptable_stale
            ),
            (65, 3250, 43, 1)
        );
    }

    #[test]
    fn slow_cycle_removes_keys_that_expired_in_the_past() {
        let mut server = test_server();
        fill(&mut server, 0, "old", 100, 1);
        fill(&mut server, 5, "old", 30, 1000);
        fill(&mut server, 5, "live", 10, mstime_i64() + 100_000);
        server.dbs[7].set_key(b"persistent", Value::string(b"v"), false);

        let stats = active_expire_cycle(&mut server, ExpireCycleKind::Slow);

        assert!(stats.ran && !stats.time_limit_hit);
        assert_eq!(stats.expired, 130);
        assert_eq!(server.stats.expiredkeys, 130);
        assert_eq!(server.dbs[0].size(), 0);
        assert_eq!(
            (server.dbs[5].size(), server.dbs[5].expires_len()),
            (10, 10)
        );
        assert_eq!(server.dbs[7].size(), 1);
        let avg = server.dbs[5].avg_ttl();
        assert!((90_000..=100_000).contains(&avg), "avg_ttl {avg}");
        assert!(stats.sampled >= 130);
        assert!(server.expire_cycle.stale_perc > 0.0);
    }

    #[test]
    fn one_round_is_enough_when_few_keys_are_stale() {
        let mut server = test_server();
        fill(&mut server, 0, "live", 100, mstime_i64() + 100_000);
        fill(&mut server, 0, "old", 1, 1);
        let stats = active_expire_cycle(&mut server, ExpireCycleKind::Slow);
        // At most 1 of 20 sampled keys is expired (5% <= 10%), so db 0 is
        // sampled once.
        assert_eq!(stats.sampled, 20);
        assert!(server.dbs[0].avg_ttl() > 0);
        assert_eq!(
            server.expire_cycle.stale_perc,
            stats.expired as f64 / 20.0 * 0.05
        );
    }

    #[test]
    fn avg_ttl_resets_when_no_key_has_a_ttl() {
        let mut server = test_server();
        server.dbs[2].avg_ttl = 1234;
        active_expire_cycle(&mut server, ExpireCycleKind::Slow);
        assert_eq!(server.dbs[2].avg_ttl(), 0);
    }

    #[test]
    fn fast_cycle_waits_for_a_time_limit_exit() {
        let mut server = test_server();
        fill(&mut server, 0, "old", 10, 1);
        let stats = active_expire_cycle(&mut server, ExpireCycleKind::Fast);
        assert!(!stats.ran);
        assert_eq!(server.dbs[0].size(), 10);
    }

    /// A clock that advances `step` µs each time it is read.
    fn ticking(step: u64) -> impl FnMut() -> u64 {
        let now = Cell::new(1_000_000_000);
        move || {
            now.set(now.get() + step);
            now.get()
        }
    }

    /// A clock that returns the given readings in order, then the last one.
    fn scripted(readings: &[u64]) -> impl FnMut() -> u64 {
        let mut readings = readings.to_vec();
        readings.reverse();
        move || {
            if readings.len() > 1 {
                readings.pop().unwrap_or(0)
            } else {
                readings.last().copied().unwrap_or(0)
            }
        }
    }

    #[test]
    fn slow_cycle_stops_at_its_time_limit_and_fast_cycles_take_over() {
        let mut server = test_server();
        fill(&mut server, 0, "old", 1000, 1);
        // Every clock read is 30 ms later: the first check, after 16 rounds
        // of 20 keys, finds the 25 ms budget (hz 10) spent.
        let stats = run_cycle(&mut server, ExpireCycleKind::Slow, &mut ticking(30_000));
        assert!(stats.time_limit_hit);
        assert_eq!(stats.expired, 16 * 20);
        assert_eq!(server.expire_cycle.time_cap_reached_count, 1);
        assert_eq!(server.dbs[0].size(), 1000 - 320);

        // Now a fast cycle runs, over all databases from db 1 on: rounds
        // 1..=15 find dbs 1..=15 empty, round 16 samples db 0, and the clock
        // check there finds the 1 ms budget spent.
        let s = 5_000_000_000;
        let stats = run_cycle(
            &mut server,
            ExpireCycleKind::Fast,
            &mut scripted(&[s, s + 1001]),
        );
        assert!(stats.ran && stats.time_limit_hit);
        assert_eq!(stats.expired, 20);
        assert_eq!(server.expire_cycle.time_cap_reached_count, 2);

        // Not again within 2 ms of that start...
        let stats = run_cycle(
            &mut server,
            ExpireCycleKind::Fast,
            &mut scripted(&[s + 1999]),
        );
        assert!(!stats.ran);
        assert_eq!(server.dbs[0].size(), 1000 - 340);

        // ...but from 2 ms on, and with time to spare it clears db 0.
        let stats = run_cycle(
            &mut server,
            ExpireCycleKind::Fast,
            &mut scripted(&[s + 2000]),
        );
        assert!(stats.ran && !stats.time_limit_hit);
        assert_eq!(stats.expired, 660);
        assert_eq!(server.dbs[0].size(), 0);

        // Without a time-limit exit, the fast cycle stays idle again.
        let stats = run_cycle(
            &mut server,
            ExpireCycleKind::Fast,
            &mut scripted(&[s + 10_000]),
        );
        assert!(!stats.ran);
    }

    #[test]
    fn cycle_finishes_the_work_when_time_allows() {
        let mut server = test_server();
        fill(&mut server, 3, "old", 1000, 1);
        let mut clock = ticking(1);
        let stats = run_cycle(&mut server, ExpireCycleKind::Slow, &mut clock);
        assert!(!stats.time_limit_hit);
        assert_eq!(stats.expired, 1000);
        assert_eq!(server.dbs[3].size(), 0);
    }
}
