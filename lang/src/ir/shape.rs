//! Symbolic shapes, per sample: the batch dimension is implicit. Legend used everywhere:
//! `context` = T, `d` = width C, `vocab` = V.

use std::fmt;

/// One dimension: its size and the expression it came from (`4 * d`, `context`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dim {
    pub size: u64,
    pub sym: String,
}

impl Dim {
    pub fn new(size: u64, sym: impl Into<String>) -> Dim {
        Dim { size, sym: sym.into() }
    }

    /// The product of two dimensions, `None` on overflow.
    pub fn times(&self, other: &Dim) -> Option<Dim> {
        let size = self.size.checked_mul(other.size)?;
        Some(Dim { size, sym: format!("{} * {}", self.sym, other.sym) })
    }
}

/// What a tensor holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// Token ids, as fed to an embedding.
    Token,
    /// Real-valued activations.
    Float,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub elem: Elem,
    pub dims: Vec<Dim>,
}

impl Shape {
    pub fn tokens(dims: Vec<Dim>) -> Shape {
        Shape { elem: Elem::Token, dims }
    }

    pub fn floats(dims: Vec<Dim>) -> Shape {
        Shape { elem: Elem::Float, dims }
    }

    /// Size of the last dimension (the width), if any.
    pub fn width(&self) -> Option<&Dim> {
        self.dims.last()
    }

    /// Product of all dimensions but the last: how many rows a width-wise op touches.
    /// Saturates at `u64::MAX`: the checker refuses any shape whose elements overflow.
    pub fn rows(&self) -> u64 {
        let n = self.dims.len().saturating_sub(1);
        self.dims[..n].iter().fold(1u64, |acc, d| acc.saturating_mul(d.size))
    }

    /// Saturates at `u64::MAX`, like [`Shape::rows`].
    pub fn elements(&self) -> u64 {
        self.checked_elements().unwrap_or(u64::MAX)
    }

    /// The number of elements, `None` when it overflows 64 bits.
    pub fn checked_elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |acc, d| acc.checked_mul(d.size))
    }

    /// The same shape with a new last dimension.
    pub fn with_width(&self, width: Dim) -> Shape {
        let mut dims = self.dims.clone();
        dims.pop();
        dims.push(width);
        Shape { elem: Elem::Float, dims }
    }

    /// `[context, d]`
    pub fn symbolic(&self) -> String {
        let dims: Vec<&str> = self.dims.iter().map(|d| d.sym.as_str()).collect();
        format!("[{}]", dims.join(", "))
    }

    /// `[128, 128]`
    pub fn concrete(&self) -> String {
        let dims: Vec<String> = self.dims.iter().map(|d| d.size.to_string()).collect();
        format!("[{}]", dims.join(", "))
    }

    /// Same sizes, whatever the symbols.
    pub fn same_sizes(&self, other: &Shape) -> bool {
        self.elem == other.elem
            && self.dims.len() == other.dims.len()
            && self.dims.iter().zip(&other.dims).all(|(a, b)| a.size == b.size)
    }
}

impl fmt::Display for Shape {
    /// `[context, d] = [128, 128]`, with `tokens` for ids.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sym, con) = (self.symbolic(), self.concrete());
        let kind = if self.elem == Elem::Token { " tokens" } else { "" };
        if sym == con { write!(f, "{sym}{kind}") } else { write!(f, "{sym} = {con}{kind}") }
    }
}
