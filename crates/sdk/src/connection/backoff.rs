//! Reconnect delays: exponential, capped, with jitter so that many clients
//! cut off together do not return together.

use std::time::Duration;

pub fn delay(attempt: u32, min: Duration, max: Duration) -> Duration {
    let exp = min.saturating_mul(1u32 << attempt.min(16));
    let ceiling = exp.min(max).max(min);
    // Equal jitter: half fixed, half random.
    let half = ceiling / 2;
    half + half.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(2));
        for attempt in 0..40 {
            let d = delay(attempt, min, max);
            assert!(d <= max, "{d:?}");
            assert!(d >= min / 2, "{d:?}");
        }
        assert!(delay(0, min, max) <= min);
        assert!(delay(10, min, max) >= max / 2);
    }
}
