//! One probe event in one plain sentence, for the header's "at" line: what
//! the loop is doing at the moment the screen shows.

use crate::trace::model::{IoOutcome, PollReason, ProbeData};
use crate::tui::panes::plural;
use crate::tui::theme::Theme;

fn io(outcome: &IoOutcome) -> String {
    match outcome {
        IoOutcome::Ok => String::new(),
        IoOutcome::Drained => ", drained (the fd is not ready until the kernel says so)".into(),
        IoOutcome::Short => {
            ", short: the socket is full, the rest waits for the writable event".into()
        }
        IoOutcome::Eof => ", then end of file (peer closed)".into(),
        IoOutcome::Error { message } => format!(", error: {message}"),
    }
}

/// The sentence for one probe.
pub fn describe(d: &ProbeData, t: &Theme) -> String {
    let ms = |us: &u64| t.duration(*us);
    match d {
        ProbeData::IterationBegin {} => "a new iteration begins (top of aeProcessEvents)".into(),
        ProbeData::IterationEnd {
            file_events,
            commands,
            time_events,
            duration_us,
            paused_us,
        } => format!(
            "iteration done: {}, {}, {} in {}{}",
            plural(u64::from(*file_events), "file event"),
            plural(u64::from(*commands), "command"),
            plural(u64::from(*time_events), "time event"),
            ms(&duration_us.saturating_sub(*paused_us)),
            match paused_us {
                0 => String::new(),
                p => format!(" (and {} paused)", ms(p)),
            }
        ),
        ProbeData::BeforeSleepBegin {} => {
            "beforeSleep starts: write pending replies before sleeping".into()
        }
        ProbeData::BeforeSleepEnd { did, .. } => format!(
            "beforeSleep done: wrote {} to {}",
            plural(did.bytes_written, "byte"),
            plural(u64::from(did.clients_written), "client")
        ),
        ProbeData::PollEnter { timeout_ms, reason } => {
            let wait = timeout_ms.map_or("as long as it takes".into(), |t| format!("up to {t} ms"));
            let why = match reason {
                PollReason::Timer { name, .. } => format!("the nearest timer is {name}"),
                PollReason::NoTimers => "no timers".into(),
                PollReason::StillReady { fds } => {
                    format!("fds {fds:?} may still have data, so do not wait")
                }
                PollReason::DontWait => "asked not to wait".into(),
            };
            format!("poll: sleep {wait} for a ready fd ({why})")
        }
        ProbeData::PollReturn { fired, slept_us } => format!(
            "poll returned {} after {}",
            plural(fired.len() as u64, "ready fd"),
            ms(slept_us)
        ),
        ProbeData::AfterSleep {} => "afterSleep: awake, about to dispatch the fired fds".into(),
        ProbeData::FileEvent {
            fd,
            mask,
            handler,
            refired,
        } => format!(
            "dispatch fd {fd} ({mask}) to {}{}",
            handler.name,
            if *refired {
                ", refired by the level-trigger emulation"
            } else {
                ""
            }
        ),
        ProbeData::Read {
            client,
            fd,
            bytes,
            qbuf,
            outcome,
        } => format!(
            "read {} from client {client} (fd {fd}), {qbuf} in the query buffer{}",
            plural(*bytes, "byte"),
            io(outcome)
        ),
        ProbeData::InputProcessed {
            client,
            commands,
            qbuf,
            ..
        } => format!(
            "client {client}: {} parsed and run, {} left",
            plural(u64::from(*commands), "command"),
            plural(*qbuf, "byte")
        ),
        ProbeData::Command {
            argv,
            reply,
            client,
            ..
        } => format!(
            "client {client} runs {}: reply {} queued (sent by the next beforeSleep)",
            argv.join(" "),
            reply.shown()
        ),
        ProbeData::Write {
            client,
            fd,
            bytes,
            pending,
            outcome,
        } => format!(
            "wrote {} to client {client} (fd {fd}), {pending} still pending{}",
            plural(*bytes, "byte"),
            io(outcome)
        ),
        ProbeData::TimeEventStart { id, handler } => {
            format!("time events: timer {id} is due, calling {}", handler.name)
        }
        ProbeData::TimeEvent {
            handler, next_us, ..
        } => match next_us {
            Some(_) => format!("time event {} ran and is due again", handler.name),
            None => format!("time event {} ran for the last time", handler.name),
        },
        ProbeData::ExpireCycle {
            fast,
            sampled,
            expired,
            ..
        } => format!(
            "{} expire cycle: sampled {}, expired {expired}",
            if *fast { "fast" } else { "slow" },
            plural(*sampled, "key")
        ),
        ProbeData::LazyExpired {
            client, db, key, ..
        } => format!(
            "expireIfNeeded: client {client}'s command found {key} (db {db}) past its deadline and deleted it"
        ),
        ProbeData::FileEventCreated {
            fd, mask, handler, ..
        } => {
            format!(
                "aeCreateFileEvent: fd {fd} ({mask}) now handled by {}",
                handler.name
            )
        }
        ProbeData::FileEventDeleted { fd, mask, .. } => {
            format!("aeDeleteFileEvent: fd {fd} ({mask}) removed")
        }
        ProbeData::TimeEventCreated { id, handler, .. } => {
            format!("aeCreateTimeEvent: time event {id} ({})", handler.name)
        }
        ProbeData::TimeEventDeleted { id } => format!("aeDeleteTimeEvent: time event {id}"),
        ProbeData::ClientConnected { client, fd, addr } => {
            format!("client {client} connected from {addr} on fd {fd}")
        }
        ProbeData::ClientClosed {
            client, fd, reason, ..
        } => format!("client {client} (fd {fd}) closed: {reason}"),
        ProbeData::ClientBlocked {
            client,
            keys,
            deadline_ms,
            ..
        } => format!(
            "client {client} blocked on {}{}",
            keys.join(" "),
            if *deadline_ms == 0 {
                " (no timeout)"
            } else {
                ""
            }
        ),
        ProbeData::CommandQueued { client, name, .. } => {
            format!("client {client} queued {name} (inside MULTI)")
        }
        ProbeData::ClientUnblocked {
            client,
            reason,
            reply,
            ..
        } => format!(
            "client {client} resumes after its wait ended: {reason}{}",
            reply
                .as_ref()
                .map_or_else(String::new, |r| format!("; reply {}", r.preview))
        ),
        ProbeData::Published { channel, receivers } => {
            format!(
                "published to {channel}: delivered to {}",
                plural(*receivers, "subscription")
            )
        }
        ProbeData::AofAppended { command, bytes, .. } => {
            format!(
                "{command} appended to the AOF buffer ({}), not yet on disk",
                plural(*bytes, "byte")
            )
        }
        ProbeData::AofFlushed {
            bytes, postponed, ..
        } => match postponed {
            Some(why) => format!("AOF write postponed: {why}"),
            None => format!(
                "AOF buffer written to the file ({}), before any reply",
                plural(*bytes, "byte")
            ),
        },
        ProbeData::AofFsynced { mode, background } => {
            if *background {
                format!("AOF fsync handed to the background thread (appendfsync {mode})")
            } else {
                format!("AOF fsynced before the replies (appendfsync {mode})")
            }
        }
        ProbeData::WriteHandlerInstalled {
            client,
            fd,
            barrier,
        } => format!(
            "write handler installed for client {client} (fd {fd}){}",
            if *barrier {
                " with AE_BARRIER: its writer runs before its reader"
            } else {
                ""
            }
        ),
        ProbeData::EventsWhileBlocked {
            caller,
            round,
            loading,
            loaded_bytes,
            total_bytes,
        } => format!(
            "processEventsWhileBlocked: iteration {round} of at most 4, run from inside {caller}{}",
            if *loading {
                format!(
                    " (loading: {loaded_bytes} of {total_bytes} bytes; commands without the loading flag get -LOADING)"
                )
            } else {
                String::new()
            }
        ),
    }
}
