//! Counter-based dropout masks: element `i` of a call with `seed` is kept when 16 bits of a hash
//! of `(seed, i / 4)` clear the threshold (one SplitMix64 per 4 elements; `p` is rounded to a
//! multiple of 2^-16). Any thread computes any element, the backward pass
//! recomputes the mask instead of storing it, and the result does not depend on the thread
//! count. (The masks differ from dfdx's `dropout`, which draws from a sequential ChaCha stream.)

#[derive(Debug, Clone, Copy)]
pub(crate) struct DropMask {
    seed: u64,
    /// Drop when the element's 16 hash bits are below this (`p * 2^16`).
    threshold: u64,
    /// `1 / (1 - p)`.
    pub scale: f64,
}

impl DropMask {
    /// `None` when `p == 0` (no dropout).
    pub fn new(p: f64, seed: u64) -> Option<Self> {
        assert!((0.0..1.0).contains(&p), "dropout probability {p} not in [0, 1)");
        (p > 0.0).then(|| Self { seed, threshold: (p * 65536.0).round() as u64, scale: 1.0 / (1.0 - p) })
    }

    #[inline]
    fn word(&self, block: usize) -> u64 {
        splitmix64(self.seed ^ (block as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    #[inline]
    pub fn keep(&self, i: usize) -> bool {
        ((self.word(i / 4) >> (16 * (i % 4))) & 0xFFFF) >= self.threshold
    }

    /// Multiplies `xs` (global elements `first ..`) by `mask * scale` in place: one hash per 4
    /// elements, branch-free selects in between.
    pub fn apply<E: num_traits::Float>(&self, first: usize, xs: &mut [E]) {
        let s = E::from(self.scale).unwrap();
        let pick = |keep: bool| if keep { s } else { E::zero() };
        let head = ((4 - first % 4) % 4).min(xs.len());
        let (head_xs, rest) = xs.split_at_mut(head);
        for (i, x) in head_xs.iter_mut().enumerate() {
            *x = *x * pick(self.keep(first + i));
        }
        let first_block = (first + head) / 4;
        let n_quads = rest.len() / 4;
        let mut quads = rest.chunks_exact_mut(4);
        for (c, q) in quads.by_ref().enumerate() {
            let h = self.word(first_block + c);
            for (l, x) in q.iter_mut().enumerate() {
                *x = *x * pick(((h >> (16 * l)) & 0xFFFF) >= self.threshold);
            }
        }
        let tail = quads.into_remainder();
        let tail_first = first + head + 4 * n_quads;
        for (i, x) in tail.iter_mut().enumerate() {
            *x = *x * pick(self.keep(tail_first + i));
        }
    }
}

#[inline]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
