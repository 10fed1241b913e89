//! Who may talk to the server: the password (`requirepass`) and protected mode.
//!
//! Redis 7 has one user unless ACLs are configured: `default`. Without a
//! password that user is "nopass" and every connection starts
//! authenticated. With `requirepass` set, a new connection starts
//! *unauthenticated*: until `AUTH` (or `HELLO … AUTH`) succeeds, every
//! command but the few flagged `no_auth` is refused with `-NOAUTH`, and the
//! request parser accepts only small requests, so a stranger cannot make
//! the server buffer much.
//!
//! Protected mode is the safety net for the opposite case: no password, yet
//! reachable from the network. A connection from anywhere but the loopback
//! interface is then refused at accept time with a long `-DENIED`
//! explanation, before it can send a byte.
//!
//! The password is compared when it is checked, never cached per client:
//! a client that authenticated stays authenticated even if the password
//! changes later, as in Redis.

use std::net::SocketAddr;

use super::client::Client;
use super::{Config, log};
use crate::trace::admission::constant_time_eq;

/// The only user there is (Redis's `default` user).
pub const DEFAULT_USER: &[u8] = b"default";

/// The reply to a refused connection in protected mode. This is the exact
/// wire text Redis 7.0 sends, because clients and users match on it.
pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// The error a refused command gets while the client is unauthenticated.
pub const NOAUTH_ERROR: &str = "-NOAUTH Authentication required.";

/// The error for a wrong user or password.
pub const WRONGPASS_ERROR: &str = "-WRONGPASS invalid username-password pair or user is disabled.";

/// True when the default user has a password (Redis: the default user is
/// not flagged `nopass`). An empty `requirepass` means no password.
pub fn password_set(config: &Config) -> bool {
    !config.requirepass.is_empty()
}

/// Whether a client connecting now starts authenticated (what
/// `clientSetDefaultAuth` decides: only when the default user needs no password).
pub fn starts_authenticated(config: &Config) -> bool {
    !password_set(config)
}

/// True while `c` must still authenticate (mirror of `authRequired`).
pub fn auth_required(config: &Config, c: &Client) -> bool {
    password_set(config) && !c.authenticated
}

/// Checks a user and password and, if they match, marks the client
/// authenticated; true on success (mirror of `ACLAuthenticateUser` with only
/// the default user). Without a password the default user accepts any.
/// A failed attempt leaves the client as it was: a client already
/// authenticated stays so.
pub fn authenticate(config: &Config, c: &mut Client, user: &[u8], password: &[u8]) -> bool {
    // The password is compared in constant time, as Redis compares its hashes
    // (`time_independent_strcmp`): how long a wrong guess takes must not say
    // how many of its first bytes were right.
    let ok = user == DEFAULT_USER
        && (!password_set(config) || constant_time_eq(password, &config.requirepass));
    if ok {
        c.authenticated = true;
    }
    ok
}

/// True when protected mode refuses a connection from `peer` (the check
/// `clientAcceptHandler` makes): protected mode on, no password, and a
/// peer that is not on the loopback interface.
pub fn protected_mode_refuses(config: &Config, peer: SocketAddr) -> bool {
    config.protected_mode && !password_set(config) && !is_local(peer)
}

/// Whether `peer` came over loopback (mirror of `connIsLocal`). An IPv4
/// peer seen through an IPv6 socket (`::ffff:127.0.0.1`) counts too.
fn is_local(peer: SocketAddr) -> bool {
    match peer {
        SocketAddr::V4(a) => a.ip().is_loopback(),
        SocketAddr::V6(a) => {
            a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Warns at start-up when the server listens beyond loopback with no
/// password: either strangers are refused (protected mode) or, worse,
/// anyone may connect. Returns the warning given, for the tests.
pub fn warn_if_exposed(config: &Config) -> Option<String> {
    let exposed = config.bind.split_whitespace().any(|a| {
        a.parse::<std::net::IpAddr>()
            .map_or(true, |ip| !ip.is_loopback())
    });
    if !exposed || password_set(config) {
        return None;
    }
    let msg = if config.protected_mode {
        format!(
            "WARNING: listening on {} with no password. Protected mode is on, so only loopback \
             clients will be accepted; set a password with --requirepass to let others in.",
            config.bind
        )
    } else {
        format!(
            "WARNING: listening on {} with no password and protected mode off: anyone who can \
             reach this address can run any command. Set a password with --requirepass.",
            config.bind
        )
    };
    log::warning(&msg);
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(password: &str, bind: &str) -> Config {
        Config {
            requirepass: password.as_bytes().to_vec(),
            bind: bind.to_string(),
            ..Config::default()
        }
    }

    #[test]
    fn protected_mode_refuses_only_remote_peers_without_a_password() {
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let local6: SocketAddr = "[::1]:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let open = config("", "0.0.0.0");
        assert!(protected_mode_refuses(&open, remote));
        assert!(!protected_mode_refuses(&open, local));
        assert!(!protected_mode_refuses(&open, local6));
        assert!(!protected_mode_refuses(&open, mapped));
        assert!(!protected_mode_refuses(&config("pw", "0.0.0.0"), remote));
        let off = Config {
            protected_mode: false,
            ..open
        };
        assert!(!protected_mode_refuses(&off, remote));
    }

    #[test]
    fn exposure_warning_needs_a_non_loopback_bind_and_no_password() {
        assert!(warn_if_exposed(&config("", "127.0.0.1")).is_none());
        assert!(warn_if_exposed(&config("", "127.0.0.1 ::1")).is_none());
        assert!(warn_if_exposed(&config("pw", "0.0.0.0")).is_none());
        let warning = warn_if_exposed(&config("", "0.0.0.0")).expect("a warning");
        assert!(warning.contains("Protected mode is on"), "{warning}");
        let off = Config {
            protected_mode: false,
            ..config("", "10.1.2.3")
        };
        assert!(warn_if_exposed(&off).expect("a warning").contains("anyone"));
    }
}
