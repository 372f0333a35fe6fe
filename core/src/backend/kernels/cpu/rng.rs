//! Counter-based dropout masks: element `i` of a call with `seed` is kept when 16 bits of a hash
//! of `(seed, i / 4)` clear the threshold (one SplitMix64 per 4 elements; `p` is rounded to a
//! multiple of 2^-16). Any thread computes any element, the backward pass
//! recomputes the mask instead of storing it, and the result does not depend on the thread
//! count. (The masks differ from dfdx's `dropout`, which draws from a sequential ChaCha stream.)

use super::simd::vectorized;

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

    #[inline(always)]
    fn word(&self, block: usize) -> u64 {
        splitmix64(self.seed ^ (block as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Whether element `i` is kept: the definition [`Self::apply`] must agree with.
    #[cfg(test)]
    fn keep(&self, i: usize) -> bool {
        ((self.word(i / 4) >> (16 * (i % 4))) & 0xFFFF) >= self.threshold
    }

    /// Multiplies `xs` (global elements `first ..`) by `mask * scale` in place. Works in blocks
    /// of 64 elements: one loop hashes the block's 17 words (vectorised), one splits them into
    /// 16-bit fields, one selects; the result equals [`Self::keep`] element by element.
    pub fn apply<E: num_traits::Float>(&self, first: usize, xs: &mut [E]) {
        let mask = *self;
        // By value: the closure then holds the seed and threshold in registers.
        vectorized(
            #[inline(always)]
            move || mask.apply_blocks(first, xs),
        )
    }

    #[inline(always)]
    fn apply_blocks<E: num_traits::Float>(self, first: usize, xs: &mut [E]) {
        const BLOCK: usize = 64;
        const WORDS: usize = BLOCK / 4 + 1; // a block that starts mid-word spans one more
        let s = E::from(self.scale).unwrap();
        let threshold = self.threshold as u32;
        let offset = first % 4;
        for (bi, block) in xs.chunks_mut(BLOCK).enumerate() {
            let first_word = first / 4 + bi * (BLOCK / 4);
            let mut words = [0u64; WORDS];
            for (c, w) in words.iter_mut().enumerate() {
                *w = self.word(first_word + c);
            }
            let mut fields = [0u16; 4 * WORDS];
            for (f, w) in fields.chunks_exact_mut(4).zip(&words) {
                for (l, f) in f.iter_mut().enumerate() {
                    *f = (w >> (16 * l)) as u16;
                }
            }
            for (x, &f) in block.iter_mut().zip(&fields[offset..]) {
                *x = *x * if u32::from(f) >= threshold { s } else { E::zero() };
            }
        }
    }
}

#[inline(always)]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::DropMask;

    #[test]
    fn apply_keeps_exactly_the_elements_keep_names() {
        let mask = DropMask::new(0.3, 42).unwrap();
        for first in [0, 1, 2, 3, 61, 64, 1001] {
            for len in [0, 1, 5, 63, 64, 65, 200] {
                let mut xs = vec![1.0f64; len];
                mask.apply(first, &mut xs);
                for (i, &x) in xs.iter().enumerate() {
                    let want = if mask.keep(first + i) { mask.scale } else { 0.0 };
                    assert_eq!(x, want, "element {} of a call at {first}", first + i);
                }
            }
        }
        let kept = (0..100_000).filter(|&i| mask.keep(i)).count() as f64 / 100_000.0;
        assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
    }
}
