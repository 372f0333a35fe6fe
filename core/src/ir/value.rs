//! Resolved values: what an argument or parameter is after evaluation.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A bare name that is no parameter: an enum choice such as `relu`.
    Ident(String),
}

impl Value {
    /// How the type is named in diagnostics.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Ident(_) => "a name",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            // `{:?}` keeps a `.0` on whole numbers, so a float reads as one.
            Value::Float(v) => write!(f, "{v:?}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Ident(v) => f.write_str(v),
        }
    }
}
