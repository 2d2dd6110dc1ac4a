//! Counts per key within a window ([`WindowCounts`]), and on them failed
//! logins by account and address. Past a limit within a window,
//! logins to that account from that address are refused (416) until the
//! window has passed, right token or not: a token cannot be guessed by
//! opening connection after connection. Keyed by address too, so that
//! someone who spends an account's failures does not lock its owner out
//! everywhere else.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys tracked at once by one [`WindowCounts`]. Past it the oldest is
/// forgotten, so a spray over many names or addresses holds a few MB at
/// most.
pub const MAX_ENTRIES: usize = 100_000;

struct Count {
    count: u32,
    since: Instant,
}

struct Table<K> {
    entries: HashMap<K, Count>,
    last_pruned: Instant,
}

/// Counts per key within a window that starts at a key's first count:
/// what the login throttle and the custom-notification rate share.
/// Bounded: expired keys go every quarter window, and past
/// [`MAX_ENTRIES`] the oldest goes.
pub struct WindowCounts<K> {
    window: Duration,
    /// Random per process, so names cannot be chosen to collide.
    hasher: std::collections::hash_map::RandomState,
    table: Mutex<Table<K>>,
}

impl<K: Hash + Eq + Copy> WindowCounts<K> {
    pub fn new(window: Duration) -> WindowCounts<K> {
        WindowCounts {
            window,
            hasher: Default::default(),
            table: Mutex::new(Table {
                entries: HashMap::new(),
                last_pruned: Instant::now(),
            }),
        }
    }

    /// A keyed hash of names of any length: the same few bytes a key.
    pub fn hash(&self, names: impl Hash) -> u64 {
        self.hasher.hash_one(names)
    }

    /// The key's count in its current window, and the time left of it.
    pub fn current(&self, key: &K) -> Option<(u32, Duration)> {
        let table = self.table.lock().ok()?;
        let entry = table.entries.get(key)?;
        let left = self.window.checked_sub(entry.since.elapsed())?;
        Some((entry.count, left))
    }

    /// Counts one more for `key` and returns its count in this window.
    pub fn add(&self, key: K) -> u32 {
        let Ok(mut table) = self.table.lock() else {
            return 0;
        };
        let window = self.window;
        if table.last_pruned.elapsed() >= window / 4 {
            table.entries.retain(|_, c| c.since.elapsed() < window);
            table.last_pruned = Instant::now();
        }
        if table.entries.len() >= MAX_ENTRIES && !table.entries.contains_key(&key) {
            let oldest = table
                .entries
                .iter()
                .min_by_key(|(_, c)| c.since)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                table.entries.remove(&oldest);
            }
        }
        let entry = table.entries.entry(key).or_insert(Count {
            count: 0,
            since: Instant::now(),
        });
        if entry.since.elapsed() >= window {
            *entry = Count {
                count: 0,
                since: Instant::now(),
            };
        }
        entry.count += 1;
        entry.count
    }

    pub fn remove(&self, key: &K) {
        if let Ok(mut table) = self.table.lock() {
            table.entries.remove(key);
        }
    }

    /// How many keys are tracked now.
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An account and address: a keyed hash of the app and account, and the
/// address.
type Key = (u64, IpAddr);

pub struct LoginThrottle {
    limit: u32,
    failures: WindowCounts<Key>,
}

impl LoginThrottle {
    /// `limit` failures within `window`; a limit of 0 turns it off.
    pub fn new(limit: u32, window: Duration) -> LoginThrottle {
        LoginThrottle {
            limit,
            failures: WindowCounts::new(window),
        }
    }

    fn key(&self, app_key: &str, accid: &str, peer: IpAddr) -> Key {
        (self.failures.hash((app_key, accid)), peer)
    }

    /// How long logins to `accid` from `peer` stay refused, if they are.
    pub fn locked_for(&self, app_key: &str, accid: &str, peer: IpAddr) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let (count, left) = self.failures.current(&self.key(app_key, accid, peer))?;
        (count >= self.limit).then_some(left)
    }

    pub fn failed(&self, app_key: &str, accid: &str, peer: IpAddr) {
        if self.limit == 0 {
            return;
        }
        self.failures.add(self.key(app_key, accid, peer));
    }

    pub fn succeeded(&self, app_key: &str, accid: &str, peer: IpAddr) {
        self.failures.remove(&self.key(app_key, accid, peer));
    }

    /// How many (account, address) pairs are tracked now.
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const THERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn locks_an_account_from_one_address_for_the_rest_of_the_window() {
        let throttle = LoginThrottle::new(3, Duration::from_millis(200));
        for _ in 0..2 {
            throttle.failed("app", "alice", HERE);
        }
        assert_eq!(throttle.locked_for("app", "alice", HERE), None);
        throttle.failed("app", "alice", HERE);
        assert!(throttle.locked_for("app", "alice", HERE).is_some());
        // Other addresses and other accounts are not touched.
        assert_eq!(throttle.locked_for("app", "alice", THERE), None);
        assert_eq!(throttle.locked_for("app", "bob", HERE), None);
        assert_eq!(throttle.locked_for("other", "alice", HERE), None);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(throttle.locked_for("app", "alice", HERE), None);
        // A new window starts counting again.
        throttle.failed("app", "alice", HERE);
        assert_eq!(throttle.locked_for("app", "alice", HERE), None);
    }

    #[test]
    fn a_good_login_forgets_the_failures_and_a_limit_of_zero_never_locks() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        throttle.failed("app", "alice", HERE);
        throttle.succeeded("app", "alice", HERE);
        throttle.failed("app", "alice", HERE);
        assert_eq!(throttle.locked_for("app", "alice", HERE), None);
        let off = LoginThrottle::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            off.failed("app", "alice", HERE);
        }
        assert_eq!(off.locked_for("app", "alice", HERE), None);
        assert!(off.is_empty());
    }

    #[test]
    fn expired_entries_go_on_time_and_the_table_never_passes_its_cap() {
        let throttle = LoginThrottle::new(5, Duration::from_millis(40));
        for i in 0..50 {
            throttle.failed("app", &format!("user{i}"), HERE);
        }
        assert_eq!(throttle.len(), 50);
        std::thread::sleep(Duration::from_millis(60));
        throttle.failed("app", "late", HERE);
        assert_eq!(throttle.len(), 1, "the expired entries were dropped");

        let throttle = LoginThrottle::new(5, Duration::from_secs(600));
        for i in 0..MAX_ENTRIES + 10 {
            throttle.failed("app", &format!("user{i}"), THERE);
        }
        assert_eq!(throttle.len(), MAX_ENTRIES);
        // The newest is kept; the oldest went.
        for _ in 0..4 {
            throttle.failed("app", &format!("user{}", MAX_ENTRIES + 9), THERE);
        }
        assert!(throttle
            .locked_for("app", &format!("user{}", MAX_ENTRIES + 9), THERE)
            .is_some());
    }

    #[test]
    fn an_entry_holds_a_few_bytes_whatever_the_name() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(600));
        let long = "x".repeat(200_000);
        throttle.failed("app", &long, HERE);
        assert_eq!(throttle.len(), 1);
        assert_eq!(std::mem::size_of::<Key>(), 32);
    }
}
