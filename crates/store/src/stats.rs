//! Group-commit counters, shared by every backend's writer: how well writes
//! were grouped, and how long each group took from the writer taking it to
//! its durable commit (in fixed buckets, as a Prometheus histogram).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the commit-time buckets, in microseconds; a last bucket
/// takes every longer commit.
pub const COMMIT_BUCKETS_US: [u64; 12] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// What a writer has done since it started (see [`CommitCounters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Group transactions, committed or not.
    pub transactions: u64,
    /// Write jobs they carried: `writes / transactions` is the mean group.
    pub writes: u64,
    /// New messages stored (duplicates not counted).
    pub messages: u64,
    /// Groups per commit-time bucket ([`COMMIT_BUCKETS_US`], then longer).
    pub commit_buckets: [u64; COMMIT_BUCKETS_US.len() + 1],
    /// Time spent in all groups.
    pub commit_micros: u64,
}

impl CommitStats {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &CommitStats) -> CommitStats {
        let mut buckets = self.commit_buckets;
        for (bucket, before) in buckets.iter_mut().zip(earlier.commit_buckets) {
            *bucket = bucket.saturating_sub(before);
        }
        CommitStats {
            transactions: self.transactions.saturating_sub(earlier.transactions),
            writes: self.writes.saturating_sub(earlier.writes),
            messages: self.messages.saturating_sub(earlier.messages),
            commit_buckets: buckets,
            commit_micros: self.commit_micros.saturating_sub(earlier.commit_micros),
        }
    }

    /// The bound of the bucket holding the `q` quantile (0 to 1) of commit
    /// times: that many groups took at most this long. `None` with no
    /// groups, or when it falls in the last, unbounded bucket.
    pub fn commit_quantile_at_most(&self, q: f64) -> Option<Duration> {
        let total: u64 = self.commit_buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, bound) in self.commit_buckets.iter().zip(COMMIT_BUCKETS_US) {
            seen += bucket;
            if seen >= rank {
                return Some(Duration::from_micros(bound));
            }
        }
        None
    }

    /// Mean time a group took.
    pub fn mean_commit(&self) -> Option<Duration> {
        let total: u64 = self.commit_buckets.iter().sum();
        (total > 0).then(|| Duration::from_micros(self.commit_micros / total))
    }
}

/// The live counters a writer updates.
#[derive(Default)]
pub struct CommitCounters {
    transactions: AtomicU64,
    writes: AtomicU64,
    messages: AtomicU64,
    commit_buckets: [AtomicU64; COMMIT_BUCKETS_US.len() + 1],
    commit_micros: AtomicU64,
}

impl CommitCounters {
    /// One group of `writes` jobs, which took `took` (committed or not).
    pub fn record_group(&self, writes: usize, took: Duration) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes as u64, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = COMMIT_BUCKETS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(COMMIT_BUCKETS_US.len());
        self.commit_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.commit_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// `count` new messages stored.
    pub fn add_messages(&self, count: usize) {
        self.messages.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CommitStats {
        CommitStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            commit_buckets: self
                .commit_buckets
                .each_ref()
                .map(|bucket| bucket.load(Ordering::Relaxed)),
            commit_micros: self.commit_micros.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_land_in_their_buckets_and_quantiles_read_the_bounds() {
        let counters = CommitCounters::default();
        for _ in 0..98 {
            counters.record_group(3, Duration::from_micros(400));
        }
        counters.record_group(1, Duration::from_millis(7));
        let before = counters.snapshot();
        counters.record_group(2, Duration::from_secs(2));
        let stats = counters.snapshot();
        assert_eq!(stats.transactions, 100);
        assert_eq!(stats.writes, 98 * 3 + 1 + 2);
        assert_eq!(stats.commit_buckets[2], 98, "400 µs is at most 500 µs");
        assert_eq!(stats.commit_buckets[6], 1, "7 ms is at most 10 ms");
        assert_eq!(stats.commit_buckets[COMMIT_BUCKETS_US.len()], 1);
        assert_eq!(
            stats.commit_quantile_at_most(0.5),
            Some(Duration::from_micros(500))
        );
        assert_eq!(
            stats.commit_quantile_at_most(0.99),
            Some(Duration::from_millis(10))
        );
        assert_eq!(stats.commit_quantile_at_most(1.0), None, "unbounded");
        let last = stats.since(&before);
        assert_eq!(last.transactions, 1);
        assert_eq!(last.commit_buckets.iter().sum::<u64>(), 1);
        assert_eq!(last.mean_commit(), Some(Duration::from_secs(2)));
        assert_eq!(CommitStats::default().commit_quantile_at_most(0.5), None);
    }
}
