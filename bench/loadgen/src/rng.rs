//! A small random generator, the same sequence for the same seed, so that
//! a run can be repeated (the soak's `--seed`, the rooms scenario's room
//! choices).

/// SplitMix64: small, fast, and the same sequence for the same seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    /// A generator of its own, for one client.
    pub(crate) fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_numbers_stay_in_range() {
        let mut rng = Rng::new(1);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            sum += u;
            assert!(rng.below(3) < 3);
        }
        // The mean of 10,000 uniform draws is within 0.02 of 0.5 (> 6 sigma).
        assert!((sum / 10_000.0 - 0.5).abs() < 0.02, "{sum}");
        assert_eq!(Rng::new(9).next(), Rng::new(9).next());
    }
}
