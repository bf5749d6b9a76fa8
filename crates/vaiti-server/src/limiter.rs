//! Login rate limiting, per server process: slows online password guessing without handing an
//! attacker a way to lock real users out. Hand-written fixed windows.
//!
//! With OPAQUE a guesser learns whether a guess was right from the server's first answer alone,
//! so login *starts* are what is counted — but only well-formed starts for a clinic that exists
//! (the handler asks after checking both), so junk and made-up clinic ids count for nothing.
//! Each start comes from a [`Source`] (an IPv4 address, or an IPv6 /64) and names a login.
//! A start is refused with 429 when:
//!
//! 1. its source made more than [`PER_SOURCE`] starts in the window (a noisy source is throttled
//!    whatever it names), or more than [`PER_NAME`] naming this login (one source guessing one
//!    password);
//! 2. or, unless a login of this name finished from this source within [`TRUSTED_S`] (the user's
//!    own device or office), the login was named more than [`PER_NAME_HARD`] times or the clinic
//!    more than [`PER_CLINIC_HARD`] times from all sources (a distributed flood);
//! 3. or, unless the source is also *quiet* (at most [`QUIET_SOURCE`] starts in the window), the
//!    login was named more than [`PER_NAME`] times or the clinic more than [`PER_CLINIC`] times.
//!
//! A refused start counts against its source only, never against the name or the clinic, so an
//! attacker's refused requests do not use up a victim's allowance: the attacker is throttled,
//! and the victim, logging in from a quiet or a trusted source, gets in. A login that finishes
//! gives its start back to its source and clears its name's count from that source, so a user
//! (or a script) running many commands is never throttled by their own successes. The limits
//! look at names, never at whether an account exists, so a refusal says nothing about that.
//!
//! Memory is bounded: each table holds at most [`MAX_TRACKED`] keys; a full table first drops
//! expired windows, and if it is still full, a start needing a new key is refused (trusted
//! sources and those already tracked go on). Names are kept as SHA-256 hashes, never as typed.
//! Several app servers each keep their own windows. Every refusal is reported to detection by
//! the handler, so a flood raises an alert.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Length of a window, seconds.
pub const WINDOW_S: i64 = 60;
/// Starts per source per window.
pub const PER_SOURCE: u32 = 30;
/// Starts naming one login per window: from one source always, from all sources unless the
/// source is quiet or trusted.
pub const PER_NAME: u32 = 10;
/// Starts naming one login per window from all sources, quiet ones included.
pub const PER_NAME_HARD: u32 = 100;
/// Starts at one clinic per window from sources that are neither quiet nor trusted.
pub const PER_CLINIC: u32 = 600;
/// Starts at one clinic per window from sources that are not trusted.
pub const PER_CLINIC_HARD: u32 = 6000;
/// A source with at most this many starts in the window is quiet.
pub const QUIET_SOURCE: u32 = 5;
/// How long a source stays trusted for a login name after a login of that name finished from it.
pub const TRUSTED_S: i64 = 30 * 24 * 60 * 60;
/// The most keys each table keeps.
pub const MAX_TRACKED: usize = 100_000;

/// Where a request comes from, as the limiter groups addresses: an IPv4 address, an IPv6 /64
/// (one subscriber's network), or unknown (a router without a socket: one shared source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 address.
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
    /// No address was known.
    Unknown,
}

impl Source {
    /// The source of `ip` (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Source::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Source::V6(prefix)
                }
            },
        }
    }
}

/// Why a start was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source is over its own limits.
    Source,
    /// The login name or the clinic is over its limits for this source.
    Flood,
    /// The limiter is full (a flood from very many sources).
    Full,
}

type NameHash = [u8; 32];

/// A fixed window: when it started and how many it counted.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
}

impl Window {
    fn current(&self, now: i64) -> u32 {
        if now - self.start >= WINDOW_S {
            0
        } else {
            self.count
        }
    }
}

#[derive(Debug, Default)]
struct Tables {
    sources: HashMap<Source, Window>,
    names: HashMap<([u8; 16], NameHash), Window>,
    name_sources: HashMap<([u8; 16], NameHash, Source), Window>,
    clinics: HashMap<[u8; 16], Window>,
    /// Until when a source is trusted for a name.
    trusted: HashMap<([u8; 16], NameHash, Source), i64>,
}

/// The login limiter of one server process.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    tables: Mutex<Tables>,
}

fn name_hash(login: &str) -> NameHash {
    Sha256::new()
        .chain_update(b"vaiti v1 limiter name")
        .chain_update(login.as_bytes())
        .finalize()
        .into()
}

/// The current count of `key` (0 if untracked or expired).
fn count<K: Eq + Hash>(table: &HashMap<K, Window>, key: &K, now: i64) -> u32 {
    table.get(key).map_or(0, |w| w.current(now))
}

/// Whether `key` can be counted in `table`: it is tracked, or there is room (after dropping
/// expired windows).
fn room<K: Eq + Hash>(table: &mut HashMap<K, Window>, key: &K, now: i64) -> bool {
    if table.contains_key(key) || table.len() < MAX_TRACKED {
        return true;
    }
    table.retain(|_, w| now - w.start < WINDOW_S);
    table.len() < MAX_TRACKED
}

/// Adds one to `key`'s window (room must have been checked).
fn bump<K: Eq + Hash>(table: &mut HashMap<K, Window>, key: K, now: i64) {
    let w = table.entry(key).or_insert(Window {
        start: now,
        count: 0,
    });
    if now - w.start >= WINDOW_S {
        *w = Window {
            start: now,
            count: 0,
        };
    }
    w.count = w.count.saturating_add(1);
}

impl LoginLimiter {
    /// Decides on one well-formed login start at an existing `clinic` naming `login` from
    /// `source`, and counts it.
    pub fn check(
        &self,
        clinic: &[u8; 16],
        login: &str,
        source: Source,
        now: i64,
    ) -> Result<(), Refusal> {
        let Ok(mut t) = self.tables.lock() else {
            // A poisoned lock means a panic elsewhere; refusing logins is the safe answer.
            return Err(Refusal::Full);
        };
        let name = name_hash(login);
        let name_key = (*clinic, name);
        let pair_key = (*clinic, name, source);
        // Every start counts against its source, refused or not: a noisy source stays noisy.
        if !room(&mut t.sources, &source, now) {
            return Err(Refusal::Full);
        }
        bump(&mut t.sources, source, now);
        let from_source = count(&t.sources, &source, now);
        if from_source > PER_SOURCE || count(&t.name_sources, &pair_key, now) >= PER_NAME {
            return Err(Refusal::Source);
        }
        let trusted = t.trusted.get(&pair_key).is_some_and(|until| *until > now);
        let named = count(&t.names, &name_key, now);
        let at_clinic = count(&t.clinics, clinic, now);
        if !trusted {
            if named >= PER_NAME_HARD || at_clinic >= PER_CLINIC_HARD {
                return Err(Refusal::Flood);
            }
            let quiet = from_source <= QUIET_SOURCE;
            if !quiet && (named >= PER_NAME || at_clinic >= PER_CLINIC) {
                return Err(Refusal::Flood);
            }
        }
        if !room(&mut t.name_sources, &pair_key, now)
            || !room(&mut t.names, &name_key, now)
            || !room(&mut t.clinics, clinic, now)
        {
            if !trusted {
                return Err(Refusal::Full);
            }
            // A trusted source goes on uncounted rather than being refused.
            return Ok(());
        }
        bump(&mut t.name_sources, pair_key, now);
        bump(&mut t.names, name_key, now);
        bump(&mut t.clinics, *clinic, now);
        Ok(())
    }

    /// A login of `login` finished successfully from `source`: the source gets its start back,
    /// the pair's count starts afresh, and the source is trusted for this name for
    /// [`TRUSTED_S`].
    pub fn succeeded(&self, clinic: &[u8; 16], login: &str, source: Source, now: i64) {
        let Ok(mut t) = self.tables.lock() else {
            return;
        };
        let pair_key = (*clinic, name_hash(login), source);
        if let Some(w) = t.sources.get_mut(&source) {
            w.count = w.count.saturating_sub(1);
        }
        t.name_sources.remove(&pair_key);
        if !t.trusted.contains_key(&pair_key) && t.trusted.len() >= MAX_TRACKED {
            t.trusted.retain(|_, until| *until > now);
            if t.trusted.len() >= MAX_TRACKED {
                return;
            }
        }
        t.trusted.insert(pair_key, now + TRUSTED_S);
    }

    /// How many keys the limiter holds in all (for tests of its bound).
    pub fn tracked(&self) -> usize {
        self.tables.lock().map_or(0, |t| {
            t.sources.len()
                + t.names.len()
                + t.name_sources.len()
                + t.clinics.len()
                + t.trusted.len()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: [u8; 16] = [1; 16];

    fn ip(s: &str) -> Source {
        Source::of(s.parse().unwrap())
    }

    #[test]
    fn one_source_guessing_one_name_is_throttled_and_resets_after_the_window() {
        let l = LoginLimiter::default();
        let a = ip("203.0.113.1");
        for _ in 0..PER_NAME {
            assert!(l.check(&C, "a@example.org", a, 1000).is_ok());
        }
        assert_eq!(l.check(&C, "a@example.org", a, 1000), Err(Refusal::Source));
        // Another name from the same source is not affected.
        assert!(l.check(&C, "b@example.org", a, 1000).is_ok());
        // The victim, from their own quiet address, gets in.
        assert!(
            l.check(&C, "a@example.org", ip("198.51.100.2"), 1000)
                .is_ok()
        );
        // The next window starts afresh.
        assert!(l.check(&C, "a@example.org", a, 1000 + WINDOW_S).is_ok());
    }

    #[test]
    fn a_noisy_source_is_throttled_whatever_it_names() {
        let l = LoginLimiter::default();
        let a = ip("203.0.113.1");
        for i in 0..PER_SOURCE {
            assert!(l.check(&C, &format!("{i}@x.example"), a, 5).is_ok());
        }
        assert_eq!(l.check(&C, "new@x.example", a, 5), Err(Refusal::Source));
        // The same /64 is the same source.
        let v6 = ip("2001:db8:1:2::1");
        assert_eq!(v6, ip("2001:db8:1:2:ffff::9"));
        assert_ne!(v6, ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:203.0.113.1"), a);
    }

    #[test]
    fn a_distributed_flood_spares_trusted_sources() {
        let l = LoginLimiter::default();
        let home = ip("198.51.100.2");
        assert!(l.check(&C, "a@example.org", home, 10).is_ok());
        l.succeeded(&C, "a@example.org", home, 10);
        // Many quiet sources name the victim until the hard limit.
        let mut refused = 0;
        for i in 0..(PER_NAME_HARD + 50) {
            let bot = Source::V4(i.to_be_bytes());
            if l.check(&C, "a@example.org", bot, 20).is_err() {
                refused += 1;
            }
        }
        // The victim's own start counted too: 99 bots got in, 51 did not.
        assert_eq!(refused, 51);
        // A new quiet source is refused now, the victim's own is not.
        assert_eq!(
            l.check(&C, "a@example.org", ip("192.0.2.99"), 20),
            Err(Refusal::Flood)
        );
        assert!(l.check(&C, "a@example.org", home, 20).is_ok());
    }

    #[test]
    fn successes_give_starts_back() {
        let l = LoginLimiter::default();
        let office = ip("198.51.100.2");
        for _ in 0..(3 * PER_SOURCE) {
            assert!(l.check(&C, "a@example.org", office, 10).is_ok());
            l.succeeded(&C, "a@example.org", office, 10);
        }
    }

    #[test]
    fn memory_is_bounded() {
        let l = LoginLimiter::default();
        let mut refused_full = 0;
        for i in 0..(MAX_TRACKED as u32 + 10) {
            let source = Source::V4(i.to_be_bytes());
            if l.check(&C, "x@example.org", source, 7) == Err(Refusal::Full) {
                refused_full += 1;
            }
        }
        assert!(refused_full >= 10);
        assert!(l.tracked() <= 4 * MAX_TRACKED);
        // After the window, room is made again.
        assert!(
            l.check(&C, "y@example.org", ip("192.0.2.1"), 7 + WINDOW_S)
                .is_ok()
        );
    }
}
