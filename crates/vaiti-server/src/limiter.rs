//! Login rate limiting, per server process. Hand-written: a fixed window per key is a dozen lines.
//!
//! Each (clinic, login name) may start [`PER_NAME`] logins per [`WINDOW_S`] seconds and each
//! clinic [`PER_CLINIC`]; beyond that the server answers 429 until the window ends. Starts are
//! counted because with OPAQUE a guesser learns whether a guess was right from the server's first
//! answer alone; a login that *finishes* proves the password and clears its name's count, so a
//! user (or a script) running many commands is never locked out by their own successes. This slows
//! online password guessing, which OPAQUE makes the only kind of guessing a server-side attacker
//! can do without the Secret Key. Several app servers each keep their own windows.

use std::collections::HashMap;
use std::sync::Mutex;

/// Length of a window, seconds.
pub const WINDOW_S: i64 = 60;
/// Login starts per (clinic, login name) per window.
pub const PER_NAME: u32 = 10;
/// Login starts per clinic per window.
pub const PER_CLINIC: u32 = 600;
/// Above this many tracked keys, expired windows are swept.
const SWEEP_AT: usize = 10_000;

/// Fixed-window counters.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<Vec<u8>, (i64, u32)>>,
}

impl LoginLimiter {
    /// Counts one login start; `false` when a limit is exceeded.
    pub fn allow(&self, clinic: &[u8; 16], login: &str, now: i64) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            // A poisoned lock means a panic elsewhere; refusing logins is the safe answer.
            return false;
        };
        if windows.len() > SWEEP_AT {
            windows.retain(|_, (start, _)| now - *start < WINDOW_S);
        }
        let mut name_key = clinic.to_vec();
        name_key.push(0);
        name_key.extend_from_slice(login.as_bytes());
        let per_name = bump(&mut windows, name_key, now) <= PER_NAME;
        let per_clinic = bump(&mut windows, clinic.to_vec(), now) <= PER_CLINIC;
        per_name && per_clinic
    }
}

impl LoginLimiter {
    /// A login of `login` finished successfully: its per-name window starts afresh.
    pub fn succeeded(&self, clinic: &[u8; 16], login: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            let mut name_key = clinic.to_vec();
            name_key.push(0);
            name_key.extend_from_slice(login.as_bytes());
            windows.remove(&name_key);
        }
    }
}

fn bump(windows: &mut HashMap<Vec<u8>, (i64, u32)>, key: Vec<u8>, now: i64) -> u32 {
    let entry = windows.entry(key).or_insert((now, 0));
    if now - entry.0 >= WINDOW_S {
        *entry = (now, 0);
    }
    entry.1 = entry.1.saturating_add(1);
    entry.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_name_and_resets_after_the_window() {
        let l = LoginLimiter::default();
        let c = [1u8; 16];
        for _ in 0..PER_NAME {
            assert!(l.allow(&c, "a@example.org", 1000));
        }
        assert!(!l.allow(&c, "a@example.org", 1000));
        // Another name in the same clinic is not affected.
        assert!(l.allow(&c, "b@example.org", 1000));
        // The next window starts afresh.
        assert!(l.allow(&c, "a@example.org", 1000 + WINDOW_S));
    }

    #[test]
    fn a_successful_login_clears_only_its_own_name() {
        let l = LoginLimiter::default();
        let c = [1u8; 16];
        for _ in 0..PER_NAME {
            assert!(l.allow(&c, "a@example.org", 1000));
            assert!(l.allow(&c, "b@example.org", 1000));
        }
        assert!(!l.allow(&c, "a@example.org", 1000));
        l.succeeded(&c, "a@example.org");
        assert!(l.allow(&c, "a@example.org", 1000));
        assert!(
            !l.allow(&c, "b@example.org", 1000),
            "another name keeps its count"
        );
    }
}
