//! Failed logins by account and address. Past a limit within a window,
//! logins to that account from that address are refused (416) until the
//! window has passed, right token or not: a token cannot be guessed by
//! opening connection after connection. Keyed by address too, so that
//! someone who spends an account's failures does not lock its owner out
//! everywhere else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many tracked keys, expired ones are dropped on the next
/// failure, so a spray over many accounts cannot grow the map for ever.
const PRUNE_PAST: usize = 100_000;

type Key = (String, String, IpAddr);

struct Failures {
    count: u32,
    since: Instant,
}

pub struct LoginThrottle {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<Key, Failures>>,
}

impl LoginThrottle {
    /// `limit` failures within `window`; a limit of 0 turns it off.
    pub fn new(limit: u32, window: Duration) -> LoginThrottle {
        LoginThrottle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long logins to `accid` from `peer` stay refused, if they are.
    pub fn locked_for(&self, app_key: &str, accid: &str, peer: IpAddr) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let failures = self.failures.lock().ok()?;
        let entry = failures.get(&(app_key.to_owned(), accid.to_owned(), peer))?;
        let left = self.window.checked_sub(entry.since.elapsed())?;
        (entry.count >= self.limit).then_some(left)
    }

    pub fn failed(&self, app_key: &str, accid: &str, peer: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        let window = self.window;
        if failures.len() >= PRUNE_PAST {
            failures.retain(|_, f| f.since.elapsed() < window);
        }
        let entry = failures
            .entry((app_key.to_owned(), accid.to_owned(), peer))
            .or_insert(Failures {
                count: 0,
                since: Instant::now(),
            });
        if entry.since.elapsed() >= window {
            *entry = Failures {
                count: 0,
                since: Instant::now(),
            };
        }
        entry.count += 1;
    }

    pub fn succeeded(&self, app_key: &str, accid: &str, peer: IpAddr) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&(app_key.to_owned(), accid.to_owned(), peer));
        }
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
    }
}
