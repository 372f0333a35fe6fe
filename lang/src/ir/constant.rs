//! Constants: what an argument or a model parameter is after evaluation.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A bare name that is no parameter: an enum choice such as `relu`.
    Ident(String),
}

impl Constant {
    /// How the type is named in diagnostics.
    pub fn type_name(&self) -> &'static str {
        match self {
            Constant::Int(_) => "an integer",
            Constant::Float(_) => "a number",
            Constant::Bool(_) => "a boolean",
            Constant::Ident(_) => "a name",
        }
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constant::Int(v) => write!(f, "{v}"),
            // `{:?}` keeps a `.0` on whole numbers, so a float reads as one.
            Constant::Float(v) => write!(f, "{v:?}"),
            Constant::Bool(v) => write!(f, "{v}"),
            Constant::Ident(v) => f.write_str(v),
        }
    }
}
