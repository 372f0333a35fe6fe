//! Deterministic random numbers shared by data sampling and initialisation.
//!
//! [`Rng`] is xoshiro256** (Blackman and Vigna, 2018, <https://prng.di.unimi.it/>), seeded
//! through splitmix64 as its authors recommend. It is small (32 bytes of state, plus one cached
//! normal), fast (a few shifts and rotations per draw) and bit-for-bit reproducible on every
//! platform, which is what "same seed, same result" needs. It is not cryptographic.
//!
//! Independent streams come from [`Rng::fork`]: one generator per purpose (data order, weight
//! init, dropout, each epoch) so that consuming more numbers in one place never shifts another.

/// A xoshiro256** generator.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
    /// The second value of the last Box-Muller pair, returned by the next `normal_f32`.
    spare_normal: Option<f32>,
}

/// One step of splitmix64: advances `state` and returns a well-mixed 64-bit value.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    ///
    /// The four state words are consecutive splitmix64 outputs, so they are never all zero
    /// (the one state xoshiro cannot leave) and nearby seeds give unrelated sequences.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        Rng { s, spare_normal: None }
    }

    /// The next 64 uniformly distributed bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n`, without modulo bias (Lemire's multiply-and-reject method).
    ///
    /// `below(0)` has no valid answer; it returns 0 rather than panicking.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        // The low half is below `2^64 mod n` only in the biased zone; redraw there.
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// A uniform `f32` in `[0, 1)`, with all 24 bits of the mantissa random.
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// A uniform `f64` in `[0, 1)`, with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Two independent standard normals in f64 by the Box-Muller transform.
    pub fn normal_pair(&mut self) -> (f64, f64) {
        // 1 - u is in (0, 1], so the logarithm is finite. f64 keeps the tails accurate.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        (radius * angle.cos(), radius * angle.sin())
    }

    /// A standard normal `f32` (mean 0, variance 1): each [`Rng::normal_pair`] serves two calls.
    pub fn normal_f32(&mut self) -> f32 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let (z, spare) = self.normal_pair();
        self.spare_normal = Some(spare as f32);
        z as f32
    }

    /// An independent generator for sub-stream `stream`, derived from this one's state.
    ///
    /// Forking does not advance `self`, so `fork(k)` is a pure function of the current state
    /// and `k`: epoch `e` can use `rng.fork(e)` and be replayed on its own. The child's seed
    /// mixes every state word with the stream number through splitmix64.
    pub fn fork(&self, stream: u64) -> Rng {
        let mut sm = stream ^ 0x6a09_e667_f3bc_c909;
        let mut seed = splitmix64(&mut sm);
        for word in self.s {
            let mut x = seed ^ word;
            seed = splitmix64(&mut x);
        }
        Rng::new(seed)
    }

    /// Shuffles `items` in place (Fisher-Yates), uniformly over all orders.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_xoshiro256starstar() {
        // Reference: the C implementation at prng.di.unimi.it with s = {1, 2, 3, 4}.
        let mut rng = Rng { s: [1, 2, 3, 4], spare_normal: None };
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(got, [11520, 0, 1509978240, 1215971899390074240]);
    }

    #[test]
    fn splitmix64_matches_the_reference() {
        // Reference values for seed 1234567 from Vigna's splitmix64.c.
        let mut state = 1234567;
        let got: Vec<u64> = (0..3).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(got, [6457827717110365317, 3203168211198807973, 9817491932198370423]);
    }

    #[test]
    fn same_seed_same_sequence_and_different_seeds_differ() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(43);
            (0..8).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn below_stays_in_range_and_is_roughly_uniform() {
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            let x = rng.below(10);
            assert!(x < 10);
            counts[x as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "counts {counts:?}");
        }
        assert_eq!(rng.below(1), 0);
        assert_eq!(rng.below(0), 0);
        // A bound just above 2^63 makes the rejection zone almost half: still in range.
        let big = (1u64 << 63) + 1;
        for _ in 0..1000 {
            assert!(rng.below(big) < big);
        }
    }

    #[test]
    fn floats_are_in_the_unit_interval_with_mean_one_half() {
        let mut rng = Rng::new(3);
        let n = 100_000;
        let mut sum = 0.0f64;
        for _ in 0..n {
            let x = rng.next_f32();
            assert!((0.0..1.0).contains(&x));
            sum += f64::from(x);
        }
        assert!((sum / n as f64 - 0.5).abs() < 0.01);
    }

    #[test]
    fn normals_have_mean_zero_and_unit_variance() {
        let mut rng = Rng::new(11);
        let n = 200_000;
        let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let z = f64::from(rng.normal_f32());
            assert!(z.is_finite());
            sum += z;
            sum_sq += z * z;
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn forks_are_reproducible_independent_and_leave_the_parent_alone() {
        let parent = Rng::new(5);
        let before = parent.s;
        let mut a1 = parent.fork(1);
        let mut a2 = parent.fork(1);
        let mut b = parent.fork(2);
        assert_eq!(parent.s, before);
        let x1: Vec<u64> = (0..4).map(|_| a1.next_u64()).collect();
        let x2: Vec<u64> = (0..4).map(|_| a2.next_u64()).collect();
        let y: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let mut p = parent.clone();
        let z: Vec<u64> = (0..4).map(|_| p.next_u64()).collect();
        assert_eq!(x1, x2);
        assert_ne!(x1, y);
        assert_ne!(x1, z);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = Rng::new(9);
        let mut v: Vec<u32> = (0..100).collect();
        rng.shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }
}
