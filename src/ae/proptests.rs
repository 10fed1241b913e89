//! Property tests: random sequences of loop operations, checked step by step
//! against a model small enough to trust at a glance.
//!
//! The model says, after every operation, what each fd's mask is, what
//! `maxfd` is (ae's rule, not an idealised one: creating a mask raises it,
//! and only emptying the top fd lowers it, to the next fd still in use), which
//! time-event ids are live, newest first, and, for each `process_events`,
//! which handlers run and in what order: per fd read before write unless the
//! fd has BARRIER, one call when one handler serves both directions; timers
//! due, newest first, skipping those a handler deleted or created during the
//! pass.
//!
//! The fds are real socket pairs (never assumed numbers: the set size is
//! chosen around whatever fds the pairs got). Writable sockets are always
//! ready; a socket is readable once a byte was written to its peer, and the
//! handlers never read, so the loop's level-trigger emulation keeps firing it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use proptest::prelude::*;

use super::*;

/// What a timer's handler does when it runs.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Returns `AE_NOMORE`.
    Once,
    /// Returns 0: due again at the next pass.
    Again,
    /// Returns a period so long it never comes due in a test.
    Later,
    /// Deletes itself, then returns 0.
    DeleteSelf,
    /// Deletes timer `id`, returns 0. Generated as an index into the ids
    /// created so far (itself included), resolved to the id on creation.
    DeleteOther(i64),
    /// Creates a new timer due at once (with [`Plan::Once`]), returns `AE_NOMORE`.
    Create,
}

#[derive(Clone, Debug)]
enum Op {
    /// `fd` indexes the socket pool; past its end it names an fd outside the set size.
    CreateFile {
        fd: usize,
        mask: u8,
        both: bool,
    },
    DeleteFile {
        fd: usize,
        mask: u8,
    },
    CreateTime {
        due: bool,
        plan: Plan,
    },
    /// Deletes the `n`-th id ever created (mod their number), live or not.
    DeleteTime(usize),
    /// Writes a byte to the peer of socket `fd`, so it becomes readable.
    MakeReadable(usize),
    Process,
    /// Asks for a set size of the pool's top fd plus `extra` (0: just too small).
    Resize(usize),
}

const POOL: usize = 4;

fn op() -> impl Strategy<Value = Op> {
    let plan = prop_oneof![
        Just(Plan::Once),
        Just(Plan::Again),
        Just(Plan::Later),
        Just(Plan::DeleteSelf),
        any::<u16>().prop_map(|n| Plan::DeleteOther(i64::from(n))),
        Just(Plan::Create),
    ];
    prop_oneof![
        4 => (0..POOL + 2, 0u8..8, any::<bool>()).prop_map(|(fd, mask, both)| Op::CreateFile { fd, mask, both }),
        3 => (0..POOL + 2, 0u8..8).prop_map(|(fd, mask)| Op::DeleteFile { fd, mask }),
        2 => (any::<bool>(), plan).prop_map(|(due, plan)| Op::CreateTime { due, plan }),
        1 => any::<usize>().prop_map(Op::DeleteTime),
        1 => (0..POOL).prop_map(Op::MakeReadable),
        4 => Just(Op::Process),
        2 => (0usize..3).prop_map(Op::Resize),
    ]
}

/// The context handlers see: what ran, and each timer's plan.
#[derive(Default)]
struct Ctx {
    calls: Vec<Call>,
    plans: BTreeMap<i64, Plan>,
    /// Every timer id created, in order.
    created: Vec<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// A file handler: the fd and the handler's number.
    File(Fd, u8),
    Timer(i64),
}

fn file_proc<const N: u8>(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, fd: Fd, _mask: u8) {
    ctx.calls.push(Call::File(fd, N));
}

const NAMES: [&str; 2] = ["file_a", "file_b"];
const FILE_A: FileHandler<Ctx> = Handler {
    name: NAMES[0],
    mirrors: "-",
    proc_: file_proc::<0>,
};
const FILE_B: FileHandler<Ctx> = Handler {
    name: NAMES[1],
    mirrors: "-",
    proc_: file_proc::<1>,
};

fn timer_proc(el: &mut EventLoop<Ctx>, ctx: &mut Ctx, id: i64) -> i64 {
    ctx.calls.push(Call::Timer(id));
    match ctx.plans.get(&id).copied().unwrap_or(Plan::Once) {
        Plan::Once => AE_NOMORE,
        Plan::Again => 0,
        Plan::Later => LATER_MS,
        Plan::DeleteSelf => {
            el.delete_time_event(id);
            0
        }
        Plan::DeleteOther(victim) => {
            el.delete_time_event(victim);
            0
        }
        Plan::Create => {
            let new = el.create_time_event(0, TIMER, None);
            ctx.plans.insert(new, Plan::Once);
            ctx.created.push(new);
            AE_NOMORE
        }
    }
}

const TIMER: TimeHandler<Ctx> = Handler {
    name: "timer",
    mirrors: "-",
    proc_: timer_proc,
};

/// A period no test outlives.
const LATER_MS: i64 = 3_600_000;

/// The model of the loop's tables.
#[derive(Default)]
struct Model {
    setsize: usize,
    maxfd: Fd,
    /// Registered masks (never NONE) and, per direction, the handler number.
    masks: BTreeMap<Fd, u8>,
    read: BTreeMap<Fd, u8>,
    write: BTreeMap<Fd, u8>,
    /// Live timers: id to "due at the next pass".
    timers: BTreeMap<i64, bool>,
    /// Fds whose peer was written to.
    readable: BTreeSet<Fd>,
}

impl Model {
    fn create_file(&mut self, fd: Fd, mask: u8, handler: u8) -> i32 {
        if fd < 0 || fd as usize >= self.setsize {
            return AE_ERR;
        }
        let now = self.masks.get(&fd).copied().unwrap_or(AE_NONE) | mask;
        if now != AE_NONE {
            self.masks.insert(fd, now);
        }
        if mask & AE_READABLE != 0 {
            self.read.insert(fd, handler);
        }
        if mask & AE_WRITABLE != 0 {
            self.write.insert(fd, handler);
        }
        self.maxfd = self.maxfd.max(fd);
        AE_OK
    }

    fn delete_file(&mut self, fd: Fd, mut mask: u8) {
        let Some(&old) = self.masks.get(&fd) else {
            return;
        };
        if mask & AE_WRITABLE != 0 {
            mask |= AE_BARRIER;
        }
        let now = old & !mask;
        if now & AE_READABLE == 0 {
            self.read.remove(&fd);
        }
        if now & AE_WRITABLE == 0 {
            self.write.remove(&fd);
        }
        if now == AE_NONE {
            self.masks.remove(&fd);
            if fd == self.maxfd {
                self.maxfd = self.masks.range(..fd).next_back().map_or(-1, |(&f, _)| f);
            }
        } else {
            self.masks.insert(fd, now);
        }
    }

    /// The handler calls one iteration makes, in order per fd (the order of
    /// fds is the kernel's, so calls are grouped by fd).
    fn expected_file_calls(&self) -> BTreeMap<Fd, Vec<Call>> {
        let mut out = BTreeMap::new();
        for (&fd, &mask) in &self.masks {
            let r =
                (mask & AE_READABLE != 0 && self.readable.contains(&fd)).then(|| self.read[&fd]);
            let w = (mask & AE_WRITABLE != 0).then(|| self.write[&fd]);
            let calls: Vec<Call> = match (r, w) {
                (Some(r), Some(w)) if r == w => vec![Call::File(fd, r)],
                (Some(r), Some(w)) if mask & AE_BARRIER != 0 => {
                    vec![Call::File(fd, w), Call::File(fd, r)]
                }
                (r, w) => r.into_iter().chain(w).map(|h| Call::File(fd, h)).collect(),
            };
            if !calls.is_empty() {
                out.insert(fd, calls);
            }
        }
        out
    }

    /// Runs the timer pass on the model: due timers, newest first.
    fn time_pass(&mut self, plans: &BTreeMap<i64, Plan>) -> Vec<Call> {
        let due: Vec<i64> = self
            .timers
            .iter()
            .rev()
            .filter(|(_, d)| **d)
            .map(|(&id, _)| id)
            .collect();
        let mut calls = Vec::new();
        for id in due {
            if !self.timers.contains_key(&id) {
                continue; // deleted by a timer that ran before it
            }
            calls.push(Call::Timer(id));
            match plans[&id] {
                Plan::Once => {
                    self.timers.remove(&id);
                }
                Plan::Again => {}
                Plan::Later => {
                    self.timers.insert(id, false);
                }
                Plan::DeleteSelf => {
                    self.timers.remove(&id);
                }
                Plan::DeleteOther(victim) => {
                    self.timers.remove(&victim);
                }
                Plan::Create => {
                    self.timers.remove(&id);
                }
            }
        }
        calls
    }
}

/// Compares the loop with the model.
fn check(el: &EventLoop<Ctx>, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(el.setsize, model.setsize);
    prop_assert_eq!(el.events.len(), el.setsize);
    prop_assert_eq!(el.maxfd, model.maxfd);
    for (fd, fe) in el.events.iter().enumerate() {
        let fd = fd as Fd;
        let want = model.masks.get(&fd).copied().unwrap_or(AE_NONE);
        prop_assert_eq!(fe.mask, want, "mask of fd {}", fd);
        let name = |h: &Option<FileHandler<Ctx>>| h.map(|h| h.name);
        prop_assert_eq!(
            name(&fe.rfile_proc),
            model.read.get(&fd).map(|&n| NAMES[n as usize])
        );
        prop_assert_eq!(
            name(&fe.wfile_proc),
            model.write.get(&fd).map(|&n| NAMES[n as usize])
        );
    }
    let live: Vec<i64> = el
        .time_events
        .iter()
        .rev()
        .map(|te| te.id)
        .filter(|&id| id != AE_DELETED_EVENT_ID)
        .collect();
    let want: Vec<i64> = model.timers.keys().rev().copied().collect();
    prop_assert_eq!(live, want, "live timers, newest first");
    Ok(())
}

/// Groups a call log by fd, keeping each fd's order; timer calls apart.
fn split_calls(calls: &[Call]) -> (BTreeMap<Fd, Vec<Call>>, Vec<Call>) {
    let mut files: BTreeMap<Fd, Vec<Call>> = BTreeMap::new();
    let mut timers = Vec::new();
    for &call in calls {
        match call {
            Call::File(fd, ..) => files.entry(fd).or_default().push(call),
            Call::Timer(_) => timers.push(call),
        }
    }
    (files, timers)
}

fn run_ops(ops: &[Op]) -> Result<(), TestCaseError> {
    // Sorted by fd, so that the last one is the top fd, the one a resize can cut.
    let mut pairs: Vec<(UnixStream, UnixStream)> = (0..POOL)
        .map(|_| UnixStream::pair().expect("socketpair"))
        .collect();
    pairs.sort_by_key(|(a, _)| a.as_raw_fd());
    let fds: Vec<Fd> = pairs.iter().map(|(a, _)| a.as_raw_fd()).collect();
    let top = fds[POOL - 1] as usize;
    let setsize = top + 2;
    let mut el: EventLoop<Ctx> = EventLoop::create(setsize).expect("loop");
    let mut ctx = Ctx::default();
    let mut model = Model {
        setsize,
        maxfd: -1,
        ..Model::default()
    };
    for op in ops {
        match *op {
            Op::CreateFile { fd, mask, both } => {
                // Past the pool: an fd at or beyond the set size, or -1.
                let fd =
                    fds.get(fd)
                        .copied()
                        .unwrap_or(if fd == POOL { el.setsize as Fd } else { -1 });
                let n = u8::from(both);
                let handler = if both { FILE_B } else { FILE_A };
                let got = el.create_file_event(fd, mask, handler);
                prop_assert_eq!(
                    got,
                    model.create_file(fd, mask, n),
                    "create {} {}",
                    fd,
                    mask
                );
            }
            Op::DeleteFile { fd, mask } => {
                let fd =
                    fds.get(fd)
                        .copied()
                        .unwrap_or(if fd == POOL { el.setsize as Fd } else { -1 });
                el.delete_file_event(fd, mask);
                model.delete_file(fd, mask);
            }
            Op::CreateTime { due, plan } => {
                let id = el.create_time_event(if due { 0 } else { LATER_MS }, TIMER, None);
                let plan = match plan {
                    Plan::DeleteOther(n) => {
                        let known = ctx.created.len() as i64 + 1;
                        Plan::DeleteOther(
                            ctx.created.get((n % known) as usize).copied().unwrap_or(id),
                        )
                    }
                    other => other,
                };
                ctx.plans.insert(id, plan);
                ctx.created.push(id);
                model.timers.insert(id, due);
            }
            Op::DeleteTime(n) => {
                if let Some(&id) = ctx.created.get(n % ctx.created.len().max(1)) {
                    let want = if model.timers.remove(&id).is_some() {
                        AE_OK
                    } else {
                        AE_ERR
                    };
                    prop_assert_eq!(el.delete_time_event(id), want);
                }
            }
            Op::MakeReadable(n) => {
                (&pairs[n].1).write_all(b"x").expect("write");
                model.readable.insert(fds[n]);
            }
            Op::Process => {
                ctx.calls.clear();
                let expected_files = model.expected_file_calls();
                let created_before = ctx.created.len();
                el.process_events(&mut ctx, AE_ALL_EVENTS | AE_DONT_WAIT);
                let expected_timers = model.time_pass(&ctx.plans);
                // Timers created by handlers during the pass are live, not yet run.
                for &id in &ctx.created[created_before..] {
                    model.timers.insert(id, true);
                }
                let (files, timers) = split_calls(&ctx.calls);
                prop_assert_eq!(files, expected_files, "file handlers");
                prop_assert_eq!(timers, expected_timers, "timers");
            }
            Op::Resize(extra) => {
                let size = top + extra;
                let refused = model.maxfd >= 0 && model.maxfd as usize >= size;
                let want = if refused { AE_ERR } else { AE_OK };
                prop_assert_eq!(el.resize_set_size(size), want);
                if !refused {
                    model.setsize = size;
                }
            }
        }
        check(&el, &model)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn loop_tables_follow_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run_ops(&ops)?;
    }
}
