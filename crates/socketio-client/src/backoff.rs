//! The reconnection delays of the JS client (its `backo2` module), with the
//! same formula so that a fleet of Rust and JS clients spreads its
//! reconnections alike after a server restart.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    time::Duration,
};

/// Exponential back-off with jitter: attempt `n` (from 0) waits
/// `min * 2^n`, moved up or down by a random part of at most
/// `jitter * min * 2^n`, and never more than `max`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min_ms: f64,
    max_ms: f64,
    jitter: f64,
    attempts: u32,
    rng: Rng,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        Backoff {
            min_ms: min.as_millis() as f64,
            max_ms: max.as_millis() as f64,
            // As backo2: a factor outside (0, 1] means no jitter.
            jitter: if jitter > 0.0 && jitter <= 1.0 {
                jitter
            } else {
                0.0
            },
            attempts: 0,
            rng: Rng::seeded(),
        }
    }

    /// The delay before the next attempt; counts one attempt.
    pub(crate) fn duration(&mut self) -> Duration {
        let exp = i32::try_from(self.attempts).unwrap_or(i32::MAX);
        let mut ms = self.min_ms * 2f64.powi(exp);
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter > 0.0 {
            let rand = self.rng.next_f64();
            let deviation = (rand * self.jitter * ms).floor();
            // backo2 picks the direction from a digit of the same draw.
            ms = if ((rand * 10.0).floor() as u64) & 1 == 0 {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        // `| 0` in JS: truncate to whole milliseconds.
        Duration::from_millis(ms.min(self.max_ms).max(0.0) as u64)
    }

    /// Attempts counted since the last [`reset`](Self::reset).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// xorshift64*: plenty for spreading delays, and no dependency.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        // `RandomState` is seeded randomly per process and per instance.
        let seed = RandomState::new().build_hasher().finish();
        Rng(seed | 1)
    }

    /// Uniform in [0, 1), like `Math.random()`.
    fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    #[test]
    fn doubles_up_to_the_maximum_without_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5), 0.0);
        let delays: Vec<u64> = (0..6).map(|_| ms(b.duration())).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(b.attempts(), 6);
        b.reset();
        assert_eq!(ms(b.duration()), 1000);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let (min, max, jitter) = (100.0, 1000.0, 0.5);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000), 0.5);
        for _ in 0..200 {
            b.reset();
            for n in 0..8 {
                let base: f64 = min * 2f64.powi(n);
                let d = ms(b.duration()) as f64;
                let low = (base - (jitter * base).floor()).min(max).floor();
                let high = (base + jitter * base).min(max);
                assert!(
                    d >= low && d <= high,
                    "attempt {n}: {d} not in [{low}, {high}]"
                );
            }
        }
    }

    #[test]
    fn out_of_range_jitter_is_none() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(100), 1.5);
        assert_eq!(ms(b.duration()), 10);
        assert_eq!(ms(b.duration()), 20);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(100), 0.5);
        b.attempts = u32::MAX;
        assert_eq!(ms(b.duration()), 100);
        assert_eq!(b.attempts(), u32::MAX);
    }

    #[test]
    fn random_numbers_are_uniform_enough() {
        let mut rng = Rng::seeded();
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }
}
