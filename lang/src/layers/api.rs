//! What a layer plugin implements, and the types it works with.

use crate::diag::Span;
use crate::ir::{Constant, Dim, Flops, Shape};
use std::any::Any;
use std::fmt;

/// A layer kind: `linear`, `attention`, ... Registered by name in a [`super::Registry`].
pub trait LayerKind: Send + Sync {
    /// The name used in `.model` files.
    fn name(&self) -> &'static str;
    /// One line for `tinyarch layers` and the book.
    fn doc(&self) -> &'static str;
    /// The arguments it takes, in order.
    fn args(&self) -> &'static [ArgSpec];
    /// Small models that use this kind, as the body of `model m(context = 4) { ... }` with a
    /// vocabulary of 7: the conformance suite checks the kind on each of them (gradients,
    /// last-position forward, parameters, FLOPs). At least one; cover every optional branch.
    fn examples(&self) -> &'static [&'static str];
    /// Checks the input shape and the arguments' values and returns the configured layer.
    /// Arguments have already been checked against [`LayerKind::args`] for names and types.
    fn configure(&self, args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError>;
}

/// A layer with its sizes known: everything the checker needs. Its forward pass lives with the
/// backend, which finds it by the configured type (see [`AsAny`]).
pub trait Layer: fmt::Debug + Send + Sync + AsAny {
    fn output(&self) -> Shape;
    /// Its parameter tensors, named relative to the layer (`weight`, `bias`).
    fn parameters(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    /// Forward FLOPs per sample in the exact convention (see [`Flops`]) when it computes
    /// `rows` output positions: all of them, or 1 when only the last is needed.
    fn flops(&self, _rows: u64) -> Flops {
        Flops::default()
    }
    /// Output row `i` depends on input row `i` only, so computing only the last position needs
    /// only the last input position.
    fn position_wise(&self) -> bool {
        false
    }
    /// Kaplan et al.'s attention context term per token, forward: `2 * n_ctx * d_attn`.
    fn kaplan_context_flops(&self) -> u64 {
        0
    }
    /// Activations kept for the backward pass per sample, beyond the output itself.
    fn saved_elements(&self) -> u64 {
        0
    }
}

/// The configured layer as [`Any`], so that a backend can find the forward pass registered for
/// its type. Implemented for every type: a plugin never writes it.
pub trait AsAny {
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The argument types a layer can declare.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgType {
    Int,
    Float,
    Bool,
    /// One of a fixed set of names, such as `relu | gelu`.
    Choice(&'static [&'static str]),
}

impl ArgType {
    pub fn describe(&self) -> String {
        match self {
            ArgType::Int => "an integer".into(),
            ArgType::Float => "a number".into(),
            ArgType::Bool => "`true` or `false`".into(),
            ArgType::Choice(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                format!("one of {}", names.join(", "))
            }
        }
    }
}

/// One declared argument: name, type, default (`None`: required) and a doc line.
#[derive(Clone, Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub ty: ArgType,
    pub default: Option<ArgDefault>,
    pub doc: &'static str,
}

/// A default value, written as a constant in a plugin's argument table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgDefault {
    Int(i64),
    Float(f64),
    Bool(bool),
    Choice(&'static str),
}

impl ArgDefault {
    pub fn value(self) -> Constant {
        match self {
            ArgDefault::Int(v) => Constant::Int(v),
            ArgDefault::Float(v) => Constant::Float(v),
            ArgDefault::Bool(v) => Constant::Bool(v),
            ArgDefault::Choice(v) => Constant::Ident(v.to_string()),
        }
    }
}

impl ArgSpec {
    pub const fn required(name: &'static str, ty: ArgType, doc: &'static str) -> ArgSpec {
        ArgSpec { name, ty, default: None, doc }
    }

    pub const fn optional(name: &'static str, ty: ArgType, default: ArgDefault, doc: &'static str) -> ArgSpec {
        ArgSpec { name, ty, default: Some(default), doc }
    }
}

/// A resolved argument: its value, the expression it came from, and where it was written
/// (`None` for a default).
#[derive(Clone, Debug, PartialEq)]
pub struct ArgValue {
    pub value: Constant,
    pub sym: String,
    pub span: Option<Span>,
}

/// A call's arguments, checked against the kind's [`ArgSpec`]s and completed with defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    pub items: Vec<(&'static str, ArgValue)>,
}

impl Args {
    pub fn get(&self, name: &str) -> Option<&ArgValue> {
        self.items.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn value(&self, name: &'static str) -> Result<&ArgValue, LayerError> {
        self.get(name).ok_or_else(|| {
            LayerError::new(ErrorKind::InvalidArgument, format!("the layer reads an undeclared argument `{name}`"))
        })
    }

    pub fn int(&self, name: &'static str) -> Result<i64, LayerError> {
        match self.value(name)?.value {
            Constant::Int(v) => Ok(v),
            ref other => Err(LayerError::wrong_type(name, "an integer", other)),
        }
    }

    /// A size: a positive integer, with its symbol for shapes.
    pub fn dim(&self, name: &'static str) -> Result<Dim, LayerError> {
        let v = self.int(name)?;
        if v <= 0 {
            return Err(
                LayerError::argument(name, format!("`{name}` must be positive, not {v}")).label("must be at least 1")
            );
        }
        Ok(Dim::new(v as u64, self.value(name)?.sym.clone()))
    }

    pub fn float(&self, name: &'static str) -> Result<f64, LayerError> {
        match self.value(name)?.value {
            Constant::Float(v) => Ok(v),
            Constant::Int(v) => Ok(v as f64),
            ref other => Err(LayerError::wrong_type(name, "a number", other)),
        }
    }

    /// A probability in [0, 1).
    pub fn probability(&self, name: &'static str) -> Result<f64, LayerError> {
        let p = self.float(name)?;
        if !(0.0..1.0).contains(&p) {
            return Err(LayerError::argument(name, format!("`{name}` must be in [0, 1), not {p}"))
                .label("not a probability below 1"));
        }
        Ok(p)
    }

    /// A positive finite number, such as an epsilon or a base.
    pub fn positive(&self, name: &'static str) -> Result<f64, LayerError> {
        let v = self.float(name)?;
        if !(v.is_finite() && v > 0.0) {
            return Err(
                LayerError::argument(name, format!("`{name}` must be positive, not {v}")).label("must be above 0")
            );
        }
        Ok(v)
    }

    pub fn bool(&self, name: &'static str) -> Result<bool, LayerError> {
        match self.value(name)?.value {
            Constant::Bool(v) => Ok(v),
            ref other => Err(LayerError::wrong_type(name, "`true` or `false`", other)),
        }
    }

    pub fn choice(&self, name: &'static str) -> Result<&str, LayerError> {
        match &self.value(name)?.value {
            Constant::Ident(v) => Ok(v),
            other => Err(LayerError::wrong_type(name, "a name", other)),
        }
    }
}

/// What a layer can see besides its input: the model's symbols and the layers before it.
pub struct Env<'a> {
    pub vocab: Dim,
    pub context: Dim,
    /// This layer's path, such as `blocks.2.attn`.
    pub path: &'a str,
    /// Parameters of every layer configured so far, with full names.
    pub earlier: &'a [ParamSpec],
}

impl Env<'_> {
    /// The parameters of the given role declared so far.
    pub fn find(&self, role: Role) -> impl Iterator<Item = &ParamSpec> {
        self.earlier.iter().filter(move |p| p.role == role)
    }
}

/// A parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// Relative to the layer in [`Layer::parameters`] (`weight`); full path once checked
    /// (`blocks.0.attn.qkv.weight`).
    pub name: String,
    pub shape: Vec<u64>,
    pub role: Role,
    pub init: Init,
    /// Shares the storage of another parameter (full name) and so adds no count.
    pub tied_to: Option<String>,
}

impl ParamSpec {
    pub fn new(name: &str, shape: Vec<u64>, role: Role, init: Init) -> ParamSpec {
        ParamSpec { name: name.to_string(), shape, role, init, tied_to: None }
    }

    /// Number of values it adds to the model: 0 when tied.
    pub fn count(&self) -> u64 {
        if self.tied_to.is_some() { 0 } else { self.shape.iter().product() }
    }
}

/// What a parameter is for: decides FLOP conventions (Kaplan leaves out embeddings) and tying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    TokenEmbedding,
    PositionEmbedding,
    Weight,
    Bias,
    NormScale,
    NormShift,
}

impl Role {
    pub fn is_embedding(self) -> bool {
        matches!(self, Role::TokenEmbedding | Role::PositionEmbedding)
    }
}

/// How a parameter starts: PyTorch's default for the layer it belongs to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// N(0, std^2): `nn.Embedding`.
    Normal {
        std: f64,
    },
    /// U(-bound, bound): `nn.Linear` weight and bias, bound = 1/sqrt(fan_in).
    Uniform {
        bound: f64,
    },
    /// Xavier-uniform, bound = sqrt(6 / (fan_in + fan_out)): `nn.MultiheadAttention`'s in-projection.
    XavierUniform {
        fan_in: u64,
        fan_out: u64,
    },
    Ones,
    Zeros,
}

impl Init {
    /// `nn.Linear`'s Kaiming-uniform (a = sqrt 5), which reduces to U(+-1/sqrt(fan_in)).
    pub fn linear(fan_in: u64) -> Init {
        Init::Uniform { bound: 1.0 / (fan_in as f64).sqrt() }
    }
}

/// Which diagnostic a layer's error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument's value is out of range.
    InvalidArgument,
    /// The input shape does not fit the layer.
    InputShape,
    /// A width does not divide evenly (`heads` into `d`).
    Indivisible,
    /// Weight tying is impossible.
    Tying,
    /// A size overflows.
    Overflow,
}

/// A layer's refusal, with the argument it blames (its span becomes the caret).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerError {
    pub kind: ErrorKind,
    pub message: String,
    pub arg: Option<&'static str>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl LayerError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> LayerError {
        LayerError { kind, message: message.into(), arg: None, label: None, help: None }
    }

    /// A bad value for `arg`.
    pub fn argument(arg: &'static str, message: impl Into<String>) -> LayerError {
        LayerError { arg: Some(arg), ..LayerError::new(ErrorKind::InvalidArgument, message) }
    }

    /// The input shape does not fit: says what was expected and what came.
    pub fn input(expected: &str, found: &Shape) -> LayerError {
        LayerError::new(ErrorKind::InputShape, format!("expected {expected} as input, found {found}"))
            .label(format!("gets {found}"))
    }

    pub fn overflow(what: &str) -> LayerError {
        LayerError::new(ErrorKind::Overflow, format!("{what} overflows 64 bits"))
    }

    fn wrong_type(arg: &'static str, expected: &str, found: &Constant) -> LayerError {
        LayerError::argument(arg, format!("`{arg}` must be {expected}, found {}", found.type_name()))
    }

    pub fn blame(mut self, arg: &'static str) -> LayerError {
        self.arg = Some(arg);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> LayerError {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> LayerError {
        self.help = Some(help.into());
        self
    }
}

/// The product of sizes, or an overflow error: every FLOP and parameter count goes through it.
pub fn count(factors: &[u64]) -> Result<u64, LayerError> {
    factors
        .iter()
        .try_fold(1u64, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| LayerError::overflow("a FLOP or parameter count"))
}

/// The width of an activation input `[..., d]`, or an input-shape error.
pub fn float_width(input: &Shape, expected: &str) -> Result<Dim, LayerError> {
    match (input.elem, input.width()) {
        (crate::ir::Elem::Float, Some(d)) => Ok(d.clone()),
        _ => Err(LayerError::input(expected, input)),
    }
}
