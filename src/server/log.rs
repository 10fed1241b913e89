//! The server log (mirror of `serverLog`): Redis-style lines
//! (`pid:M 28 Nov 2026 14:02:42.123 * message`) written to stderr, or to a
//! file when a terminal UI owns the screen.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

/// Log levels, as Redis's `LL_DEBUG` … `LL_WARNING`; each has its marker character.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// Sends log lines to `sink` instead of stderr (the TUI passes a file).
pub fn set_sink(sink: Box<dyn Write + Send>) {
    if let Ok(mut s) = SINK.lock() {
        *s = Some(sink);
    }
}

/// Logs only lines at `level` or above (Redis's `loglevel`).
pub fn set_level(level: Level) {
    MIN_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Writes one log line (mirror of `serverLog`).
pub fn log(level: Level, msg: &str) {
    if (level as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!(
        "{}:M {} {} {}\n",
        std::process::id(),
        timestamp(),
        mark,
        msg
    );
    match SINK.lock() {
        Ok(mut guard) => match guard.as_mut() {
            Some(sink) => {
                let _ = sink.write_all(line.as_bytes());
                let _ = sink.flush();
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        },
        Err(_) => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

pub fn notice(msg: &str) {
    log(Level::Notice, msg);
}
pub fn warning(msg: &str) {
    log(Level::Warning, msg);
}
pub fn verbose(msg: &str) {
    log(Level::Verbose, msg);
}

/// `28 Nov 2026 14:02:42.123` in UTC, as Redis formats its log time.
fn timestamp() -> String {
    let ms = super::mstime();
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Converts days since 1970-01-01 to (year, month 1..=12, day 1..=31), using
/// Howard Hinnant's well-known civil calendar algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
