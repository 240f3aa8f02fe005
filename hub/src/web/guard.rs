//! The sign-in guard: how often a client address and an operator account may
//! try a token, and the lockout an operator lifts.
//!
//! Every failed sign-in (a wrong token on `/login`, a wrong
//! `Authorization: Bearer` token) counts against the client address (IPv6 by
//! its /64) and, on `/login`, against the named operator account. The first
//! [`FREE_FAILURES`] failures cost nothing; after that each failure makes the
//! key wait [`BASE_DELAY`] × 2ⁿ (at most [`MAX_DELAY`]) before the next try,
//! answered `429 Too Many Requests` with `Retry-After` in the meantime. A key
//! that reaches [`LOCK_AFTER`] failed or refused attempts in a row is locked
//! until the hub's operator lifts it (`sync178-hub web unlock`, which writes
//! the [`UNLOCK_FILE`] in the hub's data folder; the running hub reads it at
//! the next sign-in attempt) or the hub restarts. A successful sign-in clears
//! the counts of its address and account.
//!
//! The clock is passed in, so the rules are tested without waiting.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures a key may have before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// The first wait, doubled with every further failure.
pub const BASE_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Failed or refused attempts in a row that lock a key until an operator lifts it.
pub const LOCK_AFTER: u32 = 100;
/// What `Retry-After` says while a key is locked.
pub const LOCKED_RETRY: Duration = Duration::from_secs(3600);
/// A key with no attempt for this long (and not locked) is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Most keys tracked at once; the quietest go first.
pub const MAX_TRACKED: usize = 10_000;
/// The file in the hub's data folder that asks the running hub to lift locks:
/// one client address or account name per line, `*` for all.
pub const UNLOCK_FILE: &str = "web-unlock";

/// What is counted: a client address or an operator account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A client address (IPv6 by its /64 network).
    Addr(IpAddr),
    /// An operator account of the tokens file.
    Account(String),
}

impl Key {
    /// The key of a client address; IPv6 addresses by their /64, as one
    /// machine usually holds a whole /64.
    pub fn addr(peer: Option<SocketAddr>) -> Key {
        let ip = peer.map_or(IpAddr::from([0u8, 0, 0, 0]), |a| a.ip().to_canonical());
        Key::Addr(match ip {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            v4 => v4,
        })
    }

    /// Whether `who` (an address or an account name, as the unlock file
    /// holds them) names this key.
    fn named_by(&self, who: &str) -> bool {
        match self {
            Key::Account(name) => name == who,
            Key::Addr(ip) => who
                .parse::<IpAddr>()
                .is_ok_and(|w| Key::addr(Some(SocketAddr::new(w, 0))) == Key::Addr(*ip)),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Addr(ip) => write!(f, "address {ip}"),
            Key::Account(name) => write!(f, "account {name}"),
        }
    }
}

/// Whether an attempt may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the token.
    Go,
    /// Too soon after the last failures: retry after this long.
    Wait(Duration),
    /// Locked until an operator lifts it.
    Locked,
}

impl Verdict {
    /// The `Retry-After` seconds of a refusal (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            Verdict::Go => 0,
            Verdict::Wait(d) => d.as_secs() + u64::from(d.subsec_nanos() > 0),
            Verdict::Locked => LOCKED_RETRY.as_secs(),
        }
        .max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failed token checks in a row.
    failures: u32,
    /// Failed and refused attempts in a row.
    strikes: u32,
    /// No try before this.
    until: Instant,
    locked: bool,
    last: Instant,
}

/// The counts of every key, and where the unlock requests arrive.
#[derive(Debug, Default)]
pub struct Guard {
    inner: Mutex<HashMap<Key, Entry>>,
    unlock_file: Option<PathBuf>,
}

impl Guard {
    /// A guard that reads unlock requests from `data_dir/`[`UNLOCK_FILE`].
    pub fn new(data_dir: &Path) -> Guard {
        Guard {
            inner: Mutex::default(),
            unlock_file: Some(data_dir.join(UNLOCK_FILE)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an attempt by `keys` may check a token now. A refused attempt
    /// counts towards the lockout.
    pub fn check(&self, keys: &[Key], now: Instant) -> Verdict {
        let mut m = self.lock();
        let mut verdict = Verdict::Go;
        for k in keys {
            let Some(e) = m.get(k) else { continue };
            let v = if e.locked {
                Verdict::Locked
            } else if e.until > now {
                Verdict::Wait(e.until - now)
            } else {
                Verdict::Go
            };
            verdict = worse(verdict, v);
        }
        if verdict != Verdict::Go {
            for k in keys {
                if let Some(e) = m.get_mut(k) {
                    strike(k, e, now);
                }
            }
        }
        verdict
    }

    /// A token check by `keys` failed.
    pub fn failed(&self, keys: &[Key], now: Instant) {
        let mut m = self.lock();
        for k in keys {
            if !m.contains_key(k) {
                make_room(&mut m, now);
            }
            let e = m.entry(k.clone()).or_insert(Entry {
                failures: 0,
                strikes: 0,
                until: now,
                locked: false,
                last: now,
            });
            e.failures = e.failures.saturating_add(1);
            strike(k, e, now);
            if e.failures > FREE_FAILURES {
                let doublings = (e.failures - FREE_FAILURES - 1).min(16);
                e.until = now + (BASE_DELAY * (1u32 << doublings)).min(MAX_DELAY);
            }
        }
    }

    /// A token check by `keys` succeeded: their counts start again.
    pub fn succeeded(&self, keys: &[Key]) {
        let mut m = self.lock();
        for k in keys {
            if m.get(k).is_some_and(|e| !e.locked) {
                m.remove(k);
            }
        }
    }

    /// Lifts the lock and the counts of every key `who` names (an address,
    /// an account name, or `*` for all); returns how many keys it freed.
    pub fn unlock(&self, who: &str) -> usize {
        let who = who.trim();
        let mut m = self.lock();
        let before = m.len();
        m.retain(|k, _| !(who == "*" || k.named_by(who)));
        before - m.len()
    }

    /// Whether `key` is locked now.
    pub fn is_locked(&self, key: &Key) -> bool {
        self.lock().get(key).is_some_and(|e| e.locked)
    }

    /// Applies and removes the unlock file, if the operator wrote one.
    pub fn poll_unlock_file(&self) {
        let Some(path) = &self.unlock_file else {
            return;
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::warn!(
                    file = %path.display(),
                    error = %e,
                    "cannot read the web unlock file: run `sync178-hub web unlock` as the hub's user"
                );
                return;
            }
        };
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!(file = %path.display(), error = %e, "cannot remove the web unlock file");
        }
        for who in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let freed = self.unlock(who);
            tracing::info!(who, freed, "web sign-in unlocked by the hub's operator");
        }
    }
}

/// An unlock request that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// Neither an address, an operator name, nor `*`.
    #[error(
        "{0:?} is neither a client address (192.0.2.10, 2001:db8::1), an operator name of the tokens file, nor *"
    )]
    Who(String),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The unlock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Asks the hub whose data folder is `data_dir` to lift the locks of `who`
/// (addresses, operator names, `*` for all): appends them to its
/// [`UNLOCK_FILE`], which the running hub applies at the next sign-in
/// attempt. Checks every name before writing any. Returns the file.
pub fn request_unlock(data_dir: &Path, who: &[String]) -> Result<PathBuf, UnlockError> {
    for w in who {
        let w = w.trim();
        if !(w == "*" || w.parse::<IpAddr>().is_ok() || super::auth::valid_name(w)) {
            return Err(UnlockError::Who(w.to_string()));
        }
    }
    let path = data_dir.join(UNLOCK_FILE);
    let err = |source| UnlockError::Write {
        path: path.clone(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(err)?;
    let text: String = who.iter().map(|w| format!("{}\n", w.trim())).collect();
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(err)?;
    file.sync_all().map_err(err)?;
    Ok(path)
}

fn worse(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Locked, _) | (_, Verdict::Locked) => Verdict::Locked,
        (Verdict::Wait(x), Verdict::Wait(y)) => Verdict::Wait(x.max(y)),
        (Verdict::Wait(x), Verdict::Go) | (Verdict::Go, Verdict::Wait(x)) => Verdict::Wait(x),
        (Verdict::Go, Verdict::Go) => Verdict::Go,
    }
}

fn strike(k: &Key, e: &mut Entry, now: Instant) {
    e.strikes = e.strikes.saturating_add(1);
    e.last = now;
    if !e.locked && e.strikes >= LOCK_AFTER {
        e.locked = true;
        tracing::warn!(
            key = %k,
            attempts = e.strikes,
            "web sign-in locked after repeated failures; lift it with `sync178-hub web unlock`"
        );
    }
}

/// Forgets quiet keys, then the quietest, until one more fits.
fn make_room(m: &mut HashMap<Key, Entry>, now: Instant) {
    if m.len() < MAX_TRACKED {
        return;
    }
    m.retain(|_, e| e.locked || now.duration_since(e.last) < FORGET_AFTER);
    while m.len() >= MAX_TRACKED {
        let quietest = m
            .iter()
            .min_by_key(|(_, e)| (e.locked, e.last))
            .map(|(k, _)| k.clone());
        match quietest {
            Some(k) => m.remove(&k),
            None => break,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Key {
        Key::addr(Some(SocketAddr::new(s.parse().expect("ip"), 1)))
    }

    #[test]
    fn waits_double_after_the_free_failures_then_lock() {
        let g = Guard::default();
        let keys = [addr("192.0.2.10"), Key::Account("lan".into())];
        let mut now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(g.check(&keys, now), Verdict::Go);
            g.failed(&keys, now);
        }
        assert_eq!(g.check(&keys, now), Verdict::Go);
        g.failed(&keys, now);
        assert_eq!(g.check(&keys, now), Verdict::Wait(BASE_DELAY));
        now += BASE_DELAY;
        g.failed(&keys, now);
        assert_eq!(g.check(&keys, now), Verdict::Wait(BASE_DELAY * 2));
        assert_eq!(
            Verdict::Wait(Duration::from_millis(1500)).retry_after_secs(),
            2
        );
        // Another address, another account: not held back.
        assert_eq!(g.check(&[addr("192.0.2.11")], now), Verdict::Go);
        for _ in 0..LOCK_AFTER {
            now += MAX_DELAY;
            g.failed(&keys, now);
        }
        assert_eq!(g.check(&keys, now + MAX_DELAY), Verdict::Locked);
        assert!(g.is_locked(&Key::Account("lan".into())));
        assert_eq!(g.unlock("lan"), 1);
        assert_eq!(g.check(&[Key::Account("lan".into())], now), Verdict::Go);
        assert_eq!(g.unlock("192.0.2.10"), 1);
        assert_eq!(g.check(&keys, now), Verdict::Go);
    }

    #[test]
    fn a_success_clears_the_counts_and_ipv6_counts_by_its_64() {
        let g = Guard::default();
        let a = addr("2001:db8:1:2::1");
        let now = Instant::now();
        for _ in 0..=FREE_FAILURES {
            g.failed(std::slice::from_ref(&a), now);
        }
        assert!(matches!(
            g.check(&[addr("2001:db8:1:2:ffff::9")], now),
            Verdict::Wait(_)
        ));
        assert_eq!(g.check(&[addr("2001:db8:1:3::1")], now), Verdict::Go);
        g.succeeded(std::slice::from_ref(&a));
        assert_eq!(g.check(&[a], now), Verdict::Go);
        assert_eq!(addr("::ffff:192.0.2.1"), addr("192.0.2.1"));
    }

    #[test]
    fn the_unlock_file_lifts_locks_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = Guard::new(dir.path());
        let now = Instant::now();
        let keys = [addr("192.0.2.10"), Key::Account("lan".into())];
        for _ in 0..LOCK_AFTER {
            g.failed(&keys, now);
        }
        assert_eq!(g.check(&keys, now), Verdict::Locked);
        assert!(matches!(
            request_unlock(dir.path(), &["lan".into(), "no spaces".into()]),
            Err(UnlockError::Who(w)) if w == "no spaces"
        ));
        g.poll_unlock_file();
        assert_eq!(g.check(&keys, now), Verdict::Locked, "nothing was written");
        request_unlock(dir.path(), &["lan".into(), "192.0.2.10".into()]).expect("writes");
        g.poll_unlock_file();
        assert_eq!(g.check(&keys, now), Verdict::Go);
        assert!(!dir.path().join(UNLOCK_FILE).exists(), "applied once");
    }

    #[test]
    fn memory_stays_bounded() {
        let g = Guard::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 50) {
            let ip = IpAddr::from(i.to_be_bytes());
            g.failed(&[Key::Addr(ip)], now);
        }
        assert!(g.lock().len() <= MAX_TRACKED);
    }
}
