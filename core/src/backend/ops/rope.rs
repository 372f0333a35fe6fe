//! Rotary position embedding, rotate-half convention (GPT-NeoX / HF Llama):
//! `out = x * cos + rotate_half(x) * sin`, `rotate_half(x) = cat(-x[h..], x[..h])`, `h = Dh / 2`,
//! angle `t * base^(-2i / Dh)` for pair `i`.
//!
//! `rotate_half` is a matmul with a fixed signed permutation `P` (`[Dh, Dh]`) instead of two
//! slices and a concat: slicing `x`, which also feeds `x * cos`, would hit dfdx's CPU slice
//! backward, which assigns instead of accumulating. The matmul costs `Dh` MACs per element, small
//! next to the projections, and works on every device.

use dfdx::prelude::*;

use crate::backend::{Tensor2, Tensor4};

#[derive(Debug, Clone)]
pub struct Rope<E: Dtype, D: Storage<E>> {
    cos: Tensor2<E, D>, // [Tmax, Dh]
    sin: Tensor2<E, D>, // [Tmax, Dh]
    rot: Tensor2<E, D>, // [Dh, Dh], x @ rot == rotate_half(x)
}

impl<E: Dtype, D: Storage<E>> Rope<E, D> {
    /// The `[Tmax, Dh]` cosine and sine tables (for fused kernels).
    pub fn tables(&self) -> (&Tensor2<E, D>, &Tensor2<E, D>) {
        (&self.cos, &self.sin)
    }
}

impl<E: Dtype, D: Device<E>> Rope<E, D> {
    pub fn new(dev: &D, max_len: usize, head_dim: usize, base: f64) -> Self {
        assert!(head_dim.is_multiple_of(2), "RoPE needs an even head width, got {head_dim}");
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_len * head_dim);
        let mut sin = Vec::with_capacity(max_len * head_dim);
        for t in 0..max_len {
            for j in 0..head_dim {
                let i = j % half;
                let angle = t as f64 * base.powf(-2.0 * i as f64 / head_dim as f64);
                cos.push(E::from_f64(angle.cos()).unwrap());
                sin.push(E::from_f64(angle.sin()).unwrap());
            }
        }
        let mut rot = vec![E::from_f64(0.0).unwrap(); head_dim * head_dim];
        for j in 0..half {
            rot[(j + half) * head_dim + j] = E::from_f64(-1.0).unwrap(); // out[j] = -x[j + h]
            rot[j * head_dim + j + half] = E::ONE; // out[j + h] = x[j]
        }
        Self {
            cos: dev.tensor_from_vec(cos, (max_len, head_dim)),
            sin: dev.tensor_from_vec(sin, (max_len, head_dim)),
            rot: dev.tensor_from_vec(rot, (head_dim, head_dim)),
        }
    }

    /// Rotates `x` whose second axis holds positions `offset .. offset + Tq`.
    pub fn apply<T: Tape<E, D>>(
        &self,
        x: Tensor4<E, D, T>, // [B, Tq, H, Dh]
        offset: usize,
    ) -> Tensor4<E, D, T> {
        let shape = *x.shape();
        let (b, tq, h, dh) = shape;
        // Slicing the constant tables is safe: they carry no tape and get no gradient.
        let cos = self.cos.clone().slice((offset..offset + tq, ..)); // [Tq, Dh]
        let sin = self.sin.clone().slice((offset..offset + tq, ..)); // [Tq, Dh]
        let cos = cos.broadcast_like::<_, Axes2<0, 2>>(&shape); // [B, Tq, H, Dh]
        let sin = sin.broadcast_like::<_, Axes2<0, 2>>(&shape); // [B, Tq, H, Dh]
        // Not recorded in `count`: the model's accounting charges RoPE as elementwise work.
        let rotated = x.retaped::<T>().reshape_like(&(b * tq * h, dh)).matmul(self.rot.clone()).reshape_like(&shape); // [B, Tq, H, Dh]
        x * cos + rotated * sin
    }
}
