//! Who may watch the loop over the attach port, and who may drive it.
//!
//! The attach port lets anyone who connects pause the server, so it listens
//! on loopback unless asked otherwise, and then only with a token. This
//! module holds the rules one viewer connection is held to; the attach
//! server (`attach.rs`) applies them to each line a viewer sends:
//!
//! - **The handshake.** A viewer may open with one line,
//!   `{"cmd":"attach","token":"…","read_only":true}` (both fields optional).
//!   When the server has a token, that line is required, must come first,
//!   and must carry the token; nothing of the stream is sent before it.
//!   The token is compared in constant time, so how long the check takes
//!   says nothing about how much of a guess was right.
//! - **Read-only viewers** (the viewer said `read_only`, or the server runs
//!   with `--trace-read-only`) may watch and ask for a fresh snapshot; every
//!   control that would move the loop is refused with an error line.
//! - **A budget** against floods: each line costs one unit of a bucket that
//!   refills at [`LINES_PER_SECOND`]; a viewer that empties it, or sends
//!   [`MAX_BAD_LINES`] lines that are not control messages, is disconnected
//!   with an error line saying why. The budget is checked on the viewer's own
//!   reader thread, so a flood never reaches the loop.

use std::net::SocketAddr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::model::Control;

/// Lines a viewer may send in a burst.
pub const BURST_LINES: u32 = 512;

/// Lines a second a viewer may send on average, far above what a person at
/// a keyboard (or the guide's breakpoints) ever needs.
pub const LINES_PER_SECOND: u32 = 128;

/// Lines that were not control messages, after which the viewer is dropped.
pub const MAX_BAD_LINES: u32 = 32;

/// The handshake line: `{"cmd":"attach", "token": …, "read_only": …}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    pub token: Option<String>,
    /// This viewer only watches: the server refuses its controls.
    pub read_only: bool,
}

/// The handshake as it is on the wire; any other field makes the line
/// something else (most likely a typo the viewer should hear about).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    cmd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

/// The `cmd` of a handshake line.
const ATTACH: &str = "attach";

impl Handshake {
    /// The line as sent, with its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let wire = Wire {
            cmd: ATTACH.into(),
            token: self.token.clone(),
            read_only: self.read_only,
        };
        let mut line = serde_json::to_vec(&wire).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Reads a handshake line; `None` if the line is something else.
    pub fn parse(line: &[u8]) -> Option<Handshake> {
        let text = std::str::from_utf8(line).ok()?.trim();
        let wire: Wire = serde_json::from_str(text).ok()?;
        (wire.cmd == ATTACH).then_some(Handshake {
            token: wire.token,
            read_only: wire.read_only,
        })
    }
}

/// What the server asks of every viewer (`serve --trace-token`,
/// `--trace-read-only`).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Viewers must send this in their handshake.
    pub token: Option<String>,
    /// No viewer may control the loop.
    pub read_only: bool,
}

impl Policy {
    /// The policy for an attach port bound to `addrs` (what `--trace-bind`
    /// resolved to). A port reachable from other machines must have a
    /// token, and even then comes with a warning to print: the stream and
    /// the token travel in plain text. A loopback port may have a token.
    pub fn for_bind(
        addrs: &[SocketAddr],
        token: Option<String>,
        read_only: bool,
    ) -> Result<(Policy, Option<String>), String> {
        if token.as_deref() == Some("") {
            return Err("--trace-token must not be empty".into());
        }
        let loopback = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
        let warning = match (loopback, &token) {
            (true, _) => None,
            (false, None) => {
                return Err(format!(
                    "--trace-bind {} is not a loopback address: anyone who can reach it could \
                     pause the server; add --trace-token TOKEN",
                    describe(addrs)
                ));
            }
            (false, Some(_)) => Some(format!(
                "WARNING: the trace port on {} is reachable from other machines; viewers need \
                 the token, but the stream and the token travel unencrypted",
                describe(addrs)
            )),
        };
        Ok((Policy { token, read_only }, warning))
    }

    /// Checks a viewer's handshake (`None`: it sent none). On success,
    /// returns whether the viewer is read-only; on failure, the error line
    /// to send before closing.
    pub fn admit(&self, hs: Option<&Handshake>) -> Result<bool, String> {
        if let Some(token) = &self.token {
            let given = hs.and_then(|h| h.token.as_deref());
            match given {
                None => {
                    return Err(
                        "this trace port needs a token: send {\"cmd\":\"attach\",\"token\":\"…\"} \
                         first (loopscope attach --trace-token TOKEN)"
                            .into(),
                    );
                }
                Some(g) if !constant_time_eq(g.as_bytes(), token.as_bytes()) => {
                    return Err("wrong trace token".into());
                }
                Some(_) => {}
            }
        }
        Ok(self.read_only || hs.is_some_and(|h| h.read_only))
    }

    /// The error for a control a read-only viewer sent, if it is one that
    /// would move or change the loop; a fresh snapshot is always allowed.
    pub fn refuse_read_only(&self, control: &Control) -> Option<String> {
        // Both change only what this viewer receives, never the loop.
        if let Control::Snapshot | Control::Watch { .. } = control {
            return None;
        }
        let why = if self.read_only {
            "the server runs with --trace-read-only"
        } else {
            "it attached read-only"
        };
        Some(format!(
            "read-only viewer: `{}` refused, this viewer may only watch ({why})",
            control.name()
        ))
    }
}

fn describe(addrs: &[SocketAddr]) -> String {
    match addrs {
        [] => "(no address)".into(),
        [one] => one.ip().to_string(),
        [first, ..] => format!("{} and others", first.ip()),
    }
}

/// True when `a` and `b` are equal, in a time that depends only on their
/// lengths, never on where they first differ (the idea of Redis's
/// `time_independent_strcmp`, acl.c).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Every byte of the longer input is visited and every difference is
    // folded into `diff` without an early exit; a length mismatch counts as
    // a difference too.
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    // Keep the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// A viewer's flood budget: a token bucket of lines, plus a count of bad
/// lines. See the module doc.
#[derive(Debug)]
pub struct Budget {
    tokens: f64,
    last: Instant,
    bad: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(Instant::now())
    }
}

impl Budget {
    pub fn new(now: Instant) -> Budget {
        Budget {
            tokens: f64::from(BURST_LINES),
            last: now,
            bad: 0,
        }
    }

    /// Spends one line arriving at `now`; `Err` with the reason to
    /// disconnect if the viewer sends faster than allowed.
    pub fn spend(&mut self, now: Instant) -> Result<(), String> {
        let refill =
            now.saturating_duration_since(self.last).as_secs_f64() * f64::from(LINES_PER_SECOND);
        self.tokens = (self.tokens + refill).min(f64::from(BURST_LINES));
        self.last = now;
        if self.tokens < 1.0 {
            return Err(format!(
                "disconnected: more than {LINES_PER_SECOND} control lines a second \
                 (bursts up to {BURST_LINES})"
            ));
        }
        self.tokens -= 1.0;
        Ok(())
    }

    /// Counts a line that was not a control message; `Err` with the reason
    /// to disconnect once there were too many.
    pub fn bad_line(&mut self) -> Result<(), String> {
        self.bad = self.bad.saturating_add(1);
        if self.bad >= MAX_BAD_LINES {
            return Err(format!(
                "disconnected: {MAX_BAD_LINES} lines that were not control messages"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn constant_time_eq_is_plain_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret\0"));
        assert!(!constant_time_eq(b"secret\0", b"secret"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"\0", b""));
    }

    #[test]
    fn handshake_lines_round_trip_and_other_lines_are_not_handshakes() {
        let hs = Handshake {
            token: Some("t0k\"en".into()),
            read_only: true,
        };
        assert_eq!(Handshake::parse(&hs.to_line()), Some(hs));
        assert_eq!(
            Handshake::parse(br#" {"cmd":"attach"} "#),
            Some(Handshake::default())
        );
        for other in [
            &br#"{"cmd":"pause"}"#[..],
            br#"{"cmd":"attach","tokn":"x"}"#,
            br#"{"cmd":"attach","token":5}"#,
            b"attach",
            b"\xff",
        ] {
            assert_eq!(Handshake::parse(other), None);
        }
    }

    #[test]
    fn the_token_is_required_when_set_and_read_only_is_decided() {
        let open = Policy::default();
        assert_eq!(open.admit(None), Ok(false));
        let ro = Handshake {
            token: None,
            read_only: true,
        };
        assert_eq!(open.admit(Some(&ro)), Ok(true));
        let locked = Policy {
            token: Some("abc".into()),
            read_only: false,
        };
        assert!(locked.admit(None).is_err());
        assert!(locked.admit(Some(&ro)).is_err());
        let wrong = Handshake {
            token: Some("abd".into()),
            read_only: false,
        };
        assert_eq!(locked.admit(Some(&wrong)), Err("wrong trace token".into()));
        let right = Handshake {
            token: Some("abc".into()),
            read_only: false,
        };
        assert_eq!(locked.admit(Some(&right)), Ok(false));
        let all_ro = Policy {
            token: None,
            read_only: true,
        };
        assert_eq!(all_ro.admit(None), Ok(true));
    }

    #[test]
    fn an_exposed_port_needs_a_token_and_gets_a_warning() {
        let at = |s: &str| vec![s.parse::<SocketAddr>().expect("addr")];
        let token = || Some("t".to_string());
        for local in ["127.0.0.1:7380", "127.8.9.1:1", "[::1]:7380"] {
            let (p, warning) = Policy::for_bind(&at(local), None, false).expect("loopback");
            assert_eq!((p.token, warning), (None, None));
            assert!(
                Policy::for_bind(&at(local), token(), true)
                    .is_ok_and(|(p, w)| p.read_only && w.is_none())
            );
        }
        for exposed in ["0.0.0.0:7380", "192.168.1.4:7380", "[::]:1"] {
            let e = Policy::for_bind(&at(exposed), None, false).expect_err("refused");
            assert!(e.contains("--trace-token"), "{e}");
            let (p, warning) =
                Policy::for_bind(&at(exposed), token(), false).expect("with a token");
            assert_eq!(p.token, token());
            assert!(warning.is_some_and(|w| w.contains("unencrypted")));
        }
        // One exposed address among loopback ones is exposed.
        let mixed = vec![
            "127.0.0.1:1".parse().expect("addr"),
            "10.0.0.1:1".parse().expect("addr"),
        ];
        assert!(Policy::for_bind(&mixed, None, false).is_err());
        assert!(Policy::for_bind(&[], None, false).is_err());
        assert!(Policy::for_bind(&at("127.0.0.1:1"), Some(String::new()), false).is_err());
    }

    #[test]
    fn read_only_viewers_may_only_ask_for_snapshots() {
        let p = Policy::default();
        assert_eq!(p.refuse_read_only(&Control::Snapshot), None);
        let watch = Control::Watch {
            conditions: vec!["command name=set".into()],
        };
        assert_eq!(p.refuse_read_only(&watch), None);
        for c in [
            Control::Pause,
            Control::Continue,
            Control::TakeControl,
            Control::Step {
                unit: Default::default(),
            },
            Control::BreakRemove { bp: 1 },
        ] {
            let e = p.refuse_read_only(&c).expect("refused");
            assert!(e.contains(c.name()), "{e}");
        }
    }

    #[test]
    fn the_budget_allows_bursts_and_refills_but_stops_floods() {
        let t0 = Instant::now();
        let mut b = Budget::new(t0);
        for _ in 0..BURST_LINES {
            b.spend(t0).expect("within the burst");
        }
        assert!(b.spend(t0).is_err(), "past the burst");
        // A second later, LINES_PER_SECOND more are allowed.
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..LINES_PER_SECOND {
            b.spend(t1).expect("refilled");
        }
        assert!(b.spend(t1).is_err());
    }

    #[test]
    fn too_many_bad_lines_disconnect() {
        let mut b = Budget::default();
        for _ in 1..MAX_BAD_LINES {
            b.bad_line().expect("still tolerated");
        }
        assert!(b.bad_line().is_err());
    }
}
